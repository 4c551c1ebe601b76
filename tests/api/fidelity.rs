//! The fidelity ledger is trustworthy: the Markdown is the TOML, every test a row names
//! exists, and the real broker's endpoints that mitid-sim does not emulate say so.

use mitid_sim::protocols::fidelity::{self, Status};
use serde_json::Value;

use crate::helpers::spawn_app;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_markdown_ledger_is_rendered_from_the_toml() {
    let rendered = fidelity::ledger().unwrap().markdown();
    let path = format!("{ROOT}/docs/fidelity.md");
    if std::env::var_os("MITID_SIM_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == rendered,
        "docs/fidelity.md is not what docs/fidelity.toml renders: run \
         MITID_SIM_BLESS=1 cargo test --test api fidelity:: and commit both"
    );
}

/// Whether `source` has a test function `function` (its attribute on a line just above).
fn is_test_function(source: &str, function: &str) -> bool {
    let Some(at) = source.find(&format!("fn {function}(")) else {
        return false;
    };
    source[..at]
        .lines()
        .rev()
        .take(3)
        .any(|line| line.contains("#[test]") || line.contains("#[tokio::test"))
}

#[test]
fn every_test_the_ledger_names_exists() {
    let ledger = fidelity::ledger().unwrap();
    assert_eq!(ledger.problems(), Vec::<String>::new());
    let mut missing = Vec::new();
    for row in ledger.rows.iter().chain(&ledger.nemlogin) {
        for test in &row.tests {
            let (file, function) = test
                .split_once("::")
                .unwrap_or_else(|| panic!("row {}: `{test}` is not <file>::<test>", row.number));
            let source = std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap_or_default();
            if !is_test_function(&source, function) {
                missing.push(format!(
                    "row {}: no test `{function}` in {file}",
                    row.number
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    for row in ledger
        .rows
        .iter()
        .chain(&ledger.nemlogin)
        .filter(|r| r.status == Status::Match)
    {
        assert!(
            !row.tests.is_empty(),
            "row {} claims a match without a test",
            row.number
        );
    }
}

#[tokio::test]
async fn unemulated_endpoints_answer_501_with_their_ledger_row() {
    let app = spawn_app().await;
    let ledger = fidelity::ledger().unwrap();
    let mut seen = 0;
    for row in &ledger.rows {
        for path in &row.endpoints {
            for response in [
                app.get(&app.url(path)).await,
                app.browser.post(app.url(path)).send().await.unwrap(),
            ] {
                assert_eq!(response.status(), 501, "{path}");
                let link = response.headers()["link"].to_str().unwrap().to_string();
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"], "not_implemented", "{path}");
                let pointer = body["ledger"].as_str().unwrap();
                assert!(link.contains(pointer), "{link}");
                let pointed: Value = app.get(pointer).await.json().await.unwrap();
                assert_eq!(pointed["number"], row.number, "{path}");
                assert_ne!(pointed["status"], "match");
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 10,
        "CIBA, PAR, iframe, CPR match, swagger, …: {seen}"
    );
    // A path the real broker does not have is still a plain 404.
    assert_eq!(app.get(&app.url("/op/api/v1/nothing")).await.status(), 404);
}

#[tokio::test]
async fn the_ledger_is_served_as_json_publicly_and_in_the_admin_api() {
    let app = spawn_app().await;
    let public: Value = app
        .get(&app.url("/sim/fidelity"))
        .await
        .json()
        .await
        .unwrap();
    let rows = public["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 92);
    let nemlogin = public["nemlogin"].as_array().unwrap();
    assert!(nemlogin.len() >= 20, "the NemLog-in table");
    assert!(nemlogin
        .iter()
        .all(|r| r["nemlogin"].is_string() && r.get("neb").is_none()));
    assert!(rows
        .iter()
        .all(|r| r["status"].is_string() && r["sources"].is_array()));
    let admin: Value = app
        .get(&app.url("/admin/fidelity"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(admin, public);
    let row: Value = app
        .get(&app.url("/sim/fidelity/19"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(row["feature"], "Signing keys: certificates RPs pin");
    assert_eq!(app.get(&app.url("/sim/fidelity/93")).await.status(), 404);
}

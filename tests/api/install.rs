//! What `cargo install` ships: a package with everything the binary compiles in, and a
//! binary that works from any folder, with nothing of the checkout at hand.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::TempHome;

#[test]
fn the_package_holds_what_the_binary_compiles_in_and_the_license() {
    let output = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let files = String::from_utf8(output.stdout).unwrap();
    for needed in [
        "LICENSE",
        "README.md",
        "fixtures/users.toml",
        "fixtures/clients.toml",
        "fixtures/audio/da/0.wav",
        "fixtures/audio/en/9.wav",
        "templates/login.html",
        "static/mitid-sim.css",
        "static/picker.js",
        "templates/demo/overview.html",
        "docs/admin-openapi.json",
        "docs/register-openapi.json",
        "conformance/template.toml",
        "src/main.rs",
    ] {
        assert!(
            files.lines().any(|f| f == needed),
            "{needed} is not packaged"
        );
    }
    assert!(
        !files
            .lines()
            .any(|f| f.starts_with("tests/") || f.starts_with("target/")),
        "tests and build output stay out of the package"
    );
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"MIT\""));
    let license = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/LICENSE")).unwrap();
    assert!(license.starts_with("MIT License"));
}

#[tokio::test]
async fn the_binary_serves_everything_from_an_empty_folder() {
    let home = TempHome::new();
    let elsewhere = home.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .args(["serve", "--port", "0"])
        .current_dir(&elsewhere)
        .env("HOME", home.path())
        .env("MITID_SIM_HOME", home.path())
        .env_remove("MITID_SIM_USERS")
        .env_remove("MITID_SIM_CLIENTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let issuer = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let line = lines
            .find(|l| l.trim_start().starts_with("issuer"))
            .unwrap();
        std::thread::spawn(move || lines.for_each(drop));
        line.split_whitespace().nth(1).unwrap().to_string()
    })
    .await
    .unwrap();
    let base = issuer.trim_end_matches("/op").to_string();
    let http = reqwest::Client::new();
    let get = |path: &'static str| fetch(&http, format!("{base}{path}"));
    // Citizens and clients (fixtures), pages (templates), audio clips, API documents.
    let front = get("/").await;
    assert!(String::from_utf8_lossy(&front).contains("anna.jensen"));
    let wav = get("/sim/audio-reader/kodeoplaeser/code.wav").await;
    assert_eq!(&wav[..4], b"RIFF");
    get("/sim/code-card/nemid.kort").await;
    get("/admin/openapi.json").await;
    get("/sim/cpr/v1/openapi.json").await;
    let _ = child.kill();
    let _ = child.wait();

    let init = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .args(["conformance", "init", "-o", "profile.toml"])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert!(init.status.success());
    assert!(elsewhere.join("profile.toml").exists());
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        1,
        "nothing but the file asked for is written to the working folder"
    );
}

async fn fetch(http: &reqwest::Client, url: String) -> Vec<u8> {
    let response = http.get(&url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.bytes().await.unwrap().to_vec()
}

//! `--state-dir`: runtime changes survive a restart, and a `kill -9` loses nothing acknowledged.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use mitid_sim::Simulator;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_with, TestApp};

fn state_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mitid-sim-state-{}", uuid::Uuid::new_v4()))
}

async fn jwks_kids(app: &TestApp) -> Vec<Value> {
    let jwks: Value = app
        .get(&app.url("/op/.well-known/openid-configuration/jwks"))
        .await
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect()
}

#[tokio::test]
async fn citizens_clients_keys_and_used_card_keys_survive_a_restart() {
    let dir = state_dir();
    let app = spawn_with(Simulator::builder().state_dir(&dir)).await;
    let (status, _) = app
        .admin(
            reqwest::Method::POST,
            "/citizens",
            Some(json!({
                "user_id": "varig", "purpose": "persisted", "uuid": "22222222-3333-4444-8555-666666666666",
                "cpr": "010203-4040", "name": "Varig Borger", "app": { "answer": "approve" }
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .admin(
            reqwest::Method::POST,
            "/clients",
            Some(json!({ "client_id": "varig-rp", "name": "Varig", "client_secret": "s", "redirect_uris": ["http://localhost:1/cb"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.admin(reqwest::Method::DELETE, "/citizens/kodeviser", None)
        .await;
    let callback = app
        .drive_login("nemid.kort", &[("idp_values", "nemid")])
        .await;
    assert!(crate::helpers::query_of(&callback).contains_key("code"));
    let kids = jwks_kids(&app).await;
    app.sim.stop().await;

    let again = spawn_with(Simulator::builder().state_dir(&dir)).await;
    assert_eq!(
        again
            .admin(reqwest::Method::GET, "/citizens/varig", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        again
            .admin(reqwest::Method::GET, "/citizens/kodeviser", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        again
            .admin(reqwest::Method::GET, "/clients/varig-rp", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(jwks_kids(&again).await, kids, "the same signing keys");
    let (_, card) = again
        .admin(reqwest::Method::GET, "/citizens/nemid.kort", None)
        .await;
    assert_eq!(
        card["nemid"]["keys_left"], 137,
        "the key used before the restart stays used"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_corrupt_state_file_stops_the_start_with_a_clear_error() {
    let dir = state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), "{ half a file").unwrap();
    let err = Simulator::builder()
        .state_dir(&dir)
        .start()
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("is not a mitid-sim state file"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn organisations_and_professional_identities_survive_a_restart() {
    use mitid_sim::identity::ProfessionalStatus;
    let dir = state_dir();
    let app = spawn_with(Simulator::builder().state_dir(&dir)).await;
    let identities = &app.sim.provider().broker.identities;
    let before = identities.workforce();
    assert!(
        !before.professionals.is_empty(),
        "the built-in workforce is loaded"
    );
    let mut changed = before.professionals[0].clone();
    changed.status = ProfessionalStatus::Suspended;
    identities.insert_professional(changed.clone());
    app.sim.provider().persist().await.unwrap();
    app.sim.stop().await;

    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["version"], 3);
    assert_eq!(
        state["workforce"]["professionals"][0]["status"],
        "suspended"
    );

    let again = spawn_with(Simulator::builder().state_dir(&dir)).await;
    let restored = again.sim.provider().broker.identities.workforce();
    assert_eq!(restored.professionals[0], changed);
    assert_eq!(restored.organisations, before.organisations);
    assert_eq!(restored.professionals.len(), before.professionals.len());
    again.sim.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_state_file_from_before_mitid_erhverv_keeps_the_fixture_workforce() {
    let dir = state_dir();
    let app = spawn_with(Simulator::builder().state_dir(&dir)).await;
    app.sim.provider().persist().await.unwrap();
    app.sim.stop().await;
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    // Edited copies go to folders of their own: the stopped broker may still finish its
    // start-up save into `dir`.
    let with_version = |version: u32, state: &mut Value| {
        state["version"] = json!(version);
        state.as_object_mut().unwrap().remove("workforce");
        let copy = state_dir();
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::write(copy.join("state.json"), serde_json::to_vec(state).unwrap()).unwrap();
        copy
    };

    let old = with_version(1, &mut state);
    let again = spawn_with(Simulator::builder().state_dir(&old)).await;
    let identities = &again.sim.provider().broker.identities;
    assert!(!identities.professionals().is_empty());
    let bjorn = identities.by_user_id("to.firmaer").unwrap();
    assert_eq!(identities.professionals_for(&bjorn).len(), 2);
    again.sim.stop().await;

    let newer = with_version(4, &mut state);
    let err = Simulator::builder()
        .state_dir(&newer)
        .start()
        .await
        .err()
        .expect("a newer format is refused");
    assert!(err.to_string().contains("reads versions 1 to 3"), "{err}");
    for folder in [dir, old, newer] {
        std::fs::remove_dir_all(folder).ok();
    }
}

struct Broker {
    child: Child,
    base: String,
}

/// The real binary, serving on a free port with a state folder.
fn serve(dir: &std::path::Path) -> Broker {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .env("MITID_SIM_HOME", crate::helpers::test_home())
        .args(["serve", "--port", "0", "--state-dir"])
        .arg(dir)
        // Never the real per-user folder, whatever the broker keeps there.
        .env("MITID_SIM_HOME", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let line = lines
        .find(|l| l.trim_start().starts_with("issuer"))
        .expect("the broker prints its issuer");
    // Keep draining what it prints, as a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    let issuer = line.split_whitespace().nth(1).unwrap().to_string();
    Broker {
        child,
        base: issuer.trim_end_matches("/op").to_string(),
    }
}

#[tokio::test]
async fn kill_9_during_writes_loses_nothing_acknowledged_and_leaves_a_readable_file() {
    let dir = state_dir();
    let broker = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || serve(&dir)
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let base = broker.base.clone();
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = written.clone();
    let writer = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        for i in 0..10_000u32 {
            let user_id = format!("kill.{i}");
            let body = json!({
                "user_id": user_id, "purpose": "kill -9 test",
                "uuid": format!("33333333-4444-4555-8666-{i:012}"),
                "date_of_birth": "1980-01-01", "name": "Kill Ni", "app": { "answer": "approve" }
            });
            match client
                .post(format!("{base}/admin/citizens"))
                .json(&body)
                .send()
                .await
            {
                Ok(response) if response.status() == StatusCode::CREATED => {
                    acknowledged.push(user_id);
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                _ => break,
            }
        }
        acknowledged
    });
    // Kill in the middle of the stream of writes, however fast this machine is.
    for _ in 0..600 {
        if written.load(std::sync::atomic::Ordering::SeqCst) >= 5 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let mut child = broker.child;
    child.kill().unwrap(); // SIGKILL: no chance to flush anything
    child.wait().unwrap();
    let acknowledged = writer.await.unwrap();
    assert!(
        acknowledged.len() >= 5,
        "the writer got going ({} writes)",
        acknowledged.len()
    );

    let restarted = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || serve(&dir)
    })
    .await
    .unwrap();
    let citizens: Value = reqwest::get(format!("{}/admin/citizens", restarted.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let present: std::collections::HashSet<_> = citizens
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user_id"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !present.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let mut child = restarted.child;
    child.kill().ok();
    child.wait().ok();
    std::fs::remove_dir_all(dir).ok();
}

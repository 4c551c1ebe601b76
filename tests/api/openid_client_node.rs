//! Interop with Node's openid-client (OpenID-certified), pinned in
//! tests/interop/openid-client: the library builds each kind of authorization request
//! (form_post, implicit, hybrid, signed and encrypted request objects, pushed requests),
//! a citizen logs in through the broker's pages, and the library verifies and redeems what
//! the browser brings back. `tests/run.sh` installs the library (`npm ci`); run alone,
//! these tests install it on first use.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use josekit::jwk::KeyPair;
use mitid_sim::protocols::oidc::clients::Client;
use serde_json::{json, Value};

use crate::front_channel::RpAnswer;
use crate::helpers::{TestApp, REDIRECT_URI};
use crate::request_objects::{jar_client, rsa_key, spawn_with_clients};

const CLIENT: &str = "node-rp";
const STRICT_CLIENT: &str = "node-rp-strict";
const SECRET: &str = "node-rp-secret-long-enough-for-anything";
const CITIZEN: &str = "app.approve";

/// The Node project, installed once (`npm ci` from its lock file) if it is not yet.
fn node_project() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/openid-client");
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join("node_modules/openid-client").exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm is installed (tests/run.sh installs what the tests need)");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    dir
}

/// `node_rp` clients: one for every flow, one that must push signed requests.
fn clients() -> Vec<Client> {
    let mut open = jar_client(r#"response_types = ["code", "id_token", "code id_token"]"#);
    open.client_id = CLIENT.into();
    open.client_secret = Some(serde_json::from_value(json!(SECRET)).unwrap());
    open.allow_simulation = false;
    let mut strict = jar_client(
        "require_pushed_authorization_requests = true\nrequire_signed_request_object = true",
    );
    strict.client_id = STRICT_CLIENT.into();
    strict.client_secret = Some(serde_json::from_value(json!(SECRET)).unwrap());
    vec![open, strict]
}

async fn node(app: &TestApp, client_id: &str, args: &[&str], input: Option<Value>) -> Value {
    let dir = tokio::task::spawn_blocking(node_project).await.unwrap();
    let pem = String::from_utf8(rsa_key().to_pem_private_key()).unwrap();
    let mut command = tokio::process::Command::new("node");
    command
        .arg("rp.mjs")
        .args(args)
        .current_dir(&dir)
        .env("ISSUER", app.sim.issuer())
        .env("CLIENT_ID", client_id)
        .env("CLIENT_SECRET", SECRET)
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("SIGNING_KEY", pem)
        .env("SIGNING_KID", "client-rsa")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    let text = input.map(|v| v.to_string()).unwrap_or_default();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, text.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "openid-client printed no JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        value.get("error").is_none(),
        "openid-client {args:?}: {}",
        value["error"]
    );
    value
}

/// The library's request for `scenario`, a login through the pages, and the library's
/// verdict on the answer: the id_token claims it verified, and userinfo if it fetched it.
async fn log_in(app: &TestApp, client_id: &str, scenario: &str) -> Value {
    let begun = node(app, client_id, &["begin", scenario], None).await;
    let url = begun["url"].as_str().unwrap();
    let response = match app.answer_for(url, CITIZEN).await {
        RpAnswer::Redirect(location) => json!({ "location": location }),
        RpAnswer::FormPost { action, fields } => {
            let fields: serde_json::Map<String, Value> = fields
                .into_iter()
                .map(|(name, value)| (name, Value::String(value)))
                .collect();
            json!({ "form": { "action": action, "fields": fields } })
        }
    };
    let input = json!({ "checks": begun["checks"], "response": response });
    node(app, client_id, &["complete", scenario], Some(input)).await
}

fn assert_logged_in(app: &TestApp, verdict: &Value, client_id: &str) {
    let claims = &verdict["claims"];
    assert_eq!(claims["aud"], client_id, "{verdict}");
    assert_eq!(claims["iss"], app.sim.issuer());
    let uuid = app.citizen(CITIZEN).uuid.to_string();
    let uuid_from = if verdict["userinfo"].is_object() {
        &verdict["userinfo"]
    } else {
        claims
    };
    assert_eq!(uuid_from["mitid.uuid"], uuid, "{verdict}");
}

async fn scenario(name: &str, client_id: &str) -> Value {
    let app = spawn_with_clients(clients()).await;
    let verdict = log_in(&app, client_id, name).await;
    assert_logged_in(&app, &verdict, client_id);
    verdict
}

#[tokio::test]
async fn form_post() {
    let verdict = scenario("form_post", CLIENT).await;
    assert!(verdict["userinfo"]["sub"].is_string());
}

#[tokio::test]
async fn implicit_id_token_in_the_fragment() {
    let verdict = scenario("implicit", CLIENT).await;
    assert!(verdict.get("userinfo").is_none());
    assert!(verdict["claims"]["nonce"].is_string());
}

#[tokio::test]
async fn hybrid_code_id_token_in_the_fragment() {
    let verdict = scenario("hybrid", CLIENT).await;
    assert!(verdict["claims"]["nonce"].is_string());
}

#[tokio::test]
async fn hybrid_code_id_token_by_form_post() {
    scenario("hybrid_form_post", CLIENT).await;
}

#[tokio::test]
async fn signed_request_object() {
    scenario("jar", CLIENT).await;
}

#[tokio::test]
async fn signed_and_encrypted_request_object() {
    scenario("jar_encrypted", CLIENT).await;
}

#[tokio::test]
async fn pushed_authorization_request() {
    scenario("par", CLIENT).await;
}

#[tokio::test]
async fn pushed_signed_request_object_for_a_client_that_requires_both() {
    scenario("par_jar", STRICT_CLIENT).await;
}

#[tokio::test]
async fn a_request_object_signed_with_an_unregistered_key_is_refused() {
    let app = spawn_with_clients(clients()).await;
    let begun = node(&app, CLIENT, &["begin", "jar_unregistered_key"], None).await;
    let response = app.get(begun["url"].as_str().unwrap()).await;
    let page = app.follow_to_error_page(response).await;
    assert!(
        page.html.contains("invalid_request_object"),
        "{}",
        page.html
    );
    let recorded = app.last_exchange("authorize");
    assert!(
        recorded
            .error_description
            .unwrap()
            .contains("kid `never-registered`"),
        "the description names the key"
    );
}

//! The `mitid-sim` binary driving a running broker through its admin API, as a QA script
//! or a developer at a terminal would.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use mitid_sim::authenticators::code_card;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    assert_is_redirect_to, decode_claims, query_of, spawn_app, step_of, TestApp, REDIRECT_URI,
    VERIFIER,
};

/// What a run of the binary left behind.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "the command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `mitid-sim <args>` off the test's runtime, so the broker in it keeps answering.
async fn mitid_sim(args: &[&str], env: &[(&str, &str)]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let home = crate::helpers::TempHome::new();
        let output = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
            .args(&args)
            .env("MITID_SIM_HOME", home.path())
            .env_remove("MITID_SIM_SERVER")
            .env_remove("MITID_SIM_ADMIN_TOKEN")
            .env_remove("MITID_SIM_USERS")
            .env("MITID_SIM_HOME", crate::helpers::test_home())
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .expect("the mitid-sim binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// Runs `mitid-sim <args> --server <the app's broker>`.
async fn live(app: &TestApp, args: &[&str]) -> Run {
    let mut args = args.to_vec();
    args.extend(["--server", app.sim.base_url()]);
    mitid_sim(&args, &[]).await
}

/// A file in a fresh folder under the system's temp dir, removed when dropped.
struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mitid-sim-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Self { dir, path }
    }

    fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn citizen_toml(user_id: &str, uuid: uuid::Uuid) -> String {
    format!(
        r#"
[[user]]
user_id = "{user_id}"
purpose = "Made by the CLI tests"
uuid = "{uuid}"
cpr = "150592-1234"
name = "Cli Testesen"
[user.app]
answer = "approve"
after_ms = 0
"#
    )
}

const RP: &str = "http://cli-rp.test/callback";

fn client_toml(backchannel: Option<&str>) -> String {
    let backchannel = backchannel
        .map(|uri| format!("backchannel_logout_uri = \"{uri}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
[[client]]
client_id = "cli-rp"
name = "CLI RP"
client_secret = "cli-secret"
allow_simulation = true
redirect_uris = ["{RP}"]
{backchannel}"#
    )
}

/// A `simulation=no-ui` login of `user_id` at cli-rp; returns the callback URL.
async fn no_ui_login_at_cli_rp(app: &TestApp, user_id: &str) -> String {
    let hint = format!("username:{user_id}");
    let url = app.authorize_url(&[
        ("client_id", "cli-rp"),
        ("redirect_uri", RP),
        ("simulation", "no-ui"),
        ("login_hint", &hint),
    ]);
    let response = app.get(&url).await;
    assert_is_redirect_to(&response, RP)
}

async fn cli_rp_tokens(app: &TestApp, callback: &str) -> Value {
    let response = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth("cli-rp", Some("cli-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query_of(callback)["code"].as_str()),
            ("redirect_uri", RP),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn status_of(app: &TestApp, user_id: &str) -> Value {
    serde_json::to_value(app.citizen(user_id).status).unwrap()
}

#[tokio::test]
async fn a_qa_script_creates_a_citizen_and_an_rp_scripts_a_rejection_injects_a_fault_ends_the_session_shifts_the_clock_and_reads_the_record(
) {
    let app = spawn_app().await;

    // mitid-sim users create --file cli.toml
    let uuid = uuid::Uuid::new_v4();
    let citizen = TempFile::new("citizen.toml", &citizen_toml("cli.flow", uuid));
    let created = live(&app, &["users", "create", "--file", citizen.arg()])
        .await
        .ok();
    assert!(
        created.stdout.starts_with("created cli.flow\n"),
        "{}",
        created.stdout
    );
    assert!(created.stdout.contains("Cli Testesen"));
    assert_eq!(app.citizen("cli.flow").uuid, uuid);

    // mitid-sim clients register --file rp.toml
    let rp = TempFile::new("rp.toml", &client_toml(None));
    let registered = live(&app, &["clients", "register", "--file", rp.arg()])
        .await
        .ok();
    assert!(
        registered.stdout.starts_with("registered cli-rp\n"),
        "{}",
        registered.stdout
    );
    assert!(app.sim.provider().clients.get("cli-rp").is_some());

    // mitid-sim users script cli.flow reject: the next login is rejected in the app.
    let scripted = live(&app, &["users", "script", "cli.flow", "reject"])
        .await
        .ok();
    assert!(scripted.stdout.contains("reject"), "{}", scripted.stdout);
    let rejected = no_ui_login_at_cli_rp(&app, "cli.flow").await;
    assert_eq!(query_of(&rejected)["error"], "access_denied");

    // mitid-sim clients fault cli-rp wrong_nonce: the next ID token has another nonce.
    let faulted = live(&app, &["clients", "fault", "cli-rp", "wrong_nonce"])
        .await
        .ok();
    assert_eq!(
        faulted.stdout.trim(),
        "pending token faults for cli-rp: wrong_nonce"
    );
    let callback = no_ui_login_at_cli_rp(&app, "cli.flow").await;
    let tokens = cli_rp_tokens(&app, &callback).await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_ne!(claims["nonce"], "nonce-456", "the fault was applied");

    // mitid-sim sessions list / sessions end <neb_sid>
    let neb_sid = app.sim.provider().broker.sessions.all()[0].id.to_string();
    let sessions = live(&app, &["sessions", "list"]).await.ok();
    let row = sessions
        .stdout
        .lines()
        .find(|l| l.starts_with(&neb_sid))
        .unwrap_or_else(|| panic!("no row for {neb_sid}:\n{}", sessions.stdout));
    assert!(
        row.contains(&uuid.to_string()) && row.contains("cli-rp"),
        "{row}"
    );
    let ended = live(&app, &["sessions", "end", &neb_sid]).await.ok();
    assert_eq!(
        ended.stdout.trim(),
        format!("ended session {neb_sid} (admin); its clients: cli-rp; its service providers: -")
    );
    assert!(app.sim.provider().broker.sessions.all().is_empty());

    // mitid-sim clock shift 1h
    let shifted = live(&app, &["clock", "shift", "1h"]).await.ok();
    assert!(
        shifted.stdout.contains("+1h from real time"),
        "{}",
        shifted.stdout
    );
    assert_eq!(app.sim.clock().offset(), time::Duration::hours(1));

    // mitid-sim record --client cli-rp
    let record = live(&app, &["record", "--client", "cli-rp"]).await.ok();
    let lines: Vec<&str> = record.stdout.lines().collect();
    assert!(lines[0].starts_with("SEQ"), "{}", record.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("GET authorize") && l.contains("access_denied")),
        "the rejected login is in the record:\n{}",
        record.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("POST token") && l.contains("grant_type=authorization_code")),
        "the token request is in the record:\n{}",
        record.stdout
    );
    assert!(lines.iter().all(|l| !l.contains("demo-rp")));
}

#[tokio::test]
async fn users_list_reads_the_running_broker_with_server_and_the_fixtures_without() {
    let app = spawn_app().await;
    app.sim
        .provider()
        .lock_citizen("anna.jensen")
        .expect("anna.jensen locks");

    let table = live(&app, &["users", "list"]).await.ok();
    let header = table.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("USER ID") && header.contains("STATUS"),
        "{header}"
    );
    let anna = table
        .stdout
        .lines()
        .find(|l| l.starts_with("anna.jensen "))
        .unwrap();
    assert!(anna.contains("locked"), "{anna}");

    let json = live(&app, &["users", "list", "--json"]).await.ok().json();
    let reports = json.as_array().unwrap();
    assert_eq!(reports.len(), app.sim.provider().broker.identities.len());
    assert!(reports
        .iter()
        .any(|r| r["user_id"] == "anna.jensen" && r["status"] == "locked"));

    let offline = mitid_sim(&["users", "list"], &[]).await.ok();
    assert!(!offline.stdout.lines().next().unwrap().contains("STATUS"));
    assert!(offline.stdout.contains("anna.jensen"));

    let shown = live(&app, &["users", "show", "anna.jensen"])
        .await
        .ok()
        .json();
    assert_eq!(shown["status"], "locked", "users show --server is live");
    let fixture = mitid_sim(&["users", "show", "anna.jensen"], &[])
        .await
        .ok()
        .json();
    assert_eq!(
        fixture["status"], "active",
        "users show alone reads the fixtures"
    );
}

#[tokio::test]
async fn users_set_update_lock_unlock_delete_and_reset_change_the_citizen_on_the_broker() {
    let app = spawn_app().await;

    let set = live(
        &app,
        &[
            "users",
            "set",
            "kodeviser",
            "name=Ny Navn",
            "chip=true",
            "app.answer=reject",
        ],
    )
    .await
    .ok();
    assert!(
        set.stdout.starts_with("updated kodeviser\n"),
        "{}",
        set.stdout
    );
    assert!(set.stdout.contains("Ny Navn"));
    let citizen = app.citizen("kodeviser");
    assert_eq!(citizen.name, "Ny Navn");
    assert!(citizen.chip);
    assert_eq!(
        serde_json::to_value(citizen.app.unwrap().answer).unwrap()["answer"],
        "reject"
    );

    let set_json = live(
        &app,
        &["users", "set", "kodeviser", r#"name="Helt Ny""#, "--json"],
    )
    .await
    .ok()
    .json();
    assert_eq!(set_json["name"], "Helt Ny");

    let mut replacement = serde_json::to_value(&*app.citizen("app.only")).unwrap();
    replacement["name"] = json!("Erstattet Person");
    replacement["purpose"] = json!("Replaced from a JSON file");
    let file = TempFile::new("app.only.json", &replacement.to_string());
    let updated = live(&app, &["users", "update", "app.only", "-f", file.arg()])
        .await
        .ok();
    assert!(
        updated.stdout.starts_with("updated app.only\n"),
        "{}",
        updated.stdout
    );
    assert_eq!(app.citizen("app.only").name, "Erstattet Person");

    let locked = live(&app, &["users", "lock", "anna.jensen"]).await.ok();
    assert!(locked.stdout.starts_with("locked anna.jensen\n"));
    assert_eq!(status_of(&app, "anna.jensen"), "locked");
    let unlocked = live(&app, &["users", "unlock", "anna.jensen"]).await.ok();
    assert!(unlocked.stdout.starts_with("unlocked anna.jensen\n"));
    assert_eq!(status_of(&app, "anna.jensen"), "active");

    let deleted = live(&app, &["users", "delete", "app.only"]).await.ok();
    assert_eq!(deleted.stdout.trim(), "deleted app.only");
    assert!(app
        .sim
        .provider()
        .broker
        .identities
        .by_user_id("app.only")
        .is_none());

    let reset = live(&app, &["users", "reset"]).await.ok();
    assert!(reset.stdout.starts_with("reset: "), "{}", reset.stdout);
    assert_eq!(app.citizen("app.only").name, "Mads Østergaard");
    assert_eq!(app.citizen("kodeviser").name, "Birthe Kodeviser Hansen");
}

#[tokio::test]
async fn a_citizen_file_must_hold_exactly_one_user_and_nothing_is_sent_otherwise() {
    let app = spawn_app().await;
    let before = app.sim.provider().broker.identities.len();
    let two = format!(
        "{}{}",
        citizen_toml("cli.one", uuid::Uuid::new_v4()),
        citizen_toml("cli.two", uuid::Uuid::new_v4())
    );
    let file = TempFile::new("two.toml", &two);
    let run = live(&app, &["users", "create", "--file", file.arg()]).await;
    assert_ne!(run.code, 0);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("has 2 [[user]] tables"),
        "{}",
        run.stderr
    );
    assert_eq!(app.sim.provider().broker.identities.len(), before);

    let json_file = TempFile::new(
        "citizen.json",
        &json!({
            "user_id": "cli.json",
            "purpose": "From JSON",
            "uuid": uuid::Uuid::new_v4(),
            "name": "Jason Json",
            "date_of_birth": "1990-02-03",
            "app": { "answer": "approve" },
        })
        .to_string(),
    );
    let created = live(
        &app,
        &["users", "create", "--file", json_file.arg(), "--json"],
    )
    .await
    .ok()
    .json();
    assert_eq!(created["user_id"], "cli.json");
    assert_eq!(app.citizen("cli.json").name, "Jason Json");
}

#[tokio::test]
async fn users_script_scripts_and_clear_scripts_manage_a_citizens_next_logins() {
    let app = spawn_app().await;
    let uuid = app.citizen("anna.jensen").uuid;
    let scripts = || app.sim.provider().broker.scripts.pending(uuid);

    let scripted = live(
        &app,
        &[
            "users",
            "script",
            "anna.jensen",
            "delay",
            "--ms",
            "250",
            "--count",
            "2",
        ],
    )
    .await
    .ok();
    assert!(
        scripted.stdout.contains("delay 250 ms"),
        "{}",
        scripted.stdout
    );
    assert_eq!(scripts().len(), 2);

    live(&app, &["users", "script", "anna.jensen", "abort"])
        .await
        .ok();
    let pending = live(&app, &["users", "scripts", "anna.jensen"]).await.ok();
    let rows: Vec<&str> = pending.stdout.lines().skip(2).collect();
    assert_eq!(rows.len(), 3, "{}", pending.stdout);
    assert!(rows[0].contains("delay 250 ms") && rows[2].contains("abort"));

    let no_ms = live(&app, &["users", "script", "anna.jensen", "delay"]).await;
    assert_ne!(no_ms.code, 0, "delay needs --ms");

    let cleared = live(&app, &["users", "clear-scripts", "anna.jensen"])
        .await
        .ok();
    assert_eq!(
        cleared.stdout.trim(),
        "cleared the scripted logins of anna.jensen"
    );
    assert!(scripts().is_empty());
    let none = live(&app, &["users", "scripts", "anna.jensen"]).await.ok();
    assert_eq!(
        none.stdout.trim(),
        "no scripted logins pending for anna.jensen"
    );
}

#[tokio::test]
async fn clients_list_show_register_delete_and_clear_faults_act_on_the_broker() {
    let app = spawn_app().await;
    let clients = &app.sim.provider().clients;

    let list = live(&app, &["clients", "list"]).await.ok();
    assert!(list.stdout.starts_with("CLIENT ID"), "{}", list.stdout);
    assert!(list
        .stdout
        .lines()
        .any(|l| l.starts_with("demo-rp ") && l.contains("Demo-tjeneste")));

    let shown = live(&app, &["clients", "show", "demo-rp"]).await.ok();
    assert!(shown
        .stdout
        .lines()
        .any(|l| l.starts_with("redirect_uris") && l.contains("http://localhost:8080/callback")));

    let json_client = json!({
        "client_id": "cli-json",
        "name": "From JSON",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://cli-json.test/cb"],
    });
    let file = TempFile::new("client.json", &json_client.to_string());
    let registered = live(&app, &["clients", "register", "-f", file.arg()])
        .await
        .ok();
    assert!(registered.stdout.starts_with("registered cli-json\n"));
    let again = live(&app, &["clients", "register", "-f", file.arg()])
        .await
        .ok();
    assert!(
        again.stdout.starts_with("replaced cli-json\n"),
        "{}",
        again.stdout
    );
    assert!(clients.get("cli-json").unwrap().is_public());

    live(
        &app,
        &["clients", "fault", "demo-rp", "expired", "--count", "2"],
    )
    .await
    .ok();
    assert_eq!(app.sim.provider().faults.pending("demo-rp").len(), 2);
    let listed = live(&app, &["clients", "list"]).await.ok();
    assert!(listed
        .stdout
        .lines()
        .any(|l| l.starts_with("demo-rp ") && l.contains("expired, expired")));
    let cleared = live(&app, &["clients", "clear-faults", "demo-rp"])
        .await
        .ok();
    assert_eq!(
        cleared.stdout.trim(),
        "pending token faults for demo-rp: none"
    );
    assert!(app.sim.provider().faults.pending("demo-rp").is_empty());

    let unknown_fault = live(&app, &["clients", "fault", "demo-rp", "wrong_nonse"]).await;
    assert_ne!(unknown_fault.code, 0);

    let deleted = live(&app, &["clients", "delete", "cli-json"]).await.ok();
    assert_eq!(deleted.stdout.trim(), "deleted cli-json");
    assert!(clients.get("cli-json").is_none());
}

#[tokio::test]
async fn clients_register_reads_keys_and_token_protection_from_toml_and_refuses_bad_keys() {
    let app = spawn_app().await;
    let key = crate::jose::rsa_key("cli-key");
    let public = crate::jose::public(&key, Some("enc"));
    let toml = format!(
        r#"
[[client]]
client_id = "cli-keys"
name = "CLI keys"
redirect_uris = ["{RP}"]
token_endpoint_auth_method = "private_key_jwt"
id_token_encrypted_response_alg = "RSA-OAEP-256"
userinfo_signed_response_alg = "RS256"
dpop_bound_access_tokens = true
jwks = {{ keys = [ {{ kty = "RSA", kid = "cli-key", use = "enc", n = "{n}", e = "{e}" }} ] }}
"#,
        n = public["n"].as_str().unwrap(),
        e = public["e"].as_str().unwrap(),
    );
    let file = TempFile::new("keys.toml", &toml);
    live(&app, &["clients", "register", "-f", file.arg()])
        .await
        .ok();
    let client = app.sim.provider().clients.get("cli-keys").unwrap();
    assert!(client.dpop_bound_access_tokens);
    assert_eq!(client.jwks.as_ref().unwrap().keys().len(), 1);
    let listed = live(&app, &["clients", "list"]).await.ok();
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.starts_with("cli-keys ") && l.contains("private_key_jwt")),
        "{}",
        listed.stdout
    );
    // A private key in the registration is refused, with the reason.
    let private = toml.replace(r#"e = "AQAB""#, r#"e = "AQAB", d = "c2VjcmV0""#);
    assert_ne!(private, toml);
    let file = TempFile::new("private.toml", &private);
    let refused = live(&app, &["clients", "register", "-f", file.arg()]).await;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("private member `d`"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn clients_sso_group_puts_clients_in_a_group_and_takes_them_out() {
    let app = spawn_app().await;
    let clients = &app.sim.provider().clients;
    for client in ["demo-rp", "demo-rp-rs256"] {
        let set = live(&app, &["clients", "sso-group", client, "demo"])
            .await
            .ok();
        assert_eq!(
            set.stdout.trim(),
            format!("{client} shares sessions with the clients of SSO group demo")
        );
    }
    assert_eq!(
        clients.get("demo-rp").unwrap().sso_group.as_deref(),
        Some("demo")
    );
    let listed = live(&app, &["clients", "list"]).await.ok();
    assert!(listed
        .stdout
        .lines()
        .any(|l| l.starts_with("demo-rp-rs256 ") && l.contains(" demo ")));

    let out = live(&app, &["clients", "sso-group", "demo-rp", "--none"])
        .await
        .ok();
    assert_eq!(
        out.stdout.trim(),
        "demo-rp has broker sessions of its own (no SSO group)"
    );
    assert_eq!(clients.get("demo-rp").unwrap().sso_group, None);
    let neither = live(&app, &["clients", "sso-group", "demo-rp"]).await;
    assert_ne!(neither.code, 0, "a group or --none is required");
    let unknown = live(&app, &["clients", "sso-group", "nobody", "demo"]).await;
    assert_ne!(unknown.code, 0);
    assert!(unknown.stderr.contains("nobody"), "{}", unknown.stderr);
}

#[tokio::test]
async fn clients_fault_offers_every_fault_the_admin_api_documents() {
    let openapi: Value =
        serde_json::from_str(include_str!("../../docs/admin-openapi.json")).unwrap();
    let help = mitid_sim(&["clients", "fault", "--help"], &[]).await.ok();
    for fault in openapi["components"]["schemas"]["TokenFault"]["enum"]
        .as_array()
        .unwrap()
    {
        assert!(
            help.stdout.contains(fault.as_str().unwrap()),
            "`{fault}` is missing from:\n{}",
            help.stdout
        );
    }
    let top = mitid_sim(&["--help"], &[]).await.ok();
    for verb in [
        "users", "device", "clients", "sessions", "keys", "clock", "record",
    ] {
        assert!(
            top.stdout.contains(&format!("\n  {verb} ")),
            "{verb}:\n{}",
            top.stdout
        );
    }
}

#[tokio::test]
async fn withholding_back_channel_logout_shows_in_the_deliveries_until_it_is_resumed() {
    let app = spawn_app().await;
    let rp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/backchannel"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&rp)
        .await;
    let backchannel = format!("{}/backchannel", rp.uri());
    let file = TempFile::new("rp.toml", &client_toml(Some(&backchannel)));
    live(&app, &["clients", "register", "--file", file.arg()])
        .await
        .ok();

    let withheld = live(&app, &["clients", "withhold-backchannel", "cli-rp"])
        .await
        .ok();
    assert_eq!(
        withheld.stdout.trim(),
        "back-channel logout to cli-rp is withheld (resume with --resume)"
    );
    no_ui_login_at_cli_rp(&app, "anna.jensen").await;
    let neb_sid = app.sim.provider().broker.sessions.all()[0].id.to_string();
    live(&app, &["sessions", "end", &neb_sid]).await.ok();
    let logouts = live(&app, &["sessions", "logouts"]).await.ok();
    let row = logouts
        .stdout
        .lines()
        .find(|l| l.starts_with("cli-rp "))
        .unwrap_or_else(|| panic!("{}", logouts.stdout));
    assert!(row.contains("withheld") && row.contains(&neb_sid), "{row}");
    assert!(rp.received_requests().await.unwrap().is_empty());

    let resumed = live(
        &app,
        &["clients", "withhold-backchannel", "cli-rp", "--resume"],
    )
    .await
    .ok();
    assert_eq!(
        resumed.stdout.trim(),
        "back-channel logout to cli-rp is delivered again"
    );
    no_ui_login_at_cli_rp(&app, "anna.jensen").await;
    let neb_sid = app.sim.provider().broker.sessions.all()[0].id.to_string();
    let expired = live(&app, &["sessions", "expire", &neb_sid]).await.ok();
    assert!(
        expired.stdout.contains("(absolute_expiry)"),
        "{}",
        expired.stdout
    );
    for _ in 0..100 {
        if !rp.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(rp.received_requests().await.unwrap().len(), 1);
    let deliveries = live(&app, &["sessions", "logouts", "--json"])
        .await
        .ok()
        .json();
    let resumed = deliveries
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["session"] == neb_sid.as_str())
        .expect("a delivery for the expired session");
    assert_ne!(resumed["state"], "withheld");
}

/// Starts a page login of an app-only citizen and returns the page waiting for the swipe.
async fn waiting_for_the_app(app: &TestApp) -> crate::helpers::Page {
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    assert_eq!(step_of(&page), "app");
    page
}

#[tokio::test]
async fn device_requests_lists_a_waiting_app_request_and_approve_lets_the_login_finish() {
    let app = spawn_app().await;
    let none = live(&app, &["device", "requests"]).await.ok();
    assert_eq!(none.stdout.trim(), "no app requests are waiting");

    let page = waiting_for_the_app(&app).await;
    let requests = live(&app, &["device", "requests"]).await.ok();
    let row = requests.stdout.lines().nth(1).unwrap().to_string();
    assert!(
        row.contains("app.only") && row.contains("Demo-tjeneste"),
        "{row}"
    );
    let id = row.split_whitespace().next().unwrap();

    let approved = live(&app, &["device", "approve", id]).await.ok();
    assert_eq!(
        approved.stdout.trim(),
        format!("app request {id}: approved")
    );
    let callback = app.poll_until_redirect(&page).await;
    assert!(query_of(&callback).contains_key("code"), "{callback}");
}

#[tokio::test]
async fn device_reject_ends_the_app_login_as_rejected() {
    let app = spawn_app().await;
    let page = waiting_for_the_app(&app).await;
    let requests = live(&app, &["device", "requests", "--json"])
        .await
        .ok()
        .json();
    let id = requests[0]["id"].as_str().unwrap().to_string();

    let rejected = live(&app, &["device", "reject", &id]).await.ok();
    assert_eq!(
        rejected.stdout.trim(),
        format!("app request {id}: rejected")
    );
    let again = live(&app, &["device", "reject", &id]).await;
    assert_ne!(again.code, 0, "a request is answered once");

    let callback = app.poll_until_redirect(&page).await;
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    assert_eq!(query_of(&callback)["error"], "access_denied");
}

#[tokio::test]
async fn an_offline_device_code_warns_that_a_shifted_broker_may_differ() {
    let run = mitid_sim(
        &["device", "code", "kodeviser", "--clock-offset", "-5m"],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.trim().len(), 6, "{}", run.stdout);
    assert!(
        run.stderr.contains("computed offline")
            && run.stderr.contains("(offset -300s)")
            && run.stderr.contains("--server"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn device_code_and_key_with_server_read_the_running_brokers_devices() {
    let app = spawn_app().await;
    // The broker's clock is an hour ahead: an offline reading would differ.
    app.sim.clock().advance(time::Duration::hours(1));

    let (code, current) = app
        .codes_around("kodeviser", live(&app, &["device", "code", "kodeviser"]))
        .await;
    let code = code.ok();
    let shown = code.stdout.trim().to_string();
    assert!(current.contains(&shown), "{shown} vs {current:?}");
    assert!(code.stderr.contains("more seconds"), "{}", code.stderr);
    assert!(
        !code.stderr.contains("computed offline"),
        "the broker answered: {}",
        code.stderr
    );

    let audio = live(
        &app,
        &["device", "code", "kodeoplaeser", "--audio-reader", "--json"],
    )
    .await
    .ok()
    .json();
    assert_eq!(audio["device"], "audio_reader");
    assert_eq!(audio["code"].as_str().unwrap().len(), 6);

    let citizen = app.citizen("nemid.kort");
    let nemid = citizen.nemid.as_ref().unwrap();
    let state = app
        .sim
        .provider()
        .broker
        .code_cards
        .state(citizen.uuid, nemid);
    let key = &code_card::card_keys(&nemid.pid, state.card_index)[40];
    let number = key.number_text();
    let shown = live(&app, &["device", "key", "nemid.kort", &number])
        .await
        .ok();
    assert_eq!(shown.stdout.trim(), key.key_text());
    assert!(shown.stderr.contains("current card"), "{}", shown.stderr);

    let offline = mitid_sim(&["device", "key", "nemid.kort", &number, "--json"], &[])
        .await
        .ok()
        .json();
    assert_eq!(offline["key"], key.key_text());

    let no_card = live(&app, &["device", "key", "kodeviser", "0001"]).await;
    assert_ne!(no_card.code, 0);
    assert!(
        no_card.stderr.contains("has no NemID code card"),
        "{}",
        no_card.stderr
    );
}

#[tokio::test]
async fn keys_rotate_signs_with_new_kids_and_keys_list_shows_the_retired_ones() {
    let app = spawn_app().await;
    let before = live(&app, &["keys", "list", "--json"]).await.ok().json();
    let old_kids: Vec<&str> = before
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    let table = live(&app, &["keys", "list"]).await.ok();
    assert!(table.stdout.starts_with("KID"));
    assert!(old_kids.iter().all(|kid| table.stdout.contains(kid)));

    let rotated = live(&app, &["keys", "rotate"]).await.ok();
    assert!(rotated.stdout.starts_with("rotated the signing keys\n"));
    let after = app.sim.provider().broker.keys.list().await.unwrap();
    let current: Vec<_> = after.iter().filter(|k| k.status == "current").collect();
    assert!(current.iter().all(|k| !old_kids.contains(&k.kid.as_str())));
    for kid in &old_kids {
        let row = rotated.stdout.lines().find(|l| l.starts_with(kid)).unwrap();
        assert!(row.contains("retired"), "{row}");
    }
}

#[tokio::test]
async fn clock_shift_takes_negative_durations_and_set_and_reset_move_the_brokers_clock() {
    let app = spawn_app().await;
    let clock = app.sim.clock();

    live(&app, &["clock", "shift", "-5m"]).await.ok();
    assert_eq!(clock.offset(), time::Duration::minutes(-5));
    let shown = live(&app, &["clock", "show"]).await.ok();
    assert!(
        shown.stdout.contains("-5m from real time"),
        "{}",
        shown.stdout
    );

    let set = live(&app, &["clock", "set", "2h", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(set["offset_seconds"], 7200);
    assert_eq!(clock.offset(), time::Duration::hours(2));

    let bad = live(&app, &["clock", "shift", "soon"]).await;
    assert_ne!(bad.code, 0);
    assert_eq!(clock.offset(), time::Duration::hours(2));

    let reset = live(&app, &["clock", "reset"]).await.ok();
    assert!(
        reset.stdout.contains("0s from real time"),
        "{}",
        reset.stdout
    );
    assert_eq!(clock.offset(), time::Duration::ZERO);
}

#[tokio::test]
async fn record_filters_by_client_and_time_and_clear_empties_it() {
    let app = spawn_app().await;
    app.no_ui_login("username:anna.jensen", &[]).await;
    let later = app.sim.clock().unix() + 60;

    let record = live(&app, &["record", "--client", "demo-rp", "--json"])
        .await
        .ok()
        .json();
    assert!(!record["requests"].as_array().unwrap().is_empty());
    let since = live(&app, &["record", "--since", &later.to_string()])
        .await
        .ok();
    assert!(
        since.stdout.starts_with("no requests recorded\n"),
        "{}",
        since.stdout
    );

    let cleared = live(&app, &["record", "--clear", "--client", "demo-rp"])
        .await
        .ok();
    assert_eq!(cleared.stdout.trim(), "cleared the record of demo-rp");
    assert!(app
        .sim
        .provider()
        .recorder
        .list(Some("demo-rp"), None)
        .is_empty());
    let all = live(&app, &["record", "--clear"]).await.ok();
    assert_eq!(all.stdout.trim(), "cleared the record of all clients");
}

#[tokio::test]
async fn an_unknown_citizen_fails_with_the_brokers_message_on_one_line() {
    let app = spawn_app().await;
    let run = live(&app, &["users", "lock", "nobody"]).await;
    assert_ne!(run.code, 0);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(
        run.stderr,
        format!(
            "mitid-sim: {}/admin/citizens/nobody/lock answered 404 Not Found: no citizen has user ID `nobody`\n",
            app.sim.base_url()
        )
    );
}

#[tokio::test]
async fn an_unreachable_server_fails_with_one_clear_line() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = format!("http://127.0.0.1:{port}");
    let run = mitid_sim(&["sessions", "list", "--server", &server], &[]).await;
    assert_ne!(run.code, 0);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("mitid-sim: cannot reach a broker at {server}: ")),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn the_admin_token_is_sent_as_a_bearer_token_from_the_flag_or_the_environment() {
    let broker = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/keys"))
        .and(header("authorization", "Bearer t0k"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "kid": "kid-from-mock", "alg": "ES256", "status": "current", "retired_at": null }
        ])))
        .mount(&broker)
        .await;
    Mock::given(method("GET"))
        .and(path("/admin/keys"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "unauthorized",
            "message": "the admin API needs Authorization: Bearer <--admin-token>"
        })))
        .mount(&broker)
        .await;
    let server = broker.uri();

    let flag = mitid_sim(
        &["keys", "list", "--server", &server, "--admin-token", "t0k"],
        &[],
    )
    .await
    .ok();
    assert!(flag.stdout.contains("kid-from-mock"), "{}", flag.stdout);

    let env = mitid_sim(
        &["keys", "list"],
        &[
            ("MITID_SIM_SERVER", &server),
            ("MITID_SIM_ADMIN_TOKEN", "t0k"),
        ],
    )
    .await
    .ok();
    assert!(env.stdout.contains("kid-from-mock"), "{}", env.stdout);

    let without = mitid_sim(&["keys", "list", "--server", &server], &[]).await;
    assert_ne!(without.code, 0);
    assert_eq!(
        without.stderr,
        format!("mitid-sim: {server}/admin/keys answered 401 Unauthorized: the admin API needs Authorization: Bearer <--admin-token>\n")
    );
}

#[tokio::test]
async fn serve_refuses_an_empty_admin_token_on_a_network_address_and_a_proxy_url_without_one() {
    let empty = mitid_sim(
        &["serve", "--host", "0.0.0.0", "--port", "0"],
        &[("MITID_SIM_ADMIN_TOKEN", "")],
    )
    .await;
    assert_ne!(empty.code, 0);
    assert!(
        empty.stderr.contains("--admin-token is empty"),
        "{}",
        empty.stderr
    );
    let proxied = mitid_sim(
        &[
            "serve",
            "--port",
            "0",
            "--public-url",
            "https://mitid.example.test",
        ],
        &[],
    )
    .await;
    assert_ne!(proxied.code, 0);
    assert!(
        proxied
            .stderr
            .contains("--public-url https://mitid.example.test/")
            && proxied.stderr.contains("--admin-token"),
        "{}",
        proxied.stderr
    );
}

#[tokio::test]
async fn record_follows_the_brokers_pages_to_the_end() {
    use mitid_sim::protocols::oidc::record::Request;
    let app = spawn_app().await;
    let recorder = &app.sim.provider().recorder;
    for n in 0..1_234 {
        let params = [("state".to_string(), format!("s{n}"))];
        recorder.record(
            Request {
                endpoint: "authorize",
                method: "GET",
                // Two clients: each keeps at most 1000.
                client_id: if n % 2 == 0 { Some("demo-rp") } else { None },
                params: &params,
                status: 303,
                error: None,
                error_description: None,
            },
            n,
        );
    }
    let record = live(&app, &["record", "--json"]).await.ok().json();
    let requests = record["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1_234);
    assert_eq!(requests[1_233]["params"]["state"], "s1233");
    assert_eq!(record["next_after"], Value::Null);
}

#[tokio::test]
async fn serve_refuses_a_clock_offset_before_2000() {
    let refused = mitid_sim(&["serve", "--port", "0", "--clock-offset", "-36500d"], &[]).await;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("2000-01-01"), "{}", refused.stderr);
}

#[tokio::test]
async fn generated_organisations_load_as_a_users_file_and_bad_ones_point_at_their_line() {
    let generated = mitid_sim(
        &[
            "users",
            "generate",
            "--count",
            "20",
            "--seed",
            "4",
            "--organisations",
            "2",
        ],
        &[],
    )
    .await
    .ok();
    let population = mitid_sim::identity::parse_population(&generated.stdout).unwrap();
    assert_eq!(population.workforce.organisations.len(), 2);
    assert!(!population.workforce.professionals.is_empty());
    let file = TempFile::new("erhverv.toml", &generated.stdout);
    let listed = mitid_sim(&["users", "list", "--users", file.arg()], &[])
        .await
        .ok();
    assert!(listed.stdout.contains("gen.0001."), "{}", listed.stdout);

    let broken = generated.stdout.replacen(
        "[[organisation]]\ncvr = \"9",
        "[[organisation]]\ncvr = \"1",
        1,
    );
    let line = broken
        .lines()
        .position(|l| l.starts_with("cvr = \"1"))
        .unwrap()
        + 1;
    let file = TempFile::new("broken.toml", &broken);
    let refused = mitid_sim(&["users", "list", "--users", file.arg()], &[]).await;
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains(&format!("broken.toml:{line}:7: `1")),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("start with 9"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn service_providers_are_registered_by_metadata_faulted_and_removed_from_the_cli() {
    use mitid_sim::protocols::saml::credential::Credential;
    let app = spawn_app().await;
    let key = Credential::generate("cli SP").unwrap();
    let entity = "https://cli.example.dk/saml";
    let metadata = TempFile::new(
        "sp.xml",
        &format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{entity}/acs" index="0"/>
</md:SPSSODescriptor></md:EntityDescriptor>"#,
            key.certificate().base64()
        ),
    );
    let out = live(
        &app,
        &[
            "sps",
            "register",
            "--metadata",
            metadata.arg(),
            "--name",
            "CLI-tjenesten",
        ],
    )
    .await
    .ok();
    assert!(
        out.stdout.starts_with(&format!("registered {entity}")),
        "{}",
        out.stdout
    );
    let out = live(&app, &["service-providers", "list"]).await.ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(entity) && l.contains("CLI-tjenesten")),
        "{}",
        out.stdout
    );
    let out = live(
        &app,
        &["sps", "fault", entity, "wrong_audience", "--count", "2"],
    )
    .await
    .ok();
    assert_eq!(
        out.stdout.trim(),
        format!("pending response faults for {entity}: wrong_audience, wrong_audience")
    );
    let out = live(&app, &["sps", "clear-faults", entity]).await.ok();
    assert_eq!(
        out.stdout.trim(),
        format!("pending response faults for {entity}: none")
    );
    let out = live(&app, &["sps", "show", entity, "--json"]).await.ok();
    assert_eq!(out.json()["name"], "CLI-tjenesten");
    let out = live(&app, &["sps", "delete", entity]).await.ok();
    assert_eq!(out.stdout.trim(), format!("deleted {entity}"));
    let gone = live(&app, &["sps", "show", entity]).await;
    assert_ne!(gone.code, 0);
    assert!(
        gone.stderr.contains("no service provider"),
        "{}",
        gone.stderr
    );
    // A broken metadata file is refused before anything is sent, with its file and line.
    let broken = TempFile::new("broken.xml", "<md:EntityDescriptor");
    let refused = live(&app, &["sps", "register", "--metadata", broken.arg()]).await;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("broken.xml") && refused.stderr.contains("not well-formed"),
        "{}",
        refused.stderr
    );
    let idp = live(&app, &["sps", "idp"]).await.ok();
    assert!(
        idp.stdout
            .contains(&format!("{}/nemlogin", app.sim.base_url())),
        "{}",
        idp.stdout
    );
}

#[tokio::test]
async fn sps_fault_offers_every_fault_the_admin_api_documents() {
    let openapi: Value =
        serde_json::from_str(include_str!("../../docs/admin-openapi.json")).unwrap();
    let help = mitid_sim(&["sps", "fault", "--help"], &[]).await.ok();
    for fault in openapi["components"]["schemas"]["SamlFault"]["enum"]
        .as_array()
        .unwrap()
    {
        assert!(
            help.stdout.contains(fault.as_str().unwrap()),
            "`{fault}` is missing from:\n{}",
            help.stdout
        );
    }
}

#[tokio::test]
async fn organisations_and_professionals_are_read_offline_and_changed_on_the_broker() {
    // Offline, from the fixtures.
    let offline = mitid_sim(&["organisations", "list"], &[]).await.ok();
    assert!(
        offline.stdout.contains("91234564  Testfirma ApS"),
        "{}",
        offline.stdout
    );
    let listed = mitid_sim(
        &["professionals", "list", "--cvr", "98765433", "--json"],
        &[],
    )
    .await
    .ok()
    .json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let bad = mitid_sim(&["organisations", "show", "12345678"], &[]).await;
    assert_ne!(bad.code, 0);
    assert_eq!(bad.stderr.lines().count(), 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("start with 9"), "{}", bad.stderr);

    // On a running broker: an organisation and an identity from fixture-format files.
    let app = spawn_app().await;
    let organisation = TempFile::new(
        "org.toml",
        "[[organisation]]\ncvr = \"97531864\"\nname = \"Cli Firma ApS\"\np_numbers = [\"1234567890\"]\n",
    );
    let created = live(&app, &["organisations", "create", "-f", organisation.arg()])
        .await
        .ok();
    assert!(
        created.stdout.contains("Cli Firma ApS"),
        "{}",
        created.stdout
    );
    let uuid = "2f0b8c3e-5d7a-4e1f-9b6c-3a2d1e0f9c91";
    let professional = TempFile::new(
        "professional.toml",
        &format!(
            "[[professional]]\nuuid = \"{uuid}\"\ncvr = \"97531864\"\ncpr = \"050772-1457\"\n\
             given_name = \"Mads\"\nfamily_name = \"Østergaard\"\nrid = \"1\"\n"
        ),
    );
    let created = live(&app, &["professionals", "create", "-f", professional.arg()])
        .await
        .ok();
    assert!(
        created.stdout.contains("private MitID (050772-1457)"),
        "{}",
        created.stdout
    );
    let mine = live(&app, &["professionals", "list", "--cvr", "97531864"])
        .await
        .ok();
    assert!(mine.stdout.contains(uuid), "{}", mine.stdout);

    let locked = live(&app, &["professionals", "lock", uuid]).await.ok();
    assert!(
        locked.stdout.starts_with(&format!("locked {uuid}")),
        "{}",
        locked.stdout
    );
    let status = |app: &TestApp| {
        app.sim
            .provider()
            .broker
            .identities
            .professional(uuid.parse().unwrap())
            .map(|p| p.status.name())
    };
    assert_eq!(status(&app), Some("locked"));
    live(&app, &["professionals", "unlock", uuid]).await.ok();
    live(
        &app,
        &[
            "professionals",
            "set",
            uuid,
            "role=company_signatory",
            "email=mads@cli.test",
        ],
    )
    .await
    .ok();
    let shown = live(&app, &["professionals", "show", uuid])
        .await
        .ok()
        .json();
    assert_eq!(shown["role"], "company_signatory");
    assert_eq!(shown["status"], "active");

    // Refusals are the broker's message on one line.
    let refused = live(&app, &["organisations", "delete", "97531864"]).await;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("delete them first"),
        "{}",
        refused.stderr
    );
    let refused = live(&app, &["users", "delete", "app.only"]).await;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains(uuid), "{}", refused.stderr);

    let deleted = live(&app, &["professionals", "delete", uuid]).await.ok();
    assert_eq!(deleted.stdout.trim(), format!("deleted {uuid}"));
    live(&app, &["organisations", "set", "97531864", "name=Omdøbt"])
        .await
        .ok();
    let reset = live(&app, &["users", "reset"]).await.ok();
    assert!(
        reset
            .stdout
            .contains("2 organisations and 7 professional identities"),
        "{}",
        reset.stdout
    );
    let live_list = live(&app, &["organisations", "list", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(live_list.as_array().unwrap().len(), 2);
}

//! Relying parties of our own built on real, widely used RP libraries (tests/interop/):
//! the conformance kit drives each through the whole catalogue, and its verdict table is
//! asserted — a correct RP passes, and where a library has a real gap the table says so.
//! `bash tests/run.sh` installs the libraries (pinned); without them these tests fail
//! with a message saying so.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mitid_sim::conformance::report::RunReport;
use mitid_sim::conformance::{self, profile, Selection};
use mitid_sim::Simulator;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The RP's promises, as its environment configures them and its profile declares them.
struct Promises {
    idle: u64,
    absolute: u64,
    broker_check: u64,
    max_login_age: u64,
}

/// Cookie expiry has whole seconds, so an idle limit of 2 s could be 1 s in the browser.
const SHORT: Promises = Promises {
    idle: 3,
    absolute: 64,
    broker_check: 3,
    max_login_age: 3,
};

pub struct LibraryRp {
    pub base: String,
    _process: tokio::process::Child,
}

fn interop(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(dir)
}

fn missing(what: &str) -> ! {
    panic!("{what} is not installed: run `bash tests/run.sh` (the test command), which installs the interop tests' pinned npm and PyPI packages")
}

/// Starts `program script` with the RP's settings; it prints `listening on <base>`.
async fn start(
    program: PathBuf,
    script: PathBuf,
    issuer: &str,
    client_id: &str,
    promises: &Promises,
) -> LibraryRp {
    let mut child = tokio::process::Command::new(&program)
        .arg(&script)
        .env("ISSUER", issuer)
        .env("CLIENT_ID", client_id)
        .env("CLIENT_SECRET", "library-secret")
        .env("IDLE", promises.idle.to_string())
        .env("ABSOLUTE", promises.absolute.to_string())
        .env("BROKER_CHECK", promises.broker_check.to_string())
        .env("MAX_LOGIN_AGE", promises.max_login_age.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{} did not start within 120 s", script.display()))
        .unwrap()
        .unwrap_or_else(|| panic!("{} exited before it listened", script.display()));
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{} said {first}", script.display()))
        .to_string();
    // Keep reading so the RP never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    LibraryRp {
        base,
        _process: child,
    }
}

async fn express_openid_connect(issuer: &str, promises: &Promises) -> LibraryRp {
    let dir = interop("node");
    if !dir.join("node_modules/express-openid-connect").exists() {
        missing("express-openid-connect (tests/interop/node)");
    }
    start(
        PathBuf::from("node"),
        dir.join("rp.js"),
        issuer,
        "express-oidc-rp",
        promises,
    )
    .await
}

async fn authlib(issuer: &str, promises: &Promises) -> LibraryRp {
    let dir = interop("python");
    let python = dir.join(".venv/bin/python");
    if !python.exists() {
        missing("authlib (tests/interop/python/.venv)");
    }
    start(python, dir.join("rp.py"), issuer, "authlib-rp", promises).await
}

/// The profile a team would write for such an RP.
fn profile_for(rp: &LibraryRp, client_id: &str, broker: &str, promises: &Promises) -> String {
    format!(
        r#"
[target]
base_url = "{base}"
restart_command = "python3 -c 'import urllib.request as u; u.urlopen(u.Request(\"{base}/__restart\", method=\"POST\"))'"
restart_timeout_seconds = 20
login_path = "/login"
protected_path = "/me"
logged_in_marker = "Logged in as"
sensitive_path = "/transfer"
sensitive_marker = "Transfer approved"

[target.logout]
method = "GET"
path = "/logout"

[client]
client_id = "{client_id}"
client_secret = "library-secret"
redirect_uri = "{base}/callback"
post_logout_redirect_uri = "{base}/"
backchannel_logout_uri = "{base}/backchannel-logout"
id_token_signed_response_alg = "RS256"
scopes = ["openid", "mitid"]

[assurance]
required = "substantial"
asks_with = "idp_params"

[sessions]
idle_seconds = {idle}
absolute_seconds = {absolute}
broker_check_seconds = {check}
max_login_age_seconds = {age}
max_wait_seconds = 90

[citizens]
user = "app.instant"

[broker]
url = "{broker}"
"#,
        base = rp.base,
        idle = promises.idle,
        absolute = promises.absolute,
        check = promises.broker_check,
        age = promises.max_login_age,
    )
}

/// Each scenario's verdict, as `ID STATUS` lines in catalogue order.
fn table(report: &RunReport) -> Vec<String> {
    report
        .results
        .iter()
        .map(|r| format!("{} {}", r.id, r.status.name()))
        .collect()
}

fn expected(table: &str) -> Vec<String> {
    table
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

async fn judge(library: &str, expected_table: &str) {
    let sim = Simulator::builder().start().await.unwrap();
    let (rp, client_id) = match library {
        "express-openid-connect" => (
            express_openid_connect(sim.issuer(), &SHORT).await,
            "express-oidc-rp",
        ),
        _ => (authlib(sim.issuer(), &SHORT).await, "authlib-rp"),
    };
    let text = profile_for(&rp, client_id, sim.base_url(), &SHORT);
    let profile = profile::parse(&text).unwrap();
    let report = conformance::run(profile, &Selection::default(), |_| {})
        .await
        .unwrap();
    sim.stop().await;
    assert_eq!(
        table(&report),
        expected(expected_table),
        "{library}:\n{}",
        report.summary_table()
    );
}

#[tokio::test]
async fn express_openid_connect_verdicts() {
    judge(
        "express-openid-connect",
        "
        L01 PASSED
        L02 PASSED
        L03 PASSED
        L04 PASSED
        L05 PASSED
        L06 PASSED
        L07 PASSED
        L08 PASSED
        L09 PASSED
        T01 PASSED
        T02 PASSED
        T03 WARNING  # openid-client accepts an extra audience beside the client's (with azp)
        T04 WARNING  # openid-client does not refuse an iat in the future
        T05 PASSED
        T06 WARNING  # openid-client skips the signature of an id_token from the token endpoint
        T07 WARNING  # (OIDC Core 3.1.3.7 item 6 allows it), so an unknown key goes unseen
        T08 PASSED
        T09 PASSED
        T10 PASSED
        O01 PASSED
        O02 PASSED
        O03 PASSED
        O04 PASSED
        O05 PASSED
        O06 PASSED
        O07 PASSED
        O08 PASSED
        O09 WARNING  # express-openid-connect does not remember logout-token jtis
        O10 SKIPPED  # express-openid-connect has no front-channel logout handler
        S01 PASSED
        S02 PASSED
        S03 PASSED
        S04 PASSED
        S05 PASSED
        S06 PASSED
        ",
    )
    .await;
}

#[tokio::test]
async fn authlib_verdicts() {
    judge(
        "authlib",
        "
        L01 PASSED
        L02 PASSED
        L03 PASSED
        L04 PASSED
        L05 WARNING  # authlib ignores the RFC 9207 iss of the authorization response
        L06 PASSED
        L07 PASSED
        L08 PASSED
        L09 PASSED
        T01 PASSED
        T02 PASSED
        T03 WARNING  # accepts an extra audience beside the client's (with azp)
        T04 PASSED
        T05 PASSED
        T06 PASSED
        T07 PASSED
        T08 PASSED
        T09 FAILED   # takes the issuer from discovery without comparing it with the URL it was given
        T10 PASSED
        O01 PASSED
        O02 PASSED
        O03 PASSED
        O04 PASSED
        O05 PASSED
        O06 PASSED
        O07 PASSED
        O08 PASSED
        O09 PASSED
        O10 SKIPPED  # the authlib RP has no front-channel logout handler
        S01 PASSED
        S02 PASSED
        S03 PASSED
        S04 PASSED
        S05 PASSED
        S06 PASSED
        ",
    )
    .await;
}

//! The pages under their Content-Security-Policy in a real browser (headless Chromium):
//! nothing is blocked, and the scripts that moved to `/static/` still run: the logout
//! page's, and the NemLog-in page that posts the SAML Response on to the SP.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use reqwest::Method;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{spawn_app, TestApp};

/// What Chromium made of a page: the DOM after its scripts ran, and its console.
struct Rendered {
    dom: String,
    console: String,
}

/// Loads `url` in headless Chromium (installed by `tests/interop/install.sh`), letting
/// its scripts run for `budget_ms` of virtual time.
async fn render(url: &str, budget_ms: u32) -> Rendered {
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let profile = std::env::temp_dir().join(format!("mitid-sim-chromium-{}", uuid::Uuid::new_v4()));
    let browser = Command::new(&binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| {
            panic!("headless Chromium (`{binary}`) must be installed: bash tests/interop/install.sh ({err})")
        });
    let limit = Duration::from_secs(120);
    let output = tokio::time::timeout(limit, browser.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("Chromium did not finish {url} within {limit:?}"))
        .expect("Chromium's output is readable");
    let _ = std::fs::remove_dir_all(&profile);
    Rendered {
        dom: String::from_utf8_lossy(&output.stdout).into_owned(),
        console: String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|line| line.contains(":CONSOLE"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Nothing the policy blocked, nothing that failed to load.
fn assert_clean(page: &Rendered, url: &str) {
    for sign in [
        "Content Security Policy",
        "Refused to",
        "Failed to load resource",
    ] {
        assert!(
            !page.console.contains(sign),
            "{url}: the browser says\n{}",
            page.console
        );
    }
    assert!(
        page.dom.contains("mitid-sim"),
        "{url} rendered:\n{}",
        page.dom
    );
}

fn url(app: &TestApp, path: &str) -> String {
    app.url(path)
}

#[tokio::test]
async fn every_page_runs_under_its_policy_in_a_browser_without_a_violation() {
    let app = spawn_app().await;
    let pages = [
        url(&app, "/"),
        app.authorize_url(&[]),
        app.authorize_url(&[("client_id", "nobody")]),
        url(&app, "/sim/phone/app.only"),
        url(&app, "/sim/code-display/kodeviser"),
        url(&app, "/sim/audio-reader/kodeoplaeser"),
        url(&app, "/sim/code-card/nemid.kort"),
        url(&app, "/dashboard"),
    ];
    for page in &pages {
        // Less than the phone's 2-second reload: a reloading page never ends its budget.
        let rendered = render(page, 1_000).await;
        assert_clean(&rendered, page);
    }
}

#[tokio::test]
async fn the_logout_page_frames_the_front_channel_and_its_script_moves_on() {
    let rp = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/frontchannel"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<p>bye</p>", "text/html"))
        .mount(&rp)
        .await;
    Mock::given(method("GET"))
        .and(path("/logged-out"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<p id=marker>the RP after logout</p>", "text/html"),
        )
        .mount(&rp)
        .await;
    let app = spawn_app().await;
    let (status, body) = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({
                "client_id": "fc-rp", "name": "Front-channel RP", "client_secret": "s",
                "redirect_uris": [format!("{}/callback", rp.uri())],
                "post_logout_redirect_uris": [format!("{}/logged-out", rp.uri())],
                "frontchannel_logout_uri": format!("{}/frontchannel", rp.uri()),
                "allow_simulation": true,
            })),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let authorize = app.url(&format!(
        "/op/connect/authorize?{}",
        serde_urlencoded::to_string([
            ("client_id", "fc-rp"),
            ("redirect_uri", &format!("{}/callback", rp.uri())),
            ("response_type", "code"),
            ("scope", "openid"),
            ("simulation", "no-ui"),
            ("login_hint", "username:app.instant"),
        ])
        .unwrap()
    ));
    let callback = crate::helpers::location(&app.get(&authorize).await);
    let code = crate::helpers::query_of(&callback)["code"].clone();
    let tokens: serde_json::Value = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth("fc-rp", Some("s"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &format!("{}/callback", rp.uri())),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let logout = app.url(&format!(
        "/op/connect/endsession?{}",
        serde_urlencoded::to_string([
            ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            (
                "post_logout_redirect_uri",
                &format!("{}/logged-out", rp.uri()),
            ),
        ])
        .unwrap()
    ));
    let rendered = render(&logout, 5_000).await;
    for sign in ["Content Security Policy", "Refused to"] {
        assert!(!rendered.console.contains(sign), "{}", rendered.console);
    }
    assert!(
        rendered.dom.contains("the RP after logout"),
        "logout.js took the browser on to the RP:\n{}",
        rendered.dom
    );
    let framed = rp
        .received_requests()
        .await
        .unwrap()
        .iter()
        .any(|r| r.url.path() == "/frontchannel");
    assert!(framed, "the front-channel page was loaded in its frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_saml_post_page_submits_the_response_to_the_sp_under_its_policy() {
    use crate::pysaml2::{Sp, SpSetup};
    let acs = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/saml/acs"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<p>the SP's ACS</p>", "text/html"))
        .mount(&acs)
        .await;
    let app = spawn_app().await;
    let mut sp = Sp::registered_at(
        &app,
        "browser-sp",
        SpSetup::default(),
        &format!("{}/saml", acs.uri()),
    )
    .await;
    let sent = sp.python.call(json!({
        "op": "authn_request",
        "binding": "redirect",
        "class_refs": [
            "https://data.gov.dk/concept/core/nsis/loa/Substantial",
            "https://data.gov.dk/eid/Person",
        ],
    }));
    let mut login = url::Url::parse(sent["url"].as_str().unwrap()).unwrap();
    login
        .query_pairs_mut()
        .append_pair("simulation", "no-ui username:app.instant");

    let rendered = render(login.as_str(), 5_000).await;
    for sign in ["Content Security Policy", "Refused to"] {
        assert!(!rendered.console.contains(sign), "{}", rendered.console);
    }
    assert!(
        rendered.dom.contains("the SP's ACS"),
        "saml-post.js took the browser on to the ACS:\n{}",
        rendered.dom
    );
    let posted = acs.received_requests().await.unwrap();
    let form: std::collections::HashMap<String, String> =
        serde_urlencoded::from_bytes(&posted[0].body).unwrap();
    let answer = sp.python.call(json!({
        "op": "acs_post",
        "saml_response": form["SAMLResponse"],
    }));
    assert_eq!(
        answer["ok"],
        json!(true),
        "pysaml2 accepts what the browser posted: {answer}"
    );
}

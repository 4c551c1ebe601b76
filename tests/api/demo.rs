//! `mitid-sim demo` and Min Side: a newcomer logs in as a built-in citizen, sees their data
//! and children, logs out and is asked for credentials again; and the conformance kit's
//! whole catalogue passes against Min Side (the kit's always-available self-test).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use mitid_sim::conformance::scenario::Status;
use mitid_sim::conformance::{self, profile, Selection};
use mitid_sim::demo::{self, MinSide, Settings};
use mitid_sim::tls::ServerTls;
use mitid_sim::Simulator;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;

use crate::helpers::{hidden_value, TempHome};

struct Demo {
    sim: Simulator,
    min_side: MinSide,
}

impl Demo {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.min_side.base_url)
    }

    async fn stop(self) {
        self.min_side.stop().await;
        self.sim.stop().await;
    }
}

async fn start_demo(settings: Settings) -> Demo {
    start_demo_with(Simulator::builder(), settings, None).await
}

async fn start_demo_with(
    builder: mitid_sim::SimulatorBuilder,
    settings: Settings,
    tls: Option<ServerTls>,
) -> Demo {
    let sim = builder.start().await.unwrap();
    let bound = demo::bind("127.0.0.1", 0, tls.is_some()).unwrap();
    let client = demo::registration(&bound.base_url, demo::CLIENT_ID, "min-side-secret").unwrap();
    sim.register_client(client).await.unwrap();
    let min_side = demo::start(
        demo::Config {
            issuer: sim.issuer().to_string(),
            client_id: demo::CLIENT_ID.into(),
            client_secret: "min-side-secret".into(),
            settings,
            broker_ca: tls.as_ref().and_then(|t| t.ca_pem()),
            tls,
        },
        bound,
    )
    .await
    .unwrap();
    Demo { sim, min_side }
}

/// What a browser saw for one request.
struct Seen {
    url: String,
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Seen {
    fn location(&self) -> Option<String> {
        let location = self.headers.get(LOCATION)?.to_str().ok()?;
        url::Url::parse(&self.url)
            .ok()?
            .join(location)
            .ok()
            .map(|u| u.to_string())
    }

    /// The broker login page's step (`data-step`), if this is one.
    fn broker_step(&self) -> Option<String> {
        let start = self.body.find("data-step=\"")? + "data-step=\"".len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

/// A browser: a cookie jar, redirects followed one at a time.
struct Visitor {
    http: reqwest::Client,
}

impl Visitor {
    fn new() -> Self {
        Self::with(reqwest::Client::builder())
    }

    fn with(builder: reqwest::ClientBuilder) -> Self {
        Self {
            http: builder
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn seen(&self, request: reqwest::RequestBuilder, url: &str) -> Seen {
        let response = request.send().await.unwrap();
        Seen {
            url: url.to_string(),
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&self, url: &str) -> Seen {
        self.seen(self.http.get(url), url).await
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> Seen {
        self.seen(self.http.post(url).form(form), url).await
    }

    async fn follow(&self, mut seen: Seen) -> Seen {
        for _ in 0..20 {
            match seen.location().filter(|_| seen.status.is_redirection()) {
                Some(next) => seen = self.get(&next).await,
                None => return seen,
            }
        }
        panic!("too many redirects from {}", seen.url);
    }

    /// Opens `url` and completes whatever the broker asks as `user` (a citizen whose app
    /// approves by itself); returns the page the citizen lands on.
    async fn log_in(&self, url: &str, user: &str) -> Seen {
        let mut seen = self.follow(self.get(url).await).await;
        for _ in 0..100 {
            match seen.broker_step().as_deref() {
                Some("user_id") => {
                    let csrf = hidden_value(&seen.body, "csrf").unwrap();
                    let action = format!("{}/user-id", seen.url.split('?').next().unwrap());
                    let posted = self
                        .post(&action, &[("csrf", csrf.as_str()), ("user_id", user)])
                        .await;
                    seen = self.follow(posted).await;
                }
                Some("app") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    seen = self.follow(self.get(&seen.url).await).await;
                }
                Some(other) => panic!("unexpected login step {other} at {}", seen.url),
                None => return seen,
            }
        }
        panic!("the login did not finish");
    }

    /// Logs out with the page's own "Log af" form.
    async fn log_out(&self, demo: &Demo, page: &Seen) -> Seen {
        let csrf = hidden_value(&page.body, "csrf").expect("a Log af form");
        let seen = self
            .post(&demo.url("/log-af"), &[("csrf", csrf.as_str())])
            .await;
        self.follow(seen).await
    }
}

#[tokio::test]
async fn a_newcomer_logs_in_sees_their_data_and_children_logs_out_and_must_log_in_again() {
    let demo = start_demo(Settings::default()).await;
    let browser = Visitor::new();
    let front = browser.get(&demo.url("/")).await;
    assert_eq!(front.status, StatusCode::OK);
    assert!(front.body.contains("Log på med MitID"), "{}", front.body);
    assert!(front.body.contains("foraelder"));

    let page = browser.log_in(&demo.url("/login"), "foraelder").await;
    assert_eq!(page.url, demo.url("/min-side"));
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["cache-control"], "no-store");
    for fact in [
        "Dine oplysninger",
        "Xenia Forælder",
        "141275-2208",
        "14. december 1975",
        "Yrsa Forælder",
        "Zacharias Forælder",
    ] {
        assert!(page.body.contains(fact), "`{fact}` missing:\n{}", page.body);
    }
    // Custody is registered only for the child born from May 2004.
    let yrsa = &page.body[page.body.find("Yrsa").unwrap()..];
    assert!(yrsa[..yrsa.find("</tr>").unwrap()].contains("data-custody=\"false\""));
    let zacharias = &page.body[page.body.find("Zacharias").unwrap()..];
    assert!(zacharias[..zacharias.find("</tr>").unwrap()].contains("data-custody=\"true\""));
    assert!(page.body.contains("1. maj 2004"));

    let logged_out = browser.log_out(&demo, &page).await;
    assert_eq!(logged_out.url, demo.url("/logget-af"));
    assert!(logged_out.body.contains("Du er logget af"));
    assert!(
        logged_out
            .body
            .contains("Det er ikke nok at lukke fanebladet"),
        "{}",
        logged_out.body
    );
    assert!(
        demo.sim.sessions().is_empty(),
        "the broker session ended too"
    );
    let again = browser.get(&demo.url("/min-side")).await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "logged out of Min Side"
    );

    // The next login asks for the user ID: no single sign-on is left.
    let next = browser.follow(browser.get(&demo.url("/login")).await).await;
    assert_eq!(next.broker_step().as_deref(), Some("user_id"));
    demo.stop().await;
}

#[tokio::test]
async fn english_pages_and_the_names_of_cpr_and_mitid_with_the_explanation() {
    let demo = start_demo(Settings::default()).await;
    let browser = Visitor::new();
    let front = browser.get(&demo.url("/?lang=en")).await;
    assert!(front.body.contains("Log in with MitID"));
    let page = browser.log_in(&demo.url("/login"), "navne.forskel").await;
    assert!(page.body.contains("Your details"), "{}", page.body);
    assert!(page.body.contains("Jens-Peter Sørensen Kragh"));
    assert!(page.body.contains("Jens Peter Sørensen</dd>"));
    assert!(page.body.contains("id=\"names-differ\""));
    assert!(page.body.contains("25 May 1950"));
    assert!(page.body.contains("Log out"));
    let logged_out = browser.log_out(&demo, &page).await;
    assert!(logged_out.body.contains("Closing the tab is not enough"));
    demo.stop().await;
}

#[tokio::test]
async fn protected_citizens_and_citizens_without_cpr_see_what_the_register_holds() {
    let demo = start_demo(Settings::default()).await;
    let protected = Visitor::new()
        .log_in(&demo.url("/login"), "beskyttet")
        .await;
    assert!(
        protected.body.contains("Gitte Skjult"),
        "{}",
        protected.body
    );
    assert!(protected.body.contains("id=\"protected\""));
    assert!(
        protected.body.contains("ADRESSEBESKYTTET"),
        "{}",
        protected.body
    );
    let foreign = Visitor::new().log_in(&demo.url("/login"), "uden.cpr").await;
    assert_eq!(foreign.status, StatusCode::OK);
    assert!(foreign.body.contains("John Smith"));
    assert!(foreign.body.contains("id=\"not-in-register\""));
    assert!(!foreign.body.contains("id=\"children\""));
    demo.stop().await;
}

#[tokio::test]
async fn a_holder_of_a_power_of_attorney_chooses_to_act_for_the_principal() {
    let demo = start_demo(Settings::default()).await;
    let browser = Visitor::new();
    let page = browser.log_in(&demo.url("/login"), "fuldmagt").await;
    assert!(page.body.contains("Bodil Fuldmagtsgiver"));
    assert!(page.body.contains("id=\"act-for\""));
    let csrf = hidden_value(&page.body, "csrf").unwrap();
    let act = demo.url("/min-side/handl-for");

    let forged = browser
        .post(&act, &[("csrf", "forged"), ("cpr", "090938-1246")])
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    let stranger = browser
        .post(&act, &[("csrf", csrf.as_str()), ("cpr", "120385-1234")])
        .await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN);

    let chosen = browser
        .follow(
            browser
                .post(&act, &[("csrf", csrf.as_str()), ("cpr", "090938-1246")])
                .await,
        )
        .await;
    assert!(
        chosen
            .body
            .contains("Du handler på vegne af Bodil Fuldmagtsgiver"),
        "{}",
        chosen.body
    );
    let back = browser
        .follow(
            browser
                .post(&act, &[("csrf", csrf.as_str()), ("cpr", "")])
                .await,
        )
        .await;
    assert!(!back.body.contains("Du handler på vegne af"));

    let guardian = Visitor::new().log_in(&demo.url("/login"), "vaerge").await;
    assert!(
        guardian.body.contains("Ærtebjerg Myndling · værge"),
        "{}",
        guardian.body
    );
    demo.stop().await;
}

#[tokio::test]
async fn the_sensitive_page_asks_for_a_fresh_login_and_a_broker_logout_ends_the_session() {
    let demo = start_demo(Settings {
        broker_check_every: Duration::from_secs(1),
        ..Settings::default()
    })
    .await;
    let browser = Visitor::new();
    browser.log_in(&demo.url("/login"), "fuldmagt").await;
    // Not fresh: Min Side sends the citizen to the broker with max_age=0.
    let asked = browser.get(&demo.url("/min-side/fuldmagter")).await;
    assert_eq!(asked.location().unwrap(), demo.url("/login?fresh=1"));
    let to_broker = browser.get(&asked.location().unwrap()).await;
    assert!(to_broker.location().unwrap().contains("max_age=0"));
    let page = browser
        .log_in(&demo.url("/min-side/fuldmagter"), "fuldmagt")
        .await;
    assert_eq!(page.url, demo.url("/min-side/fuldmagter"));
    assert!(page.body.contains("Bekræftet med MitID"), "{}", page.body);
    assert!(page.body.contains("Bodil Fuldmagtsgiver"));

    // The broker ends the session (back-channel logout, and userinfo says inactive).
    for session in demo.sim.sessions() {
        demo.sim.end_session(session.id).unwrap();
    }
    let mut ended = false;
    for _ in 0..50 {
        if browser.get(&demo.url("/min-side")).await.status == StatusCode::SEE_OTHER {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "Min Side noticed the ended broker session");
    demo.stop().await;
}

#[tokio::test]
async fn an_idle_session_ends_here_and_at_the_broker() {
    let demo = start_demo(Settings {
        idle: Duration::from_secs(1),
        ..Settings::default()
    })
    .await;
    let browser = Visitor::new();
    browser.log_in(&demo.url("/login"), "foraelder").await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let page = browser
        .follow(browser.get(&demo.url("/min-side")).await)
        .await;
    assert_eq!(page.url, demo.url("/logget-af?state=timeout"));
    assert!(page.body.contains("fordi du ikke havde brugt Min Side"));
    assert!(
        demo.sim.sessions().is_empty(),
        "the broker session ended too"
    );
    demo.stop().await;
}

#[tokio::test]
async fn min_side_over_https_trusts_only_the_local_ca_and_sets_secure_cookies() {
    let home = TempHome::new();
    let tls = ServerTls::local(home.path(), &[]).unwrap();
    let ca = tls.ca_pem().unwrap();
    let demo = start_demo_with(
        Simulator::builder().tls(tls.clone()),
        Settings::default(),
        Some(tls),
    )
    .await;
    assert!(demo.min_side.base_url.starts_with("https://"));
    let browser = Visitor::with(
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap()),
    );
    let started = browser.get(&demo.url("/login")).await;
    let cookies = started.set_cookies();
    assert!(
        cookies
            .iter()
            .all(|c| c.starts_with("__Host-") && c.contains("Secure")),
        "{cookies:?}"
    );
    let page = browser.log_in(&demo.url("/login"), "foraelder").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Xenia Forælder"));
    demo.stop().await;
}

/// The target profile of Min Side for the kit.
fn profile(demo: &Demo, settings: &Settings) -> String {
    format!(
        r#"
[target]
base_url = "{base}"
# Min Side reads discovery again at every login in this test (discovery_refresh = 0),
# so a restart changes nothing: T09 needs no more than a no-op.
restart_command = "true"
login_path = "/login"
protected_path = "/min-side"
logged_in_marker = "Dine oplysninger"
sensitive_path = "/min-side/fuldmagter"
sensitive_marker = "Bekræftet med MitID"

[target.logout]
method = "POST"
path = "/log-af"
form_page = "/min-side"

[client]
client_id = "min-side"
client_secret = "min-side-secret"
redirect_uri = "{base}/callback"
post_logout_redirect_uri = "{base}/logget-af"
backchannel_logout_uri = "{base}/backchannel-logout"
scopes = ["openid", "mitid"]
register = false

[assurance]
required = "substantial"
asks_with = "idp_params"

[sessions]
idle_seconds = {idle}
absolute_seconds = {absolute}
broker_check_seconds = {check}
max_login_age_seconds = {fresh}
max_wait_seconds = 80

[citizens]
user = "app.instant"

[broker]
url = "{broker}"
"#,
        base = demo.min_side.base_url,
        broker = demo.sim.base_url(),
        idle = settings.idle.as_secs(),
        absolute = settings.absolute.as_secs(),
        check = settings.broker_check_every.as_secs(),
        fresh = settings.fresh_login_valid.as_secs(),
    )
}

#[tokio::test]
async fn the_conformance_kit_passes_its_whole_catalogue_against_min_side() {
    let settings = Settings {
        idle: Duration::from_secs(3),
        // Past the broker's shortest session_expiry (60 s), so S04 can tell them apart.
        absolute: Duration::from_secs(65),
        broker_check_every: Duration::from_secs(2),
        fresh_login_valid: Duration::from_secs(3),
        discovery_refresh: Duration::ZERO,
    };
    let demo = start_demo(settings).await;
    let profile = profile::parse(&profile(&demo, &settings)).unwrap();
    let report = conformance::run(profile, &Selection::default(), |_| {})
        .await
        .unwrap();
    // Min Side logs out by back channel and its own session checks; it registers no
    // front-channel logout URI, so O10 has nothing to judge.
    let not_passed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status != Status::Passed)
        .filter(|r| {
            !(r.id == "O10"
                && r.status == Status::Skipped
                && r.summary.contains("client.frontchannel_logout_uri"))
        })
        .map(|r| format!("{} {:?}: {} {:?}", r.id, r.status, r.summary, r.evidence))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    let ran: BTreeSet<_> = report.results.iter().map(|r| r.id).collect();
    let catalogue: BTreeSet<_> = conformance::scenarios::catalogue()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ran, catalogue, "every scenario ran");
    demo.stop().await;
}

#[tokio::test]
async fn mitid_sim_demo_prints_both_urls_and_serves_min_side() {
    let home = TempHome::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .args(["demo", "--port", "0", "--service-port", "0"])
        .env("MITID_SIM_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let banner = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let banner: Vec<String> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("Press Ctrl-C"))
            .collect();
        std::thread::spawn(move || lines.for_each(drop));
        banner
    })
    .await
    .unwrap();
    let field = |label: &str| {
        banner
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` in {banner:#?}"))
            .trim_start()
            .trim_start_matches(label)
            .trim()
            .to_string()
    };
    let min_side = field("Min Side (demo service)");
    let issuer = field("issuer");
    assert!(min_side.starts_with("http://127.0.0.1:"), "{min_side}");
    assert!(issuer.ends_with("/op"), "{issuer}");
    assert!(banner.iter().any(|l| l.contains("foraelder")));
    let browser = Visitor::new();
    let page = browser
        .log_in(&format!("{min_side}login"), "foraelder")
        .await;
    assert!(page.body.contains("Xenia Forælder"), "{}", page.body);
    let _ = child.kill();
    let _ = child.wait();
}

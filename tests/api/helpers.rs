//! A browser-like client (cookie jar, no automatic redirects) against a real broker on port 0.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mitid_sim::Simulator;
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use serde_json::Value;

pub const CLIENT_ID: &str = "demo-rp";
pub const SECRET: &str = "demo-secret";
pub const REDIRECT_URI: &str = "http://localhost:8080/callback";
/// RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The per-user folder (`MITID_SIM_HOME`) for every `mitid-sim` process a test starts:
/// under the build's temporary folder, never the real home.
pub fn test_home() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mitid-sim-home")
}

pub struct TestApp {
    pub sim: Simulator,
    pub browser: reqwest::Client,
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        // Below actix's 5-second keep-alive. A test that blocks its runtime longer (an RSA
        // key generated on a busy machine) keeps the client from seeing the broker close
        // the idle connection, and reusing it fails the next request with
        // `IncompleteMessage`; a connection idle this long is not reused.
        .pool_idle_timeout(std::time::Duration::from_secs(3))
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Simulator::builder()).await
}

pub async fn spawn_with(builder: mitid_sim::SimulatorBuilder) -> TestApp {
    let sim = builder.start().await.expect("the simulator starts");
    TestApp {
        sim,
        browser: browser(),
    }
}

/// A login page as the browser sees it.
#[derive(Debug)]
pub struct Page {
    pub url: String,
    pub status: StatusCode,
    pub html: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        hidden_value(&self.html, "csrf").expect("the page has a CSRF field")
    }

    pub fn login_path(&self) -> String {
        let start = self.url.find("/login/").expect("a login URL");
        self.url[start..].split('?').next().unwrap().to_string()
    }
}

pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("expected a redirect, got {}", response.status()))
        .to_str()
        .unwrap()
        .to_string()
}

pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn assert_is_redirect_to(response: &Response, prefix: &str) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "expected a 303");
    let to = location(response);
    assert!(
        to.starts_with(prefix),
        "redirected to {to}, expected {prefix}…"
    );
    to
}

pub fn decode_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn decode_header(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    pub fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut params: Vec<(&str, &str)> = vec![
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid mitid"),
            ("state", "state-123"),
            ("nonce", "nonce-456"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (key, value) in extra {
            params.retain(|(k, _)| k != key);
            if !value.is_empty() {
                params.push((key, value));
            }
        }
        let query = serde_urlencoded::to_string(&params).unwrap();
        format!("{}/op/connect/authorize?{query}", self.sim.base_url())
    }

    pub async fn get(&self, url: &str) -> Response {
        self.browser.get(url).send().await.unwrap()
    }

    /// The simulated phone's page for the app request an app step links (its QR code).
    pub fn app_request_url(&self, page: &Page) -> String {
        let start = page
            .html
            .find("/sim/app/")
            .expect("the app step links the phone");
        let end = page.html[start..].find('"').unwrap() + start;
        self.url(&page.html[start..end])
    }

    pub async fn page(&self, url: &str) -> Page {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            self.url(url)
        };
        let response = self.get(&url).await;
        let status = response.status();
        Page {
            url,
            status,
            html: response.text().await.unwrap(),
        }
    }

    /// Starts a login and returns the first page (the user ID form).
    pub async fn start_login(&self, extra: &[(&str, &str)]) -> Page {
        let response = self.get(&self.authorize_url(extra)).await;
        let to = assert_is_redirect_to(&response, "/login/");
        self.page(&to).await
    }

    /// Posts a login form and follows the post/redirect/get back to the login page.
    pub async fn post_form(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Response {
        let csrf = page.csrf();
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        self.browser
            .post(self.url(&format!("{}/{action}", page.login_path())))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn submit(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let response = self.post_form(page, action, fields).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "a form post redirects"
        );
        self.page(&location(&response)).await
    }

    /// Polls the login page until it redirects away (to the RP), as a headless client does.
    pub async fn poll_until_redirect(&self, page: &Page) -> String {
        for _ in 0..300 {
            let response = self.get(&page.url).await;
            if response.status() == StatusCode::SEE_OTHER {
                return location(&response);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the login never finished");
    }

    pub fn code_now(&self, user_id: &str) -> String {
        let citizen = self
            .sim
            .provider()
            .broker
            .identities
            .by_user_id(user_id)
            .unwrap();
        let device = citizen.code_display.as_ref().unwrap();
        device.secret.code_at(self.sim.clock().now())
    }

    /// Runs `reading` and returns what it read with the display's codes just before and
    /// just after: a 30-second step can end mid-read, so either one is the current code.
    pub async fn codes_around<T>(
        &self,
        user_id: &str,
        reading: impl std::future::Future<Output = T>,
    ) -> (T, [String; 2]) {
        let before = self.code_now(user_id);
        let read = reading.await;
        (read, [before, self.code_now(user_id)])
    }

    /// The code-display login of `user_id`, ending at the RP's redirect URI.
    pub async fn login_with_code(
        &self,
        user_id: &str,
        password: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let page = self.start_login(extra).await;
        let page = self.submit(&page, "user-id", &[("user_id", user_id)]).await;
        let page = if page.html.contains("name=\"code\"") {
            page
        } else {
            self.submit(&page, "choose", &[("method", "code-display")])
                .await
        };
        let code = self.code_now(user_id);
        let page = self.submit(&page, "code", &[("code", &code)]).await;
        assert!(
            page.html.contains("name=\"password\""),
            "password step follows the code"
        );
        let response = self
            .post_form(&page, "password", &[("password", password)])
            .await;
        let to = location(&response);
        let response = self.get(&self.url(&to)).await;
        location(&response)
    }

    pub async fn token_request(&self, form: &[(&str, &str)]) -> Response {
        self.browser
            .post(self.url("/op/connect/token"))
            .basic_auth(CLIENT_ID, Some(SECRET))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn exchange(&self, code: &str) -> Response {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    pub async fn tokens_for(&self, rp_callback: &str) -> Value {
        let params = query_of(rp_callback);
        let response = self.exchange(&params["code"]).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// A page-less login via NEB's `simulation=no-ui <identity>` (`uuid:`, `username:`,
    /// `cpr:`).
    pub async fn no_ui_login(&self, identity: &str, extra: &[(&str, &str)]) -> String {
        let simulation = format!("no-ui {identity}");
        let mut params = vec![("simulation", simulation.as_str())];
        params.extend_from_slice(extra);
        let response = self.get(&self.authorize_url(&params)).await;
        assert_is_redirect_to(&response, REDIRECT_URI)
    }
}

impl TestApp {
    /// The record's last exchange at `endpoint` (what the broker kept of the request).
    pub fn last_exchange(&self, endpoint: &str) -> mitid_sim::protocols::oidc::record::Exchange {
        self.sim
            .provider()
            .recorder
            .list(None, None)
            .into_iter()
            .filter(|e| e.endpoint == endpoint)
            .max_by_key(|e| e.seq)
            .unwrap_or_else(|| panic!("no {endpoint} request was recorded"))
    }

    /// An invalid authorization request, as NEB answers it: a 302 to the broker's own error
    /// page (never the RP), which shows the error. Returns the page.
    pub async fn follow_to_error_page(&self, response: Response) -> Page {
        assert_eq!(response.status(), StatusCode::FOUND, "NEB answers 302");
        let to = location(&response);
        let prefix = format!("{}/op/Error?errorId=CfDJ8", self.sim.base_url());
        assert!(to.starts_with(&prefix), "went to {to}, not the error page");
        assert_eq!(
            response.headers()["cache-control"],
            "no-store, no-cache, max-age=0"
        );
        let page = self.page(&to).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        page
    }
}

/// The step a login page is at (`data-step` on its heading).
pub fn step_of(page: &Page) -> String {
    let marker = "data-step=\"";
    let start = page.html.find(marker).map(|i| i + marker.len());
    start
        .and_then(|s| {
            page.html[s..]
                .find('"')
                .map(|e| page.html[s..s + e].to_string())
        })
        .unwrap_or_default()
}

pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker)?;
    let open_end = html[start..].find('>')? + start + 1;
    let close = html[open_end..].find('<')? + open_end;
    Some(html[open_end..close].trim().to_string())
}

impl TestApp {
    pub fn citizen(&self, user_id: &str) -> std::sync::Arc<mitid_sim::identity::Identity> {
        self.sim
            .provider()
            .broker
            .identities
            .by_user_id(user_id)
            .unwrap()
    }

    /// Completes whatever the login pages ask, as a tester with the citizen's devices at
    /// hand would, and returns the URL the broker finally redirects to.
    pub async fn drive_login(&self, user_id: &str, extra: &[(&str, &str)]) -> String {
        self.drive_login_choosing(user_id, None, extra).await
    }

    /// As `drive_login`; at MitID Erhverv's choice of identity it picks `professional` (a
    /// persistent professional ID, or `private` to go on as the private person).
    pub async fn drive_login_choosing(
        &self,
        user_id: &str,
        professional: Option<&str>,
        extra: &[(&str, &str)],
    ) -> String {
        let citizen = self.citizen(user_id);
        let response = self.get(&self.authorize_url(extra)).await;
        let mut to = location(&response);
        for _ in 0..30 {
            if !to.starts_with("/login/") {
                return to;
            }
            let url = self.url(&to);
            let shown = self.get(&url).await;
            if shown.status() == StatusCode::SEE_OTHER {
                to = location(&shown);
                continue;
            }
            let page = Page {
                url,
                status: shown.status(),
                html: shown.text().await.unwrap(),
            };
            let step = step_of(&page);
            let response = match step.as_str() {
                "user_id" => {
                    self.post_form(&page, "user-id", &[("user_id", user_id)])
                        .await
                }
                "nemid_credentials" => {
                    let password = citizen
                        .nemid
                        .as_ref()
                        .unwrap()
                        .password
                        .expose()
                        .to_string();
                    self.post_form(
                        &page,
                        "nemid",
                        &[("user_id", user_id), ("password", &password)],
                    )
                    .await
                }
                "app" => {
                    // Scripted apps answer by themselves; only a manual one needs the swipe.
                    let manual = citizen
                        .app
                        .is_none_or(|a| a.answer == mitid_sim::authenticators::AppAnswer::Manual);
                    if manual {
                        let start = page.html.find("/sim/app/").unwrap();
                        let end = page.html[start..].find('"').unwrap() + start;
                        let phone = browser();
                        let _ = phone
                            .post(self.url(&page.html[start..end]))
                            .form(&[("decision", "approve")])
                            .send()
                            .await;
                    }
                    if let Some(next) = self.wait_past_app(&page).await {
                        to = next;
                    }
                    continue;
                }
                "code" => {
                    let method = if page.html.contains("/sim/audio-reader/") {
                        mitid_sim::authenticators::Method::AudioReader
                    } else {
                        mitid_sim::authenticators::Method::CodeDisplay
                    };
                    let device = citizen.totp_device(method).unwrap();
                    let code = device.secret.code_at(self.sim.clock().now());
                    self.post_form(&page, "code", &[("code", &code)]).await
                }
                "password" => {
                    let password = citizen.password.as_ref().unwrap().expose().to_string();
                    self.post_form(&page, "password", &[("password", &password)])
                        .await
                }
                "chip" => self.post_form(&page, "chip", &[]).await,
                "code_card" | "activate_card" => {
                    let key = self.card_key_for(&page, user_id, step == "activate_card");
                    self.post_form(&page, "card-key", &[("key", &key)]).await
                }
                "cpr" => {
                    let cpr = citizen.cpr.unwrap().to_string();
                    self.post_form(&page, "cpr", &[("cpr", &cpr)]).await
                }
                "choose_professional" => match professional {
                    Some("private") => {
                        self.post_form(&page, "professional", &[("private", "1")])
                            .await
                    }
                    Some(uuid) => {
                        self.post_form(&page, "professional", &[("uuid", uuid)])
                            .await
                    }
                    None => panic!("{user_id} is asked to choose a professional identity"),
                },
                "failed" => self.post_form(&page, "return", &[]).await,
                other => panic!("the driver does not know step `{other}`:\n{}", page.html),
            };
            if response.status() != StatusCode::SEE_OTHER {
                panic!("a form post answered {}", response.status());
            }
            to = location(&response);
        }
        panic!("the login did not end");
    }

    /// Polls the app's waiting page until the login moves on: the redirect it answers
    /// with, or `None` when the login shows another step.
    async fn wait_past_app(&self, page: &Page) -> Option<String> {
        for _ in 0..300 {
            let response = self.get(&page.url).await;
            if response.status() == StatusCode::SEE_OTHER {
                return Some(location(&response));
            }
            let html = response.text().await.unwrap();
            if !html.contains("data-step=\"app\"") {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the app never answered");
    }

    /// The key beside the key number the page shows, read off the citizen's card.
    pub fn card_key_for(&self, page: &Page, user_id: &str, next_card: bool) -> String {
        let number: u16 = element_text(&page.html, "key_number")
            .unwrap()
            .parse()
            .unwrap();
        let citizen = self.citizen(user_id);
        let nemid = citizen.nemid.as_ref().unwrap();
        let state = self
            .sim
            .provider()
            .broker
            .code_cards
            .state(citizen.uuid, nemid);
        let index = state.card_index + u32::from(next_card);
        mitid_sim::authenticators::code_card::card_keys(&nemid.pid, index)
            .into_iter()
            .find(|k| k.number == number)
            .expect("the key number is on the card")
            .key_text()
    }
}

/// A fresh folder for `MITID_SIM_HOME` (the per-user state: local CA, signing
/// certificates), removed when dropped: tests never write to the real home.
pub struct TempHome(std::path::PathBuf);

impl TempHome {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("mitid-sim-home-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! What a scenario is, what it returns, and the observations they share.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;

use super::broker::BrokerControl;
use super::driver::{complete_broker_login_as, Browser, DriverError, HttpBrowser, Page};
use super::evidence;
use super::profile::TargetProfile;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Passed,
    Failed,
    Warning,
    Skipped,
    /// The kit could not carry the scenario out (broker or RP unreachable, a restart
    /// that did not come back, a login that never reached the point under test).
    Error,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Passed => "PASSED",
            Status::Failed => "FAILED",
            Status::Warning => "WARNING",
            Status::Skipped => "SKIPPED",
            Status::Error => "ERROR",
        }
    }
}

/// The requirement level of a check's source (DESIGN §6): a MUST fails, a SHOULD warns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Must,
    Should,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Login,
    Token,
    Logout,
    Session,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Login => "login",
            Group::Token => "token",
            Group::Logout => "logout",
            Group::Session => "session",
        }
    }
}

/// A scenario's verdict with the evidence that decided it.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub status: Status,
    pub summary: String,
    pub evidence: Vec<String>,
}

impl Outcome {
    pub fn new(status: Status, summary: impl Into<String>) -> Self {
        Self {
            status,
            summary: summary.into(),
            evidence: Vec::new(),
        }
    }

    pub fn passed(summary: impl Into<String>) -> Self {
        Self::new(Status::Passed, summary)
    }

    pub fn failed(summary: impl Into<String>) -> Self {
        Self::new(Status::Failed, summary)
    }

    pub fn warning(summary: impl Into<String>) -> Self {
        Self::new(Status::Warning, summary)
    }

    /// A check of `level` found the RP wrong.
    pub fn violated(level: Level, summary: impl Into<String>) -> Self {
        match level {
            Level::Must => Self::failed(summary),
            Level::Should => Self::warning(summary),
        }
    }

    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::new(Status::Skipped, reason)
    }

    /// The kit could not carry the scenario out.
    pub fn error(cause: impl std::fmt::Display) -> Self {
        Self::new(
            Status::Error,
            format!("the scenario could not be carried out: {cause}"),
        )
    }

    pub fn with(mut self, evidence: impl Into<String>) -> Self {
        self.evidence.push(evidence.into());
        self
    }

    pub fn with_all(mut self, evidence: impl IntoIterator<Item = String>) -> Self {
        self.evidence.extend(evidence);
        self
    }
}

/// A scenario's body: `Err` ends it early with that outcome (usually an ERROR).
pub type Verdict = Result<Outcome, Outcome>;

/// Turns failures of the kit's own steps into ERROR outcomes, for `?`.
pub trait OrError<T> {
    fn or_error(self) -> Result<T, Outcome>;
    /// With what the kit was doing, e.g. "logging in".
    fn or_error_while(self, doing: &str) -> Result<T, Outcome>;
}

impl<T, E: std::fmt::Display> OrError<T> for Result<T, E> {
    fn or_error(self) -> Result<T, Outcome> {
        self.map_err(Outcome::error)
    }

    fn or_error_while(self, doing: &str) -> Result<T, Outcome> {
        self.map_err(|err| Outcome::error(format!("{doing}: {err}")))
    }
}

pub type Run = for<'a> fn(&'a Ctx) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

pub struct Scenario {
    pub id: &'static str,
    pub group: Group,
    pub title: &'static str,
    /// Spec references: OIDC Core sections, RFCs, OWASP ASVS ids.
    pub references: &'static [&'static str],
    pub run: Run,
}

/// What a run reports while it goes.
pub enum Event<'a> {
    Start(&'a Scenario),
    /// The scenario waits this long for the RP's clocks, and why.
    Wait {
        seconds: u64,
        reason: &'a str,
    },
    Done(&'a super::report::ScenarioResult),
}

pub type Progress = Arc<dyn for<'a> Fn(Event<'a>) + Send + Sync>;

/// What every scenario gets: the profile, the broker's admin API, a way to make browsers.
pub struct Ctx {
    pub profile: TargetProfile,
    pub broker: BrokerControl,
    pub progress: Progress,
}

/// How a login failed.
#[derive(Debug)]
pub enum LoginError {
    /// The kit could not talk to the RP or the broker at all.
    Unreachable(DriverError),
    /// The RP did not send the citizen to the broker.
    Rp(String),
    /// The broker refused the login (its error redirect or page).
    Broker(String),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::Unreachable(err) => write!(f, "{err}"),
            LoginError::Rp(what) | LoginError::Broker(what) => f.write_str(what),
        }
    }
}

impl From<DriverError> for LoginError {
    fn from(err: DriverError) -> Self {
        match err {
            DriverError::Login(what) => LoginError::Broker(what),
            other => LoginError::Unreachable(other),
        }
    }
}

/// [P+]/[P−]: the protected page as a browser with these cookies sees it.
pub struct Observation {
    pub logged_in: bool,
    pub page: Page,
}

impl Observation {
    /// `[P+] GET http://rp/me → 200 "Logged in as …"`.
    pub fn line(&self) -> String {
        let mark = if self.logged_in { "[P+]" } else { "[P−]" };
        format!("{mark} {}", evidence::exchange(&self.page))
    }
}

impl Ctx {
    pub fn client_id(&self) -> &str {
        &self.profile.client.client_id
    }

    /// A fresh browser: no cookies, no history.
    pub fn browser(&self) -> Box<dyn Browser> {
        Box::new(HttpBrowser::new())
    }

    /// Tells the progress why the scenario is about to wait, then waits.
    pub async fn wait(&self, duration: Duration, reason: &str) {
        self.announce(duration, reason);
        tokio::time::sleep(duration).await;
    }

    pub fn announce(&self, duration: Duration, reason: &str) {
        (self.progress)(Event::Wait {
            seconds: duration.as_secs_f64().ceil() as u64,
            reason,
        });
    }

    /// How often to touch the RP so its idle limit never decides: three times within the
    /// declared idle limit (cookie expiry has whole seconds, so a session cookie may end up
    /// to a second early), or every second when none is declared.
    pub fn keep_alive_interval(&self) -> Duration {
        match self.profile.sessions.idle_seconds {
            Some(idle) => Duration::from_millis((idle * 1000 / 3).clamp(250, 5000)),
            None => Duration::from_secs(1),
        }
    }

    /// Keeps the RP session in use until `until`; returns the first observation that
    /// shows it logged out, if any.
    pub async fn keep_alive(
        &self,
        browser: &mut dyn Browser,
        until: Instant,
        reason: &str,
    ) -> Result<Option<Observation>, Outcome> {
        self.announce(until.saturating_duration_since(Instant::now()), reason);
        let every = self.keep_alive_interval();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            tokio::time::sleep(left.min(every)).await;
            if Instant::now() >= until {
                return Ok(None);
            }
            let seen = self.observe(browser).await.or_error()?;
            if !seen.logged_in {
                return Ok(Some(seen));
            }
        }
    }

    /// Starts the RP's login and completes the broker's pages; returns the broker's
    /// redirect to the RP's callback, not yet followed.
    pub async fn login_until_callback(
        &self,
        browser: &mut dyn Browser,
    ) -> Result<String, LoginError> {
        let user = self.profile.citizens.user.clone();
        self.login_as_until_callback(browser, &user).await
    }

    pub async fn login_as_until_callback(
        &self,
        browser: &mut dyn Browser,
        user: &str,
    ) -> Result<String, LoginError> {
        let path = self.profile.target.login_path.clone();
        self.enter_until_callback(browser, &path, user).await
    }

    /// GETs `path` at the RP until the RP sends the browser to the broker; returns the
    /// page whose redirect points at the broker.
    pub async fn until_broker(
        &self,
        browser: &mut dyn Browser,
        path: &str,
    ) -> Result<Page, LoginError> {
        let broker = format!("{}/", self.broker.base_url());
        let mut page = browser.get(&self.profile.url(path)).await?;
        // The RP may pass through pages of its own before it sends the citizen to the broker.
        for _ in 0..5 {
            if !page.is_redirect() {
                return Err(LoginError::Rp(format!(
                    "the RP did not send the citizen to the broker: {}",
                    evidence::exchange(&page)
                )));
            }
            if page
                .location()
                .is_some_and(|next| next.starts_with(&broker))
            {
                return Ok(page);
            }
            let next = page.location().unwrap_or_default();
            page = browser.get(&next).await?;
        }
        Err(LoginError::Rp(format!(
            "the RP redirected five times without reaching the broker at {broker}: last {}",
            evidence::exchange(&page)
        )))
    }

    /// GETs `path` at the RP (a login, or a page that asks for one) and completes the
    /// broker's pages; returns the broker's redirect back to the RP, not yet followed.
    pub async fn enter_until_callback(
        &self,
        browser: &mut dyn Browser,
        path: &str,
        user: &str,
    ) -> Result<String, LoginError> {
        self.enter_until_callback_as(browser, path, user, None)
            .await
    }

    /// As [`Self::enter_until_callback`]; with `professional`, a MitID Erhverv login as
    /// that professional identity (persistent professional ID).
    pub async fn enter_until_callback_as(
        &self,
        browser: &mut dyn Browser,
        path: &str,
        user: &str,
        professional: Option<&str>,
    ) -> Result<String, LoginError> {
        let page = self.until_broker(browser, path).await?;
        let broker = self.broker.base_url();
        let back = complete_broker_login_as(browser, page, broker, user, professional).await?;
        back.location().ok_or_else(|| {
            LoginError::Broker(format!(
                "the broker did not redirect back: {}",
                evidence::exchange(&back)
            ))
        })
    }

    /// A full login: the RP's callback is followed to wherever the RP sends the citizen.
    /// A broker error redirect (`error=…`) is a failed login, with the broker's words.
    pub async fn login(&self, browser: &mut dyn Browser) -> Result<Page, LoginError> {
        let callback = self.login_until_callback(browser).await?;
        if let Some(refusal) = broker_error(&callback) {
            return Err(LoginError::Broker(refusal));
        }
        let page = browser.get(&callback).await?;
        Ok(browser.follow(page).await?)
    }

    /// A login that must work for the scenario to mean anything: ERROR otherwise.
    pub async fn logged_in_browser(&self) -> Result<Box<dyn Browser>, Outcome> {
        let mut browser = self.browser();
        self.login(browser.as_mut())
            .await
            .or_error_while("the login the scenario starts from failed")?;
        let seen = self.observe(browser.as_mut()).await.or_error()?;
        if !seen.logged_in {
            return Err(Outcome::error(format!(
                "the login the scenario starts from did not take (see L01): {}",
                seen.line()
            )));
        }
        Ok(browser)
    }

    /// [P+]/[P−]: the protected page with the browser's cookies.
    pub async fn observe(&self, browser: &mut dyn Browser) -> Result<Observation, DriverError> {
        let page = browser
            .get(&self.profile.url(&self.profile.target.protected_path))
            .await?;
        let marker_ok = self
            .profile
            .target
            .logged_in_marker
            .as_ref()
            .is_none_or(|marker| page.body.contains(marker.as_str()));
        Ok(Observation {
            logged_in: page.status.is_success() && marker_ok,
            page,
        })
    }

    /// The RP's "Log af", followed through the broker and back.
    pub async fn logout(&self, browser: &mut dyn Browser) -> Result<Page, DriverError> {
        let page = self.start_logout(browser, &[]).await?;
        browser.follow(page).await
    }

    /// The RP's "Log af" request itself (with `extra` parameters), not followed.
    pub async fn start_logout(
        &self,
        browser: &mut dyn Browser,
        extra: &[(String, String)],
    ) -> Result<Page, DriverError> {
        let logout = &self.profile.target.logout;
        let mut url = self.profile.url(&logout.path);
        if logout.method.eq_ignore_ascii_case("GET") {
            if !extra.is_empty() {
                let query = serde_urlencoded::to_string(extra).unwrap_or_default();
                url = format!("{url}?{query}");
            }
            return browser.get(&url).await;
        }
        let mut fields = match &logout.form_page {
            Some(form_page) => {
                let page = browser.get(&self.profile.url(form_page)).await?;
                page.form_fields(&logout.path)
            }
            None => Vec::new(),
        };
        if !extra.is_empty() {
            let query = serde_urlencoded::to_string(extra).unwrap_or_default();
            url = format!("{url}?{query}");
            fields.extend(extra.iter().cloned());
        }
        browser.send(Method::POST, &url, Some(&fields)).await
    }

    /// The requests the RP sent the broker at `endpoint`, oldest first.
    pub async fn sent(&self, endpoint: &str) -> Result<Vec<serde_json::Value>, Outcome> {
        Ok(self
            .broker
            .requests(self.client_id())
            .await
            .or_error()?
            .into_iter()
            .filter(|r| r["endpoint"] == endpoint)
            .collect())
    }
}

/// The broker's error redirect (`error=…`) in words, if `callback` is one.
pub fn broker_error(callback: &str) -> Option<String> {
    let url = url::Url::parse(callback).ok()?;
    url.query_pairs().any(|(k, _)| k == "error").then(|| {
        format!(
            "the broker refused the login and redirected back with {}",
            evidence::redirect_params(callback)
        )
    })
}

/// Builds a `Run` from an async fn taking `&Ctx` and returning a [`Verdict`].
#[macro_export]
macro_rules! scenario_fn {
    ($f:path) => {{
        fn run(
            ctx: &$crate::conformance::scenario::Ctx,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = $crate::conformance::scenario::Outcome>
                    + Send
                    + '_,
            >,
        > {
            Box::pin(async move {
                match $f(ctx).await {
                    Ok(outcome) | Err(outcome) => outcome,
                }
            })
        }
        run as $crate::conformance::scenario::Run
    }};
}

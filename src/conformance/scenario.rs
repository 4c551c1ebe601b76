//! What a scenario is, what it returns, and the observations they share.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::broker::BrokerControl;
use super::driver::{
    self, complete_broker_login_as, Browser, DriverError, Page, Request, Stop, Visit,
};
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
    /// The run's browser, once it has started.
    Driver(&'a str),
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
    pub driver: driver::Driver,
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

/// [P+]/[P−]: the protected page as this browser sees it.
pub struct Observation {
    pub logged_in: bool,
    pub page: Page,
    /// How the browser got there: the hops, and the request to the broker it stopped
    /// before when the RP sent it to log in.
    path: String,
}

impl Observation {
    /// `[P+] GET http://rp/me → 200 "Logged in as …"`.
    pub fn line(&self) -> String {
        let mark = if self.logged_in { "[P+]" } else { "[P−]" };
        format!("{mark} {}", self.path)
    }
}

impl Ctx {
    pub fn client_id(&self) -> &str {
        &self.profile.client.client_id
    }

    /// A fresh browser: no cookies, no storage, no history.
    pub async fn browser(&self) -> Result<Box<dyn Browser>, Outcome> {
        self.driver
            .browser()
            .await
            .or_error_while("starting a browser")
    }

    /// The broker's pages start here: requests to them are the broker's.
    pub fn broker_prefix(&self) -> String {
        format!("{}/", self.broker.base_url())
    }

    /// Where a visit to the RP stops: before the RP sends the browser to the broker. The
    /// broker's SSO session would log it in again silently, which is a new login, not the
    /// RP's handling of what the kit sent it.
    pub fn before_broker(&self) -> Stop {
        Stop::at(self.broker_prefix())
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
    /// answer to the RP's callback, not yet sent.
    pub async fn login_until_callback(
        &self,
        browser: &mut dyn Browser,
    ) -> Result<Request, LoginError> {
        let user = self.profile.citizens.user.clone();
        self.login_as_until_callback(browser, &user).await
    }

    pub async fn login_as_until_callback(
        &self,
        browser: &mut dyn Browser,
        user: &str,
    ) -> Result<Request, LoginError> {
        let path = self.profile.target.login_path.clone();
        self.enter_until_callback(browser, &path, user).await
    }

    /// Opens `path` at the RP until the RP sends the browser to the broker (through its
    /// own pages, redirects or scripts); returns that request to the broker, not yet made.
    pub async fn until_broker(
        &self,
        browser: &mut dyn Browser,
        path: &str,
    ) -> Result<Request, LoginError> {
        let broker = self.broker_prefix();
        let visit = browser
            .open(Request::get(self.profile.url(path)), &Stop::at(&broker))
            .await?;
        let path = evidence::path(&visit);
        request_to_broker(visit, &broker).ok_or_else(|| {
            LoginError::Rp(format!(
                "the RP did not send the citizen to the broker: {path}"
            ))
        })
    }

    /// Opens `path` at the RP (a login, or a page that asks for one) and completes the
    /// broker's pages; returns the broker's answer to the RP, not yet sent.
    pub async fn enter_until_callback(
        &self,
        browser: &mut dyn Browser,
        path: &str,
        user: &str,
    ) -> Result<Request, LoginError> {
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
    ) -> Result<Request, LoginError> {
        let at_broker = self.until_broker(browser, path).await?;
        let broker = self.broker.base_url();
        let (back, _) =
            complete_broker_login_as(browser, at_broker, broker, user, professional).await?;
        Ok(back)
    }

    /// A full login: the RP's callback is followed to wherever the RP sends the citizen.
    /// A broker error redirect (`error=…`) is a failed login, with the broker's words.
    pub async fn login(&self, browser: &mut dyn Browser) -> Result<Visit, LoginError> {
        let callback = self.login_until_callback(browser).await?;
        if let Some(refusal) = broker_error(&callback) {
            return Err(LoginError::Broker(refusal));
        }
        Ok(browser.open(callback, &self.before_broker()).await?)
    }

    /// A login that must work for the scenario to mean anything: ERROR otherwise.
    pub async fn logged_in_browser(&self) -> Result<Box<dyn Browser>, Outcome> {
        let mut browser = self.browser().await?;
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

    /// [P+]/[P−]: the protected page in this browser (its cookies and storage).
    ///
    /// A protected page that sends the browser to the broker is [P−]: the RP has no session
    /// of its own. The broker's SSO session would log the browser in again, but that is a
    /// new login, not the session under test, so the browser stops before the broker.
    pub async fn observe(&self, browser: &mut dyn Browser) -> Result<Observation, DriverError> {
        let visit = browser
            .open(
                Request::get(self.profile.url(&self.profile.target.protected_path)),
                &self.before_broker(),
            )
            .await?;
        let path = evidence::path(&visit);
        let page = visit.page;
        let marker_ok = self
            .profile
            .target
            .logged_in_marker
            .as_ref()
            .is_none_or(|marker| page.shows(marker));
        Ok(Observation {
            logged_in: visit.stopped.is_none() && page.status.is_success() && marker_ok,
            page,
            path,
        })
    }

    /// The RP's "Log af", followed through the broker and back.
    pub async fn logout(&self, browser: &mut dyn Browser) -> Result<Visit, DriverError> {
        self.start_logout(browser, &[], &Stop::Never).await
    }

    /// The RP's "Log af" (with `extra` return parameters): a GET, a POST (with the fields
    /// of `form_page`'s logout form) or a click on `form_page`.
    pub async fn start_logout(
        &self,
        browser: &mut dyn Browser,
        extra: &[(String, String)],
        stop: &Stop,
    ) -> Result<Visit, DriverError> {
        let logout = &self.profile.target.logout;
        let with_extra = |url: String| {
            if extra.is_empty() {
                url
            } else {
                let query = serde_urlencoded::to_string(extra).unwrap_or_default();
                let joiner = if url.contains('?') { '&' } else { '?' };
                format!("{url}{joiner}{query}")
            }
        };
        if let Some(selector) = &logout.click {
            let start = logout
                .form_page
                .as_deref()
                .unwrap_or(&self.profile.target.protected_path);
            driver::get(browser, &with_extra(self.profile.url(start))).await?;
            return browser.click(selector, stop).await;
        }
        let url = with_extra(self.profile.url(&logout.path));
        if logout.method.eq_ignore_ascii_case("GET") {
            return browser.open(Request::get(url), stop).await;
        }
        match &logout.form_page {
            Some(form_page) => {
                driver::get(browser, &self.profile.url(form_page)).await?;
                browser.submit_form(&logout.path, extra, stop).await
            }
            None => browser.open(Request::post(url, extra.to_vec()), stop).await,
        }
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

/// The request that takes the browser from the RP to the broker at the end of `visit`: the
/// one it stopped before, or, in a browser without scripts, the RP's page that posts the
/// authorization request to the broker by itself (OIDC Core 3.1.2.1 allows POST), whose
/// button the citizen presses.
fn request_to_broker(visit: Visit, broker: &str) -> Option<Request> {
    if visit.stopped.is_some() {
        return visit.stopped;
    }
    let form = visit.page.self_posting_form()?;
    let request = form.request().ok()?;
    request.url.starts_with(broker).then_some(request)
}

/// The broker's error answer (`error=…`) in words, if `callback` is one.
pub fn broker_error(callback: &Request) -> Option<String> {
    callback.param("error").map(|_| {
        let how = if callback.form.is_some() {
            "posted"
        } else {
            "redirected"
        };
        format!(
            "the broker refused the login and {how} back with {}",
            evidence::params_of(callback)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn visit_showing(body: &str) -> Visit {
        let page = Page {
            method: "GET".into(),
            url: "http://rp.test/login".into(),
            status: reqwest::StatusCode::OK,
            headers: reqwest::header::HeaderMap::new(),
            body: body.into(),
            rendered_text: None,
        };
        Visit {
            hops: Vec::new(),
            frames: Vec::new(),
            page,
            stopped: None,
        }
    }

    #[test]
    fn an_rp_page_posting_the_authorization_request_to_the_broker_leads_there() {
        let posting = visit_showing(
            r#"<form method="post" action="http://broker.test/op/connect/authorize">
            <input type="hidden" name="client_id" value="rp"><input type="hidden" name="state" value="s">
            <noscript><button>Fortsæt</button></noscript></form>"#,
        );
        let request = request_to_broker(posting, "http://broker.test/").unwrap();
        assert_eq!(request.method, reqwest::Method::POST);
        assert_eq!(request.url, "http://broker.test/op/connect/authorize");
        assert_eq!(request.param("state").as_deref(), Some("s"));
        // A page posting elsewhere, or asking the citizen something, does not.
        let elsewhere = visit_showing(
            r#"<form method="post" action="http://rp.test/next"><input type="hidden" name="a" value="1"></form>"#,
        );
        assert!(request_to_broker(elsewhere, "http://broker.test/").is_none());
        let asking = visit_showing(
            r#"<form method="post" action="http://broker.test/op/connect/authorize"><input name="user"></form>"#,
        );
        assert!(request_to_broker(asking, "http://broker.test/").is_none());
    }
}

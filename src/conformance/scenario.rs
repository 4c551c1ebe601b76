//! What a scenario is, what it returns, and the observations they share.

use std::future::Future;
use std::pin::Pin;

use reqwest::Method;
use serde::Serialize;

use super::broker::BrokerControl;
use super::driver::{complete_broker_login_as, Browser, Page};
use super::profile::TargetProfile;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Passed,
    Failed,
    Warning,
    Skipped,
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

    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::new(Status::Skipped, reason)
    }

    pub fn with(mut self, evidence: impl Into<String>) -> Self {
        self.evidence.push(evidence.into());
        self
    }

    /// The kit could not carry the scenario out (the RP or broker misbehaved on the way).
    pub fn broken(problem: impl std::fmt::Display) -> Self {
        Self::failed(format!("the scenario could not run: {problem}"))
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

/// What every scenario gets: the profile and the broker's admin API.
pub struct Ctx {
    pub profile: TargetProfile,
    pub broker: BrokerControl,
}

impl Ctx {
    pub fn client_id(&self) -> &str {
        &self.profile.client.client_id
    }

    /// Starts the RP's login and completes the broker's pages; returns the broker's
    /// redirect to the RP's callback, not yet followed.
    pub async fn login_until_callback(&self, browser: &mut Browser) -> Result<String, String> {
        let user = self.profile.citizens.user.clone();
        self.login_as_until_callback(browser, &user).await
    }

    pub async fn login_as_until_callback(
        &self,
        browser: &mut Browser,
        user: &str,
    ) -> Result<String, String> {
        let path = self.profile.target.login_path.clone();
        self.enter_until_callback(browser, &path, user).await
    }

    /// GETs `path` at the RP (a login, or a page that asks for one) and completes the
    /// broker's pages; returns the broker's redirect back to the RP, not yet followed.
    pub async fn enter_until_callback(
        &self,
        browser: &mut Browser,
        path: &str,
        user: &str,
    ) -> Result<String, String> {
        self.enter_until_callback_as(browser, path, user, None)
            .await
    }

    /// As [`Self::enter_until_callback`]; with `professional`, a MitID Erhverv login as
    /// that professional identity.
    pub async fn enter_until_callback_as(
        &self,
        browser: &mut Browser,
        path: &str,
        user: &str,
        professional: Option<&str>,
    ) -> Result<String, String> {
        let mut page = browser
            .get(&self.profile.url(path))
            .await
            .map_err(|e| e.to_string())?;
        // The RP may pass through pages of its own before it sends the citizen to the broker.
        for _ in 0..5 {
            if !page.is_redirect() {
                return Err(format!(
                    "{} answered {} instead of sending the citizen to the broker",
                    page.url, page.status
                ));
            }
            if page
                .location()
                .is_some_and(|next| next.starts_with(self.broker.base_url()))
            {
                break;
            }
            let next = page.location().unwrap_or_default();
            page = browser.get(&next).await.map_err(|e| e.to_string())?;
        }
        let back = complete_broker_login_as(browser, page, user, professional)
            .await
            .map_err(|e| e.to_string())?;
        back.location()
            .ok_or_else(|| format!("the broker did not redirect back from {}", back.url))
    }

    /// A full login: the RP's callback is followed to wherever the RP sends the citizen.
    pub async fn login(&self, browser: &mut Browser) -> Result<Page, String> {
        let callback = self.login_until_callback(browser).await?;
        let page = browser.get(&callback).await.map_err(|e| e.to_string())?;
        browser.follow(page).await.map_err(|e| e.to_string())
    }

    /// [P+]/[P−]: the protected page with the browser's cookies.
    pub async fn logged_in(&self, browser: &mut Browser) -> Result<(bool, Page), String> {
        let page = browser
            .get(&self.profile.url(&self.profile.target.protected_path))
            .await
            .map_err(|e| e.to_string())?;
        let marker_ok = self
            .profile
            .target
            .logged_in_marker
            .as_ref()
            .is_none_or(|marker| page.body.contains(marker.as_str()));
        Ok((page.status.is_success() && marker_ok, page))
    }

    /// The RP's "Log af", followed through the broker and back.
    pub async fn logout(&self, browser: &mut Browser) -> Result<Page, String> {
        let logout = &self.profile.target.logout;
        let url = self.profile.url(&logout.path);
        let page = if logout.method.eq_ignore_ascii_case("GET") {
            browser.get(&url).await
        } else {
            let fields = match &logout.form_page {
                Some(form_page) => {
                    let page = browser
                        .get(&self.profile.url(form_page))
                        .await
                        .map_err(|e| e.to_string())?;
                    page.form_fields(&logout.path)
                }
                None => Vec::new(),
            };
            browser.send(Method::POST, &url, Some(&fields)).await
        }
        .map_err(|e| e.to_string())?;
        browser.follow(page).await.map_err(|e| e.to_string())
    }

    /// The requests the RP sent the broker at `endpoint`, oldest first.
    pub async fn sent(&self, endpoint: &str) -> Result<Vec<serde_json::Value>, String> {
        Ok(self
            .broker
            .requests(self.client_id())
            .await?
            .into_iter()
            .filter(|r| r["endpoint"] == endpoint)
            .collect())
    }
}

/// Builds a `Run` from an async fn taking `&Ctx`.
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
            Box::pin($f(ctx))
        }
        run as $crate::conformance::scenario::Run
    }};
}

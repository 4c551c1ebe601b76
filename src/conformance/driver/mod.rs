//! How the kit's browser acts. Scenarios see a [`Browser`]: navigations as a browser makes
//! them (redirects followed, and in a real browser the page's scripts run), each able to
//! stop before a request it must not make (the callback the kit wants to tamper with, a
//! site the RP must never send the citizen to); the current page's forms and buttons; and
//! the whole state a site keeps in the browser (cookies, localStorage, sessionStorage), to
//! copy, restore, tamper with or drop.
//!
//! [`HttpBrowser`] implements it with an HTTP client and a cookie jar (fast; it runs no
//! scripts); [`ChromiumBrowser`] with headless Chromium (the RP's scripts run, web storage
//! is kept, the broker's pages behave as for a citizen).

pub mod chromium;
mod http;
mod login;
mod page;

use std::future::Future;
use std::pin::Pin;

use reqwest::Method;
use serde::Serialize;
use url::Url;

pub use chromium::{Chromium, ChromiumBrowser};
pub use http::HttpBrowser;
pub use login::{complete_broker_login, complete_broker_login_as};
pub use page::{Form, Page};

/// At most this many hops (redirects, refreshes, script navigations) in one navigation.
pub const MAX_HOPS: usize = 25;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{method} {url} got no answer: {reason}")]
    Request {
        method: String,
        url: String,
        reason: String,
    },
    #[error("`{0}` is not a URL")]
    Url(String),
    #[error("more than {MAX_HOPS} redirects from {0}")]
    TooManyRedirects(String),
    #[error("{0}")]
    Login(String),
    /// The page did something the kit cannot follow (no such form, a page that never
    /// settles).
    #[error("{0}")]
    Page(String),
    /// The browser itself failed (it crashed, or did not answer the DevTools protocol).
    #[error("the browser failed: {0}")]
    Browser(String),
    /// What the profile asks for needs the other driver.
    #[error("{0}")]
    Unsupported(String),
}

impl DriverError {
    /// The RP or the broker did not answer at all (as opposed to answering wrongly).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DriverError::Request { .. })
    }
}

/// One document request and what came back, as evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
}

impl Hop {
    pub fn of(page: &Page) -> Self {
        Hop {
            method: page.method.clone(),
            url: page.url.clone(),
            status: page.status.as_u16(),
            location: page.location().filter(|_| page.is_redirect()),
        }
    }
}

/// A request the browser makes (or was about to make when it stopped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    /// The form fields of a POST.
    pub form: Option<Vec<(String, String)>>,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            url: url.into(),
            form: None,
        }
    }

    pub fn post(url: impl Into<String>, form: Vec<(String, String)>) -> Self {
        Self {
            method: Method::POST,
            url: url.into(),
            form: Some(form),
        }
    }

    /// A parameter of the request: a form field of a POST, else a query or fragment
    /// parameter (`response_mode=fragment`).
    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Every parameter (form fields of a POST, else the query's then the fragment's), in
    /// order.
    pub fn params(&self) -> Vec<(String, String)> {
        if let Some(form) = &self.form {
            return form.clone();
        }
        let Ok(url) = Url::parse(&self.url) else {
            return Vec::new();
        };
        let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        params.extend(fragment_params(&url).unwrap_or_default());
        params
    }

    /// The same request with parameter `name` set to `value`, or without it (None), where
    /// the request carries its parameters: the form of a POST, else the fragment when the
    /// fragment carries parameters (and the query does not have this one), else the query.
    pub fn with_param(&self, name: &str, value: Option<&str>) -> Request {
        let change = |params: Vec<(String, String)>| -> Vec<(String, String)> {
            let mut params: Vec<_> = params.into_iter().filter(|(k, _)| k != name).collect();
            if let Some(value) = value {
                params.push((name.to_string(), value.to_string()));
            }
            params
        };
        let mut request = self.clone();
        if let Some(form) = &self.form {
            request.form = Some(change(form.clone()));
            return request;
        }
        let Ok(mut url) = Url::parse(&self.url) else {
            return request;
        };
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        match fragment_params(&url) {
            Some(fragment) if !query.iter().any(|(k, _)| k == name) => {
                let changed = change(fragment);
                let encoded = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&changed)
                    .finish();
                url.set_fragment(Some(&encoded));
            }
            _ => {
                let changed = change(query);
                url.query_pairs_mut().clear().extend_pairs(&changed);
                if changed.is_empty() {
                    url.set_query(None);
                }
            }
        }
        request.url = url.to_string();
        request
    }
}

/// The parameters of a fragment that carries them (`#code=…&state=…`), else None (a
/// fragment that is a route or an anchor).
fn fragment_params(url: &Url) -> Option<Vec<(String, String)>> {
    let fragment = url
        .fragment()
        .filter(|f| f.contains('=') && !f.starts_with(['/', '!']))?;
    Some(
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect(),
    )
}

/// Where a navigation stops: before the browser requests a URL this matches (the request
/// is not made). The URL a navigation was asked to open is never stopped.
#[derive(Clone, Debug)]
pub enum Stop {
    Never,
    /// URLs starting with one of these.
    At(Vec<String>),
    /// URLs that do not start with this (the navigation leaves a site).
    Outside(String),
}

impl Stop {
    pub fn at(prefix: impl Into<String>) -> Self {
        Stop::At(vec![prefix.into()])
    }

    pub fn matches(&self, url: &str) -> bool {
        match self {
            Stop::Never => false,
            Stop::At(prefixes) => prefixes.iter().any(|p| url.starts_with(p.as_str())),
            Stop::Outside(site) => !url.starts_with(site.as_str()),
        }
    }
}

/// What one navigation did.
#[derive(Clone, Debug)]
pub struct Visit {
    /// The document responses of the top-level page, in order: redirects, refreshes and
    /// script navigations included.
    pub hops: Vec<Hop>,
    /// Documents loaded in frames of the pages (e.g. front-channel logout iframes).
    pub frames: Vec<Hop>,
    /// The page the navigation settled on; when it stopped, the last page before the stop.
    pub page: Page,
    /// The request the browser was about to make when the navigation stopped (not made).
    pub stopped: Option<Request>,
}

impl Visit {
    /// The first response, e.g. the RP's answer to a callback.
    pub fn first(&self) -> Option<&Hop> {
        self.hops.first()
    }

    /// The first response was a server error.
    pub fn first_failed(&self) -> bool {
        self.first().is_some_and(|hop| hop.status >= 500)
    }
}

/// Everything a site keeps in one browser: its cookies (as `name=value` pairs) and its
/// web storage. Restored raw: an attacker replaying it ignores Max-Age and Expires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteState {
    pub cookies: Vec<(String, String)>,
    pub local_storage: Vec<(String, String)>,
    pub session_storage: Vec<(String, String)>,
}

impl SiteState {
    pub fn cookies(cookies: Vec<(String, String)>) -> Self {
        Self {
            cookies,
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty() && self.local_storage.is_empty() && self.session_storage.is_empty()
    }

    /// `cookies a, b; localStorage k; sessionStorage k` for evidence.
    pub fn describe(&self) -> String {
        let names = |items: &[(String, String)]| -> String {
            items
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.cookies.is_empty() {
            parts.push(format!("cookies {}", names(&self.cookies)));
        }
        if !self.local_storage.is_empty() {
            parts.push(format!("localStorage {}", names(&self.local_storage)));
        }
        if !self.session_storage.is_empty() {
            parts.push(format!("sessionStorage {}", names(&self.session_storage)));
        }
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join("; ")
        }
    }
}

/// A session cookie as the RP set it, for judging its attributes.
#[derive(Clone, Debug)]
pub struct HeldCookie {
    pub name: String,
    pub http_only: bool,
    pub secure: bool,
    /// `Strict`, `Lax` or `None` as the RP sent it; None when it sent no SameSite.
    pub same_site: Option<String>,
}

/// A browser as the scenarios use it. Each scenario starts from fresh ones; a browser keeps
/// one tab, so sessionStorage lives as long as the browser.
pub trait Browser: Send {
    /// Navigates to `request` as a browser does (redirects followed; a real browser also
    /// runs the pages' scripts) until the page settles, or until the next request would go
    /// to a URL `stop` matches.
    fn open<'a>(
        &'a mut self,
        request: Request,
        stop: &'a Stop,
    ) -> BoxFuture<'a, Result<Visit, DriverError>>;

    /// Submits the current page's form whose action ends with `action_suffix`, with
    /// `fields` set (others keep their values, hidden CSRF fields included).
    fn submit_form<'a>(
        &'a mut self,
        action_suffix: &'a str,
        fields: &'a [(String, String)],
        stop: &'a Stop,
    ) -> BoxFuture<'a, Result<Visit, DriverError>>;

    /// Lets the current page go on by itself (a page that waits for something, e.g. the
    /// broker's page that waits for the app): a real browser waits for its script to move
    /// on; the HTTP driver asks for the page again.
    fn resume<'a>(&'a mut self, stop: &'a Stop) -> BoxFuture<'a, Result<Visit, DriverError>>;

    /// Clicks the element `selector` on the current page (a logout button).
    fn click<'a>(
        &'a mut self,
        selector: &'a str,
        stop: &'a Stop,
    ) -> BoxFuture<'a, Result<Visit, DriverError>>;

    /// What `url`'s site keeps in this browser now (cookies sent to `url`, storage of its
    /// origin).
    fn state<'a>(&'a mut self, url: &'a str) -> BoxFuture<'a, Result<SiteState, DriverError>>;

    /// Forgets everything `url`'s site keeps in this browser and holds exactly `state`
    /// instead, raw (cookies without expiry).
    fn restore<'a>(
        &'a mut self,
        url: &'a str,
        state: &'a SiteState,
    ) -> BoxFuture<'a, Result<(), DriverError>>;

    /// The cookies this browser holds for `url` that `url`'s origin set, with the
    /// attributes it gave them (the newest `Set-Cookie` of each; deletions are none).
    fn session_cookies<'a>(
        &'a mut self,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Vec<HeldCookie>, DriverError>>;

    /// Every top-level document request so far and its answer.
    fn hops(&self) -> Vec<Hop>;
}

/// The browsers of a run.
#[derive(Clone)]
pub enum Driver {
    Http,
    /// One headless Chromium for the run; each browser is an isolated context of it.
    Chromium(std::sync::Arc<Chromium>),
}

impl Driver {
    /// The driver the profile selects, started.
    pub async fn start(
        profile: &crate::conformance::profile::TargetProfile,
    ) -> Result<Self, DriverError> {
        use crate::conformance::profile::DriverKind;
        match profile.target.driver {
            DriverKind::Http => Ok(Driver::Http),
            DriverKind::Browser => Ok(Driver::Chromium(std::sync::Arc::new(
                Chromium::launch(&profile.browser).await?,
            ))),
        }
    }

    /// `HTTP client (no scripts)` or the browser's own name and version.
    pub fn describe(&self) -> String {
        match self {
            Driver::Http => "an HTTP client with a cookie jar (no scripts)".into(),
            Driver::Chromium(chromium) => format!("headless {}", chromium.version()),
        }
    }

    /// A fresh browser: no cookies, no storage, no history.
    pub async fn browser(&self) -> Result<Box<dyn Browser>, DriverError> {
        match self {
            Driver::Http => Ok(Box::new(HttpBrowser::new())),
            Driver::Chromium(chromium) => Ok(Box::new(chromium.browser().await?)),
        }
    }

    /// Ends the scenario's browsers; with `screenshot`, returns a PNG of the page the
    /// scenario used last (when the driver renders pages).
    pub async fn end_scenario(&self, screenshot: bool) -> Option<Vec<u8>> {
        match self {
            Driver::Http => None,
            Driver::Chromium(chromium) => chromium.end_scenario(screenshot).await,
        }
    }

    /// Ends the driver's browser processes (when this is the last handle on them).
    pub async fn close(self) {
        if let Driver::Chromium(chromium) = self {
            if let Ok(chromium) = std::sync::Arc::try_unwrap(chromium) {
                chromium.close().await;
            }
        }
    }
}

/// GET `url` and follow it to where it settles.
pub async fn get(browser: &mut dyn Browser, url: &str) -> Result<Visit, DriverError> {
    browser.open(Request::get(url), &Stop::Never).await
}

/// The origin of `url` (`http://host:port`), for comparing sites.
pub fn origin(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?;
    Some(parsed.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_changed_where_the_request_carries_them() {
        let get = Request::get("http://rp/callback?code=c&state=s");
        assert_eq!(get.param("state").as_deref(), Some("s"));
        let tampered = get.with_param("state", Some("sx"));
        assert_eq!(tampered.url, "http://rp/callback?code=c&state=sx");
        assert_eq!(
            get.with_param("state", None).url,
            "http://rp/callback?code=c"
        );
        let post = Request::post("http://rp/callback", vec![("state".into(), "s".into())]);
        let without = post.with_param("state", None);
        assert_eq!(without.form, Some(vec![]));
        assert_eq!(without.url, "http://rp/callback");
    }

    #[test]
    fn parameters_in_a_fragment_are_read_and_changed_there() {
        let fragment = Request::get("http://rp/cb#code=c&state=s");
        assert_eq!(fragment.param("state").as_deref(), Some("s"));
        assert_eq!(
            fragment.with_param("state", Some("sx")).url,
            "http://rp/cb#code=c&state=sx"
        );
        assert_eq!(
            fragment.with_param("state", None).url,
            "http://rp/cb#code=c"
        );
        // A route in the fragment is no parameter list: the query carries them.
        let routed = Request::get("http://rp/#/callback?x=1");
        assert_eq!(routed.param("x"), None);
        let hashed = Request::get("http://rp/cb?state=s#/me");
        assert_eq!(
            hashed.with_param("state", Some("t")).url,
            "http://rp/cb?state=t#/me"
        );
    }

    #[test]
    fn stops_match_prefixes_or_leaving_a_site() {
        assert!(Stop::at("http://broker/").matches("http://broker/op/connect/authorize"));
        assert!(!Stop::Never.matches("http://anything"));
        let leaving = Stop::Outside("http://broker/".into());
        assert!(leaving.matches("http://rp/callback"));
        assert!(!leaving.matches("http://broker/login/1"));
    }
}

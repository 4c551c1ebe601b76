//! How the kit's browser acts. Scenarios see a [`Browser`]: one request at a time, a cookie
//! jar it can read, replace with raw values and drop, and the `Set-Cookie` headers and hops
//! it saw. [`HttpBrowser`] implements it over HTTP (redirects followed one hop at a time);
//! a driver of a real browser implements the same trait.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use url::Url;

const MAX_HOPS: usize = 25;

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
}

impl DriverError {
    /// The RP or the broker did not answer at all (as opposed to answering wrongly).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DriverError::Request { .. })
    }
}

/// One request and what came back, as evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Page {
    pub method: String,
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        let location = self.headers.get(LOCATION)?.to_str().ok()?;
        Url::parse(&self.url)
            .ok()?
            .join(location)
            .ok()
            .map(|u| u.to_string())
    }

    pub fn is_redirect(&self) -> bool {
        self.status.is_redirection() && self.headers.contains_key(LOCATION)
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Hidden and named fields of the first form whose action ends with `action`.
    pub fn form_fields(&self, action_suffix: &str) -> Vec<(String, String)> {
        let html = scraper::Html::parse_document(&self.body);
        let forms = scraper::Selector::parse("form").expect("a valid selector");
        let inputs = scraper::Selector::parse("input[name]").expect("a valid selector");
        html.select(&forms)
            .find(|form| {
                form.value()
                    .attr("action")
                    .unwrap_or_default()
                    .ends_with(action_suffix)
            })
            .map(|form| {
                form.select(&inputs)
                    .filter(|i| i.value().attr("type") != Some("submit"))
                    .map(|i| {
                        let v = i.value();
                        (
                            v.attr("name").unwrap_or_default().to_string(),
                            v.attr("value").unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `data-step` of the broker's login page heading.
    pub fn broker_step(&self) -> Option<String> {
        let html = scraper::Html::parse_document(&self.body);
        let heading = scraper::Selector::parse("[data-step]").expect("a valid selector");
        html.select(&heading)
            .next()
            .and_then(|h| h.value().attr("data-step").map(str::to_string))
    }

    /// The visible text of the page, whitespace collapsed (for evidence).
    pub fn text(&self) -> String {
        let html = scraper::Html::parse_document(&self.body);
        let body = scraper::Selector::parse("body").expect("a valid selector");
        let text: Vec<String> = match html.select(&body).next() {
            Some(body) => body.text().map(str::to_string).collect(),
            None => vec![self.body.clone()],
        };
        text.join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A browser as the scenarios use it. Each scenario starts from a fresh one.
pub trait Browser: Send {
    /// One request, without following redirects; cookies go out and come back.
    fn send<'a>(
        &'a mut self,
        method: Method,
        url: &'a str,
        form: Option<&'a [(String, String)]>,
    ) -> BoxFuture<'a, Result<Page, DriverError>>;

    /// The cookies this browser would send to `url` now, as `name=value` pairs.
    fn cookies_for(&self, url: &str) -> Vec<(String, String)>;

    /// Forgets every cookie for `url`'s site and holds exactly `cookies` instead, as raw
    /// values without expiry: an attacker replaying cookies ignores Max-Age and Expires.
    fn replace_cookies(&mut self, url: &str, cookies: &[(String, String)]);

    /// Every `Set-Cookie` header seen so far, with the URL that sent it.
    fn set_cookie_headers(&self) -> Vec<(String, String)>;

    /// Every request so far and its answer.
    fn hops(&self) -> Vec<Hop>;

    fn get<'a>(&'a mut self, url: &'a str) -> BoxFuture<'a, Result<Page, DriverError>> {
        self.send(Method::GET, url, None)
    }

    /// Follows redirects from `page` until a page that is not a redirect.
    fn follow<'a>(&'a mut self, page: Page) -> BoxFuture<'a, Result<Page, DriverError>> {
        Box::pin(async move {
            let mut page = page;
            for _ in 0..MAX_HOPS {
                match page.location().filter(|_| page.is_redirect()) {
                    Some(next) => page = self.get(&next).await?,
                    None => return Ok(page),
                }
            }
            Err(DriverError::TooManyRedirects(page.url))
        })
    }
}

/// The HTTP driver: reqwest with a cookie jar of its own, no automatic redirects.
pub struct HttpBrowser {
    http: reqwest::Client,
    jar: Arc<Mutex<cookie_store::CookieStore>>,
    hops: Vec<Hop>,
    set_cookies: Vec<(String, String)>,
}

impl Default for HttpBrowser {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpBrowser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            jar: Arc::new(Mutex::new(cookie_store::CookieStore::default())),
            hops: Vec::new(),
            set_cookies: Vec::new(),
        }
    }

    fn jar(&self) -> std::sync::MutexGuard<'_, cookie_store::CookieStore> {
        self.jar
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn request(
        &mut self,
        method: Method,
        url: &str,
        form: Option<&[(String, String)]>,
    ) -> Result<Page, DriverError> {
        let parsed = Url::parse(url).map_err(|_| DriverError::Url(url.to_string()))?;
        let cookie_header: Vec<String> = self
            .jar()
            .get_request_values(&parsed)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let mut request = self.http.request(method.clone(), url);
        if !cookie_header.is_empty() {
            request = request.header(COOKIE, cookie_header.join("; "));
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request
            .send()
            .await
            .map_err(|source| DriverError::Request {
                method: method.to_string(),
                url: url.to_string(),
                reason: describe(&source),
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        {
            let mut jar = self.jar();
            for value in headers
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
            {
                let _ = jar.parse(value, &parsed);
            }
        }
        let body = response.text().await.unwrap_or_default();
        let page = Page {
            method: method.to_string(),
            url: url.to_string(),
            status,
            headers,
            body,
        };
        for header in page.set_cookies() {
            self.set_cookies.push((url.to_string(), header));
        }
        self.hops.push(Hop {
            method: method.to_string(),
            url: url.to_string(),
            status: status.as_u16(),
            location: page.location(),
        });
        Ok(page)
    }
}

/// reqwest's error without its debug dump: what went wrong, in a few words.
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection refused or unreachable"
    } else {
        "request failed"
    };
    let mut cause = std::error::Error::source(err);
    let mut innermost = None;
    while let Some(next) = cause {
        innermost = Some(next.to_string());
        cause = next.source();
    }
    match innermost {
        Some(detail) => format!("{kind} ({detail})"),
        None => kind.to_string(),
    }
}

impl Browser for HttpBrowser {
    fn send<'a>(
        &'a mut self,
        method: Method,
        url: &'a str,
        form: Option<&'a [(String, String)]>,
    ) -> BoxFuture<'a, Result<Page, DriverError>> {
        Box::pin(self.request(method, url, form))
    }

    fn cookies_for(&self, url: &str) -> Vec<(String, String)> {
        Url::parse(url)
            .map(|u| {
                self.jar()
                    .get_request_values(&u)
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn replace_cookies(&mut self, url: &str, cookies: &[(String, String)]) {
        let Ok(parsed) = Url::parse(url) else {
            return;
        };
        let mut jar = self.jar();
        let host = parsed.host_str().unwrap_or_default().to_string();
        let ours: Vec<(String, String, String)> = jar
            .iter_any()
            .filter(|c| c.domain().is_none_or(|d| host.ends_with(d)))
            .map(|c| {
                (
                    c.domain().unwrap_or(&host).to_string(),
                    c.path().unwrap_or("/").to_string(),
                    c.name().to_string(),
                )
            })
            .collect();
        for (domain, path, name) in ours {
            jar.remove(&domain, &path, &name);
        }
        for (name, value) in cookies {
            let _ = jar.parse(&format!("{name}={value}; Path=/"), &parsed);
        }
    }

    fn set_cookie_headers(&self) -> Vec<(String, String)> {
        self.set_cookies.clone()
    }

    fn hops(&self) -> Vec<Hop> {
        self.hops.clone()
    }
}

/// The broker's login pages, completed as `user_id` with a self-approving app. Returns the
/// broker's redirect back to the RP (not followed), or the broker's own error page.
pub async fn complete_broker_login(
    browser: &mut dyn Browser,
    page: Page,
    broker_base: &str,
    user_id: &str,
) -> Result<Page, DriverError> {
    complete_broker_login_as(browser, page, broker_base, user_id, None).await
}

/// As [`complete_broker_login`]; with `professional` (a persistent professional ID) a
/// MitID Erhverv login: the chooser picks MitID Erhverv and the identity page that one.
pub async fn complete_broker_login_as(
    browser: &mut dyn Browser,
    mut page: Page,
    broker_base: &str,
    user_id: &str,
    professional: Option<&str>,
) -> Result<Page, DriverError> {
    for _ in 0..40 {
        if page.is_redirect() {
            let next = page.location().unwrap_or_default();
            if !next.starts_with(&format!("{}/", broker_base.trim_end_matches('/'))) {
                return Ok(page);
            }
            page = browser.get(&next).await?;
            continue;
        }
        match page.broker_step().as_deref() {
            Some("user_id") => {
                let mut fields = page.form_fields("/user-id");
                fields.retain(|(name, _)| name != "user_id");
                fields.push(("user_id".into(), user_id.to_string()));
                let action = form_url(&page, "/user-id")?;
                page = browser.send(Method::POST, &action, Some(&fields)).await?;
            }
            Some("app") => {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                let url = page.url.clone();
                page = browser.get(&url).await?;
            }
            Some("choose_idp") => {
                let idp = if professional.is_some() {
                    "mitid_erhverv"
                } else {
                    "mitid"
                };
                page = post_choice(browser, &page, "/idp", "idp", idp).await?;
            }
            Some("choose_professional") => {
                let Some(uuid) = professional else {
                    return Err(DriverError::Login(format!(
                        "`{user_id}` has several professional identities ({}): name one in \
                         citizens.professionals",
                        page.url
                    )));
                };
                page = post_choice(browser, &page, "/professional", "uuid", uuid).await?;
            }
            Some(other) => {
                return Err(DriverError::Login(format!(
                    "the broker's login stopped at step `{other}` ({}); the kit logs in with a citizen whose app approves by itself (citizens.user)",
                    page.url
                )))
            }
            None => {
                let text = page.text();
                return Err(DriverError::Login(format!(
                    "the broker showed a page instead of the login: {} {} \"{}\"",
                    page.status.as_u16(),
                    page.url,
                    crate::conformance::evidence::excerpt(&text, 200)
                )));
            }
        }
    }
    Err(DriverError::Login("the login did not finish".into()))
}

/// Posts one of the page's choice forms (posting to `action_suffix`) with `name=value`.
async fn post_choice(
    browser: &mut dyn Browser,
    page: &Page,
    action_suffix: &str,
    name: &str,
    value: &str,
) -> Result<Page, DriverError> {
    let mut fields = page.form_fields(action_suffix);
    fields.retain(|(field, _)| field == "csrf");
    fields.push((name.to_string(), value.to_string()));
    let action = form_url(page, action_suffix)?;
    browser.send(Method::POST, &action, Some(&fields)).await
}

fn form_url(page: &Page, action_suffix: &str) -> Result<String, DriverError> {
    let html = scraper::Html::parse_document(&page.body);
    let forms = scraper::Selector::parse("form").expect("a valid selector");
    let action = html
        .select(&forms)
        .filter_map(|f| f.value().attr("action"))
        .find(|a| a.ends_with(action_suffix))
        .ok_or_else(|| {
            DriverError::Login(format!(
                "no form posting to …{action_suffix} at {}",
                page.url
            ))
        })?;
    Url::parse(&page.url)
        .and_then(|u| u.join(action))
        .map(|u| u.to_string())
        .map_err(|_| DriverError::Url(action.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_cookies_are_sent_raw_whatever_expiry_they_had() {
        let mut browser = HttpBrowser::new();
        let url = Url::parse("http://127.0.0.1:3000/me").unwrap();
        browser
            .jar()
            .parse("old=1; Path=/; Max-Age=3600", &url)
            .unwrap();
        browser.replace_cookies(url.as_str(), &[("session".to_string(), "abc".to_string())]);
        assert_eq!(
            browser.cookies_for(url.as_str()),
            [("session".to_string(), "abc".to_string())]
        );
    }
}

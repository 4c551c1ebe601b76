//! A browser-like HTTP agent: a cookie jar it can copy, restore, tamper with and drop;
//! redirects followed one hop at a time and recorded; and the broker's login pages
//! completed through their real forms.

use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use url::Url;

const MAX_HOPS: usize = 25;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{method} {url} failed: {source}")]
    Request {
        method: String,
        url: String,
        source: reqwest::Error,
    },
    #[error("`{0}` is not a URL")]
    Url(String),
    #[error("more than {MAX_HOPS} redirects from {0}")]
    TooManyRedirects(String),
    #[error("the broker's login page did not behave as expected: {0}")]
    Login(String),
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
}

/// A fresh browser per scenario: no cookies, no history.
pub struct Browser {
    http: reqwest::Client,
    jar: Arc<Mutex<cookie_store::CookieStore>>,
    pub hops: Vec<Hop>,
    /// The Set-Cookie headers of every response, by URL, for cookie-flag checks.
    pub responses: Vec<(String, Vec<String>)>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            jar: Arc::new(Mutex::new(cookie_store::CookieStore::default())),
            hops: Vec::new(),
            responses: Vec::new(),
        }
    }

    fn jar(&self) -> std::sync::MutexGuard<'_, cookie_store::CookieStore> {
        self.jar
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One request, without following redirects; cookies go out and come back.
    pub async fn send(
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
                source,
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
            url: url.to_string(),
            status,
            headers,
            body,
        };
        let set_cookies = page.set_cookies();
        if !set_cookies.is_empty() {
            self.responses.push((url.to_string(), set_cookies));
        }
        self.hops.push(Hop {
            method: method.to_string(),
            url: url.to_string(),
            status: status.as_u16(),
            location: page.location(),
        });
        Ok(page)
    }

    pub async fn get(&mut self, url: &str) -> Result<Page, DriverError> {
        self.send(Method::GET, url, None).await
    }

    /// Follows redirects from `page` until a page that is not a redirect.
    pub async fn follow(&mut self, mut page: Page) -> Result<Page, DriverError> {
        for _ in 0..MAX_HOPS {
            match page.location().filter(|_| page.is_redirect()) {
                Some(next) => page = self.get(&next).await?,
                None => return Ok(page),
            }
        }
        Err(DriverError::TooManyRedirects(page.url))
    }

    /// Every cookie the browser holds, to restore later (O02).
    pub fn export_cookies(&self) -> cookie_store::CookieStore {
        self.jar().clone()
    }

    pub fn import_cookies(&self, cookies: cookie_store::CookieStore) {
        *self.jar() = cookies;
    }

    pub fn drop_cookies(&self) {
        self.jar().clear();
    }

    /// Sets a cookie as if `url` had sent it (for tampered values).
    pub fn set_cookie(&self, url: &str, name: &str, value: &str) {
        if let Ok(parsed) = Url::parse(url) {
            let _ = self
                .jar()
                .parse(&format!("{name}={value}; Path=/"), &parsed);
        }
    }

    /// The cookies sent to `url`, as `name=value` pairs.
    pub fn cookies_for(&self, url: &str) -> Vec<(String, String)> {
        Url::parse(url)
            .map(|u| {
                self.jar()
                    .get_request_values(&u)
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The broker's login pages, completed as `user_id` with a self-approving app.
pub async fn complete_broker_login(
    browser: &mut Browser,
    page: Page,
    user_id: &str,
) -> Result<Page, DriverError> {
    complete_broker_login_as(browser, page, user_id, None).await
}

/// As [`complete_broker_login`]; with `professional` (a persistent professional ID) a
/// MitID Erhverv login: the chooser picks MitID Erhverv and the identity page that one.
pub async fn complete_broker_login_as(
    browser: &mut Browser,
    mut page: Page,
    user_id: &str,
    professional: Option<&str>,
) -> Result<Page, DriverError> {
    for _ in 0..40 {
        if page.is_redirect() {
            let next = page.location().unwrap_or_default();
            if !next.contains("/login/") && !next.contains("/op/connect/authorize") {
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
                        "`{user_id}` has several professional identities at {}: name one",
                        page.url
                    )));
                };
                page = post_choice(browser, &page, "/professional", "uuid", uuid).await?;
            }
            other => {
                return Err(DriverError::Login(format!(
                    "step {other:?} at {} (use a citizen whose app approves by itself)",
                    page.url
                )))
            }
        }
    }
    Err(DriverError::Login("the login did not finish".into()))
}

/// Posts one of the page's choice forms (posting to `action_suffix`) with `name=value`.
async fn post_choice(
    browser: &mut Browser,
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

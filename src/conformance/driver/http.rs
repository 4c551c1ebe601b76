//! The HTTP driver: reqwest with a cookie jar of its own, redirects followed one hop at a
//! time. It behaves as a browser without scripts: it follows redirects and prompt
//! `<meta http-equiv="refresh">` (the broker's logout page has one for such browsers) and
//! loads iframes (front-channel logout), sending a frame only the cookies a browser would.

use std::sync::{Arc, Mutex};

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::Method;
use url::Url;

use super::{
    BoxFuture, Browser, DriverError, Form, HeldCookie, Hop, Page, Request, SiteState, Stop, Visit,
    MAX_HOPS,
};

pub struct HttpBrowser {
    http: reqwest::Client,
    jar: Arc<Mutex<cookie_store::CookieStore>>,
    hops: Vec<Hop>,
    set_cookies: Vec<(String, String)>,
    current: Option<Page>,
}

impl Default for HttpBrowser {
    fn default() -> Self {
        Self::new()
    }
}

/// Which cookies go with a request.
enum Cookies {
    /// A top-level navigation: every cookie for the URL.
    TopLevel,
    /// A frame of a page on `host`: a frame of another site gets only `SameSite=None`
    /// cookies, as browsers send them (Lax is their default).
    FrameOf(String),
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
            current: None,
        }
    }

    fn jar(&self) -> std::sync::MutexGuard<'_, cookie_store::CookieStore> {
        self.jar
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cookie_header(&self, url: &Url, rule: &Cookies) -> Vec<String> {
        let jar = self.jar();
        jar.matches(url)
            .into_iter()
            .filter(|c| match rule {
                Cookies::TopLevel => true,
                Cookies::FrameOf(host) => {
                    url.host_str() == Some(host.as_str())
                        || c.same_site().is_some_and(|s| s.is_none())
                }
            })
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect()
    }

    /// One request, without following redirects; cookies go out and come back.
    async fn request(
        &mut self,
        method: Method,
        url: &str,
        form: Option<&[(String, String)]>,
        rule: Cookies,
    ) -> Result<Page, DriverError> {
        let parsed = Url::parse(url).map_err(|_| DriverError::Url(url.to_string()))?;
        let cookie_header = self.cookie_header(&parsed, &rule);
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
            rendered_text: None,
        };
        if matches!(rule, Cookies::TopLevel) {
            for header in page.set_cookies() {
                self.set_cookies.push((url.to_string(), header));
            }
            self.hops.push(Hop::of(&page));
        }
        Ok(page)
    }

    /// Loads the page's iframes as a browser would (redirects followed).
    async fn load_frames(&mut self, page: &Page) -> Vec<Hop> {
        let host = Url::parse(&page.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let mut loaded = Vec::new();
        for src in page.frames().into_iter().take(10) {
            let mut url = src;
            for _ in 0..5 {
                match self
                    .request(Method::GET, &url, None, Cookies::FrameOf(host.clone()))
                    .await
                {
                    Ok(frame) => {
                        loaded.push(Hop::of(&frame));
                        match frame.location().filter(|_| frame.is_redirect()) {
                            Some(next) => url = next,
                            None => break,
                        }
                    }
                    Err(err) => {
                        tracing::debug!(%err, "a frame did not load");
                        break;
                    }
                }
            }
        }
        loaded
    }

    async fn navigate(&mut self, first: Request, stop: &Stop) -> Result<Visit, DriverError> {
        let mut hops = Vec::new();
        let mut frames = Vec::new();
        let mut request = first.clone();
        for _ in 0..MAX_HOPS {
            let page = self
                .request(
                    request.method.clone(),
                    &request.url,
                    request.form.as_deref(),
                    Cookies::TopLevel,
                )
                .await?;
            hops.push(Hop::of(&page));
            let next = if page.is_redirect() {
                page.location()
            } else if page.status.is_success() {
                frames.extend(self.load_frames(&page).await);
                page.refresh()
            } else {
                None
            };
            let stopped = match next {
                None => None,
                Some(url) if stop.matches(&url) => Some(Request::get(url)),
                Some(url) => {
                    request = Request::get(url);
                    continue;
                }
            };
            self.current = Some(page.clone());
            return Ok(Visit {
                hops,
                frames,
                page,
                stopped,
            });
        }
        Err(DriverError::TooManyRedirects(first.url))
    }

    fn current(&self) -> Result<&Page, DriverError> {
        self.current
            .as_ref()
            .ok_or_else(|| DriverError::Page("no page is open".into()))
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

    /// The newest `Set-Cookie` of each cookie the site at `url` set that the browser still
    /// holds; a `Set-Cookie` that deletes a cookie sets none.
    fn held_cookies(&self, url: &str) -> Vec<HeldCookie> {
        let held: Vec<String> = self.cookies_for(url).into_iter().map(|(n, _)| n).collect();
        let mut latest: Vec<cookie_store::RawCookie<'static>> = Vec::new();
        for (from, header) in &self.set_cookies {
            if !from.starts_with(url) {
                continue;
            }
            let Ok(cookie) = cookie_store::RawCookie::parse(header.clone()) else {
                continue;
            };
            let cookie = cookie.into_owned();
            latest.retain(|c| c.name() != cookie.name());
            latest.push(cookie);
        }
        latest
            .into_iter()
            .filter(|c| !deletes(c) && held.iter().any(|h| h == c.name()))
            .map(|c| HeldCookie {
                name: c.name().to_string(),
                http_only: c.http_only() == Some(true),
                secure: c.secure() == Some(true),
                same_site: c.same_site().map(|s| s.to_string()),
            })
            .collect()
    }
}

/// What a click on an element of a page without scripts does.
enum Clicked {
    Link(String),
    /// The button's own form, with the button's name and value among its fields.
    Button(Form),
}

/// Err(Some): no such element; Err(None): an element only a script could act on.
fn click_target(page: &Page, selector: &str) -> Result<Clicked, Option<DriverError>> {
    let css = scraper::Selector::parse(selector).map_err(|_| None)?;
    let html = scraper::Html::parse_document(&page.body);
    let element = html.select(&css).next().ok_or_else(|| {
        Some(DriverError::Page(format!(
            "no `{selector}` on {}",
            page.url
        )))
    })?;
    if let Some(href) = element.value().attr("href") {
        return page.resolve(href).map(Clicked::Link).ok_or(None);
    }
    let form = element
        .ancestors()
        .filter_map(scraper::ElementRef::wrap)
        .find(|e| e.value().name() == "form")
        .ok_or(None)?;
    let mut form = page.form_of(form).ok_or(None)?;
    if let (Some(name), Some(value)) = (element.value().attr("name"), element.value().attr("value"))
    {
        form.fields.push((name.to_string(), value.to_string()));
    }
    Ok(Clicked::Button(form))
}

/// Max-Age=0, or an Expires in the past: the cookie is being removed.
fn deletes(cookie: &cookie_store::RawCookie<'_>) -> bool {
    if cookie
        .max_age()
        .is_some_and(|age| age.is_zero() || age.is_negative())
    {
        return true;
    }
    #[allow(clippy::disallowed_methods)] // a cookie's expiry is wall-clock time
    let now = time::OffsetDateTime::now_utc();
    cookie
        .expires_datetime()
        .is_some_and(|expires| expires <= now)
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
    fn open<'a>(
        &'a mut self,
        request: Request,
        stop: &'a Stop,
    ) -> BoxFuture<'a, Result<Visit, DriverError>> {
        Box::pin(self.navigate(request, stop))
    }

    fn submit_form<'a>(
        &'a mut self,
        action_suffix: &'a str,
        fields: &'a [(String, String)],
        stop: &'a Stop,
    ) -> BoxFuture<'a, Result<Visit, DriverError>> {
        Box::pin(async move {
            let page = self.current()?;
            let form = page.form(action_suffix).ok_or_else(|| {
                DriverError::Page(format!(
                    "no form posting to …{action_suffix} at {}",
                    page.url
                ))
            })?;
            let mut form = form;
            for (name, value) in fields {
                form.fields.retain(|(n, _)| n != name);
                form.fields.push((name.clone(), value.clone()));
            }
            let request = form.request()?;
            self.navigate(request, stop).await
        })
    }

    fn resume<'a>(&'a mut self, stop: &'a Stop) -> BoxFuture<'a, Result<Visit, DriverError>> {
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            let url = self.current()?.url.clone();
            self.navigate(Request::get(url), stop).await
        })
    }

    fn click<'a>(
        &'a mut self,
        selector: &'a str,
        stop: &'a Stop,
    ) -> BoxFuture<'a, Result<Visit, DriverError>> {
        Box::pin(async move {
            let page = self.current()?.clone();
            let unsupported = || {
                DriverError::Unsupported(format!(
                    "`{selector}` on {} is neither a link nor a form's button: clicking it needs the browser driver (target.driver = \"browser\")",
                    page.url
                ))
            };
            let target = click_target(&page, selector).map_err(|err| match err {
                Some(missing) => missing,
                None => unsupported(),
            })?;
            match target {
                Clicked::Link(url) => self.navigate(Request::get(url), stop).await,
                Clicked::Button(form) => {
                    let request = form.request()?;
                    self.navigate(request, stop).await
                }
            }
        })
    }

    fn state<'a>(&'a mut self, url: &'a str) -> BoxFuture<'a, Result<SiteState, DriverError>> {
        Box::pin(async move { Ok(SiteState::cookies(self.cookies_for(url))) })
    }

    fn restore<'a>(
        &'a mut self,
        url: &'a str,
        state: &'a SiteState,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        // A browser without scripts keeps no web storage: the RP can have put none there.
        Box::pin(async move {
            self.replace_cookies(url, &state.cookies);
            Ok(())
        })
    }

    fn session_cookies<'a>(
        &'a mut self,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Vec<HeldCookie>, DriverError>> {
        Box::pin(async move { Ok(self.held_cookies(url)) })
    }

    fn hops(&self) -> Vec<Hop> {
        self.hops.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_follows_a_link_or_submits_the_buttons_form_and_refuses_script_buttons() {
        let page = Page {
            method: "GET".into(),
            url: "http://rp.test/me".into(),
            status: reqwest::StatusCode::OK,
            headers: reqwest::header::HeaderMap::new(),
            body: r#"<a id="out" href="/logout">Log af</a>
                <form method="post" action="/log-af"><button id="go" name="how" value="all">Log af</button></form>
                <button id="js" onclick="logout()">Log af</button>"#
                .into(),
            rendered_text: None,
        };
        assert!(matches!(
            click_target(&page, "#out"),
            Ok(Clicked::Link(url)) if url == "http://rp.test/logout"
        ));
        assert!(matches!(
            click_target(&page, "#go"),
            Ok(Clicked::Button(form))
                if form.action == "http://rp.test/log-af"
                    && form.fields == [("how".to_string(), "all".to_string())]
        ));
        assert!(matches!(click_target(&page, "#js"), Err(None)));
        assert!(matches!(
            click_target(&page, "#nothing"),
            Err(Some(DriverError::Page(_)))
        ));
    }

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

    #[test]
    fn a_frame_of_another_site_gets_only_same_site_none_cookies() {
        let browser = HttpBrowser::new();
        let rp = Url::parse("http://rp.test/fc").unwrap();
        browser.jar().parse("lax=1; Path=/; HttpOnly", &rp).unwrap();
        browser
            .jar()
            .parse(
                "none=1; Path=/; SameSite=None; Secure",
                &Url::parse("https://rp.test/").unwrap(),
            )
            .unwrap();
        let https = Url::parse("https://rp.test/fc").unwrap();
        assert_eq!(
            browser.cookie_header(&https, &Cookies::FrameOf("broker.test".into())),
            ["none=1"]
        );
        assert_eq!(
            browser.cookie_header(&rp, &Cookies::FrameOf("rp.test".into())),
            ["lax=1"]
        );
    }
}

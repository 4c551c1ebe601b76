//! One browser of the browser driver: an isolated Chromium context with one tab, watched
//! through DevTools events. Every document request of the tab pauses (Fetch domain) so the
//! driver can stop before a URL, or turn a navigation into a POST; network and frame
//! events tell when the page has settled (no document loading, no request in flight, for
//! a quiet moment) and which documents came back.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::network::{
    DeleteCookiesParams, GetCookiesParams, SetBypassServiceWorkerParams, SetCookieParams,
};
use chromiumoxide::cdp::browser_protocol::page::NavigateParams;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::events::{self, lock, Tab};
use super::{cdp, interception, scripts, ScenarioPages};
use crate::conformance::driver::{
    self, BoxFuture, Browser, DriverError, HeldCookie, Hop, Page, Request, SiteState, Stop, Visit,
};
use crate::conformance::profile::BrowserSettings;

/// How long `resume` waits for a waiting page to move on by itself.
const RESUME_TIMEOUT: Duration = Duration::from_secs(20);

/// A browser of the browser driver.
pub struct ChromiumBrowser {
    page: chromiumoxide::Page,
    tab: Arc<Mutex<Tab>>,
    listeners: Vec<tokio::task::JoinHandle<()>>,
    scenario: Arc<Mutex<ScenarioPages>>,
    quiet: Duration,
    timeout: Duration,
    current: Option<Page>,
}

impl Drop for ChromiumBrowser {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
    }
}

impl ChromiumBrowser {
    pub(super) async fn new(
        page: chromiumoxide::Page,
        scenario: Arc<Mutex<ScenarioPages>>,
        settings: &BrowserSettings,
    ) -> Result<Self, DriverError> {
        let tab = Arc::new(Mutex::new(Tab::new(page.target_id().as_ref().to_string())));
        let mut browser = Self {
            page,
            tab,
            listeners: Vec::new(),
            scenario,
            quiet: Duration::from_millis(settings.quiet_ms),
            timeout: Duration::from_secs(settings.page_timeout_seconds),
            current: None,
        };
        browser.listeners = events::listen(&browser.page, &browser.tab).await?;
        // A service worker would answer navigations past the pause that stops them.
        browser
            .page
            .execute(SetBypassServiceWorkerParams::new(true))
            .await
            .map_err(cdp)?;
        let interceptor = interception::intercept(&browser.page, &browser.tab).await?;
        browser.listeners.push(interceptor);
        Ok(browser)
    }

    /// Arms the tab for a visit: where it stops, which request it opens.
    fn arm(&self, stop: &Stop, opened: Option<&Request>) -> (usize, usize) {
        let mut tab = lock(&self.tab);
        tab.visiting = true;
        tab.stop = stop.clone();
        tab.opened = opened.map(|r| r.url.clone());
        tab.post = opened.and_then(|r| Some((r.url.clone(), r.form.clone()?)));
        tab.stopped = None;
        tab.last_activity = Instant::now();
        (tab.hops.len(), tab.frames.len())
    }

    fn remember_as_last(&self) {
        if let Ok(mut scenario) = self.scenario.lock() {
            scenario.last_page = Some(self.page.clone());
        }
    }

    /// Waits until the tab stopped before a URL or settled (nothing loading, no request
    /// in flight, for a quiet moment), then reads the page.
    async fn settle(&mut self, since: (usize, usize)) -> Result<Visit, DriverError> {
        let started = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(40)).await;
            let (stopped, settled) = {
                let tab = lock(&self.tab);
                let settled = !tab.busy() && tab.last_activity.elapsed() >= self.quiet;
                (tab.stopped.is_some(), settled)
            };
            if stopped {
                // The stopped request's redirect is reported by another event: let it in.
                tokio::time::sleep(Duration::from_millis(60)).await;
                break;
            }
            if settled && self.idle_after_tasks().await {
                break;
            }
            if started.elapsed() > self.timeout {
                let url = {
                    let mut tab = lock(&self.tab);
                    tab.visiting = false;
                    tab.url.clone()
                };
                return Err(DriverError::Page(format!(
                    "{url} did not settle within {} s (a document still loading or requests in flight)",
                    self.timeout.as_secs()
                )));
            }
        }
        let blank = {
            let tab = lock(&self.tab);
            let hops = &tab.hops[since.0.min(tab.hops.len())..];
            tab.stopped.as_ref().and(hops.last()).and_then(|last| {
                let stopped_url = tab.stopped.as_ref().map(|r| r.url.as_str());
                (last.location.as_deref() == stopped_url).then(|| redirect_page(last))
            })
        };
        let page = match blank {
            // The tab shows the blank page the stop answered with: what the browser saw
            // last is the redirect to the stopped URL.
            Some(page) => page,
            None => self.read_page().await?,
        };
        let visit = {
            let mut tab = lock(&self.tab);
            tab.stop = Stop::Never;
            tab.visiting = false;
            Visit {
                hops: tab.hops[since.0.min(tab.hops.len())..].to_vec(),
                frames: tab.frames[since.1.min(tab.frames.len())..].to_vec(),
                page: page.clone(),
                stopped: tab.stopped.take(),
            }
        };
        if visit.stopped.is_some() {
            // The browser has left the page for the stopped URL, which the kit now holds:
            // the page's scripts must not go on (the broker's waiting page would ask
            // again, racing the kit's next visit).
            self.load(&Request::get("about:blank")).await?;
        }
        self.current = Some(page);
        Ok(visit)
    }

    /// Whether the page stays quiet once the tasks its scripts queued have run: on a busy
    /// machine a script may work longer than the quiet moment before it fetches more.
    async fn idle_after_tasks(&self) -> bool {
        let before = lock(&self.tab).last_activity;
        // A renderer busy with a long script answers only once it is done.
        let _ = self.evaluate(scripts::AFTER_QUEUED_TASKS).await;
        let tab = lock(&self.tab);
        tab.last_activity == before && !tab.busy() && tab.stopped.is_none()
    }

    /// The page as it is now: its document after scripts ran, and what it shows.
    async fn read_page(&self) -> Result<Page, DriverError> {
        let mut last_error = None;
        // A document being replaced has no context to evaluate in for a moment.
        for _ in 0..20 {
            match self.evaluate(scripts::READ_PAGE).await {
                Ok(value) => {
                    let url = value["url"].as_str().unwrap_or_default().to_string();
                    // A script's `history` change keeps the document the tab fetched last.
                    let document = lock(&self.tab).document.clone();
                    let (status, headers, method) = match document {
                        Some(doc) if url.starts_with("http") => {
                            let method = self.method_of(&doc.url);
                            (doc.status, doc.headers, method)
                        }
                        _ => (200, HeaderMap::new(), "GET".to_string()),
                    };
                    return Ok(Page {
                        method,
                        url,
                        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                        headers,
                        body: value["html"].as_str().unwrap_or_default().to_string(),
                        rendered_text: Some(value["text"].as_str().unwrap_or_default().to_string()),
                    });
                }
                Err(err) => {
                    last_error = Some(err);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        Err(last_error.unwrap_or_else(|| DriverError::Page("the page cannot be read".into())))
    }

    fn method_of(&self, url: &str) -> String {
        let tab = lock(&self.tab);
        tab.hops
            .iter()
            .rev()
            .find(|hop| hop.url == url)
            .map(|hop| hop.method.clone())
            .unwrap_or_else(|| "GET".into())
    }

    /// Runs `expression` in the page (awaiting a promise) and returns its JSON value.
    async fn evaluate(&self, expression: &str) -> Result<Value, DriverError> {
        let params = EvaluateParams::builder()
            .expression(expression)
            .return_by_value(true)
            .await_promise(true)
            .build()
            .map_err(DriverError::Browser)?;
        let answer = self.page.execute(params).await.map_err(cdp)?;
        if let Some(exception) = &answer.result.exception_details {
            let text = exception
                .exception
                .as_ref()
                .and_then(|e| e.description.clone())
                .unwrap_or_else(|| exception.text.clone());
            return Err(DriverError::Page(text));
        }
        Ok(answer.result.result.value.clone().unwrap_or(Value::Null))
    }

    async fn navigate(&mut self, request: Request, stop: &Stop) -> Result<Visit, DriverError> {
        Url::parse(&request.url).map_err(|_| DriverError::Url(request.url.clone()))?;
        self.remember_as_last();
        if self.only_fragment_differs(&request.url) {
            // Chromium would only move to the fragment, and a single-page app would show
            // what it holds in memory: a visit loads the page anew, as the HTTP driver does.
            self.load(&Request::get("about:blank")).await?;
        }
        let since = self.arm(stop, Some(&request));
        lock(&self.tab).cdp_navigation = true;
        let loaded = self.load(&request).await;
        lock(&self.tab).cdp_navigation = false;
        let reason = match loaded {
            Ok(None) => return self.settle(since).await,
            Ok(Some(_)) if lock(&self.tab).stopped.is_some() => return self.settle(since).await,
            Ok(Some(error)) => DriverError::Request {
                method: request.method.to_string(),
                url: request.url.clone(),
                reason: error,
            },
            Err(err) => err,
        };
        lock(&self.tab).visiting = false;
        Err(reason)
    }

    /// `Page.navigate` to the request's URL; the error Chromium reports, if any (an
    /// abort by a stop is none).
    async fn load(&self, request: &Request) -> Result<Option<String>, DriverError> {
        let navigated = tokio::time::timeout(
            self.timeout,
            self.page.execute(NavigateParams::new(request.url.clone())),
        )
        .await
        .map_err(|_| {
            DriverError::Page(format!(
                "{} did not load within {} s",
                request.url,
                self.timeout.as_secs()
            ))
        })?
        .map_err(cdp)?;
        Ok(navigated
            .result
            .error_text
            .clone()
            .filter(|error| !error.contains("ERR_ABORTED")))
    }

    /// Whether opening `url` would only move the current page to another fragment.
    fn only_fragment_differs(&self, url: &str) -> bool {
        let here = lock(&self.tab).url.clone();
        let base = |u: &str| u.split('#').next().unwrap_or(u).to_string();
        url.contains('#') && base(url) == base(&here)
    }

    /// Runs `script` (an action on the page) and follows what it set off.
    async fn act(&mut self, script: String, stop: &Stop) -> Result<Visit, DriverError> {
        self.remember_as_last();
        let since = self.arm(stop, None);
        let outcome = self.evaluate(&script).await.inspect_err(|_| {
            lock(&self.tab).visiting = false;
        })?;
        if let Some(problem) = outcome.as_str() {
            lock(&self.tab).visiting = false;
            return Err(DriverError::Page(problem.to_string()));
        }
        self.settle(since).await
    }

    async fn cookies_of(
        &self,
        url: &str,
    ) -> Result<Vec<chromiumoxide::cdp::browser_protocol::network::Cookie>, DriverError> {
        let answer = self
            .page
            .execute(GetCookiesParams {
                urls: Some(vec![url.to_string()]),
            })
            .await
            .map_err(cdp)?;
        Ok(answer.result.cookies.clone())
    }

    /// Makes the tab show a document of `origin`, where scripts read and write that
    /// origin's storage (the tab's sessionStorage included). A tab on another site gets
    /// a blank page of the origin that the driver answers itself: nothing reaches the site.
    ///
    /// With `unload`, the tab always gets that blank page, so that the site's own document
    /// is gone (with what it holds in memory, and its `pagehide` handlers have run) before
    /// the storage is written.
    async fn enter(&mut self, origin: &str, unload: bool) -> Result<(), DriverError> {
        let blank = format!("{origin}/.well-known/mitid-sim-kit-storage");
        let here = lock(&self.tab).url.clone();
        let on_the_site = driver::origin(&here).as_deref() == Some(origin);
        if here == blank || (on_the_site && !unload) {
            return Ok(());
        }
        lock(&self.tab).blank = Some(blank.clone());
        let entered = self.navigate(Request::get(blank), &Stop::Never).await;
        lock(&self.tab).blank = None;
        entered.map(|_| ())
    }

    async fn storage(
        &mut self,
        origin: &str,
    ) -> Result<(Vec<(String, String)>, Vec<(String, String)>), DriverError> {
        self.enter(origin, false).await?;
        let read = self.evaluate(scripts::READ_STORAGE).await?;
        let items = |key: &str| -> Vec<(String, String)> {
            serde_json::from_value(read[key].clone()).unwrap_or_default()
        };
        Ok((items("local"), items("session")))
    }

    async fn replace_storage(
        &mut self,
        origin: &str,
        state: &SiteState,
    ) -> Result<(), DriverError> {
        self.enter(origin, true).await?;
        let write = scripts::write_storage(&state.local_storage, &state.session_storage);
        self.evaluate(&write).await.map(|_| ())
    }
}

/// A redirect as the page the browser saw last.
fn redirect_page(hop: &Hop) -> Page {
    let mut headers = HeaderMap::new();
    if let Some(location) = hop
        .location
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        headers.insert(reqwest::header::LOCATION, location);
    }
    Page {
        method: hop.method.clone(),
        url: hop.url.clone(),
        status: StatusCode::from_u16(hop.status).unwrap_or(StatusCode::FOUND),
        headers,
        body: String::new(),
        rendered_text: Some(String::new()),
    }
}

impl Browser for ChromiumBrowser {
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
        Box::pin(self.act(scripts::submit_script(action_suffix, fields), stop))
    }

    fn resume<'a>(&'a mut self, stop: &'a Stop) -> BoxFuture<'a, Result<Visit, DriverError>> {
        Box::pin(async move {
            self.remember_as_last();
            let since = self.arm(stop, None);
            let (url, navigations) = {
                let tab = lock(&self.tab);
                (tab.url.clone(), tab.navigations)
            };
            let started = Instant::now();
            loop {
                {
                    let tab = lock(&self.tab);
                    if tab.stopped.is_some() || tab.navigations != navigations || tab.loading {
                        break;
                    }
                }
                if started.elapsed() > RESUME_TIMEOUT {
                    return Err(DriverError::Page(format!(
                        "{url} did not move on by itself within {} s",
                        RESUME_TIMEOUT.as_secs()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            self.settle(since).await
        })
    }

    fn click<'a>(
        &'a mut self,
        selector: &'a str,
        stop: &'a Stop,
    ) -> BoxFuture<'a, Result<Visit, DriverError>> {
        Box::pin(self.act(scripts::click_script(selector), stop))
    }

    fn state<'a>(&'a mut self, url: &'a str) -> BoxFuture<'a, Result<SiteState, DriverError>> {
        Box::pin(async move {
            let origin = driver::origin(url).ok_or_else(|| DriverError::Url(url.into()))?;
            let cookies = self
                .cookies_of(url)
                .await?
                .into_iter()
                .map(|c| (c.name, c.value))
                .collect();
            let (local_storage, session_storage) = self.storage(&origin).await?;
            Ok(SiteState {
                cookies,
                local_storage,
                session_storage,
            })
        })
    }

    fn restore<'a>(
        &'a mut self,
        url: &'a str,
        state: &'a SiteState,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let origin = driver::origin(url).ok_or_else(|| DriverError::Url(url.into()))?;
            for cookie in self.cookies_of(url).await? {
                let mut delete = DeleteCookiesParams::new(cookie.name);
                delete.domain = Some(cookie.domain);
                delete.path = Some(cookie.path);
                self.page.execute(delete).await.map_err(cdp)?;
            }
            for (name, value) in &state.cookies {
                // Raw, as an attacker replays it: no expiry, no attributes but those a
                // `__Secure-`/`__Host-` name demands on https.
                let mut cookie = SetCookieParams::new(name.clone(), value.clone());
                cookie.url = Some(format!("{origin}/"));
                cookie.path = Some("/".into());
                cookie.secure = Some(origin.starts_with("https:"));
                self.page.execute(cookie).await.map_err(cdp)?;
            }
            self.replace_storage(&origin, state).await
        })
    }

    fn session_cookies<'a>(
        &'a mut self,
        url: &'a str,
    ) -> BoxFuture<'a, Result<Vec<HeldCookie>, DriverError>> {
        Box::pin(async move {
            let origin = driver::origin(url).unwrap_or_default();
            let set_by_site: Vec<String> = lock(&self.tab)
                .set_cookies
                .iter()
                .filter(|(from, _)| *from == origin)
                .map(|(_, name)| name.clone())
                .collect();
            // Cookies the site's scripts set (a consent banner's) are not its session.
            Ok(self
                .cookies_of(url)
                .await?
                .into_iter()
                .filter(|c| set_by_site.contains(&c.name))
                .map(|c| HeldCookie {
                    name: c.name,
                    http_only: c.http_only,
                    secure: c.secure,
                    same_site: c.same_site.map(|s| s.as_ref().to_string()),
                })
                .collect())
        })
    }

    fn hops(&self) -> Vec<Hop> {
        lock(&self.tab).hops.clone()
    }
}

//! One browser of the browser driver: an isolated Chromium context with one tab, watched
//! through DevTools events. Every document request of the tab pauses (Fetch domain) so the
//! driver can stop before a URL, or turn a navigation into a POST; network and frame
//! events tell when the page has settled (no document loading, no request in flight, for
//! a quiet moment) and which documents came back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams as FetchEnable, EventRequestPaused, FailRequestParams,
    FulfillRequestParams, HeaderEntry, RequestPattern, RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::{
    DeleteCookiesParams, ErrorReason, EventLoadingFailed, EventLoadingFinished,
    EventRequestWillBeSent, EventResponseReceived, GetCookiesParams, ResourceType, Response,
    SetCookieParams,
};
use chromiumoxide::cdp::browser_protocol::page::{
    EventFrameNavigated, EventFrameStartedLoading, EventFrameStoppedLoading,
    EventNavigatedWithinDocument, NavigateParams,
};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::Scenario;
use crate::conformance::driver::{
    BoxFuture, Browser, DriverError, HeldCookie, Hop, Page, Request, SiteState, Stop, Visit,
};
use crate::conformance::profile::BrowserSettings;

/// A request in flight longer than this is a long poll or a stream, not part of loading
/// the page.
const LONG_REQUEST: Duration = Duration::from_secs(3);

/// How long `resume` waits for a waiting page to move on by itself.
const RESUME_TIMEOUT: Duration = Duration::from_secs(20);

/// The last document response of the tab's top-level frame.
#[derive(Clone)]
struct Document {
    url: String,
    status: u16,
    headers: HeaderMap,
}

/// What the tab's events have told so far.
struct Tab {
    main_frame: String,
    url: String,
    loading: bool,
    /// Top-level navigations so far (new documents and same-document URL changes).
    navigations: u64,
    in_flight: HashMap<String, InFlight>,
    last_activity: Instant,
    hops: Vec<Hop>,
    frames: Vec<Hop>,
    document: Option<Document>,
    /// Where the current navigation stops, and the URL it opened (never stopped).
    stop: Stop,
    opened: Option<String>,
    stopped: Option<Request>,
    /// A navigation to this URL is sent as a POST of these fields.
    post: Option<(String, Vec<(String, String)>)>,
    /// A `Page.navigate` is under way: chromiumoxide waits for it to commit, so a stop
    /// during it answers with a blank page instead of aborting.
    cdp_navigation: bool,
    /// A navigation to this URL gets a blank page from the driver (see `enter`).
    blank: Option<String>,
    /// Requests answered with a blank page: not the site's answers.
    blanks: Vec<String>,
    /// Why the last top-level document could not be loaded (connection refused…).
    failure: Option<String>,
}

struct InFlight {
    started: Instant,
    method: String,
    main_document: bool,
}

impl Tab {
    fn new(main_frame: String) -> Self {
        Self {
            main_frame,
            url: "about:blank".into(),
            loading: false,
            navigations: 0,
            in_flight: HashMap::new(),
            last_activity: Instant::now(),
            hops: Vec::new(),
            frames: Vec::new(),
            document: None,
            stop: Stop::Never,
            opened: None,
            stopped: None,
            post: None,
            cdp_navigation: false,
            blank: None,
            blanks: Vec::new(),
            failure: None,
        }
    }

    fn is_main(&self, frame: Option<&str>) -> bool {
        frame == Some(self.main_frame.as_str())
    }

    fn busy(&self) -> bool {
        self.loading
            || self
                .in_flight
                .values()
                .any(|request| request.started.elapsed() < LONG_REQUEST)
    }
}

fn lock(tab: &Mutex<Tab>) -> MutexGuard<'_, Tab> {
    tab.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A browser of the browser driver.
pub struct ChromiumBrowser {
    page: chromiumoxide::Page,
    tab: Arc<Mutex<Tab>>,
    listeners: Vec<tokio::task::JoinHandle<()>>,
    scenario: Arc<Mutex<Scenario>>,
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

fn cdp(err: chromiumoxide::error::CdpError) -> DriverError {
    DriverError::Browser(err.to_string())
}

impl ChromiumBrowser {
    pub(super) async fn new(
        page: chromiumoxide::Page,
        scenario: Arc<Mutex<Scenario>>,
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
        browser.listen().await?;
        browser
            .page
            .execute(FetchEnable {
                patterns: Some(vec![RequestPattern {
                    url_pattern: Some("*".into()),
                    resource_type: Some(ResourceType::Document),
                    request_stage: Some(RequestStage::Request),
                }]),
                handle_auth_requests: None,
            })
            .await
            .map_err(cdp)?;
        Ok(browser)
    }

    /// Starts the tasks that follow the tab's events.
    async fn listen(&mut self) -> Result<(), DriverError> {
        let page = &self.page;
        let mut paused = page
            .event_listener::<EventRequestPaused>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        let answering = page.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = paused.next().await {
                answer_paused(&answering, &tab, &event).await;
            }
        }));

        let mut sent = page
            .event_listener::<EventRequestWillBeSent>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = sent.next().await {
                let mut tab = lock(&tab);
                tab.last_activity = Instant::now();
                let id = event.request_id.as_ref().to_string();
                let is_document = event.r#type == Some(ResourceType::Document);
                if let (Some(redirect), true) = (&event.redirect_response, is_document) {
                    let method = tab
                        .in_flight
                        .get(&id)
                        .map(|r| r.method.clone())
                        .unwrap_or_else(|| "GET".into());
                    let hop = Hop {
                        method,
                        url: redirect.url.clone(),
                        status: redirect.status as u16,
                        location: header(&redirect.headers, "location")
                            .and_then(|l| Url::parse(&redirect.url).ok()?.join(&l).ok())
                            .map(|u| u.to_string()),
                    };
                    if tab.is_main(event.frame_id.as_ref().map(|f| f.as_ref())) {
                        tab.hops.push(hop);
                    } else {
                        tab.frames.push(hop);
                    }
                }
                let main_document =
                    is_document && tab.is_main(event.frame_id.as_ref().map(|f| f.as_ref()));
                tab.in_flight.insert(
                    id,
                    InFlight {
                        started: Instant::now(),
                        method: event.request.method.clone(),
                        main_document,
                    },
                );
            }
        }));

        let mut received = page
            .event_listener::<EventResponseReceived>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = received.next().await {
                let mut tab = lock(&tab);
                tab.last_activity = Instant::now();
                if event.r#type != ResourceType::Document {
                    continue;
                }
                if tab.blanks.iter().any(|b| b == event.request_id.as_ref()) {
                    continue;
                }
                let method = tab
                    .in_flight
                    .get(event.request_id.as_ref())
                    .map(|r| r.method.clone())
                    .unwrap_or_else(|| "GET".into());
                let hop = Hop {
                    method,
                    url: event.response.url.clone(),
                    status: event.response.status as u16,
                    location: None,
                };
                if tab.is_main(event.frame_id.as_ref().map(|f| f.as_ref())) {
                    tab.hops.push(hop);
                    tab.document = Some(document(&event.response));
                } else {
                    tab.frames.push(hop);
                }
            }
        }));

        let mut finished = page
            .event_listener::<EventLoadingFinished>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = finished.next().await {
                let mut tab = lock(&tab);
                tab.last_activity = Instant::now();
                tab.in_flight.remove(event.request_id.as_ref());
            }
        }));

        let mut failed = page
            .event_listener::<EventLoadingFailed>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = failed.next().await {
                let mut tab = lock(&tab);
                tab.last_activity = Instant::now();
                let request = tab.in_flight.remove(event.request_id.as_ref());
                let aborted = event.error_text.contains("ERR_ABORTED");
                if request.is_some_and(|r| r.main_document) && !aborted {
                    tab.failure = Some(event.error_text.clone());
                }
            }
        }));

        let mut started = page
            .event_listener::<EventFrameStartedLoading>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = started.next().await {
                let mut tab = lock(&tab);
                tab.last_activity = Instant::now();
                if tab.is_main(Some(event.frame_id.as_ref())) {
                    tab.loading = true;
                }
            }
        }));

        let mut stopped = page
            .event_listener::<EventFrameStoppedLoading>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = stopped.next().await {
                let mut tab = lock(&tab);
                tab.last_activity = Instant::now();
                if tab.is_main(Some(event.frame_id.as_ref())) {
                    tab.loading = false;
                }
            }
        }));

        let mut navigated = page
            .event_listener::<EventFrameNavigated>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = navigated.next().await {
                let mut tab = lock(&tab);
                tab.last_activity = Instant::now();
                if event.frame.parent_id.is_none() {
                    tab.url = event.frame.url.clone();
                    tab.navigations += 1;
                }
            }
        }));

        let mut within = page
            .event_listener::<EventNavigatedWithinDocument>()
            .await
            .map_err(cdp)?;
        let tab = self.tab.clone();
        self.listeners.push(tokio::spawn(async move {
            while let Some(event) = within.next().await {
                let mut tab = lock(&tab);
                tab.last_activity = Instant::now();
                if tab.is_main(Some(event.frame_id.as_ref())) {
                    tab.url = event.url.clone();
                    tab.navigations += 1;
                }
            }
        }));
        Ok(())
    }

    /// Arms the tab for a navigation: where it stops, which URL it opens.
    fn arm(&self, stop: &Stop, opened: Option<&str>) -> (usize, usize) {
        let mut tab = lock(&self.tab);
        tab.stop = stop.clone();
        tab.opened = opened.map(str::to_string);
        tab.stopped = None;
        tab.failure = None;
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
            if stopped || settled {
                break;
            }
            if started.elapsed() > self.timeout {
                let url = lock(&self.tab).url.clone();
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
        let mut tab = lock(&self.tab);
        let visit = Visit {
            hops: tab.hops[since.0.min(tab.hops.len())..].to_vec(),
            frames: tab.frames[since.1.min(tab.frames.len())..].to_vec(),
            page: page.clone(),
            stopped: tab.stopped.take(),
        };
        tab.stop = Stop::Never;
        drop(tab);
        self.current = Some(page);
        Ok(visit)
    }

    /// The page as it is now: its document after scripts ran, and what it shows.
    async fn read_page(&self) -> Result<Page, DriverError> {
        let read = r#"({
            url: location.href,
            html: document.documentElement ? document.documentElement.outerHTML : "",
            text: document.body ? document.body.innerText : ""
        })"#;
        let mut last_error = None;
        // A document being replaced has no context to evaluate in for a moment.
        for _ in 0..20 {
            match self.evaluate(read).await {
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
        let since = self.arm(stop, Some(&request.url));
        if let Some(form) = &request.form {
            lock(&self.tab).post = Some((request.url.clone(), form.clone()));
        }
        lock(&self.tab).cdp_navigation = true;
        let navigated = tokio::time::timeout(
            self.timeout,
            self.page.execute(NavigateParams::new(request.url.clone())),
        )
        .await;
        let failure = {
            let mut tab = lock(&self.tab);
            tab.cdp_navigation = false;
            tab.failure.take()
        };
        if let Some(reason) = failure {
            return Err(DriverError::Request {
                method: request.method.to_string(),
                url: request.url.clone(),
                reason,
            });
        }
        match navigated {
            Err(_) => {
                return Err(DriverError::Page(format!(
                    "{} did not load within {} s",
                    request.url,
                    self.timeout.as_secs()
                )))
            }
            Ok(Err(err)) => return Err(cdp(err)),
            Ok(Ok(_)) => {}
        }
        self.settle(since).await
    }

    /// Runs `script` (an action on the page) and follows what it set off.
    async fn act(&mut self, script: String, stop: &Stop) -> Result<Visit, DriverError> {
        self.remember_as_last();
        let since = self.arm(stop, None);
        let outcome = self.evaluate(&script).await?;
        if let Some(problem) = outcome.as_str() {
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
    async fn enter(&mut self, origin: &str) -> Result<(), DriverError> {
        let here = lock(&self.tab).url.clone();
        if super::super::origin(&here).as_deref() == Some(origin) {
            return Ok(());
        }
        let blank = format!("{origin}/.well-known/mitid-sim-kit-storage");
        lock(&self.tab).blank = Some(blank.clone());
        let entered = self.navigate(Request::get(blank), &Stop::Never).await;
        lock(&self.tab).blank = None;
        entered.map(|_| ())
    }

    async fn storage(
        &mut self,
        origin: &str,
    ) -> Result<(Vec<(String, String)>, Vec<(String, String)>), DriverError> {
        self.enter(origin).await?;
        let read = self
            .evaluate("({ local: Object.entries(localStorage), session: Object.entries(sessionStorage) })")
            .await?;
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
        self.enter(origin).await?;
        let write = format!(
            r#"(() => {{
                localStorage.clear();
                sessionStorage.clear();
                for (const [k, v] of {local}) localStorage.setItem(k, v);
                for (const [k, v] of {session}) sessionStorage.setItem(k, v);
                return null;
            }})()"#,
            local = serde_json::to_string(&state.local_storage).unwrap_or_else(|_| "[]".into()),
            session = serde_json::to_string(&state.session_storage).unwrap_or_else(|_| "[]".into()),
        );
        self.evaluate(&write).await.map(|_| ())
    }
}

fn header(
    headers: &chromiumoxide::cdp::browser_protocol::network::Headers,
    name: &str,
) -> Option<String> {
    headers.inner().as_object()?.iter().find_map(|(k, v)| {
        k.eq_ignore_ascii_case(name)
            .then(|| v.as_str().map(str::to_string))
            .flatten()
    })
}

fn document(response: &Response) -> Document {
    let mut headers = HeaderMap::new();
    if let Some(object) = response.headers.inner().as_object() {
        for (name, value) in object {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            // DevTools joins repeated headers with newlines.
            for line in value.as_str().unwrap_or_default().split('\n') {
                if let Ok(value) = HeaderValue::from_str(line) {
                    headers.append(name.clone(), value);
                }
            }
        }
    }
    Document {
        url: response.url.clone(),
        status: response.status as u16,
        headers,
    }
}

/// Answers a paused document request: stops before it, sends it as a POST, or lets it go.
async fn answer_paused(page: &chromiumoxide::Page, tab: &Mutex<Tab>, event: &EventRequestPaused) {
    let url = match &event.request.url_fragment {
        Some(fragment) => format!("{}{fragment}", event.request.url),
        None => event.request.url.clone(),
    };
    let id = event.request_id.clone();
    enum Answer {
        Go,
        Stop,
        Blank,
        Post(Vec<(String, String)>),
    }
    let answer = {
        let mut tab = lock(tab);
        let top_level = tab.is_main(Some(event.frame_id.as_ref()));
        let opened = tab.opened.as_deref() == Some(url.as_str());
        if !top_level {
            Answer::Go
        } else if tab.blank.as_deref() == Some(url.as_str()) {
            if let Some(network_id) = &event.network_id {
                tab.blanks.push(network_id.as_ref().to_string());
            }
            Answer::Blank
        } else if opened {
            tab.opened = None;
            match tab.post.take() {
                Some((post_url, form)) if post_url == url => Answer::Post(form),
                _ => Answer::Go,
            }
        } else if tab.stop.matches(&url) {
            let form = (event.request.method == "POST").then(|| posted_form(event));
            tab.stopped = Some(Request {
                method: Method::from_bytes(event.request.method.as_bytes()).unwrap_or(Method::GET),
                url: url.clone(),
                form,
            });
            if tab.cdp_navigation {
                if let Some(network_id) = &event.network_id {
                    tab.blanks.push(network_id.as_ref().to_string());
                }
                Answer::Blank
            } else {
                Answer::Stop
            }
        } else {
            Answer::Go
        }
    };
    let result = match answer {
        Answer::Go => page
            .execute(ContinueRequestParams::new(id))
            .await
            .map(|_| ()),
        Answer::Stop => page
            .execute(FailRequestParams::new(id, ErrorReason::Aborted))
            .await
            .map(|_| ()),
        Answer::Blank => {
            let mut blank = FulfillRequestParams::new(id, 200);
            blank.response_headers = Some(vec![HeaderEntry::new(
                "Content-Type",
                "text/html; charset=utf-8",
            )]);
            blank.body = Some(STANDARD.encode("<!doctype html><title>-</title>").into());
            page.execute(blank).await.map(|_| ())
        }
        Answer::Post(form) => {
            let body = serde_urlencoded::to_string(&form).unwrap_or_default();
            let mut headers: Vec<HeaderEntry> = event
                .request
                .headers
                .inner()
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
                        .map(|(k, v)| HeaderEntry::new(k.clone(), v.as_str().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            headers.push(HeaderEntry::new(
                "Content-Type",
                "application/x-www-form-urlencoded",
            ));
            let mut params = ContinueRequestParams::new(id);
            params.method = Some("POST".into());
            params.post_data = Some(STANDARD.encode(body).into());
            params.headers = Some(headers);
            page.execute(params).await.map(|_| ())
        }
    };
    if let Err(err) = result {
        tracing::debug!(%err, url, "answering a paused request failed");
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

/// The fields of a paused form POST.
fn posted_form(event: &EventRequestPaused) -> Vec<(String, String)> {
    let bytes: Vec<u8> = event
        .request
        .post_data_entries
        .iter()
        .flatten()
        .filter_map(|entry| entry.bytes.as_ref())
        .filter_map(|b| STANDARD.decode(AsRef::<str>::as_ref(b)).ok())
        .flatten()
        .collect();
    serde_urlencoded::from_bytes(&bytes).unwrap_or_default()
}

/// The script that submits the form whose action ends with `suffix`, with `fields` set.
fn submit_script(suffix: &str, fields: &[(String, String)]) -> String {
    format!(
        r#"(() => {{
            const suffix = {suffix};
            const form = [...document.forms].find(f => (f.getAttribute("action") || "").endsWith(suffix));
            if (!form) return "no form posting to …" + suffix + " at " + location.href;
            for (const [name, value] of {fields}) {{
                let input = form.elements.namedItem(name);
                if (!input || !("value" in input)) {{
                    input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    form.appendChild(input);
                }}
                input.value = value;
            }}
            setTimeout(() => HTMLFormElement.prototype.submit.call(form), 0);
            return null;
        }})()"#,
        suffix = Value::from(suffix),
        fields = serde_json::to_string(fields).unwrap_or_else(|_| "[]".into()),
    )
}

/// The script that clicks the element `selector`.
fn click_script(selector: &str) -> String {
    format!(
        r#"(() => {{
            const element = document.querySelector({selector});
            if (!element) return "no `" + {selector} + "` on " + location.href;
            setTimeout(() => element.click(), 0);
            return null;
        }})()"#,
        selector = Value::from(selector),
    )
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
        Box::pin(self.act(submit_script(action_suffix, fields), stop))
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
        Box::pin(self.act(click_script(selector), stop))
    }

    fn state<'a>(&'a mut self, url: &'a str) -> BoxFuture<'a, Result<SiteState, DriverError>> {
        Box::pin(async move {
            let origin = super::super::origin(url).ok_or_else(|| DriverError::Url(url.into()))?;
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
            let origin = super::super::origin(url).ok_or_else(|| DriverError::Url(url.into()))?;
            for cookie in self.cookies_of(url).await? {
                let mut delete = DeleteCookiesParams::new(cookie.name);
                delete.domain = Some(cookie.domain);
                delete.path = Some(cookie.path);
                self.page.execute(delete).await.map_err(cdp)?;
            }
            for (name, value) in &state.cookies {
                // Raw, as an attacker replays it: no expiry, no attributes.
                let mut cookie = SetCookieParams::new(name.clone(), value.clone());
                cookie.url = Some(format!("{origin}/"));
                cookie.path = Some("/".into());
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
            let host = Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            Ok(self
                .cookies_of(url)
                .await?
                .into_iter()
                .filter(|c| c.domain.trim_start_matches('.') == host)
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

    fn screenshot(&mut self) -> BoxFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            let params = chromiumoxide::page::ScreenshotParams::builder()
                .format(chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat::Png)
                .build();
            self.page.screenshot(params).await.ok()
        })
    }
}

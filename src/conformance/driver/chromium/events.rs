//! What a tab's DevTools events tell: which documents came back (top level and frames),
//! which requests are in flight, whether the top-level document is loading, where the tab
//! is. The driver reads it to know when a page has settled and what a navigation did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventLoadingFinished, EventRequestWillBeSent, EventResponseReceived,
    EventResponseReceivedExtraInfo, Headers, ResourceType, Response,
};
use chromiumoxide::cdp::browser_protocol::page::{
    EventFrameNavigated, EventFrameStartedLoading, EventFrameStoppedLoading,
    EventNavigatedWithinDocument,
};
use chromiumoxide::cdp::IntoEventKind;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::task::JoinHandle;
use url::Url;

use super::cdp;
use crate::conformance::driver::{DriverError, Hop, Request, Stop};

/// A request in flight longer than this is a long poll or a stream, not part of loading
/// the page.
const LONG_REQUEST: Duration = Duration::from_secs(3);

/// The last document response of the tab's top-level frame.
#[derive(Clone)]
pub(super) struct Document {
    pub url: String,
    pub status: u16,
    pub headers: HeaderMap,
    /// The loader of the document: a new document of the tab has another.
    pub loader: String,
}

/// What the tab's events have told so far.
pub(super) struct Tab {
    pub main_frame: String,
    pub url: String,
    pub loading: bool,
    /// Top-level navigations so far (new documents and same-document URL changes).
    pub navigations: u64,
    pub in_flight: HashMap<String, InFlight>,
    pub last_activity: Instant,
    pub hops: Vec<Hop>,
    pub frames: Vec<Hop>,
    pub document: Option<Document>,
    /// Where the current navigation stops, and the URL it opened (never stopped).
    pub stop: Stop,
    pub opened: Option<String>,
    pub stopped: Option<Request>,
    /// A navigation to this URL is sent as a POST of these fields.
    pub post: Option<(String, Vec<(String, String)>)>,
    /// A `Page.navigate` is under way: chromiumoxide waits for it to commit, so a stop
    /// during it answers with a blank page instead of aborting.
    pub cdp_navigation: bool,
    /// A navigation to this URL gets a blank page from the driver (see `enter`).
    pub blank: Option<String>,
    /// Requests answered with a blank page: not the site's answers.
    pub blanks: Vec<String>,
    /// Whether the kit is on a visit (from `arm` until the page settled). Between visits
    /// the tab goes nowhere: a script that navigates or loads a frame then (a silent
    /// renewal through the broker, a timer) is stopped, as the HTTP driver makes no
    /// request between visits.
    pub visiting: bool,
    /// The URL of every request so far, by id (for the Set-Cookie headers reported apart).
    pub urls: HashMap<String, String>,
    /// `(origin, cookie name)` of every `Set-Cookie` a response carried.
    pub set_cookies: Vec<(String, String)>,
}

pub(super) struct InFlight {
    started: Instant,
    method: String,
}

impl Tab {
    pub fn new(main_frame: String) -> Self {
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
            visiting: false,
            urls: HashMap::new(),
            set_cookies: Vec::new(),
        }
    }

    pub fn is_main(&self, frame: Option<&str>) -> bool {
        frame == Some(self.main_frame.as_str())
    }

    pub fn busy(&self) -> bool {
        self.loading
            || self
                .in_flight
                .values()
                .any(|request| request.started.elapsed() < LONG_REQUEST)
    }
}

pub(super) fn lock(tab: &Mutex<Tab>) -> MutexGuard<'_, Tab> {
    tab.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the tasks that keep `tab` up to date with `page`'s events.
pub(super) async fn listen(
    page: &chromiumoxide::Page,
    tab: &Arc<Mutex<Tab>>,
) -> Result<Vec<JoinHandle<()>>, DriverError> {
    Ok(vec![
        follow(page, tab, request_sent).await?,
        follow(page, tab, response_received).await?,
        follow(page, tab, |tab, event: &EventLoadingFinished| {
            tab.in_flight.remove(event.request_id.as_ref());
        })
        .await?,
        follow(page, tab, |tab, event: &EventLoadingFailed| {
            tab.in_flight.remove(event.request_id.as_ref());
        })
        .await?,
        follow(page, tab, |tab, event: &EventFrameStartedLoading| {
            if tab.is_main(Some(event.frame_id.as_ref())) {
                tab.loading = true;
            }
        })
        .await?,
        follow(page, tab, |tab, event: &EventFrameStoppedLoading| {
            if tab.is_main(Some(event.frame_id.as_ref())) {
                tab.loading = false;
            }
        })
        .await?,
        follow(page, tab, |tab, event: &EventFrameNavigated| {
            if event.frame.parent_id.is_none() {
                tab.url = event.frame.url.clone();
                tab.navigations += 1;
                // A document the tab got no response for (about:blank, the driver's
                // blank pages) has no status or headers of its own.
                let loader = event.frame.loader_id.as_ref();
                if tab.document.as_ref().is_some_and(|d| d.loader != loader) {
                    tab.document = None;
                }
            }
        })
        .await?,
        follow(page, tab, cookies_set).await?,
        follow(page, tab, |tab, event: &EventNavigatedWithinDocument| {
            if tab.is_main(Some(event.frame_id.as_ref())) {
                tab.url = event.url.clone();
                tab.navigations += 1;
            }
        })
        .await?,
    ])
}

/// A task applying every event `E` of the page to the tab; any event is activity.
async fn follow<E>(
    page: &chromiumoxide::Page,
    tab: &Arc<Mutex<Tab>>,
    apply: fn(&mut Tab, &E),
) -> Result<JoinHandle<()>, DriverError>
where
    E: IntoEventKind + Unpin + Send + Sync + 'static,
{
    let mut events = page.event_listener::<E>().await.map_err(cdp)?;
    let tab = tab.clone();
    Ok(tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let mut tab = lock(&tab);
            tab.last_activity = Instant::now();
            apply(&mut tab, &event);
        }
    }))
}

fn request_sent(tab: &mut Tab, event: &EventRequestWillBeSent) {
    let id = event.request_id.as_ref().to_string();
    let is_document = event.r#type == Some(ResourceType::Document);
    let top_level = tab.is_main(event.frame_id.as_ref().map(|f| f.as_ref()));
    // A redirect is reported with the request it leads to.
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
        if top_level {
            tab.hops.push(hop);
        } else {
            tab.frames.push(hop);
        }
    }
    tab.urls.insert(id.clone(), event.request.url.clone());
    tab.in_flight.insert(
        id,
        InFlight {
            started: Instant::now(),
            method: event.request.method.clone(),
        },
    );
}

fn response_received(tab: &mut Tab, event: &EventResponseReceived) {
    let id = event.request_id.as_ref();
    if event.r#type != ResourceType::Document || tab.blanks.iter().any(|b| b == id) {
        return;
    }
    let method = tab
        .in_flight
        .get(id)
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
        tab.document = Some(document(&event.response, event.loader_id.as_ref()));
    } else {
        tab.frames.push(hop);
    }
}

/// The cookies a response set, by name: what the site set, as opposed to its scripts.
fn cookies_set(tab: &mut Tab, event: &EventResponseReceivedExtraInfo) {
    let Some(origin) = tab
        .urls
        .get(event.request_id.as_ref())
        .and_then(|url| crate::conformance::driver::origin(url))
    else {
        return;
    };
    let Some(header) = header(&event.headers, "set-cookie") else {
        return;
    };
    // DevTools joins repeated headers with newlines.
    for line in header.split('\n') {
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let set = (origin.clone(), name.trim().to_string());
        if !tab.set_cookies.contains(&set) {
            tab.set_cookies.push(set);
        }
    }
}

fn header(headers: &Headers, name: &str) -> Option<String> {
    headers.inner().as_object()?.iter().find_map(|(k, v)| {
        k.eq_ignore_ascii_case(name)
            .then(|| v.as_str().map(str::to_string))
            .flatten()
    })
}

fn document(response: &Response, loader: &str) -> Document {
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
        loader: loader.to_string(),
    }
}

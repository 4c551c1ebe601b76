//! Every document request of a tab pauses (the Fetch domain) until the driver answers it:
//! it stops before a URL the navigation must not reach, turns the navigation it opened
//! into a POST, answers a blank page itself, or lets the request go.

use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams, EventRequestPaused, FailRequestParams,
    FulfillRequestParams, HeaderEntry, RequestPattern, RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use futures_util::StreamExt;
use reqwest::Method;
use tokio::task::JoinHandle;

use super::cdp;
use super::events::{lock, Tab};
use crate::conformance::driver::{DriverError, Request};

/// Pauses the page's document requests and answers each as the tab says.
pub(super) async fn intercept(
    page: &chromiumoxide::Page,
    tab: &std::sync::Arc<Mutex<Tab>>,
) -> Result<JoinHandle<()>, DriverError> {
    let mut paused = page
        .event_listener::<EventRequestPaused>()
        .await
        .map_err(cdp)?;
    let answering = page.clone();
    let tab = tab.clone();
    let task = tokio::spawn(async move {
        while let Some(event) = paused.next().await {
            answer_paused(&answering, &tab, &event).await;
        }
    });
    page.execute(EnableParams {
        patterns: Some(vec![RequestPattern {
            url_pattern: Some("*".into()),
            resource_type: Some(ResourceType::Document),
            request_stage: Some(RequestStage::Request),
        }]),
        handle_auth_requests: None,
    })
    .await
    .map_err(cdp)?;
    Ok(task)
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
        let opened = tab.opened.as_deref().is_some_and(|o| same_url(o, &url));
        if !tab.visiting {
            Answer::Stop
        } else if !top_level {
            Answer::Go
        } else if tab.blank.as_deref().is_some_and(|b| same_url(b, &url)) {
            if let Some(network_id) = &event.network_id {
                tab.blanks.push(network_id.as_ref().to_string());
            }
            Answer::Blank
        } else if opened {
            tab.opened = None;
            match tab.post.take() {
                Some((post_url, form)) if same_url(&post_url, &url) => Answer::Post(form),
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

/// The same URL, however Chromium spells it (`http://host:1` is `http://host:1/`).
fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
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

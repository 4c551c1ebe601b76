//! Security headers on every response: `nosniff` and `no-referrer` everywhere, and on
//! HTML pages a Content-Security-Policy that allows scripts, styles and requests from this
//! origin only and forbids framing by other sites.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

/// The policy of every page. No `form-action`: Chromium applies it to the redirect after
/// a form is posted, and a finished login's form redirects to the RP, wherever it is.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; media-src 'self'; connect-src 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// [`PAGE_POLICY`] that may also frame the given pages (the front-channel logout URIs the
/// logout page loads), by their origins.
pub fn page_policy_framing<'a>(uris: impl IntoIterator<Item = &'a str>) -> String {
    let mut origins: Vec<String> = uris
        .into_iter()
        .filter_map(|uri| url::Url::parse(uri).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|url| url.origin().ascii_serialization())
        .collect();
    origins.sort();
    origins.dedup();
    if origins.is_empty() {
        return PAGE_POLICY.to_string();
    }
    format!("{PAGE_POLICY}; frame-src {}", origins.join(" "))
}

/// Adds what a response did not set itself.
pub async fn add(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    if is_html {
        set(header::CONTENT_SECURITY_POLICY, PAGE_POLICY);
        set(header::X_FRAME_OPTIONS, "DENY");
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logout_page_may_frame_only_the_front_channel_origins() {
        let policy = page_policy_framing([
            "https://rp.example/fc?x=1",
            "http://localhost:8081/logout",
            "https://rp.example/other",
            "javascript:alert(1)",
        ]);
        assert!(
            policy.ends_with("; frame-src http://localhost:8081 https://rp.example"),
            "{policy}"
        );
        assert_eq!(page_policy_framing([]), PAGE_POLICY);
    }
}

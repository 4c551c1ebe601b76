//! Who may use the admin API (and any other admin surface): with no token configured, only
//! requests that provably come from this machine; with a token, only its holders; never a
//! web page of another site. Decided once at start from the bind address, the public URL
//! and the token, so a header can tighten the rule but never loosen it.
//!
//! Reuse: the [`AdminProtection`] is app data of every worker. A JSON scope wraps
//! [`require_admin`]; an HTML surface (a dashboard) calls [`AdminProtection::check`], or
//! [`AdminProtection::check_presented`] with the token its form field or cookie carried,
//! and shows [`Refusal::message`] in its own page.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, AUTHORIZATION, HOST, ORIGIN, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};

use super::super::is_loopback;

/// The admin API's bearer token: never empty, sendable in a header as it is.
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    /// `None` for an empty token (a flag or variable set to nothing), which protects nothing.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "the admin token must be printable ASCII without spaces, as a bearer token is sent"
                    .into(),
            );
        }
        Ok(Some(Self(text.to_string())))
    }

    /// Constant-time comparison, so the answer time tells nothing about the token.
    pub fn matches(&self, presented: &str) -> bool {
        presented.len() == self.0.len()
            && openssl::memcmp::eq(presented.as_bytes(), self.0.as_bytes())
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

/// Headers a proxy adds when it forwards a request; a tokenless admin API refuses them,
/// since the request then came from elsewhere, whatever its loopback connection says.
const FORWARDING_HEADERS: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-real-ip",
    "via",
];

/// How the admin surfaces are protected on this broker.
#[derive(Debug)]
pub struct AdminProtection {
    token: Option<AdminToken>,
}

/// Why an admin request is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request came from another website, a foreign host name or a proxy: no token helps.
    Forbidden(String),
    /// The configured token was not presented.
    Unauthorized,
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
            Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Refusal::Forbidden(message) => message,
            Refusal::Unauthorized => "the admin API needs Authorization: Bearer <--admin-token>",
        }
    }

    /// The JSON error of the admin API.
    pub fn json(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        if *self == Refusal::Unauthorized {
            response.insert_header((WWW_AUTHENTICATE, "Bearer realm=\"mitid-sim admin\""));
        }
        response.json(serde_json::json!({
            "error": if *self == Refusal::Unauthorized { "unauthorized" } else { "forbidden" },
            "message": self.message(),
        }))
    }
}

impl AdminProtection {
    /// The rule for a broker bound to `bound` and reached at `public_url`. Refuses to
    /// start an admin API that the network could reach without a token: on a non-loopback
    /// address, or behind a public URL of another host (a proxy or tunnel on this machine
    /// forwards the network's requests over loopback, indistinguishable from local ones).
    pub fn new(
        bound: std::net::IpAddr,
        public_url: Option<&url::Url>,
        token: Option<&str>,
    ) -> Result<Self, String> {
        let given = token.is_some();
        let token = match token {
            Some(text) => AdminToken::parse(text)?,
            None => None,
        };
        let empty = if given && token.is_none() {
            "--admin-token is empty: "
        } else {
            ""
        };
        if token.is_none() && !bound.to_canonical().is_loopback() {
            return Err(format!(
                "{empty}{bound} is not a loopback address: give --admin-token so the admin API is not open to the network"
            ));
        }
        if let Some(url) = public_url {
            let host = url.host_str().unwrap_or_default();
            if token.is_none() && !is_loopback(host) {
                return Err(format!(
                    "{empty}--public-url {url} names another host than this machine: whatever forwards its requests (a proxy, a tunnel) reaches the broker over loopback, so give --admin-token to keep the admin API closed to them"
                ));
            }
        }
        Ok(Self { token })
    }

    /// Whether admin requests must carry the token.
    pub fn token_required(&self) -> bool {
        self.token.is_some()
    }

    /// The token checks of [`AdminProtection::check`] with a token presented another way
    /// (a form field or cookie of an HTML page): `presented` is what the request carried.
    pub fn check_presented(
        &self,
        req: &HttpRequest,
        presented: Option<&str>,
    ) -> Result<(), Refusal> {
        self.foreign(req.headers())?;
        match &self.token {
            Some(token) if !presented.is_some_and(|p| token.matches(p)) => {
                Err(Refusal::Unauthorized)
            }
            _ => Ok(()),
        }
    }

    /// Whether `req` may use the admin API, with the token as a bearer token.
    pub fn check(&self, req: &HttpRequest) -> Result<(), Refusal> {
        self.check_presented(req, bearer(req.headers()))
    }

    /// Refuses what a web page of another site could send (CSRF), a foreign host name
    /// (DNS rebinding) and, without a token, anything that did not come from this machine.
    fn foreign(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site")
        {
            return Err(Refusal::Forbidden(
                "the admin API does not answer other websites".into(),
            ));
        }
        if let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
            let origin_host = url::Url::parse(origin).ok().and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(port) => format!("{h}:{port}"),
                    None => h.to_string(),
                })
            });
            if origin_host.as_deref() != Some(host) {
                return Err(Refusal::Forbidden(format!(
                    "the admin API does not answer requests from {origin}"
                )));
            }
        }
        if self.token.is_none() {
            if !is_loopback(host_name(host)) {
                return Err(Refusal::Forbidden(format!(
                    "without --admin-token the admin API answers loopback host names only, not `{host}`"
                )));
            }
            if let Some(header) = FORWARDING_HEADERS
                .iter()
                .find(|h| headers.contains_key(**h))
            {
                return Err(Refusal::Forbidden(format!(
                    "this request was forwarded by a proxy (`{header}`): without --admin-token the admin API answers this machine only"
                )));
            }
        }
        Ok(())
    }
}

/// The host name of a `Host` header value, without its port.
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The bearer token of an `Authorization` header (the scheme is case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

/// Middleware for a scope of JSON admin endpoints: answers a refusal as the admin API's
/// JSON error before any handler runs.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let verdict = match req.app_data::<web::Data<AdminProtection>>() {
        Some(protection) => protection.check(req.request()),
        // An app wired without a protection serves no admin requests at all.
        None => Err(Refusal::Forbidden(
            "the admin API is not configured on this server".into(),
        )),
    };
    match verdict {
        Ok(()) => next.call(req).await.map(|r| r.map_into_left_body()),
        Err(refusal) => Ok(req.into_response(refusal.json()).map_into_right_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn loopback() -> std::net::IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn an_empty_token_counts_as_none_and_a_non_loopback_bind_refuses_it() {
        let any: std::net::IpAddr = "0.0.0.0".parse().unwrap();
        let refused = AdminProtection::new(any, None, Some("")).unwrap_err();
        assert!(refused.contains("--admin-token is empty"), "{refused}");
        assert!(AdminProtection::new(any, None, None).is_err());
        assert!(AdminProtection::new(any, None, Some("t0ken")).is_ok());
        let open = AdminProtection::new(loopback(), None, Some("")).unwrap();
        assert!(!open.token_required());
        assert!(AdminProtection::new(any, None, Some("has space")).is_err());
    }

    #[test]
    fn a_public_url_of_another_host_needs_a_token() {
        let public = url::Url::parse("https://mitid.example.test/").unwrap();
        let refused = AdminProtection::new(loopback(), Some(&public), None).unwrap_err();
        assert!(refused.contains("--admin-token"), "{refused}");
        let local = url::Url::parse("http://localhost:9000/").unwrap();
        assert!(AdminProtection::new(loopback(), Some(&local), None).is_ok());
        let guarded = AdminProtection::new(loopback(), Some(&public), Some("t0ken")).unwrap();
        let through_proxy = TestRequest::default()
            .insert_header((HOST, "mitid.example.test"))
            .to_http_request();
        assert_eq!(guarded.check(&through_proxy), Err(Refusal::Unauthorized));
        let with_token = TestRequest::default()
            .insert_header((HOST, "mitid.example.test"))
            .insert_header((AUTHORIZATION, "bearer t0ken"))
            .to_http_request();
        assert_eq!(guarded.check(&with_token), Ok(()));
    }

    #[test]
    fn without_a_token_only_requests_from_this_machine_pass() {
        let open = AdminProtection::new(loopback(), None, None).unwrap();
        let local = TestRequest::default()
            .insert_header((HOST, "127.0.0.1:8088"))
            .to_http_request();
        assert_eq!(open.check(&local), Ok(()));
        for (header, value) in [
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
            ("x-real-ip", "203.0.113.9"),
        ] {
            let proxied = TestRequest::default()
                .insert_header((HOST, "127.0.0.1:8088"))
                .insert_header((header, value))
                .to_http_request();
            assert!(
                matches!(open.check(&proxied), Err(Refusal::Forbidden(_))),
                "{header}"
            );
        }
        let rebound = TestRequest::default()
            .insert_header((HOST, "attacker.example:8088"))
            .to_http_request();
        assert!(matches!(open.check(&rebound), Err(Refusal::Forbidden(_))));
    }
}

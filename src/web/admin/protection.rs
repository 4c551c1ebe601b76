//! Who may use the admin API: loopback callers when no token is configured, bearer-token
//! holders otherwise; never a web page of another site.

use actix_web::{web, HttpResponse};

use super::super::is_loopback;
use crate::protocols::oidc::Provider;

/// The admin API's bearer token, if one is required.
pub struct AdminToken(pub Option<String>);

/// Refuses admin requests without the configured bearer token.
pub async fn require_admin(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    if let Some(refusal) = foreign_admin_request(&req) {
        let response = HttpResponse::Forbidden().json(serde_json::json!({
            "error": "forbidden",
            "message": refusal,
        }));
        return Ok(req.into_response(response).map_into_right_body());
    }
    let expected = req
        .app_data::<web::Data<AdminToken>>()
        .and_then(|t| t.0.clone());
    if let Some(expected) = expected {
        let presented = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let ok = presented.len() == expected.len()
            && openssl::memcmp::eq(presented.as_bytes(), expected.as_bytes());
        if !ok {
            let response = HttpResponse::Unauthorized()
                .insert_header((
                    actix_web::http::header::WWW_AUTHENTICATE,
                    "Bearer realm=\"mitid-sim admin\"",
                ))
                .json(serde_json::json!({
                    "error": "unauthorized",
                    "message": "the admin API needs Authorization: Bearer <--admin-token>",
                }));
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req).await.map(|r| r.map_into_left_body())
}

/// Why an admin request that a web page could have made (CSRF) or that came through a
/// foreign host name (DNS rebinding) is refused, if it is.
fn foreign_admin_request(req: &actix_web::dev::ServiceRequest) -> Option<String> {
    use actix_web::http::header::{HOST, ORIGIN};
    let host = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Some("the admin API does not answer other websites".into());
    }
    if let Some(origin) = req.headers().get(ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin_host = url::Url::parse(origin).ok().and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_string(),
            })
        });
        if origin_host.as_deref() != Some(host) {
            return Some(format!(
                "the admin API does not answer requests from {origin}"
            ));
        }
    }
    let tokenless = req
        .app_data::<web::Data<AdminToken>>()
        .is_none_or(|t| t.0.is_none());
    if tokenless {
        let name = host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        });
        let public = req
            .app_data::<web::Data<Provider>>()
            .and_then(|p| url::Url::parse(&p.base_url).ok())
            .and_then(|u| u.host_str().map(str::to_string));
        if !is_loopback(name) && public.as_deref() != Some(name) {
            return Some(format!(
                "the admin API answers loopback host names only, not `{host}`"
            ));
        }
    }
    None
}

//! Broker sessions: list, end, expire.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{bad_request, control_error, Data};
use crate::broker::sessions::EndReason;

pub async fn list(provider: Data) -> HttpResponse {
    HttpResponse::Ok().json(provider.broker.sessions.all())
}

async fn end_with(provider: Data, path: web::Path<String>, reason: EndReason) -> HttpResponse {
    let Ok(id) = uuid::Uuid::parse_str(&path) else {
        return bad_request(format!("`{path}` is not a session id (neb_sid)"));
    };
    match provider.end_session_now(id, reason) {
        Ok(ended) => HttpResponse::Ok().json(json!({
            "ended": ended.session.id,
            "reason": reason,
            "clients": ended.session.participants.keys().collect::<Vec<_>>(),
            "service_providers": ended.session.service_providers.keys().collect::<Vec<_>>(),
        })),
        Err(err) => control_error(err),
    }
}

/// Ends a broker session now, with back-channel logout to its clients.
pub async fn end(provider: Data, path: web::Path<String>) -> HttpResponse {
    end_with(provider, path, EndReason::Admin).await
}

/// Ends a session as if its absolute lifetime had run out.
pub async fn expire(provider: Data, path: web::Path<String>) -> HttpResponse {
    end_with(provider, path, EndReason::AbsoluteExpiry).await
}

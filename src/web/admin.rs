//! The admin API (JSON, under `/admin`) for QA scripts and the CLI against a running broker.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::broker::clock::parse_offset;
use crate::broker::sessions::EndReason;
use crate::protocols::oidc::Provider;

fn not_found(user_id: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::NOT_FOUND).json(
        json!({ "error": "not_found", "message": format!("no citizen has user ID `{user_id}`") }),
    )
}

pub async fn citizens(provider: web::Data<Provider>) -> HttpResponse {
    let broker = &provider.broker;
    let all: Vec<_> = broker
        .identities
        .all()
        .iter()
        .map(|c| broker.citizen_report(c))
        .collect();
    HttpResponse::Ok().json(all)
}

pub async fn citizen(provider: web::Data<Provider>, path: web::Path<String>) -> HttpResponse {
    let broker = &provider.broker;
    match broker.identities.by_user_id(&path) {
        Some(citizen) => HttpResponse::Ok().json(broker.citizen_report(&citizen)),
        None => not_found(&path),
    }
}

/// Lifts code-display blocks and wrong-code counts, and a `locked` status (the
/// "temporarily locked" states).
pub async fn unlock(provider: web::Data<Provider>, path: web::Path<String>) -> HttpResponse {
    let broker = &provider.broker;
    match broker.unlock(&path) {
        Some(citizen) => HttpResponse::Ok().json(broker.citizen_report(&citizen)),
        None => not_found(&path),
    }
}

pub async fn sessions(provider: web::Data<Provider>) -> HttpResponse {
    HttpResponse::Ok().json(provider.broker.sessions.all())
}

/// Ends a broker session now (as if it expired), with back-channel logout to its clients.
pub async fn end_session(provider: web::Data<Provider>, path: web::Path<String>) -> HttpResponse {
    let Ok(id) = uuid::Uuid::parse_str(&path) else {
        return HttpResponse::BadRequest()
            .json(json!({ "error": "invalid_request", "message": format!("`{path}` is not a session id (neb_sid)") }));
    };
    let now = provider.broker.clock.now();
    match provider.broker.sessions.end(id, EndReason::Admin, now) {
        Some(ended) => {
            let body = json!({ "ended": ended.session.id, "clients": ended.session.participants.keys().collect::<Vec<_>>() });
            provider.announce_logout(ended);
            HttpResponse::Ok().json(body)
        }
        None => HttpResponse::NotFound()
            .json(json!({ "error": "not_found", "message": format!("no live session {id}") })),
    }
}

/// Every back-channel logout delivery and each of its attempts.
pub async fn logouts(provider: web::Data<Provider>) -> HttpResponse {
    HttpResponse::Ok().json(provider.backchannel.deliveries())
}

fn clock_json(provider: &Provider) -> serde_json::Value {
    let clock = &provider.broker.clock;
    json!({ "now": clock.unix(), "offset_seconds": clock.offset().whole_seconds() })
}

pub async fn clock(provider: web::Data<Provider>) -> HttpResponse {
    HttpResponse::Ok().json(clock_json(&provider))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    /// Moves the clock by this much (e.g. "1h", "-5m").
    advance: Option<String>,
    /// Sets the total offset from real time.
    offset: Option<String>,
}

/// Shifts the broker's one clock; expiry that falls due is applied at once.
pub async fn shift_clock(
    provider: web::Data<Provider>,
    change: web::Json<ClockChange>,
) -> HttpResponse {
    let parse = |text: &str| parse_offset(text);
    let result = match (&change.advance, &change.offset) {
        (Some(by), None) => parse(by).map(|d| provider.broker.clock.advance(d)),
        (None, Some(offset)) => parse(offset).map(|d| provider.broker.clock.set_offset(d)),
        _ => Err("give exactly one of `advance` or `offset`".to_string()),
    };
    match result {
        Ok(()) => {
            provider.expire_sessions();
            HttpResponse::Ok().json(clock_json(&provider))
        }
        Err(message) => HttpResponse::BadRequest()
            .json(json!({ "error": "invalid_request", "message": message })),
    }
}

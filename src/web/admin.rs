//! The admin API (JSON, under `/admin`) for QA scripts and the CLI against a running broker.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

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

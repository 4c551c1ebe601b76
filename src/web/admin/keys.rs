//! Signing keys: the published set and rotation.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

use super::{error, saved, Data};

pub async fn list(provider: Data) -> HttpResponse {
    match provider.broker.keys.list().await {
        Ok(keys) => HttpResponse::Ok().json(keys),
        Err(err) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "keys_unavailable",
            err.to_string(),
        ),
    }
}

/// New kids sign from now on; the old keys stay in the JWKS for an hour.
pub async fn rotate(provider: Data) -> HttpResponse {
    let broker = &provider.broker;
    if let Err(err) = broker.keys.rotate(broker.clock.unix()) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rotation_failed",
            err.to_string(),
        );
    }
    match broker.keys.list().await {
        Ok(keys) => saved(&provider, StatusCode::OK, json!(keys)).await,
        Err(err) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "keys_unavailable",
            err.to_string(),
        ),
    }
}

//! The request record and the back-channel delivery log.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{bad_request, Data};

fn record_filter(query: &HashMap<String, String>) -> Result<(Option<String>, Option<i64>), String> {
    let since = match query.get("since") {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| format!("since `{text}` is not a Unix time"))?,
        ),
        None => None,
    };
    Ok((query.get("client").cloned(), since))
}

/// What each client sent (requests with parameters) and the back-channel deliveries.
pub async fn list(provider: Data, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let (client, since) = match record_filter(&query) {
        Ok(filter) => filter,
        Err(message) => return bad_request(message),
    };
    let requests = provider.recorder.list(client.as_deref(), since);
    let backchannel: Vec<_> = provider
        .backchannel
        .deliveries()
        .into_iter()
        .filter(|d| client.as_deref().is_none_or(|c| d.client_id == c))
        .filter(|d| since.is_none_or(|t| d.created >= t))
        .collect();
    HttpResponse::Ok().json(json!({ "requests": requests, "backchannel": backchannel }))
}

pub async fn clear(provider: Data, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let client = query.get("client").cloned();
    provider.recorder.clear(client.as_deref());
    provider.backchannel.clear(client.as_deref());
    HttpResponse::Ok().json(json!({ "cleared": client.unwrap_or_else(|| "all".into()) }))
}

/// Every back-channel logout delivery and each of its attempts.
pub async fn logouts(provider: Data) -> HttpResponse {
    HttpResponse::Ok().json(provider.backchannel.deliveries())
}

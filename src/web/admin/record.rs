//! The request record and the back-channel delivery log.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{bad_request, Data};

/// Requests one page holds unless `limit` says otherwise, and the most it may ask for.
const DEFAULT_PAGE: usize = 500;
const MAX_PAGE: usize = 1_000;

struct RecordQuery {
    client: Option<String>,
    since: Option<i64>,
    after: Option<u64>,
    limit: usize,
}

fn record_query(query: &HashMap<String, String>) -> Result<RecordQuery, String> {
    fn number<T: std::str::FromStr>(
        query: &HashMap<String, String>,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, String> {
        query
            .get(name)
            .map(|text| {
                text.parse::<T>()
                    .map_err(|_| format!("{name} `{text}` is not {what}"))
            })
            .transpose()
    }
    let limit = number::<usize>(query, "limit", "a number")?.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(format!("limit must be 1 to {MAX_PAGE}"));
    }
    Ok(RecordQuery {
        client: query.get("client").cloned(),
        since: number(query, "since", "a Unix time")?,
        after: number(query, "after", "a request number (`next_after` of a page)")?,
        limit,
    })
}

/// What each client sent (requests with parameters), a page at a time: `next_after` asks
/// for the next one. The back-channel deliveries come with the first page.
pub async fn list(provider: Data, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let query = match record_query(&query) {
        Ok(query) => query,
        Err(message) => return bad_request(message),
    };
    let client = query.client.as_deref();
    let page = provider
        .recorder
        .page(client, query.since, query.after, query.limit);
    let backchannel: Vec<_> = if query.after.is_none() {
        provider
            .backchannel
            .deliveries()
            .into_iter()
            .filter(|d| client.is_none_or(|c| d.client_id == c))
            .filter(|d| query.since.is_none_or(|t| d.created >= t))
            .collect()
    } else {
        Vec::new()
    };
    HttpResponse::Ok().json(json!({
        "requests": page.requests,
        "backchannel": backchannel,
        "next_after": page.next_after,
    }))
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

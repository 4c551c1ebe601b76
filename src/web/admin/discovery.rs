//! What discovery announces (T09).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, Data};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryChange {
    /// The issuer discovery announces; null for the real one.
    issuer: Option<String>,
}

/// Makes the discovery document announce another issuer (T09), or the real one again.
pub async fn issuer(provider: Data, body: web::Bytes) -> HttpResponse {
    let change: DiscoveryChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(err) => {
            return bad_request(format!(
                "expected {{\"issuer\": \"https://…\"|null}}: {err}"
            ))
        }
    };
    if let Some(issuer) = &change.issuer {
        let is_web_url = url::Url::parse(issuer)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
        if !is_web_url {
            return bad_request(format!("`{issuer}` is not an http(s) URL"));
        }
    }
    provider
        .discovery_issuer
        .store(change.issuer.clone().map(std::sync::Arc::new));
    HttpResponse::Ok()
        .json(json!({ "issuer": change.issuer.unwrap_or_else(|| provider.issuer.clone()) }))
}

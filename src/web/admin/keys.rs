//! Signing keys: the published set, their certificates and rotation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, error, not_found, saved, Data};

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

#[derive(Deserialize)]
pub struct CertificateQuery {
    kid: Option<String>,
    format: Option<String>,
}

/// A signing certificate for pinning: the current RSA one (what id_tokens are signed
/// with by default), or any published one by `kid`; JSON, or the bare PEM with `format=pem`.
pub async fn certificate(provider: Data, query: web::Query<CertificateQuery>) -> HttpResponse {
    let keys = &provider.broker.keys;
    let listed = match keys.list().await {
        Ok(listed) => listed,
        Err(err) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "keys_unavailable",
                err.to_string(),
            )
        }
    };
    let wanted = match &query.kid {
        Some(kid) => listed.into_iter().find(|k| &k.kid == kid),
        None => listed
            .into_iter()
            .find(|k| k.status == "current" && k.alg == "RS256"),
    };
    let Some(info) = wanted else {
        return not_found(format!(
            "no published key has kid `{}`",
            query.kid.as_deref().unwrap_or_default()
        ));
    };
    let pem = match keys.certificate_pem(&info.kid).await {
        Ok(Some(pem)) => pem,
        Ok(None) => return not_found(format!("key `{}` was just retired for good", info.kid)),
        Err(err) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "keys_unavailable",
                err.to_string(),
            )
        }
    };
    match query.format.as_deref() {
        Some("pem") => HttpResponse::Ok()
            .content_type("application/x-pem-file")
            .body(pem),
        None | Some("json") => {
            let mut body = json!(info);
            body["pem"] = pem.into();
            HttpResponse::Ok().json(body)
        }
        Some(other) => bad_request(format!("format `{other}`: use json or pem")),
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

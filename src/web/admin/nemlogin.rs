//! The admin API of the NemLog-in personality (JSON, under `/admin/nemlogin`): the IdP,
//! its registered service providers (by metadata or inline), their response faults and
//! the record of the IdP's LogoutRequests. Documented in `docs/admin-openapi.json`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::protocols::saml;
use crate::protocols::saml::faults::SamlFault;
use crate::protocols::saml::sp::{ServiceProvider, SpRecord};

use super::{answer_saved, bad_request, error, not_found, one, MAX_COUNT};

type Data = web::Data<saml::Provider>;

fn no_sp(entity_id: &str) -> HttpResponse {
    not_found(format!("no service provider has entity ID `{entity_id}`"))
}

/// Answers after the change is on disk (when the broker keeps state).
async fn saved(nemlogin: &saml::Provider, status: StatusCode, body: Value) -> HttpResponse {
    answer_saved(nemlogin.persist().await, status, body)
}

fn sp_json(nemlogin: &saml::Provider, sp: &ServiceProvider) -> Value {
    let mut value = serde_json::to_value(sp.record()).unwrap_or(Value::Null);
    value["pending_faults"] = json!(nemlogin.faults.pending(&sp.entity_id));
    value
}

/// The IdP as SPs configure it: entity ID, endpoints and certificates.
pub async fn idp(nemlogin: Data) -> HttpResponse {
    match nemlogin.ready().await {
        Ok(ready) => {
            let idp = &ready.idp;
            let pem = |c: &saml::credential::Credential| {
                String::from_utf8_lossy(c.certificate().pem()).into_owned()
            };
            HttpResponse::Ok().json(json!({
                "entity_id": idp.entity_id,
                "endpoint": idp.endpoint,
                "metadata_url": idp.metadata_url,
                "sso_group": saml::SSO_GROUP,
                "keys": ready.keys_origin,
                "signing_certificate": pem(&idp.keys.signing),
                "encryption_certificate": pem(&idp.keys.encryption),
            }))
        }
        Err(err) => error(StatusCode::SERVICE_UNAVAILABLE, "keys_unavailable", err),
    }
}

pub async fn service_providers(nemlogin: Data) -> HttpResponse {
    let all: Vec<Value> = nemlogin
        .service_providers
        .all()
        .iter()
        .map(|sp| sp_json(&nemlogin, sp))
        .collect();
    HttpResponse::Ok().json(all)
}

pub async fn service_provider(nemlogin: Data, path: web::Path<String>) -> HttpResponse {
    match nemlogin.service_providers.get(&path) {
        Some(sp) => HttpResponse::Ok().json(sp_json(&nemlogin, &sp)),
        None => no_sp(&path),
    }
}

/// Registers an SP from its metadata (`{"metadata": "<md:EntityDescriptor …>"}`) or the
/// fields inline, or replaces the one with the same entity ID.
pub async fn register(nemlogin: Data, body: web::Bytes) -> HttpResponse {
    let record: SpRecord = match serde_json::from_slice(&body) {
        Ok(record) => record,
        Err(err) => return bad_request(format!("not a service provider registration: {err}")),
    };
    let sp = match record.into_sp_from_json() {
        Ok(sp) => sp,
        Err(err) => return bad_request(err.to_string()),
    };
    let (sp, new) = nemlogin.register_service_provider(sp);
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    saved(&nemlogin, status, sp_json(&nemlogin, &sp)).await
}

pub async fn delete(nemlogin: Data, path: web::Path<String>) -> HttpResponse {
    match nemlogin.delete_service_provider(&path) {
        Some(sp) => {
            saved(
                &nemlogin,
                StatusCode::OK,
                json!({ "deleted": sp.entity_id }),
            )
            .await
        }
        None => no_sp(&path),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    fault: SamlFault,
    #[serde(default = "one")]
    count: usize,
}

/// Breaks the SP's next `count` successful responses as `fault` names.
pub async fn add_fault(nemlogin: Data, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    if nemlogin.service_providers.get(&path).is_none() {
        return no_sp(&path);
    }
    let request: FaultRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            let names: Vec<&str> = SamlFault::ALL.iter().map(|f| f.name()).collect();
            return bad_request(format!(
                "expected {{\"fault\": one of {}, \"count\": N}}: {err}",
                names.join(", ")
            ));
        }
    };
    if !(1..=MAX_COUNT).contains(&request.count) {
        return bad_request(format!("count must be 1 to {MAX_COUNT}"));
    }
    nemlogin.faults.push(&path, request.fault, request.count);
    HttpResponse::Ok().json(json!({
        "entity_id": path.as_str(),
        "pending_faults": nemlogin.faults.pending(&path),
    }))
}

pub async fn clear_faults(nemlogin: Data, path: web::Path<String>) -> HttpResponse {
    if nemlogin.service_providers.get(&path).is_none() {
        return no_sp(&path);
    }
    nemlogin.faults.clear(&path);
    HttpResponse::Ok().json(json!({ "entity_id": path.as_str(), "pending_faults": [] }))
}

/// Every LogoutRequest the IdP sent an SP (or could not send), oldest first.
pub async fn logouts(nemlogin: Data) -> HttpResponse {
    HttpResponse::Ok().json(nemlogin.logouts.deliveries())
}

//! MitID Erhverv in the admin API: organisations (by CVR number) and professional
//! identities (by persistent professional ID), in the fixtures' shape as JSON.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::citizens::merge_patch;
use super::{bad_request, control_error, saved};
use crate::identity::{Organisation, ProfessionalIdentity};
use crate::protocols::oidc::Provider;

type Data = web::Data<Provider>;

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The body as `T`, or what was wrong with it.
fn body_as<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|err| format!("not {what}: {err}"))
}

/// PUT's body as is, or PATCH's merged into `current` (RFC 7396).
fn updated<T: DeserializeOwned + Serialize>(
    current: &T,
    body: &[u8],
    merge: bool,
    what: &str,
) -> Result<T, String> {
    if !merge {
        return body_as(body, what);
    }
    let patch: Value =
        serde_json::from_slice(body).map_err(|err| format!("the body is not JSON: {err}"))?;
    let mut document = to_json(current);
    merge_patch(&mut document, &patch);
    serde_json::from_value(document).map_err(|err| format!("not {what}: {err}"))
}

// ---- organisations ----

pub async fn organisations(provider: Data) -> HttpResponse {
    let all: Vec<Value> = provider
        .broker
        .identities
        .organisations()
        .iter()
        .map(|o| to_json(&**o))
        .collect();
    HttpResponse::Ok().json(all)
}

pub async fn organisation(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.organisation(&path) {
        Ok(organisation) => HttpResponse::Ok().json(to_json(&*organisation)),
        Err(err) => control_error(err),
    }
}

pub async fn create_organisation(provider: Data, body: web::Bytes) -> HttpResponse {
    let organisation: Organisation = match body_as(&body, "an organisation") {
        Ok(organisation) => organisation,
        Err(message) => return bad_request(message),
    };
    match provider.create_organisation(organisation.clone()) {
        Ok(()) => saved(&provider, StatusCode::CREATED, to_json(&organisation)).await,
        Err(err) => control_error(err),
    }
}

async fn update_organisation(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
    merge: bool,
) -> HttpResponse {
    let current = match provider.organisation(&path) {
        Ok(current) => current,
        Err(err) => return control_error(err),
    };
    let organisation = match updated(&*current, &body, merge, "an organisation") {
        Ok(organisation) => organisation,
        Err(message) => return bad_request(message),
    };
    match provider.replace_organisation(&path, organisation.clone()) {
        Ok(()) => saved(&provider, StatusCode::OK, to_json(&organisation)).await,
        Err(err) => control_error(err),
    }
}

pub async fn replace_organisation(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    update_organisation(provider, path, body, false).await
}

pub async fn patch_organisation(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    update_organisation(provider, path, body, true).await
}

pub async fn delete_organisation(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.delete_organisation(&path) {
        Ok(organisation) => {
            saved(
                &provider,
                StatusCode::OK,
                json!({ "deleted": organisation.cvr }),
            )
            .await
        }
        Err(err) => control_error(err),
    }
}

// ---- professional identities ----

/// Every professional identity, or those of one organisation (`?cvr=`) or one MitID
/// (`?user_id=`, the identities it logs in as).
pub async fn professionals(
    provider: Data,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let identities = &provider.broker.identities;
    let mut found = match query.get("user_id") {
        Some(user_id) => match identities.by_user_id(user_id) {
            Some(eid) => identities.professionals_for(&eid),
            None => return super::no_citizen(user_id),
        },
        None => identities.professionals(),
    };
    if let Some(cvr) = query.get("cvr") {
        match crate::identity::Cvr::parse(cvr) {
            Ok(cvr) => found.retain(|p| p.cvr == cvr),
            Err(message) => return bad_request(message),
        }
    }
    HttpResponse::Ok().json(found.iter().map(|p| to_json(&**p)).collect::<Vec<_>>())
}

pub async fn professional(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.professional(&path) {
        Ok(professional) => HttpResponse::Ok().json(to_json(&*professional)),
        Err(err) => control_error(err),
    }
}

pub async fn create_professional(provider: Data, body: web::Bytes) -> HttpResponse {
    let professional: ProfessionalIdentity = match body_as(&body, "a professional identity") {
        Ok(professional) => professional,
        Err(message) => return bad_request(message),
    };
    match provider.create_professional(professional.clone()) {
        Ok(()) => saved(&provider, StatusCode::CREATED, to_json(&professional)).await,
        Err(err) => control_error(err),
    }
}

async fn update_professional(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
    merge: bool,
) -> HttpResponse {
    let current = match provider.professional(&path) {
        Ok(current) => current,
        Err(err) => return control_error(err),
    };
    let professional = match updated(&*current, &body, merge, "a professional identity") {
        Ok(professional) => professional,
        Err(message) => return bad_request(message),
    };
    match provider.replace_professional(&path, professional.clone()) {
        Ok(()) => saved(&provider, StatusCode::OK, to_json(&professional)).await,
        Err(err) => control_error(err),
    }
}

pub async fn replace_professional(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    update_professional(provider, path, body, false).await
}

pub async fn patch_professional(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    update_professional(provider, path, body, true).await
}

pub async fn delete_professional(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.delete_professional(&path) {
        Ok(professional) => {
            saved(
                &provider,
                StatusCode::OK,
                json!({ "deleted": professional.uuid }),
            )
            .await
        }
        Err(err) => control_error(err),
    }
}

pub async fn lock_professional(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.lock_professional(&path) {
        Ok(professional) => saved(&provider, StatusCode::OK, to_json(&professional)).await,
        Err(err) => control_error(err),
    }
}

pub async fn unlock_professional(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.unlock_professional(&path) {
        Ok(professional) => saved(&provider, StatusCode::OK, to_json(&professional)).await,
        Err(err) => control_error(err),
    }
}

//! Citizens: list, show, create, replace, merge, delete, lock, unlock, reset.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::{bad_request, control_error, no_citizen, saved, Data};
use crate::identity::Identity;

pub async fn list(provider: Data) -> HttpResponse {
    let broker = &provider.broker;
    let all: Vec<_> = broker
        .identities
        .all()
        .iter()
        .map(|c| broker.citizen_report(c))
        .collect();
    HttpResponse::Ok().json(all)
}

pub async fn show(provider: Data, path: web::Path<String>) -> HttpResponse {
    let broker = &provider.broker;
    match broker.identities.by_user_id(&path) {
        Some(citizen) => HttpResponse::Ok().json(broker.citizen_report(&citizen)),
        None => no_citizen(&path),
    }
}

pub async fn create(provider: Data, body: web::Bytes) -> HttpResponse {
    let identity: Identity = match serde_json::from_slice(&body) {
        Ok(identity) => identity,
        Err(err) => return bad_request(format!("not a citizen: {err}")),
    };
    match provider.create_citizen(identity.clone()) {
        Ok(()) => {
            saved(
                &provider,
                StatusCode::CREATED,
                provider.broker.citizen_report(&identity),
            )
            .await
        }
        Err(err) => control_error(err),
    }
}

/// PUT replaces the citizen; PATCH merges a JSON object into it (RFC 7396).
async fn update(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
    merge: bool,
) -> HttpResponse {
    let Some(current) = provider.broker.identities.by_user_id(&path) else {
        return no_citizen(&path);
    };
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(err) => return bad_request(format!("the body is not JSON: {err}")),
    };
    let merged = if merge {
        let mut document = serde_json::to_value(&*current).unwrap_or(Value::Null);
        merge_patch(&mut document, &patch);
        document
    } else {
        patch
    };
    let updated: Identity = match serde_json::from_value(merged) {
        Ok(identity) => identity,
        Err(err) => return bad_request(format!("not a citizen: {err}")),
    };
    match provider.replace_citizen(&path, updated.clone()) {
        Ok(()) => {
            saved(
                &provider,
                StatusCode::OK,
                provider.broker.citizen_report(&updated),
            )
            .await
        }
        Err(err) => control_error(err),
    }
}

pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

pub async fn replace(provider: Data, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    update(provider, path, body, false).await
}

pub async fn patch(provider: Data, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    update(provider, path, body, true).await
}

pub async fn delete(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.delete_citizen(&path) {
        Ok(citizen) => {
            saved(
                &provider,
                StatusCode::OK,
                json!({ "deleted": citizen.user_id.as_str() }),
            )
            .await
        }
        Err(err) => control_error(err),
    }
}

pub async fn lock(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.lock_citizen(&path) {
        Ok(locked) => {
            saved(
                &provider,
                StatusCode::OK,
                provider.broker.citizen_report(&locked),
            )
            .await
        }
        Err(err) => control_error(err),
    }
}

/// Lifts code-display blocks and wrong-code counts, and a `locked` status.
pub async fn unlock(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.unlock_citizen(&path) {
        Ok(citizen) => {
            saved(
                &provider,
                StatusCode::OK,
                provider.broker.citizen_report(&citizen),
            )
            .await
        }
        Err(err) => control_error(err),
    }
}

/// Back to the citizens, organisations and professional identities the broker started
/// with, with fresh devices.
pub async fn reset(provider: Data) -> HttpResponse {
    provider.reset_citizens();
    let identities = &provider.broker.identities;
    saved(
        &provider,
        StatusCode::OK,
        json!({
            "citizens": identities.len(),
            "organisations": identities.organisations().len(),
            "professionals": identities.professionals().len(),
        }),
    )
    .await
}

//! The citizens' simulated devices: scripted app answers, pending app requests, the code a
//! code display shows, the keys of a code card.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, error, no_citizen, not_found, one, Data, MAX_COUNT};
use crate::authenticators::code_card;
use crate::authenticators::Method;
use crate::broker::scripts::ScriptedLogin;

#[derive(Deserialize)]
pub struct ScriptRequest {
    #[serde(flatten)]
    behaviour: ScriptedLogin,
    #[serde(default = "one")]
    count: usize,
}

pub async fn script(provider: Data, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&path) else {
        return no_citizen(&path);
    };
    let request: ScriptRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return bad_request(format!(
                "expected {{\"behaviour\": \"reject\"|\"timeout\"|\"delay\"|\"abort\", \"ms\": N, \"count\": N}}: {err}"
            ))
        }
    };
    if !(1..=MAX_COUNT).contains(&request.count) {
        return bad_request(format!("count must be 1 to {MAX_COUNT}"));
    }
    if let Err(message) = request.behaviour.check() {
        return bad_request(message);
    }
    broker
        .scripts
        .push(citizen.uuid, request.behaviour, request.count);
    HttpResponse::Ok().json(json!({ "user_id": citizen.user_id.as_str(), "pending": broker.scripts.pending(citizen.uuid) }))
}

pub async fn scripts(provider: Data, path: web::Path<String>) -> HttpResponse {
    let broker = &provider.broker;
    match broker.identities.by_user_id(&path) {
        Some(citizen) => HttpResponse::Ok().json(json!({ "user_id": citizen.user_id.as_str(), "pending": broker.scripts.pending(citizen.uuid) })),
        None => no_citizen(&path),
    }
}

pub async fn clear_scripts(provider: Data, path: web::Path<String>) -> HttpResponse {
    let broker = &provider.broker;
    match broker.identities.by_user_id(&path) {
        Some(citizen) => {
            broker.scripts.clear(citizen.uuid);
            HttpResponse::Ok().json(json!({ "user_id": citizen.user_id.as_str(), "pending": [] }))
        }
        None => no_citizen(&path),
    }
}

/// The code a citizen's code display (or `?device=audio_reader`) shows now.
pub async fn current_code(
    provider: Data,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&path) else {
        return no_citizen(&path);
    };
    let method = match query.get("device").map(String::as_str) {
        None | Some("code_display") => Method::CodeDisplay,
        Some("audio_reader") => Method::AudioReader,
        Some(other) => {
            return bad_request(format!(
                "device `{other}`: use code_display or audio_reader"
            ))
        }
    };
    let Some(device) = citizen.totp_device(method) else {
        return not_found(format!("`{}` has no {}", citizen.user_id, method.slug()));
    };
    let now = broker.clock.now();
    HttpResponse::Ok().json(json!({
        "user_id": citizen.user_id.as_str(),
        "device": method,
        "code": device.secret.code_at(now),
        "seconds_left": device.secret.seconds_left(now),
    }))
}

/// The key beside a key number, on the citizen's current card or the one sent.
pub async fn card_key(provider: Data, path: web::Path<(String, String)>) -> HttpResponse {
    let (user_id, number) = path.into_inner();
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_citizen(&user_id);
    };
    let Some(nemid) = &citizen.nemid else {
        return not_found(format!("`{user_id}` has no NemID code card"));
    };
    let Ok(wanted) = number.parse::<u16>() else {
        return bad_request(format!("`{number}` is not a key number"));
    };
    let state = broker.code_cards.state(citizen.uuid, nemid);
    for (index, card) in [
        (state.card_index, "current"),
        (state.card_index + 1, "next"),
    ] {
        let keys = code_card::card_keys(&nemid.pid, index);
        if let Some(position) = keys.iter().position(|k| k.number == wanted) {
            let used = card == "current" && state.used.contains(&position);
            return HttpResponse::Ok().json(json!({
                "user_id": citizen.user_id.as_str(),
                "number": keys[position].number_text(),
                "key": keys[position].key_text(),
                "card": card,
                "card_serial": code_card::card_serial(&nemid.pid, index),
                "used": used,
            }));
        }
    }
    not_found(format!(
        "key number {wanted:04} is on neither of `{user_id}`'s cards"
    ))
}

pub async fn app_requests(provider: Data) -> HttpResponse {
    let broker = &provider.broker;
    let now = broker.clock.now();
    let pending: Vec<_> = broker
        .identities
        .all()
        .iter()
        .filter_map(|c| {
            broker.apps.pending_for(c.uuid, now).map(|r| {
                json!({
                    "id": r.id,
                    "user_id": c.user_id.as_str(),
                    "client": r.client_name,
                    "action_text": r.texts.action,
                    "reference_text": r.texts.reference_text,
                    "created": r.created.unix_timestamp(),
                    "expires": r.expires.unix_timestamp(),
                })
            })
        })
        .collect();
    HttpResponse::Ok().json(pending)
}

async fn answer_app(provider: Data, path: web::Path<String>, approve: bool) -> HttpResponse {
    let broker = &provider.broker;
    match broker.apps.answer(&path, approve, broker.clock.now()) {
        Ok(state) => HttpResponse::Ok().json(json!({ "id": path.as_str(), "state": state })),
        Err(crate::authenticators::app::AppError::Unknown) => {
            not_found(format!("no app request `{path}`"))
        }
        Err(err) => error(StatusCode::CONFLICT, "not_pending", err.to_string()),
    }
}

pub async fn approve_app(provider: Data, path: web::Path<String>) -> HttpResponse {
    answer_app(provider, path, true).await
}

pub async fn reject_app(provider: Data, path: web::Path<String>) -> HttpResponse {
    answer_app(provider, path, false).await
}

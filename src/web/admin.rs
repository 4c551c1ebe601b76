//! The admin API (JSON, under `/admin`) for QA scripts, CI jobs, the CLI against a
//! running broker and the conformance kit. Documented in `docs/admin-openapi.json`,
//! served at `/admin/openapi.json`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authenticators::code_card;
use crate::authenticators::Method;
use crate::broker::clock::parse_offset;
use crate::broker::scripts::ScriptedLogin;
use crate::broker::sessions::EndReason;
use crate::control::ControlError;
use crate::identity::Identity;
use crate::protocols::oidc::backchannel::{InjectionError, LogoutInjection};
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::faults::{LogoutTokenFault, TokenFault};
use crate::protocols::oidc::Provider;

pub const OPENAPI: &str = include_str!("../../docs/admin-openapi.json");

type Data = web::Data<Provider>;

/// The most logins or responses one script or fault request may cover.
const MAX_COUNT: usize = 1_000;

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": code, "message": message.into() }))
}

fn not_found(message: impl Into<String>) -> HttpResponse {
    error(StatusCode::NOT_FOUND, "not_found", message)
}

fn bad_request(message: impl Into<String>) -> HttpResponse {
    error(StatusCode::BAD_REQUEST, "invalid_request", message)
}

fn no_citizen(user_id: &str) -> HttpResponse {
    not_found(format!("no citizen has user ID `{user_id}`"))
}

/// Answers after the change is on disk (when the broker keeps state).
async fn saved(provider: &Provider, status: StatusCode, body: Value) -> HttpResponse {
    match provider.persist().await {
        Ok(()) => HttpResponse::build(status).json(body),
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "state_not_saved",
            format!("the change is made but could not be saved: {err}"),
        ),
    }
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

// ---- citizens ----

pub async fn citizens(provider: Data) -> HttpResponse {
    let broker = &provider.broker;
    let all: Vec<_> = broker
        .identities
        .all()
        .iter()
        .map(|c| broker.citizen_report(c))
        .collect();
    HttpResponse::Ok().json(all)
}

pub async fn citizen(provider: Data, path: web::Path<String>) -> HttpResponse {
    let broker = &provider.broker;
    match broker.identities.by_user_id(&path) {
        Some(citizen) => HttpResponse::Ok().json(broker.citizen_report(&citizen)),
        None => no_citizen(&path),
    }
}

fn control_error(err: ControlError) -> HttpResponse {
    match err {
        ControlError::NotFound(message) => not_found(message),
        ControlError::Conflict(message) => error(StatusCode::CONFLICT, "conflict", message),
        ControlError::Invalid(message) => bad_request(message),
    }
}

pub async fn create_citizen(provider: Data, body: web::Bytes) -> HttpResponse {
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
async fn update_citizen(
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

fn merge_patch(target: &mut Value, patch: &Value) {
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

pub async fn replace_citizen(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    update_citizen(provider, path, body, false).await
}

pub async fn patch_citizen(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    update_citizen(provider, path, body, true).await
}

pub async fn delete_citizen(provider: Data, path: web::Path<String>) -> HttpResponse {
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

/// Back to the citizens the broker started with, with fresh devices.
pub async fn reset_citizens(provider: Data) -> HttpResponse {
    provider.reset_citizens();
    saved(
        &provider,
        StatusCode::OK,
        json!({ "citizens": provider.broker.identities.len() }),
    )
    .await
}

// No deny_unknown_fields here: serde cannot combine it with a flattened tagged enum.
#[derive(Deserialize)]
pub struct ScriptRequest {
    #[serde(flatten)]
    behaviour: ScriptedLogin,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
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

// ---- devices ----

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

// ---- clients ----

fn client_json(provider: &Provider, client: &Client) -> Value {
    let mut value = serde_json::to_value(client).unwrap_or(Value::Null);
    if client.client_secret.is_some() {
        value["client_secret"] = json!("***");
    }
    value["pending_faults"] = json!(provider.faults.pending(&client.client_id));
    value
}

pub async fn clients(provider: Data) -> HttpResponse {
    let all: Vec<_> = provider
        .clients
        .all()
        .iter()
        .map(|c| client_json(&provider, c))
        .collect();
    HttpResponse::Ok().json(all)
}

pub async fn client(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.clients.get(&path) {
        Some(client) => HttpResponse::Ok().json(client_json(&provider, &client)),
        None => not_found(format!("no client `{path}`")),
    }
}

/// Registers a client, or replaces one with the same client_id.
pub async fn register_client(provider: Data, body: web::Bytes) -> HttpResponse {
    let client: Client = match serde_json::from_slice(&body) {
        Ok(client) => client,
        Err(err) => return bad_request(format!("not a client registration: {err}")),
    };
    match provider.register_client(client.clone()) {
        Ok(new) => {
            let status = if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            saved(&provider, status, client_json(&provider, &client)).await
        }
        Err(err) => control_error(err),
    }
}

pub async fn delete_client(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.delete_client(&path) {
        Ok(client) => {
            saved(
                &provider,
                StatusCode::OK,
                json!({ "deleted": client.client_id }),
            )
            .await
        }
        Err(err) => control_error(err),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoGroupRequest {
    sso_group: Option<String>,
}

/// Puts a client in an SSO group (`{"sso_group": "name"}`) or takes it out (`null`).
pub async fn set_sso_group(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let request: SsoGroupRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return bad_request(format!(
                "expected {{\"sso_group\": \"<group>\"}} or {{\"sso_group\": null}}: {err}"
            ))
        }
    };
    match provider.set_sso_group(&path, request.sso_group) {
        Ok(client) => saved(&provider, StatusCode::OK, client_json(&provider, &client)).await,
        Err(err) => control_error(err),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    fault: TokenFault,
    #[serde(default = "one")]
    count: usize,
}

pub async fn add_fault(provider: Data, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let Some(client) = provider.clients.get(&path) else {
        return not_found(format!("no client `{path}`"));
    };
    let request: FaultRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            let names: Vec<String> = TokenFault::ALL.iter().map(|f| f.name()).collect();
            return bad_request(format!(
                "expected {{\"fault\": one of {}, \"count\": N}}: {err}",
                names.join(", ")
            ));
        }
    };
    if !(1..=MAX_COUNT).contains(&request.count) {
        return bad_request(format!("count must be 1 to {MAX_COUNT}"));
    }
    if let Some(why) = request.fault.unusable_for(&client) {
        return bad_request(why);
    }
    provider.faults.push(&path, request.fault, request.count);
    HttpResponse::Ok().json(
        json!({ "client_id": path.as_str(), "pending_faults": provider.faults.pending(&path) }),
    )
}

pub async fn clear_faults(provider: Data, path: web::Path<String>) -> HttpResponse {
    provider.faults.clear(&path);
    HttpResponse::Ok().json(json!({ "client_id": path.as_str(), "pending_faults": [] }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackchannelSwitch {
    withhold: bool,
}

/// Holds back (or resumes) back-channel logout to a client, to judge its own logout.
pub async fn backchannel_switch(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    if provider.clients.get(&path).is_none() {
        return not_found(format!("no client `{path}`"));
    }
    let switch: BackchannelSwitch = match serde_json::from_slice(&body) {
        Ok(switch) => switch,
        Err(err) => return bad_request(format!("expected {{\"withhold\": true|false}}: {err}")),
    };
    provider.backchannel.withhold(&path, switch.withhold);
    HttpResponse::Ok().json(json!({ "client_id": path.as_str(), "withheld": switch.withhold }))
}

/// Sends the client's back-channel logout URI one logout token now, valid or broken as
/// asked, and answers with what the RP answered.
pub async fn logout_token(
    provider: Data,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    // Every field is optional, so an empty body asks for a valid token to the newest session.
    let injection: LogoutInjection = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutInjection::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(injection) => injection,
            Err(err) => {
                let names: Vec<String> = LogoutTokenFault::ALL.iter().map(|f| f.name()).collect();
                return bad_request(format!(
                    "expected {{\"sid\": \"…\", \"sub\": \"…\", \"jti\": \"…\", \"fault\": one of {}}}, all optional: {err}",
                    names.join(", ")
                ));
            }
        }
    };
    match provider.inject_logout_token(&path, injection).await {
        Ok(injected) => HttpResponse::Ok().json(injected),
        Err(err @ InjectionError::Signing(_)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "keys_unavailable",
            err.to_string(),
        ),
        Err(err) => control_error(err.into()),
    }
}

// ---- keys ----

pub async fn keys(provider: Data) -> HttpResponse {
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
pub async fn rotate_keys(provider: Data) -> HttpResponse {
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

// ---- sessions ----

pub async fn sessions(provider: Data) -> HttpResponse {
    HttpResponse::Ok().json(provider.broker.sessions.all())
}

async fn end_with(provider: Data, path: web::Path<String>, reason: EndReason) -> HttpResponse {
    let Ok(id) = uuid::Uuid::parse_str(&path) else {
        return bad_request(format!("`{path}` is not a session id (neb_sid)"));
    };
    match provider.end_session_now(id, reason) {
        Ok(ended) => HttpResponse::Ok().json(json!({
            "ended": ended.session.id,
            "reason": reason,
            "clients": ended.session.participants.keys().collect::<Vec<_>>(),
        })),
        Err(err) => control_error(err),
    }
}

/// Ends a broker session now, with back-channel logout to its clients.
pub async fn end_session(provider: Data, path: web::Path<String>) -> HttpResponse {
    end_with(provider, path, EndReason::Admin).await
}

/// Ends a session as if its absolute lifetime had run out.
pub async fn expire_session(provider: Data, path: web::Path<String>) -> HttpResponse {
    end_with(provider, path, EndReason::AbsoluteExpiry).await
}

// ---- clock ----

fn clock_json(provider: &Provider) -> Value {
    let clock = &provider.broker.clock;
    json!({ "now": clock.unix(), "offset_seconds": clock.offset().whole_seconds() })
}

pub async fn clock(provider: Data) -> HttpResponse {
    HttpResponse::Ok().json(clock_json(&provider))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    /// Moves the clock by this much (e.g. "1h", "-5m").
    advance: Option<String>,
    /// Sets the total offset from real time.
    offset: Option<String>,
}

/// Shifts the broker's one clock; expiry that falls due is applied at once.
pub async fn shift_clock(provider: Data, body: web::Bytes) -> HttpResponse {
    let change: ClockChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(err) => {
            return bad_request(format!(
                "expected {{\"advance\": \"1h\"}} or {{\"offset\": \"-5m\"}}: {err}"
            ))
        }
    };
    let clock = &provider.broker.clock;
    let result = match (&change.advance, &change.offset) {
        (Some(by), None) => parse_offset(by).map(|d| clock.advance(d)),
        (None, Some(offset)) => parse_offset(offset).map(|d| clock.set_offset(d)),
        _ => Err("give exactly one of `advance` or `offset`".to_string()),
    };
    match result {
        Ok(()) => {
            provider.expire_sessions();
            HttpResponse::Ok().json(clock_json(&provider))
        }
        Err(message) => bad_request(message),
    }
}

pub async fn reset_clock(provider: Data) -> HttpResponse {
    provider.broker.clock.set_offset(time::Duration::ZERO);
    HttpResponse::Ok().json(clock_json(&provider))
}

// ---- record ----

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
pub async fn record(provider: Data, query: web::Query<HashMap<String, String>>) -> HttpResponse {
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

pub async fn clear_record(
    provider: Data,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let client = query.get("client").cloned();
    provider.recorder.clear(client.as_deref());
    provider.backchannel.clear(client.as_deref());
    HttpResponse::Ok().json(json!({ "cleared": client.unwrap_or_else(|| "all".into()) }))
}

/// Every back-channel logout delivery and each of its attempts.
pub async fn logouts(provider: Data) -> HttpResponse {
    HttpResponse::Ok().json(provider.backchannel.deliveries())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryChange {
    /// The issuer discovery announces; null for the real one.
    issuer: Option<String>,
}

/// Makes the discovery document announce another issuer (T09), or the real one again.
pub async fn discovery_issuer(provider: Data, body: web::Bytes) -> HttpResponse {
    let change: DiscoveryChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(err) => {
            return bad_request(format!(
                "expected {{\"issuer\": \"https://…\"|null}}: {err}"
            ))
        }
    };
    if let Some(issuer) = &change.issuer {
        if url::Url::parse(issuer).is_err() {
            return bad_request(format!("`{issuer}` is not a URL"));
        }
    }
    provider
        .discovery_issuer
        .store(change.issuer.clone().map(std::sync::Arc::new));
    HttpResponse::Ok()
        .json(json!({ "issuer": change.issuer.unwrap_or_else(|| provider.issuer.clone()) }))
}

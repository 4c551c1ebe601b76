//! Relying parties: registration, token faults, back-channel switches and injected logout
//! tokens.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bad_request, control_error, error, not_found, one, saved, Data, MAX_COUNT};
use crate::protocols::oidc::backchannel::{InjectionError, LogoutInjection};
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::faults::{LogoutTokenFault, TokenFault};
use crate::protocols::oidc::Provider;

fn client_json(provider: &Provider, client: &Client) -> Value {
    let mut value = serde_json::to_value(client).unwrap_or(Value::Null);
    if client.client_secret.is_some() {
        value["client_secret"] = json!("***");
    }
    value["pending_faults"] = json!(provider.faults.pending(&client.client_id));
    value
}

pub async fn list(provider: Data) -> HttpResponse {
    let all: Vec<_> = provider
        .clients
        .all()
        .iter()
        .map(|c| client_json(&provider, c))
        .collect();
    HttpResponse::Ok().json(all)
}

pub async fn show(provider: Data, path: web::Path<String>) -> HttpResponse {
    match provider.clients.get(&path) {
        Some(client) => HttpResponse::Ok().json(client_json(&provider, &client)),
        None => not_found(format!("no client `{path}`")),
    }
}

/// Registers a client, or replaces one with the same client_id.
pub async fn register(provider: Data, body: web::Bytes) -> HttpResponse {
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

pub async fn delete(provider: Data, path: web::Path<String>) -> HttpResponse {
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
    /// Whether the logout page's front-channel iframes are held back too; by default
    /// they follow `withhold`.
    frontchannel: Option<bool>,
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
        Err(err) => {
            return bad_request(format!(
            "expected {{\"withhold\": true|false, \"frontchannel\": true|false (optional)}}: {err}"
        ))
        }
    };
    let frontchannel = switch.frontchannel.unwrap_or(switch.withhold);
    provider
        .backchannel
        .withhold(&path, switch.withhold, frontchannel);
    HttpResponse::Ok().json(json!({
        "client_id": path.as_str(),
        "withheld": switch.withhold,
        "frontchannel_withheld": frontchannel,
    }))
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

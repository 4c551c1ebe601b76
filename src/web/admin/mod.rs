//! The admin API (JSON, under `/admin`) for QA scripts, CI jobs, the CLI against a
//! running broker and the conformance kit. Documented in `docs/admin-openapi.json`,
//! served at `/admin/openapi.json`. One file per resource (`workforce`: MitID Erhverv's
//! organisations and professional identities); `protection` guards them all.

mod citizens;
mod clients;
mod clock;
mod devices;
mod discovery;
mod keys;
mod nemlogin;
pub mod protection;
mod record;
mod sessions;
mod workforce;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::control::ControlError;
use crate::protocols::oidc::Provider;

pub use protection::{AdminProtection, AdminToken, Refusal};

pub const OPENAPI: &str = include_str!("../../../docs/admin-openapi.json");

type Data = web::Data<Provider>;

/// The most logins or responses one script or fault request may cover.
const MAX_COUNT: usize = 1_000;

/// The admin API under `/admin`, behind [`protection::require_admin`].
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/admin")
        // The last `wrap` runs first: who may ask is checked before what they sent.
        .wrap(actix_web::middleware::from_fn(json_bodies_only))
        .wrap(actix_web::middleware::from_fn(protection::require_admin))
        .route("/openapi.json", web::get().to(openapi))
        .route("/citizens", web::get().to(citizens::list))
        .route("/citizens", web::post().to(citizens::create))
        .route("/citizens/reset", web::post().to(citizens::reset))
        .route("/citizens/{user_id}", web::get().to(citizens::show))
        .route("/citizens/{user_id}", web::put().to(citizens::replace))
        .route("/citizens/{user_id}", web::patch().to(citizens::patch))
        .route("/citizens/{user_id}", web::delete().to(citizens::delete))
        .route("/citizens/{user_id}/lock", web::post().to(citizens::lock))
        .route(
            "/citizens/{user_id}/unlock",
            web::post().to(citizens::unlock),
        )
        .route(
            "/citizens/{user_id}/script",
            web::get().to(devices::scripts),
        )
        .route(
            "/citizens/{user_id}/script",
            web::post().to(devices::script),
        )
        .route(
            "/citizens/{user_id}/script",
            web::delete().to(devices::clear_scripts),
        )
        .route(
            "/citizens/{user_id}/code",
            web::get().to(devices::current_code),
        )
        .route(
            "/citizens/{user_id}/card-key/{number}",
            web::get().to(devices::card_key),
        )
        .route("/organisations", web::get().to(workforce::organisations))
        .route(
            "/organisations",
            web::post().to(workforce::create_organisation),
        )
        .route(
            "/organisations/{cvr}",
            web::get().to(workforce::organisation),
        )
        .route(
            "/organisations/{cvr}",
            web::put().to(workforce::replace_organisation),
        )
        .route(
            "/organisations/{cvr}",
            web::patch().to(workforce::patch_organisation),
        )
        .route(
            "/organisations/{cvr}",
            web::delete().to(workforce::delete_organisation),
        )
        .route("/professionals", web::get().to(workforce::professionals))
        .route(
            "/professionals",
            web::post().to(workforce::create_professional),
        )
        .route(
            "/professionals/{uuid}",
            web::get().to(workforce::professional),
        )
        .route(
            "/professionals/{uuid}",
            web::put().to(workforce::replace_professional),
        )
        .route(
            "/professionals/{uuid}",
            web::patch().to(workforce::patch_professional),
        )
        .route(
            "/professionals/{uuid}",
            web::delete().to(workforce::delete_professional),
        )
        .route(
            "/professionals/{uuid}/lock",
            web::post().to(workforce::lock_professional),
        )
        .route(
            "/professionals/{uuid}/unlock",
            web::post().to(workforce::unlock_professional),
        )
        .route("/app-requests", web::get().to(devices::app_requests))
        .route(
            "/app-requests/{id}/approve",
            web::post().to(devices::approve_app),
        )
        .route(
            "/app-requests/{id}/reject",
            web::post().to(devices::reject_app),
        )
        .route("/clients", web::get().to(clients::list))
        .route("/clients", web::post().to(clients::register))
        .route("/clients/{client_id}", web::get().to(clients::show))
        .route("/clients/{client_id}", web::delete().to(clients::delete))
        .route(
            "/clients/{client_id}/sso-group",
            web::put().to(clients::set_sso_group),
        )
        .route(
            "/clients/{client_id}/faults",
            web::post().to(clients::add_fault),
        )
        .route(
            "/clients/{client_id}/faults",
            web::delete().to(clients::clear_faults),
        )
        .route(
            "/clients/{client_id}/backchannel",
            web::post().to(clients::backchannel_switch),
        )
        .route(
            "/clients/{client_id}/logout-token",
            web::post().to(clients::logout_token),
        )
        .route("/keys", web::get().to(keys::list))
        .route("/keys/rotate", web::post().to(keys::rotate))
        .route("/keys/certificate", web::get().to(keys::certificate))
        .route("/sessions", web::get().to(sessions::list))
        .route("/sessions/{id}", web::delete().to(sessions::end))
        .route("/sessions/{id}/expire", web::post().to(sessions::expire))
        .route("/discovery", web::post().to(discovery::issuer))
        .route("/clock", web::get().to(clock::show))
        .route("/clock", web::post().to(clock::shift))
        .route("/clock", web::delete().to(clock::reset))
        .route("/record", web::get().to(record::list))
        .route("/record", web::delete().to(record::clear))
        .route("/logouts", web::get().to(record::logouts))
        .route("/fidelity", web::get().to(super::fidelity::ledger))
        .route("/nemlogin/idp", web::get().to(nemlogin::idp))
        .route(
            "/nemlogin/service-providers",
            web::get().to(nemlogin::service_providers),
        )
        .route(
            "/nemlogin/service-providers",
            web::post().to(nemlogin::register),
        )
        .route(
            "/nemlogin/service-providers/{entity_id}",
            web::get().to(nemlogin::service_provider),
        )
        .route(
            "/nemlogin/service-providers/{entity_id}",
            web::delete().to(nemlogin::delete),
        )
        .route(
            "/nemlogin/service-providers/{entity_id}/faults",
            web::post().to(nemlogin::add_fault),
        )
        .route(
            "/nemlogin/service-providers/{entity_id}/faults",
            web::delete().to(nemlogin::clear_faults),
        )
        .route("/nemlogin/logouts", web::get().to(nemlogin::logouts))
        .default_service(web::to(no_such_endpoint))
}

/// Refuses a request body that is not declared JSON (`application/json`, or
/// `application/merge-patch+json` for PATCH): every body the API reads is JSON, and a web
/// form or `text/plain` body is what a page of another site can send without asking.
async fn json_bodies_only(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
    let headers = req.headers();
    let has_body = headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if has_body {
        let media_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let json = media_type == "application/json"
            || (media_type == "application/merge-patch+json"
                && req.method() == actix_web::http::Method::PATCH);
        if !json {
            let shown = if media_type.is_empty() {
                "no Content-Type".to_string()
            } else {
                format!("Content-Type `{media_type}`")
            };
            let response = error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("the admin API reads JSON bodies only (Content-Type: application/json), not {shown}"),
            );
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req).await.map(|r| r.map_into_left_body())
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

async fn no_such_endpoint() -> HttpResponse {
    not_found("no such admin endpoint; see /admin/openapi.json")
}

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

fn control_error(err: ControlError) -> HttpResponse {
    match err {
        ControlError::NotFound(message) => not_found(message),
        ControlError::Conflict(message) => error(StatusCode::CONFLICT, "conflict", message),
        ControlError::Invalid(message) => bad_request(message),
    }
}

/// Answers after the change is on disk (when the broker keeps state).
async fn saved(provider: &Provider, status: StatusCode, body: Value) -> HttpResponse {
    answer_saved(provider.persist().await, status, body)
}

/// The answer to a change, given whether saving it worked.
fn answer_saved(saving: Result<(), String>, status: StatusCode, body: Value) -> HttpResponse {
    match saving {
        Ok(()) => HttpResponse::build(status).json(body),
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "state_not_saved",
            format!("the change is made but could not be saved: {err}"),
        ),
    }
}

/// The default `count` of scripts and faults.
fn one() -> usize {
    1
}

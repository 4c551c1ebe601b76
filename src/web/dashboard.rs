//! The dashboard (`/dashboard`): the admin API's live state as a page a tester can act on —
//! pending app requests (approve, reject), live sessions (end), back-channel deliveries and
//! the latest requests. The same protection as the JSON admin API: without
//! `--admin-token`, this machine only; with one, the token, asked once and kept in an
//! HttpOnly, SameSite=Strict cookie. Forms post to the same origin only (the protection
//! refuses other sites' requests, as it does for the API).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::admin::{AdminProtection, Refusal};
use super::danish_time::unix_date_time;
use super::i18n;
use super::pages::{self, DashboardPage, TokenPage};
use crate::broker::sessions::EndReason;
use crate::protocols::oidc::Provider;

const TOKEN_COOKIE: &str = "mitid_sim_admin";
/// Requests of the record the page shows; `GET /admin/record` pages through all of them.
const RECORD_ROWS: usize = 50;

type Protection = web::Data<AdminProtection>;

fn presented(req: &HttpRequest) -> Option<String> {
    req.cookie(TOKEN_COOKIE).map(|c| c.value().to_string())
}

/// A refusal as a page: the token form when only the token is missing.
fn refused(refusal: Refusal) -> HttpResponse {
    match refusal {
        Refusal::Unauthorized => pages::html(
            StatusCode::UNAUTHORIZED,
            &TokenPage {
                lang: "en",
                banner: i18n::EN.simulator_banner,
                wrong: false,
            },
        ),
        Refusal::Forbidden(message) => pages::message(
            StatusCode::FORBIDDEN,
            crate::authenticators::Language::En,
            "The dashboard is not open to this request",
            &message,
            "The dashboard has the admin API's protection: see Security in the README.",
        ),
    }
}

/// The refusal page, unless the request may use the dashboard.
fn refusal(protection: &AdminProtection, req: &HttpRequest) -> Option<HttpResponse> {
    protection
        .check_presented(req, presented(req).as_deref())
        .err()
        .map(refused)
}

fn back() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/dashboard"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub async fn show(
    provider: web::Data<Provider>,
    protection: Protection,
    req: HttpRequest,
) -> HttpResponse {
    if let Some(page) = refusal(&protection, &req) {
        return page;
    }
    let broker = &provider.broker;
    let now = broker.clock.now();
    let app_requests = broker
        .identities
        .all()
        .iter()
        .filter_map(|c| {
            broker
                .apps
                .pending_for(c.uuid, now)
                .map(|r| pages::DashboardAppRequest {
                    id: r.id.to_string(),
                    user_id: c.user_id.to_string(),
                    client: r.client_name.clone(),
                    expires: unix_date_time(r.expires.unix_timestamp()),
                })
        })
        .collect();
    let sessions = broker
        .sessions
        .all()
        .into_iter()
        .map(|s| pages::DashboardSession {
            id: s.id.to_string(),
            user_id: broker
                .identities
                .by_uuid(s.citizen)
                .map(|c| c.user_id.to_string())
                .unwrap_or_else(|| s.citizen.to_string()),
            clients: s.participants.keys().cloned().collect(),
            created: unix_date_time(s.created),
            expires: unix_date_time(s.expires),
        })
        .collect();
    let deliveries = provider
        .backchannel
        .deliveries()
        .into_iter()
        .map(|d| pages::DashboardDelivery {
            client_id: d.client_id,
            uri: d.uri,
            reason: format!("{:?}", d.reason),
            state: format!("{:?}", d.state),
            attempts: d.attempts.len(),
            created: unix_date_time(d.created),
        })
        .collect();
    let record = provider
        .recorder
        .latest(RECORD_ROWS)
        .into_iter()
        .map(|e| pages::DashboardExchange {
            at: unix_date_time(e.at),
            endpoint: e.endpoint,
            client_id: e.client_id,
            status: e.status,
            error: e.error.unwrap_or_default(),
        })
        .collect();
    pages::html(
        StatusCode::OK,
        &DashboardPage {
            lang: "en",
            banner: i18n::EN.simulator_banner,
            now: unix_date_time(now.unix_timestamp()),
            app_requests,
            sessions,
            deliveries,
            record,
            record_rows: RECORD_ROWS,
        },
    )
}

/// The token form: a right token is kept in a cookie for the dashboard's paths.
pub async fn sign_in(
    provider: web::Data<Provider>,
    protection: Protection,
    req: HttpRequest,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    match protection.check_presented(&req, Some(token)) {
        Ok(()) => {
            let cookie = Cookie::build(TOKEN_COOKIE, token.to_string())
                .path("/dashboard")
                .http_only(true)
                .secure(provider.base_url.starts_with("https://"))
                .same_site(SameSite::Strict)
                .finish();
            let mut response = back();
            response.add_cookie(&cookie).ok();
            response
        }
        Err(Refusal::Unauthorized) => pages::html(
            StatusCode::UNAUTHORIZED,
            &TokenPage {
                lang: "en",
                banner: i18n::EN.simulator_banner,
                wrong: true,
            },
        ),
        Err(refusal) => refused(refusal),
    }
}

/// Approve or reject a pending app request, as the citizen's phone would.
pub async fn answer_app(
    provider: web::Data<Provider>,
    protection: Protection,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    if let Some(page) = refusal(&protection, &req) {
        return page;
    }
    let (id, decision) = path.into_inner();
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return not_done(StatusCode::NOT_FOUND, "no such action".into()),
    };
    let broker = &provider.broker;
    match broker.apps.answer(&id, approve, broker.clock.now()) {
        Ok(_) => back(),
        Err(err) => not_done(StatusCode::CONFLICT, format!("app request {id}: {err}")),
    }
}

/// End a live session now, with back-channel logout to its clients.
pub async fn end_session(
    provider: web::Data<Provider>,
    protection: Protection,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    if let Some(page) = refusal(&protection, &req) {
        return page;
    }
    let Ok(id) = uuid::Uuid::parse_str(&path) else {
        return not_done(
            StatusCode::BAD_REQUEST,
            format!("`{path}` is not a session id"),
        );
    };
    match provider.end_session_now(id, EndReason::Admin) {
        Ok(_) => back(),
        Err(err) => not_done(StatusCode::NOT_FOUND, format!("session {id}: {err}")),
    }
}

fn not_done(status: StatusCode, message: String) -> HttpResponse {
    pages::message(
        status,
        crate::authenticators::Language::En,
        "Not done",
        &message,
        "Back to the dashboard: /dashboard",
    )
}

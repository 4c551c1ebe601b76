//! The relying party's side of OpenID Connect, as pages: start a login, take the broker's
//! answer, log out (here and at the broker), and hear the broker's back-channel logout.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::oidc::{self, RpError};
use super::register;
use super::sessions::{Citizen, Pending, Session};
use super::texts;
use super::unix_now;
use super::web::{
    csrf_ok, frame, language, message, page, redirect, with_language, Frame, Query, State,
    LOGGED_OUT_PATH, OVERVIEW_PATH, SENSITIVE_PATH,
};

/// Starts a login at the broker; `?fresh=1` (the sensitive page) demands a new
/// authentication rather than the broker's single sign-on.
pub async fn login(state: web::Data<State>, req: HttpRequest, query: Query) -> HttpResponse {
    let (lang, lang_cookie) = language(&state, &req);
    let t = texts::of(lang);
    let discovery = match state.rp.discovery().await {
        Ok(discovery) => discovery,
        Err(err) => {
            return message(
                &state,
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                t.broker_problem,
                t.broker_problem_text,
                err.to_string(),
            )
        }
    };
    let fresh = query.get("fresh").is_some_and(|v| v == "1");
    let request = state
        .rp
        .authorization_request(&discovery, lang.code(), fresh);
    let pending = Pending {
        state: request.state,
        nonce: request.nonce,
        verifier: request.verifier,
        fresh_since: fresh.then(unix_now),
        started: Instant::now(),
    };
    let Some(id) = state.sessions.begin(pending) else {
        return message(
            &state,
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            t.busy,
            t.busy_text,
            "",
        );
    };
    let mut cookie = state.cookie(state.login_cookie(), id);
    cookie.set_max_age(CookieDuration::minutes(10));
    let response = redirect(&request.url).cookie(cookie).finish();
    with_language(response, lang_cookie)
}

/// The broker's answer. Every check comes before any use: the browser must be the one that
/// started this login (state), the answer must come from the broker (RFC 9207 `iss`), the
/// id_token must validate; only then are userinfo and the register asked.
pub async fn callback(state: web::Data<State>, req: HttpRequest, query: Query) -> HttpResponse {
    let (lang, _) = language(&state, &req);
    let t = texts::of(lang);
    let pending = req
        .cookie(state.login_cookie())
        .and_then(|c| state.sessions.take_pending(c.value()));
    let refuse = |status: StatusCode, heading: &str, text: &str, detail: String| {
        let mut response = message(&state, lang, status, heading, text, detail);
        let _ = response.add_cookie(&state.removal(state.login_cookie()));
        response
    };
    if let Some(error) = query.get("error") {
        let description = query.get("error_description").cloned().unwrap_or_default();
        let (heading, text) = if description == "mitid_user_aborted" {
            (t.aborted, t.aborted_text)
        } else {
            (t.login_failed, t.login_failed_text)
        };
        return refuse(
            StatusCode::OK,
            heading,
            text,
            format!("{error}: {description}"),
        );
    }
    let Some(pending) = pending else {
        return refuse(
            StatusCode::BAD_REQUEST,
            t.login_failed,
            t.no_login_here,
            String::new(),
        );
    };
    if query.get("state") != Some(&pending.state) {
        return refuse(
            StatusCode::BAD_REQUEST,
            t.login_failed,
            t.no_login_here,
            "state".into(),
        );
    }
    if query.get("iss").is_some_and(|iss| *iss != state.rp.issuer) {
        return refuse(
            StatusCode::BAD_REQUEST,
            t.login_failed,
            t.untrusted_answer,
            "the authorization response names another issuer (RFC 9207)".into(),
        );
    }
    let Some(code) = query.get("code") else {
        return refuse(
            StatusCode::BAD_REQUEST,
            t.login_failed,
            t.untrusted_answer,
            "no code".into(),
        );
    };
    let completed = match complete(&state, &pending, code).await {
        Ok(completed) => completed,
        Err(err) => {
            let status = match err {
                RpError::InvalidToken(_) | RpError::IssuerMismatch { .. } => {
                    StatusCode::BAD_REQUEST
                }
                _ => StatusCode::BAD_GATEWAY,
            };
            return refuse(status, t.login_failed, t.untrusted_answer, err.to_string());
        }
    };
    // A new session at every login; one this browser had before ends.
    let previous = req
        .cookie(state.session_cookie())
        .and_then(|c| state.sessions.end(c.value()));
    let session = completed.into_session(pending.fresh_since.is_some(), previous);
    let id = state.sessions.create(session);
    let next = if pending.fresh_since.is_some() {
        SENSITIVE_PATH
    } else {
        OVERVIEW_PATH
    };
    redirect(next)
        .cookie(state.cookie(state.session_cookie(), id))
        .cookie(state.removal(state.login_cookie()))
        .finish()
}

/// What a successful login brought.
struct Completed {
    tokens: oidc::Tokens,
    claims: Map<String, Value>,
    userinfo: Map<String, Value>,
    person: Option<register::Person>,
}

/// The code for tokens, the id_token validated, then (and only then) userinfo and the
/// register: a refused token makes no further call.
async fn complete(state: &State, pending: &Pending, code: &str) -> Result<Completed, RpError> {
    let rp = &state.rp;
    let discovery = rp.discovery().await?;
    let tokens = rp.exchange(&discovery, code, &pending.verifier).await?;
    let claims = rp
        .validate_id_token(
            &discovery,
            &tokens.id_token,
            &pending.nonce,
            pending.fresh_since,
        )
        .await?;
    let sub = claims["sub"].as_str().unwrap_or_default().to_string();
    let userinfo = rp.userinfo(&discovery, &tokens.access_token, &sub).await?;
    let person = register::lookup(&state.http, &rp.issuer, &tokens.access_token).await?;
    Ok(Completed {
        tokens,
        claims,
        userinfo,
        person,
    })
}

impl Completed {
    fn into_session(self, fresh: bool, previous: Option<Session>) -> Session {
        let text = |name: &str| {
            self.claims
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (sub, sid, expiry) = (text("sub"), text("sid"), text("session_expiry"));
        let now = Instant::now();
        Session {
            // Whom the citizen chose to act for survives a fresh login of the same citizen.
            acting_for: previous.filter(|p| p.sub == sub).and_then(|p| p.acting_for),
            id_token: self.tokens.id_token,
            access_token: self.tokens.access_token,
            sub,
            sid,
            broker_expiry: expiry.parse().unwrap_or(i64::MAX),
            created: now,
            last_seen: now,
            broker_checked: now,
            fresh_at: fresh.then_some(now),
            csrf: oidc::random_token(),
            citizen: Arc::new(Citizen {
                claims: self.claims,
                userinfo: self.userinfo,
                person: self.person,
            }),
        }
    }
}

#[derive(Template)]
#[template(path = "demo/logged_out.html")]
struct LoggedOutPage {
    frame: Frame,
    timed_out: bool,
    idle_minutes: u64,
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

/// "Log af": this session ends here, then the broker's through its end_session with the
/// id_token as hint; the broker sends the browser back to the logged-out page.
pub async fn logout(
    state: web::Data<State>,
    req: HttpRequest,
    form: web::Form<LogoutForm>,
) -> HttpResponse {
    let (lang, _) = language(&state, &req);
    let t = texts::of(lang);
    let id = req
        .cookie(state.session_cookie())
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let Some(expected) = state.sessions.csrf_of(&id) else {
        return redirect(LOGGED_OUT_PATH)
            .cookie(state.removal(state.session_cookie()))
            .finish();
    };
    if !csrf_ok(&expected, &form.csrf) {
        return message(
            &state,
            lang,
            StatusCode::BAD_REQUEST,
            t.refused,
            t.stale_form,
            "",
        );
    }
    let Some(session) = state.sessions.end(&id) else {
        return redirect(LOGGED_OUT_PATH).finish();
    };
    let target = match state.rp.discovery().await {
        Ok(discovery) => state.rp.end_session_url(
            &discovery,
            &session.id_token,
            &format!("{}{LOGGED_OUT_PATH}", state.base_url),
            None,
        ),
        // The broker is away: at least this session is over; the page says so.
        Err(_) => LOGGED_OUT_PATH.to_string(),
    };
    redirect(&target)
        .cookie(state.removal(state.session_cookie()))
        .finish()
}

pub async fn logged_out(state: web::Data<State>, req: HttpRequest, query: Query) -> HttpResponse {
    let (lang, lang_cookie) = language(&state, &req);
    let body = LoggedOutPage {
        frame: frame(lang, None, LOGGED_OUT_PATH),
        timed_out: query.get("state").is_some_and(|s| s == "timeout"),
        idle_minutes: state.settings.idle.as_secs().div_ceil(60),
    }
    .render();
    with_language(page(&state, StatusCode::OK, body), lang_cookie)
}

/// OpenID Connect Back-Channel Logout 1.0: the broker tells which sessions ended.
pub async fn backchannel(
    state: web::Data<State>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let refused = |description: String| {
        HttpResponse::BadRequest()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": "invalid_request",
                "error_description": description,
            }))
    };
    let Some(token) = form.get("logout_token") else {
        return refused("no logout_token".into());
    };
    let logout = match state.rp.validate_logout_token(token).await {
        Ok(logout) => logout,
        Err(err) => return refused(err.to_string()),
    };
    if !state.sessions.first_use_of_jti(&logout.jti, logout.exp) {
        return refused("this logout token was used before".into());
    }
    let ended = state
        .sessions
        .end_matching(logout.sid.as_deref(), logout.sub.as_deref());
    tracing::info!("Min Side: back-channel logout ended {ended} session(s)");
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

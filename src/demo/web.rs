//! Min Side's plumbing: shared state, cookies, the page frame, and finding the session a
//! request belongs to.

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::oidc;
use super::sessions::{Lookup, Sessions, Snapshot};
use super::texts::{self, Lang, Texts};
use super::{login, pages, Settings};

pub const LOGGED_OUT_PATH: &str = "/logget-af";
pub const BACKCHANNEL_PATH: &str = "/backchannel-logout";
pub const OVERVIEW_PATH: &str = "/min-side";
pub const SENSITIVE_PATH: &str = "/min-side/fuldmagter";

pub struct State {
    pub rp: oidc::Client,
    pub http: reqwest::Client,
    pub base_url: String,
    pub sessions: Sessions,
    pub settings: Settings,
    /// Over https every cookie is `Secure` and the session cookie `__Host-` prefixed.
    secure: bool,
    /// The broker's origin: the only other place forms may lead (CSP form-action).
    broker_origin: String,
}

impl State {
    pub fn new(
        rp: oidc::Client,
        http: reqwest::Client,
        base_url: String,
        settings: Settings,
    ) -> Self {
        let broker_origin = url::Url::parse(&rp.issuer)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        Self {
            secure: base_url.starts_with("https://"),
            rp,
            http,
            base_url,
            sessions: Sessions::new(settings),
            settings,
            broker_origin,
        }
    }

    pub fn session_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-minside"
        } else {
            "minside"
        }
    }

    pub fn login_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-minside_login"
        } else {
            "minside_login"
        }
    }

    pub fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish()
    }

    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut cookie = self.cookie(name, String::new());
        cookie.make_removal();
        cookie
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::front))
        .route("/login", web::get().to(login::login))
        .route("/callback", web::get().to(login::callback))
        .route(OVERVIEW_PATH, web::get().to(pages::overview))
        .route("/min-side/handl-for", web::post().to(pages::act_for))
        .route(SENSITIVE_PATH, web::get().to(pages::sensitive))
        .route("/log-af", web::post().to(login::logout))
        .route(LOGGED_OUT_PATH, web::get().to(login::logged_out))
        .route(BACKCHANNEL_PATH, web::post().to(login::backchannel))
        .default_service(web::to(not_found));
}

pub type Query = web::Query<HashMap<String, String>>;

/// The page language: `?lang=` (remembered in a cookie), else the cookie, else Danish.
pub fn language(state: &State, req: &HttpRequest) -> (Lang, Option<Cookie<'static>>) {
    let asked = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("lang").and_then(|l| Lang::parse(l)));
    match asked {
        Some(lang) => (
            lang,
            Some(state.cookie("minside_lang", lang.code().to_string())),
        ),
        None => (
            req.cookie("minside_lang")
                .and_then(|c| Lang::parse(c.value()))
                .unwrap_or(Lang::Da),
            None,
        ),
    }
}

/// Every page: never cached (it shows a citizen's data or login state), never framed,
/// forms only to this service or the broker.
pub fn page(
    state: &State,
    status: StatusCode,
    body: Result<String, askama::Error>,
) -> HttpResponse {
    match body {
        Ok(body) => HttpResponse::build(status)
            .content_type(ContentType::html())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                format!(
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {}; frame-ancestors 'none'; base-uri 'none'",
                    state.broker_origin
                ),
            ))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(body),
        Err(err) => HttpResponse::InternalServerError()
            .content_type(ContentType::plaintext())
            .body(format!("the page could not be rendered: {err}")),
    }
}

pub fn redirect(to: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, to.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// What the layout needs on every page.
pub struct Frame {
    pub lang: &'static str,
    pub t: &'static Texts,
    /// The logged-in citizen's name and the CSRF token of the "Log af" form.
    pub citizen: Option<(String, String)>,
    /// This page's path, for the language switch.
    pub path: &'static str,
}

#[derive(Template)]
#[template(path = "demo/message.html")]
struct MessagePage {
    frame: Frame,
    heading: String,
    message: String,
    detail: String,
}

pub fn message(
    state: &State,
    lang: Lang,
    status: StatusCode,
    heading: &str,
    message: &str,
    detail: impl Into<String>,
) -> HttpResponse {
    let body = MessagePage {
        frame: frame(lang, None, "/"),
        heading: heading.to_string(),
        message: message.to_string(),
        detail: detail.into(),
    }
    .render();
    page(state, status, body)
}

pub fn frame(lang: Lang, citizen: Option<(String, String)>, path: &'static str) -> Frame {
    Frame {
        lang: lang.code(),
        t: texts::of(lang),
        citizen,
        path,
    }
}

/// The outcome of finding this browser's session.
pub enum Access {
    Alive(String, Snapshot),
    /// The service's own limit passed: go through the broker's end_session.
    Expired(String),
    Missing,
}

pub async fn access(state: &State, req: &HttpRequest) -> Access {
    let Some(id) = req
        .cookie(state.session_cookie())
        .map(|c| c.value().to_string())
    else {
        return Access::Missing;
    };
    match state.sessions.lookup(&id) {
        Lookup::None => Access::Missing,
        Lookup::Alive(snapshot) => Access::Alive(id, snapshot),
        Lookup::Expired { id_token } => match state.rp.discovery().await {
            Ok(discovery) => Access::Expired(state.rp.end_session_url(
                &discovery,
                &id_token,
                &format!("{}{LOGGED_OUT_PATH}", state.base_url),
                Some("timeout"),
            )),
            Err(_) => Access::Missing,
        },
        Lookup::CheckBroker { access_token, sub } => {
            if state.rp.broker_session_active(&access_token, &sub).await {
                match state.sessions.confirmed(&id) {
                    Some(snapshot) => Access::Alive(id, snapshot),
                    None => Access::Missing,
                }
            } else {
                state.sessions.end(&id);
                Access::Missing
            }
        }
    }
}

/// The answer for a browser without a live session on a page that needs one.
pub fn no_session(state: &State, access: Access, login: &str) -> HttpResponse {
    let target = match access {
        Access::Expired(end_session) => end_session,
        _ => login.to_string(),
    };
    redirect(&target)
        .cookie(state.removal(state.session_cookie()))
        .finish()
}

pub fn with_language(mut response: HttpResponse, cookie: Option<Cookie<'static>>) -> HttpResponse {
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

pub fn csrf_ok(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len()
        && openssl::memcmp::eq(expected.as_bytes(), presented.as_bytes())
}

pub async fn not_found(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (lang, _) = language(&state, &req);
    let t = texts::of(lang);
    message(
        &state,
        lang,
        StatusCode::NOT_FOUND,
        t.not_found,
        t.not_found_text,
        "",
    )
}

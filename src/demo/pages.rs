//! Min Side's pages and endpoints. Handlers stay thin: find the session, call the OIDC
//! client or the session store, render.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::oidc::{self, RpError};
use super::register::{self, Person};
use super::sessions::{Citizen, Lookup, Pending, Session, Sessions, Snapshot};
use super::{texts, unix_now, Settings};
use texts::{Lang, Texts};

pub const LOGGED_OUT_PATH: &str = "/logget-af";
pub const BACKCHANNEL_PATH: &str = "/backchannel-logout";
pub const OVERVIEW_PATH: &str = "/min-side";
pub const SENSITIVE_PATH: &str = "/min-side/fuldmagter";

pub struct State {
    pub rp: oidc::Client,
    http: reqwest::Client,
    base_url: String,
    pub sessions: Sessions,
    settings: Settings,
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

    fn session_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-minside"
        } else {
            "minside"
        }
    }

    fn login_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-minside_login"
        } else {
            "minside_login"
        }
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish()
    }

    fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut cookie = self.cookie(name, String::new());
        cookie.make_removal();
        cookie
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(front))
        .route("/login", web::get().to(login))
        .route("/callback", web::get().to(callback))
        .route(OVERVIEW_PATH, web::get().to(overview))
        .route("/min-side/handl-for", web::post().to(act_for))
        .route(SENSITIVE_PATH, web::get().to(sensitive))
        .route("/log-af", web::post().to(logout))
        .route(LOGGED_OUT_PATH, web::get().to(logged_out))
        .route(BACKCHANNEL_PATH, web::post().to(backchannel))
        .default_service(web::to(not_found));
}

type Query = web::Query<HashMap<String, String>>;

/// The page language: `?lang=` (remembered in a cookie), else the cookie, else Danish.
fn language(state: &State, req: &HttpRequest) -> (Lang, Option<Cookie<'static>>) {
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
fn page(state: &State, status: StatusCode, body: Result<String, askama::Error>) -> HttpResponse {
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

fn redirect(to: &str) -> actix_web::HttpResponseBuilder {
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
#[template(path = "demo/front.html")]
struct FrontPage {
    frame: Frame,
    broker: String,
}

#[derive(Template)]
#[template(path = "demo/message.html")]
struct MessagePage {
    frame: Frame,
    heading: String,
    message: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "demo/overview.html")]
struct OverviewPage {
    frame: Frame,
    csrf: String,
    view: View,
}

#[derive(Template)]
#[template(path = "demo/sensitive.html")]
struct SensitivePage {
    frame: Frame,
    confirmed_at: String,
    principals: Vec<PrincipalRow>,
}

#[derive(Template)]
#[template(path = "demo/logged_out.html")]
struct LoggedOutPage {
    frame: Frame,
    timed_out: bool,
    idle_minutes: u64,
}

fn message(
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

fn frame(lang: Lang, citizen: Option<(String, String)>, path: &'static str) -> Frame {
    Frame {
        lang: lang.code(),
        t: texts::of(lang),
        citizen,
        path,
    }
}

/// The outcome of finding this browser's session.
enum Access {
    Alive(String, Snapshot),
    /// The service's own limit passed: go through the broker's end_session.
    Expired(String),
    Missing,
}

async fn access(state: &State, req: &HttpRequest) -> Access {
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
fn no_session(state: &State, access: Access, login: &str) -> HttpResponse {
    let target = match access {
        Access::Expired(end_session) => end_session,
        _ => login.to_string(),
    };
    redirect(&target)
        .cookie(state.removal(state.session_cookie()))
        .finish()
}

fn with_language(mut response: HttpResponse, cookie: Option<Cookie<'static>>) -> HttpResponse {
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

async fn front(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (lang, lang_cookie) = language(&state, &req);
    let citizen = match access(&state, &req).await {
        Access::Alive(_, snapshot) => Some((display_name(&snapshot.citizen), snapshot.csrf)),
        _ => None,
    };
    let broker = url::Url::parse(&state.rp.issuer)
        .and_then(|u| u.join("/"))
        .map(|u| u.to_string())
        .unwrap_or_default();
    let body = FrontPage {
        frame: frame(lang, citizen, "/"),
        broker,
    }
    .render();
    with_language(page(&state, StatusCode::OK, body), lang_cookie)
}

/// Starts a login at the broker; `?fresh=1` (the sensitive page) demands a new
/// authentication rather than the broker's single sign-on.
async fn login(state: web::Data<State>, req: HttpRequest, query: Query) -> HttpResponse {
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
async fn callback(state: web::Data<State>, req: HttpRequest, query: Query) -> HttpResponse {
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
    let login = async {
        let discovery = state.rp.discovery().await?;
        let tokens = state
            .rp
            .exchange(&discovery, code, &pending.verifier)
            .await?;
        let claims = state
            .rp
            .validate_id_token(
                &discovery,
                &tokens.id_token,
                &pending.nonce,
                pending.fresh_since,
            )
            .await?;
        let sub = claims["sub"].as_str().unwrap_or_default().to_string();
        let userinfo = state
            .rp
            .userinfo(&discovery, &tokens.access_token, &sub)
            .await?;
        let person = register::lookup(&state.http, &state.rp.issuer, &tokens.access_token).await?;
        Ok::<_, RpError>((tokens, claims, userinfo, person))
    };
    let (tokens, claims, userinfo, person) = match login.await {
        Ok(done) => done,
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
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let now = Instant::now();
    let session = Session {
        id_token: tokens.id_token,
        access_token: tokens.access_token,
        sub: text("sub"),
        sid: text("sid"),
        broker_expiry: text("session_expiry").parse().unwrap_or(i64::MAX),
        created: now,
        last_seen: now,
        broker_checked: now,
        fresh_at: pending.fresh_since.map(|_| now),
        csrf: oidc::random_token(),
        // Whom the citizen chose to act for survives a fresh login of the same citizen.
        acting_for: previous
            .filter(|p| p.sub == text("sub"))
            .and_then(|p| p.acting_for),
        citizen: Arc::new(Citizen {
            claims,
            userinfo,
            person,
        }),
    };
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

/// The name at the top of the page: the CPR name for citizens in the register, else the
/// name MitID gave.
fn display_name(citizen: &Citizen) -> String {
    match &citizen.person {
        Some(person) => person.name.clone(),
        None => citizen
            .userinfo
            .get("mitid.identity_name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
    }
}

pub struct ChildRow {
    pub name: String,
    pub cpr: String,
    pub born: String,
    pub custody_registered: bool,
}

pub struct PrincipalRow {
    pub name: String,
    pub cpr: String,
    pub born: String,
    pub basis: &'static str,
    pub chosen: bool,
}

/// What the overview shows, prepared for the template.
pub struct View {
    pub name: String,
    pub in_register: bool,
    pub eid_name: Option<String>,
    pub cpr: String,
    pub born: String,
    pub protected: bool,
    pub children: Vec<ChildRow>,
    pub principals: Vec<PrincipalRow>,
    pub acting_for: Option<PrincipalRow>,
    pub developer: Vec<(&'static str, String)>,
}

fn principals(person: Option<&Person>, t: &Texts, chosen: Option<&str>) -> Vec<PrincipalRow> {
    person
        .map(|p| p.may_act_for.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|p| PrincipalRow {
            name: p.name.clone(),
            cpr: p.cpr.clone(),
            born: texts::date(&p.date_of_birth, t),
            basis: if p.basis == "guardian" {
                t.basis_guardian
            } else {
                t.basis_power_of_attorney
            },
            chosen: chosen == Some(p.cpr.as_str()),
        })
        .collect()
}

fn view(snapshot: &Snapshot, lang: Lang) -> View {
    let t = texts::of(lang);
    let citizen = &snapshot.citizen;
    let person = citizen.person.as_ref();
    let info = |name: &str| {
        citizen
            .userinfo
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let principals = principals(person, t, snapshot.acting_for.as_deref());
    let acting_for = principals.iter().find(|p| p.chosen).map(|p| PrincipalRow {
        name: p.name.clone(),
        cpr: p.cpr.clone(),
        born: p.born.clone(),
        basis: p.basis,
        chosen: true,
    });
    View {
        name: display_name(citizen),
        in_register: person.is_some(),
        eid_name: person
            .filter(|p| p.eid_name != p.name)
            .map(|p| p.eid_name.clone()),
        cpr: person.map(|p| p.cpr.clone()).unwrap_or_default(),
        born: texts::date(
            &person
                .map(|p| p.date_of_birth.clone())
                .unwrap_or_else(|| info("mitid.date_of_birth")),
            t,
        ),
        protected: person.is_some_and(|p| p.name_address_protected),
        children: person
            .map(|p| p.children.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|c| ChildRow {
                name: c.name.clone(),
                cpr: c.cpr.clone(),
                born: texts::date(&c.date_of_birth, t),
                custody_registered: c.custody_registered,
            })
            .collect(),
        principals,
        acting_for,
        developer: vec![
            ("id_token", pretty(&citizen.claims)),
            ("userinfo", pretty(&citizen.userinfo)),
            ("/sim/cpr/v1/person", pretty(&citizen.person)),
        ],
    }
}

/// What the developer section shows: the claims and the register record, never tokens.
fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

async fn overview(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (lang, lang_cookie) = language(&state, &req);
    let (_, snapshot) = match access(&state, &req).await {
        Access::Alive(id, snapshot) => (id, snapshot),
        other => return no_session(&state, other, "/login"),
    };
    let view = view(&snapshot, lang);
    let body = OverviewPage {
        frame: frame(
            lang,
            Some((view.name.clone(), snapshot.csrf.clone())),
            OVERVIEW_PATH,
        ),
        csrf: snapshot.csrf.clone(),
        view,
    }
    .render();
    with_language(page(&state, StatusCode::OK, body), lang_cookie)
}

#[derive(Deserialize)]
struct ActFor {
    csrf: String,
    /// Empty: the citizen acts for themselves.
    #[serde(default)]
    cpr: String,
}

fn csrf_ok(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len()
        && openssl::memcmp::eq(expected.as_bytes(), presented.as_bytes())
}

/// Chooses whom the citizen acts for: themselves, or someone who gave them a power of
/// attorney or whose guardian they are.
async fn act_for(
    state: web::Data<State>,
    req: HttpRequest,
    form: web::Form<ActFor>,
) -> HttpResponse {
    let (lang, _) = language(&state, &req);
    let t = texts::of(lang);
    let (id, snapshot) = match access(&state, &req).await {
        Access::Alive(id, snapshot) => (id, snapshot),
        other => return no_session(&state, other, "/login"),
    };
    if !csrf_ok(&snapshot.csrf, &form.csrf) {
        return message(
            &state,
            lang,
            StatusCode::BAD_REQUEST,
            t.refused,
            t.stale_form,
            "",
        );
    }
    let allowed = snapshot
        .citizen
        .person
        .as_ref()
        .is_some_and(|p| p.may_act_for.iter().any(|m| m.cpr == form.cpr));
    let choice = match form.cpr.as_str() {
        "" => None,
        cpr if allowed => Some(cpr.to_string()),
        _ => {
            return message(
                &state,
                lang,
                StatusCode::FORBIDDEN,
                t.refused,
                t.not_allowed_to_act,
                "",
            )
        }
    };
    state.sessions.act_for(&id, choice);
    redirect(OVERVIEW_PATH).finish()
}

/// The sensitive page: only within a few minutes of a fresh authentication.
async fn sensitive(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (lang, lang_cookie) = language(&state, &req);
    let t = texts::of(lang);
    let snapshot = match access(&state, &req).await {
        Access::Alive(_, snapshot) => snapshot,
        other => return no_session(&state, other, "/login?fresh=1"),
    };
    let fresh = snapshot
        .fresh_at
        .is_some_and(|at| at.elapsed() < state.settings.fresh_login_valid);
    if !fresh {
        return redirect("/login?fresh=1").finish();
    }
    let confirmed = snapshot
        .fresh_at
        .map(|at| {
            let ago = at.elapsed().as_secs() as i64;
            texts::clock_time(unix_now() - ago)
        })
        .unwrap_or_default();
    let body = SensitivePage {
        frame: frame(
            lang,
            Some((display_name(&snapshot.citizen), snapshot.csrf.clone())),
            SENSITIVE_PATH,
        ),
        confirmed_at: confirmed,
        principals: principals(snapshot.citizen.person.as_ref(), t, None),
    }
    .render();
    with_language(page(&state, StatusCode::OK, body), lang_cookie)
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
}

/// "Log af": this session ends here, then the broker's through its end_session with the
/// id_token as hint; the broker sends the browser back to the logged-out page.
async fn logout(
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

async fn logged_out(state: web::Data<State>, req: HttpRequest, query: Query) -> HttpResponse {
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
async fn backchannel(
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

async fn not_found(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
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

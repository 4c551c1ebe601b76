//! A small but real relying party for proving the conformance kit right: it logs citizens
//! in through the broker over HTTP and validates everything a careful RP validates —
//! unless a seeded fault tells it to skip one thing.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dashmap::DashMap;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, RS256};
use serde_json::Value;

pub const CLIENT_ID: &str = "conformance-rp";
pub const SECRET: &str = "conformance-secret";
const LOW: &str = "https://data.gov.dk/concept/core/nsis/Low";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    NoStateCheck,
    /// Finds the login in progress by its state alone, not by the browser's cookie.
    CallbackNotBound,
    /// Answers `error=access_denied` with a server error.
    AccessDeniedCrashes,
    /// Ignores the RFC 9207 `iss` of the authorization response.
    ResponseIssIgnored,
    /// Adopts a session id the browser already presented instead of making a new one.
    AdoptsPresentedSessionId,
    CookieNotHttpOnly,
    /// Accepts any level of assurance.
    NoLoaCheck,
    NoNonceCheck,
    AlgNoneAccepted,
    IssNotChecked,
    AudNotChecked,
    ExpiredAccepted,
    IatNotChecked,
    /// Skips the id_token signature (allowed over TLS from the token endpoint), not its alg.
    IdTokenSignatureSkipped,
    NoKeyRefresh,
    UserinfoSubNotChecked,
    /// Neither refuses a stale auth_time nor reads it: the login counts as fresh.
    AuthTimeNotChecked,
    LocalOnlyLogout,
    SessionNotInvalidated,
    NoNoStore,
    OpenPostLogoutRedirect,
    BackchannelIgnored,
    BadLogoutTokensAccepted,
    JtiReplayAccepted,
    /// Answers the broker's front-channel logout iframe but keeps the session.
    FrontchannelIgnored,
    NoIdleTimeout,
    NoAbsoluteTimeout,
    SessionExpiryIgnored,
    BrokerSessionNotChecked,
    NoReauthentication,
    DiscoveryIssuerIgnored,
}

/// How the RP asks the broker to send the authorization response back: an option of a
/// correct RP, not a fault.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// The default: a redirect to `GET /callback?code=…&state=…&iss=…`.
    #[default]
    Query,
    /// `response_mode=form_post`: the broker's page posts the response to `POST /callback`
    /// (OAuth 2.0 Form Post Response Mode); the RP takes it only as a POST then.
    FormPost,
}

/// The RP's promises, which its profile declares.
#[derive(Clone, Debug)]
pub struct Limits {
    pub idle: Duration,
    pub absolute: Duration,
    /// How often it asks the broker (userinfo) whether its session is still active.
    pub broker_check: Duration,
    /// The oldest login the sensitive page accepts.
    pub max_login_age: Duration,
}

impl Limits {
    /// The short limits of the test suite.
    pub fn short() -> Self {
        Self {
            idle: Duration::from_secs(2),
            absolute: Duration::from_secs(64),
            broker_check: Duration::from_secs(3),
            max_login_age: Duration::from_secs(3),
        }
    }

    /// Limits no scenario of the run waits for (the session group left out), long enough
    /// that a loaded machine's slower browser steps cannot outlast the idle limit.
    pub fn unhurried() -> Self {
        Self {
            idle: Duration::from_secs(60),
            absolute: Duration::from_secs(600),
            broker_check: Duration::from_secs(60),
            max_login_age: Duration::from_secs(60),
        }
    }
}

struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    /// Started by the sensitive action: the login must be fresh.
    reauth: bool,
    /// The browser's login cookie, which the callback must present.
    browser: String,
}

struct Session {
    sub: String,
    sid: String,
    id_token: String,
    access_token: String,
    session_expiry: i64,
    created: Instant,
    last_seen: Instant,
    /// The id_token's `auth_time`: how old the login is, for the sensitive action.
    auth_time: i64,
    /// The broker session is asked about (userinfo) at most every `broker_check`.
    checked_broker_at: Instant,
}

struct Rp {
    base: String,
    issuer: String,
    faults: HashSet<Fault>,
    limits: Limits,
    response_mode: ResponseMode,
    http: reqwest::Client,
    pending: DashMap<String, Pending>,
    sessions: DashMap<String, Session>,
    /// With `NoKeyRefresh`, the JWKS first fetched is used for ever.
    cached_jwks: Mutex<Option<Value>>,
    /// Logout-token ids already seen: replays are refused.
    seen_jtis: DashMap<String, ()>,
    /// The issuer the broker's discovery document announced at the last (re)start.
    discovered_issuer: Mutex<Option<String>>,
}

impl Rp {
    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// The issuer tokens and responses must name: the one it was configured with, or,
    /// with `DiscoveryIssuerIgnored`, whatever discovery announced (as RP libraries do).
    fn expected_issuer(&self) -> String {
        let discovered = self.discovered_issuer.lock().unwrap().clone();
        match discovered {
            Some(issuer) if self.has(Fault::DiscoveryIssuerIgnored) => issuer,
            _ => self.issuer.clone(),
        }
    }
}

pub struct ReferenceRp {
    pub base: String,
    handle: actix_web::dev::ServerHandle,
}

impl ReferenceRp {
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

fn random() -> String {
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[allow(clippy::disallowed_methods)] // the RP has its own clock; the broker's is not its business
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub async fn start(issuer: &str, faults: &[Fault], limits: Limits) -> ReferenceRp {
    start_with(issuer, faults, limits, ResponseMode::Query).await
}

pub async fn start_with(
    issuer: &str,
    faults: &[Fault],
    limits: Limits,
    response_mode: ResponseMode,
) -> ReferenceRp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let rp = web::Data::new(Rp {
        base: base.clone(),
        issuer: issuer.to_string(),
        faults: faults.iter().copied().collect(),
        limits,
        response_mode,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        pending: DashMap::new(),
        sessions: DashMap::new(),
        cached_jwks: Mutex::new(None),
        seen_jtis: DashMap::new(),
        discovered_issuer: Mutex::new(None),
    });
    let _ = discover(&rp).await;
    // The callback takes the response only the way the RP asked for it.
    let callback_route: fn() -> actix_web::Route = match response_mode {
        ResponseMode::Query => || web::get().to(callback_in_query),
        ResponseMode::FormPost => || web::post().to(callback_posted),
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(rp.clone())
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login))
            .route("/callback", callback_route())
            .route("/me", web::get().to(me))
            .route("/transfer", web::get().to(transfer))
            .route("/logout", web::post().to(logout))
            .route("/backchannel-logout", web::post().to(backchannel))
            .route("/frontchannel-logout", web::get().to(frontchannel))
            .route("/__restart", web::post().to(restart))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    ReferenceRp { base, handle }
}

type Query = web::Query<HashMap<String, String>>;

/// Reads the broker's discovery document, as an RP library does at start.
async fn discover(rp: &Rp) -> Result<(), String> {
    let url = format!("{}/.well-known/openid-configuration", rp.issuer);
    let document: Value = rp
        .http
        .get(&url)
        .send()
        .await
        .map_err(|err| format!("GET {url}: {err}"))?
        .json()
        .await
        .map_err(|err| format!("GET {url}: not JSON: {err}"))?;
    let issuer = document["issuer"]
        .as_str()
        .ok_or_else(|| format!("GET {url}: no issuer"))?;
    *rp.discovered_issuer.lock().unwrap() = Some(issuer.to_string());
    Ok(())
}

/// What `restart_command` triggers: the RP starts over with fresh discovery.
async fn restart(rp: web::Data<Rp>) -> HttpResponse {
    rp.sessions.clear();
    *rp.discovered_issuer.lock().unwrap() = None;
    // Like an RP library at start: it does not come up without discovery.
    match discover(&rp).await {
        Ok(()) => HttpResponse::Ok().finish(),
        Err(err) => HttpResponse::ServiceUnavailable().body(err),
    }
}

/// The post-logout landing page; a `return_to` remembered at logout is honoured only as
/// a path on this site (unless the open-redirect fault is seeded).
async fn home(rp: web::Data<Rp>, req: HttpRequest) -> HttpResponse {
    if let Some(target) = req.cookie("rp_return").map(|c| c.value().to_string()) {
        let local = target.starts_with('/') && !target.starts_with("//");
        if local || rp.has(Fault::OpenPostLogoutRedirect) {
            let mut removal = Cookie::build("rp_return", "").path("/").finish();
            removal.make_removal();
            return HttpResponse::SeeOther()
                .insert_header(("Location", target))
                .cookie(removal)
                .finish();
        }
    }
    HttpResponse::Ok().body("Home")
}

async fn login(rp: web::Data<Rp>, query: Query) -> HttpResponse {
    // OIDC Discovery §4.3: the document must name the issuer the RP was configured with.
    // Discovery is read at start and, when that failed, at the first login (as libraries do).
    if rp.discovered_issuer.lock().unwrap().is_none() {
        let _ = discover(&rp).await;
    }
    let discovered = rp.discovered_issuer.lock().unwrap().clone();
    if discovered.as_deref() != Some(rp.issuer.as_str()) && !rp.has(Fault::DiscoveryIssuerIgnored) {
        return HttpResponse::ServiceUnavailable()
            .body("the broker's discovery document names another issuer");
    }
    let reauth = query.contains_key("reauth");
    let (state, nonce, verifier) = (random(), random(), random() + &random());
    let challenge = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
    let id = random();
    let redirect_uri = format!("{}/callback", rp.base);
    let max_age = rp.limits.max_login_age.as_secs().to_string();
    // `/login?erhverv` starts a MitID Erhverv login, as NEB's basic configuration.
    let erhverv = query.contains_key("erhverv");
    let mut params = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", redirect_uri.as_str()),
        ("response_type", "code"),
        (
            "scope",
            if erhverv {
                "openid nemlogin"
            } else {
                "openid mitid"
            },
        ),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("idp_params", r#"{"mitid":{"loa_value":"substantial"}}"#),
    ];
    if reauth {
        params.push(("max_age", max_age.as_str()));
    }
    if erhverv {
        params.push(("idp_values", "mitid_erhverv"));
    }
    if rp.response_mode == ResponseMode::FormPost {
        params.push(("response_mode", "form_post"));
    }
    let url = format!(
        "{}/connect/authorize?{}",
        rp.issuer,
        serde_urlencoded::to_string(&params).unwrap()
    );
    rp.pending.insert(
        state.clone(),
        Pending {
            state,
            nonce,
            verifier,
            reauth,
            browser: id.clone(),
        },
    );
    HttpResponse::SeeOther()
        .insert_header(("Location", url))
        .cookie(login_cookie(id))
        .finish()
}

/// The cookie that binds the login to this browser; the callback must bring it back.
/// A redirect back (query) is a top-level GET, which carries `SameSite=Lax` cookies. A
/// form_post callback is a POST from the broker's page, and browsers send a cross-site
/// POST no Lax cookie: in production, where the broker is another site, an RP taking
/// form_post must make this cookie `SameSite=None; Secure` (over https). This RP lives on
/// an http loopback, where broker and RP (127.0.0.1, other ports) are the same site and a
/// Secure cookie would not be kept over http: Lax reaches either callback.
fn login_cookie(id: String) -> Cookie<'static> {
    Cookie::build("rp_login", id)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish()
}

fn claims_of(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn header_of(token: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?).ok()
}

async fn jwks(rp: &Rp) -> Option<Value> {
    let cached = rp.cached_jwks.lock().unwrap().clone();
    if let Some(jwks) = cached.filter(|_| rp.has(Fault::NoKeyRefresh)) {
        return Some(jwks);
    }
    let url = format!("{}/.well-known/openid-configuration/jwks", rp.issuer);
    let jwks: Value = rp.http.get(url).send().await.ok()?.json().await.ok()?;
    *rp.cached_jwks.lock().unwrap() = Some(jwks.clone());
    Some(jwks)
}

/// Verifies the signature against the broker's JWKS (fetched again for every token, so
/// rotated keys are found, unless `NoKeyRefresh`).
async fn signature_ok(rp: &Rp, token: &str, id_token: bool) -> bool {
    let Some(header) = header_of(token) else {
        return false;
    };
    let alg = header["alg"].as_str().unwrap_or_default().to_string();
    if alg == "none" {
        return rp.has(Fault::AlgNoneAccepted);
    }
    if id_token && rp.has(Fault::IdTokenSignatureSkipped) {
        return ["ES256", "RS256"].contains(&alg.as_str());
    }
    let Some(jwks) = jwks(rp).await else {
        return false;
    };
    let Some(key) = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        // As the real broker, the JWKS entries name no `alg`: the kid picks the key, and
        // the verifier checks the key type fits the algorithm.
        .find(|k| {
            k["kid"] == header["kid"] && (k.get("alg").is_none() || k["alg"] == alg.as_str())
        })
    else {
        return false;
    };
    let Ok(jwk) = Jwk::from_map(key.as_object().cloned().unwrap_or_default()) else {
        return false;
    };
    let verified = match alg.as_str() {
        "ES256" => ES256
            .verifier_from_jwk(&jwk)
            .map(|v| josekit::jwt::decode_with_verifier(token, &v).is_ok()),
        "RS256" => RS256
            .verifier_from_jwk(&jwk)
            .map(|v| josekit::jwt::decode_with_verifier(token, &v).is_ok()),
        _ => return false,
    };
    verified.unwrap_or(false)
}

async fn id_token_ok(rp: &Rp, token: &str, nonce: &str, reauth: bool) -> bool {
    let Some(claims) = claims_of(token) else {
        return false;
    };
    let now = unix_now();
    let aud_ok = match &claims["aud"] {
        Value::String(aud) => aud == CLIENT_ID,
        Value::Array(auds) => auds.len() == 1 && auds[0] == CLIENT_ID,
        _ => false,
    };
    let iat_ok = claims["iat"]
        .as_i64()
        .is_some_and(|iat| iat <= now + 60 || rp.has(Fault::IatNotChecked));
    let exp_ok = claims["exp"].as_i64().is_some_and(|exp| exp > now);
    let max_login_age = rp.limits.max_login_age.as_secs() as i64;
    signature_ok(rp, token, true).await
        && (rp.has(Fault::IssNotChecked) || claims["iss"] == rp.expected_issuer().as_str())
        && (rp.has(Fault::AudNotChecked) || aud_ok)
        && (rp.has(Fault::ExpiredAccepted) || exp_ok)
        && iat_ok
        && (rp.has(Fault::NoNonceCheck) || claims["nonce"] == nonce)
        && claims["sub"].as_str().is_some_and(|s| !s.is_empty())
        && (rp.has(Fault::NoLoaCheck) || claims["loa"] != LOW)
        // The fresh login for the sensitive action is within the max login age.
        && (!reauth
            || rp.has(Fault::AuthTimeNotChecked)
            || claims["auth_time"]
                .as_i64()
                .is_some_and(|t| t >= now - max_login_age - 1))
}

/// Userinfo for the access token: its claims, or None when the broker refuses it.
async fn userinfo(rp: &Rp, access_token: &str) -> Option<Value> {
    let response = rp
        .http
        .get(format!("{}/connect/userinfo", rp.issuer))
        .bearer_auth(access_token)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// OIDC Core §5.3.2: userinfo's `sub` must be the id_token's.
fn same_subject(rp: &Rp, info: &Value, sub: &str) -> bool {
    rp.has(Fault::UserinfoSubNotChecked) || info["sub"] == sub
}

async fn callback_in_query(rp: web::Data<Rp>, req: HttpRequest, query: Query) -> HttpResponse {
    callback(rp, req, query.into_inner()).await
}

async fn callback_posted(
    rp: web::Data<Rp>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    callback(rp, req, form.into_inner()).await
}

/// The authorization response, from the query or the posted form: the same checks.
async fn callback(
    rp: web::Data<Rp>,
    req: HttpRequest,
    query: HashMap<String, String>,
) -> HttpResponse {
    if let Some(error) = query.get("error") {
        if rp.has(Fault::AccessDeniedCrashes) {
            return HttpResponse::InternalServerError().body("unexpected error");
        }
        return HttpResponse::Ok().body(format!("Login failed: {error}"));
    }
    let browser = req.cookie("rp_login").map(|c| c.value().to_string());
    let state = query.get("state").cloned().unwrap_or_default();
    // The login in progress belongs to the browser that started it (its cookie).
    let pending = if rp.has(Fault::NoStateCheck) {
        let Some(browser) = &browser else {
            return HttpResponse::BadRequest().body("no login in progress");
        };
        let key = rp
            .pending
            .iter()
            .find(|p| p.browser == *browser)
            .map(|p| p.key().clone());
        key.and_then(|k| rp.pending.remove(&k)).map(|(_, p)| p)
    } else {
        rp.pending
            .remove_if(&state, |_, p| {
                rp.has(Fault::CallbackNotBound) || Some(&p.browser) == browser.as_ref()
            })
            .map(|(_, p)| p)
    };
    let Some(pending) = pending else {
        return HttpResponse::BadRequest()
            .body("no login in progress, or the state does not match");
    };
    if !rp.has(Fault::NoStateCheck) && state != pending.state {
        return HttpResponse::BadRequest().body("state mismatch");
    }
    // RFC 9207: the authorization response names its issuer.
    if query
        .get("iss")
        .is_some_and(|iss| *iss != rp.expected_issuer())
        && !rp.has(Fault::ResponseIssIgnored)
    {
        return HttpResponse::BadRequest()
            .body("the authorization response comes from another issuer");
    }
    let Some(code) = query.get("code") else {
        return HttpResponse::BadRequest().body("no code");
    };
    let redirect_uri = format!("{}/callback", rp.base);
    let response = rp
        .http
        .post(format!("{}/connect/token", rp.issuer))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await;
    let tokens: Value = match response {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(_) => return HttpResponse::BadGateway().body("token endpoint unreachable"),
    };
    let Some(id_token) = tokens["id_token"].as_str() else {
        return HttpResponse::BadRequest().body("no id_token");
    };
    if !id_token_ok(&rp, id_token, &pending.nonce, pending.reauth).await {
        return HttpResponse::BadRequest().body("the id_token is not valid");
    }
    let claims = claims_of(id_token).unwrap_or(Value::Null);
    let sub = claims["sub"].as_str().unwrap_or_default().to_string();
    let access_token = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // The citizen's details come from userinfo, about the same subject.
    match userinfo(&rp, &access_token).await {
        Some(info) if same_subject(&rp, &info, &sub) => {}
        _ => return HttpResponse::BadRequest().body("userinfo is not about this citizen"),
    }
    let presented = req.cookie("rp_session").map(|c| c.value().to_string());
    let session = match presented {
        Some(id) if rp.has(Fault::AdoptsPresentedSessionId) => id,
        _ => random(),
    };
    rp.sessions.insert(
        session.clone(),
        Session {
            sub,
            sid: claims["sid"].as_str().unwrap_or_default().to_string(),
            id_token: id_token.to_string(),
            access_token,
            session_expiry: claims["session_expiry"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .filter(|_| !rp.has(Fault::SessionExpiryIgnored))
                .unwrap_or(i64::MAX),
            created: Instant::now(),
            last_seen: Instant::now(),
            // The fault as RPs have it: a re-authentication is taken to have just
            // happened, whatever auth_time the id_token says.
            auth_time: if rp.has(Fault::AuthTimeNotChecked) {
                unix_now()
            } else {
                claims["auth_time"].as_i64().unwrap_or(0)
            },
            checked_broker_at: Instant::now(),
        },
    );
    let next = if pending.reauth { "/transfer" } else { "/me" };
    // The login cookie has done its work (a deleting Set-Cookie, as libraries send).
    let mut used = Cookie::build("rp_login", "").path("/").finish();
    used.make_removal();
    HttpResponse::SeeOther()
        .insert_header(("Location", next))
        .cookie(used)
        .cookie(
            Cookie::build("rp_session", session)
                .path("/")
                .http_only(!rp.has(Fault::CookieNotHttpOnly))
                .same_site(SameSite::Lax)
                .finish(),
        )
        .finish()
}

/// The session behind the cookie, if it is alive by every rule this RP keeps: its own
/// idle and absolute limits, the broker's session_expiry, and the broker session itself
/// (userinfo's session_is_active).
async fn live_session(rp: &Rp, req: &HttpRequest) -> Option<(String, String)> {
    let id = req.cookie("rp_session")?.value().to_string();
    let (access_token, sub, over, due) = {
        let session = rp.sessions.get(&id)?;
        let idle_over =
            session.last_seen.elapsed() >= rp.limits.idle && !rp.has(Fault::NoIdleTimeout);
        let absolute_over =
            session.created.elapsed() >= rp.limits.absolute && !rp.has(Fault::NoAbsoluteTimeout);
        let broker_over = unix_now() >= session.session_expiry;
        let due = session.checked_broker_at.elapsed() >= rp.limits.broker_check
            && !rp.has(Fault::BrokerSessionNotChecked);
        (
            session.access_token.clone(),
            session.sub.clone(),
            idle_over || absolute_over || broker_over,
            due,
        )
    };
    if over {
        rp.sessions.remove(&id);
        return None;
    }
    if due {
        let active = userinfo(rp, &access_token).await.is_some_and(|info| {
            info["session_is_active"] != "false" && same_subject(rp, &info, &sub)
        });
        if !active {
            rp.sessions.remove(&id);
            return None;
        }
    }
    let mut session = rp.sessions.get_mut(&id)?;
    session.last_seen = Instant::now();
    if due {
        session.checked_broker_at = Instant::now();
    }
    Some((id, session.sub.clone()))
}

async fn me(rp: web::Data<Rp>, req: HttpRequest) -> HttpResponse {
    match live_session(&rp, &req).await {
        Some((_, sub)) => {
            let mut response = HttpResponse::Ok();
            if !rp.has(Fault::NoNoStore) {
                response.insert_header(("Cache-Control", "no-store"));
            }
            response.body(format!("Logged in as {sub}"))
        }
        None => HttpResponse::Unauthorized().body("Not logged in"),
    }
}

/// The sensitive action: only within the max login age of the last authentication.
async fn transfer(rp: web::Data<Rp>, req: HttpRequest) -> HttpResponse {
    let Some((id, _)) = live_session(&rp, &req).await else {
        return HttpResponse::Unauthorized().body("Not logged in");
    };
    let max_age = rp.limits.max_login_age.as_secs() as i64;
    let fresh = rp
        .sessions
        .get(&id)
        .is_some_and(|s| unix_now() - s.auth_time <= max_age);
    if fresh || rp.has(Fault::NoReauthentication) {
        HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .body("Transfer approved")
    } else {
        HttpResponse::SeeOther()
            .insert_header(("Location", "/login?reauth=1"))
            .finish()
    }
}

async fn logout(rp: web::Data<Rp>, req: HttpRequest, query: Query) -> HttpResponse {
    let id = req
        .cookie("rp_session")
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let id_token = rp.sessions.get(&id).map(|s| s.id_token.clone());
    if !rp.has(Fault::SessionNotInvalidated) {
        rp.sessions.remove(&id);
    }
    let mut removal = Cookie::build("rp_session", "").path("/").finish();
    removal.make_removal();
    let location = match (id_token, rp.has(Fault::LocalOnlyLogout)) {
        (Some(hint), false) => format!(
            "{}/connect/endsession?{}",
            rp.issuer,
            serde_urlencoded::to_string([
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", &format!("{}/", rp.base)),
                ("state", "bye"),
            ])
            .unwrap()
        ),
        _ => "/".to_string(),
    };
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header(("Location", location))
        .cookie(removal);
    if let Some(target) = query.get("return_to") {
        response.cookie(
            Cookie::build("rp_return", target.clone())
                .path("/")
                .http_only(true)
                .finish(),
        );
    }
    response.finish()
}

async fn backchannel(rp: web::Data<Rp>, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let Some(token) = form.get("logout_token") else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(claims) = claims_of(token) else {
        return HttpResponse::BadRequest().finish();
    };
    let events_ok = claims["events"]
        .get("http://schemas.openid.net/event/backchannel-logout")
        .is_some();
    let fresh = claims["exp"].as_i64().is_some_and(|exp| exp > unix_now());
    let valid = signature_ok(&rp, token, false).await
        && header_of(token).is_some_and(|h| h["typ"] == "logout+jwt")
        && claims["iss"] == rp.expected_issuer().as_str()
        && claims["aud"] == CLIENT_ID
        && fresh
        && events_ok
        && claims.get("nonce").is_none()
        && (claims["sid"].is_string() || claims["sub"].is_string());
    let jti = claims["jti"].as_str().unwrap_or_default().to_string();
    let replayed = rp.seen_jtis.insert(jti, ()).is_some() && !rp.has(Fault::JtiReplayAccepted);
    if !(valid || rp.has(Fault::BadLogoutTokensAccepted)) || replayed {
        return HttpResponse::BadRequest().finish();
    }
    if !rp.has(Fault::BackchannelIgnored) {
        let (sid, sub) = (claims["sid"].as_str(), claims["sub"].as_str());
        rp.sessions.retain(|_, s| match (sid, sub) {
            (Some(sid), _) => s.sid != sid,
            (None, Some(sub)) => s.sub != sub,
            (None, None) => true,
        });
    }
    HttpResponse::Ok().finish()
}

/// OIDC Front-Channel Logout 1.0: the broker's logout page loads this with its `iss` and
/// the session's `sid`; the sessions of that broker session end.
async fn frontchannel(rp: web::Data<Rp>, query: Query) -> HttpResponse {
    let (Some(iss), Some(sid)) = (query.get("iss"), query.get("sid")) else {
        return HttpResponse::BadRequest().finish();
    };
    if iss != &rp.expected_issuer() {
        return HttpResponse::BadRequest().finish();
    }
    if !rp.has(Fault::FrontchannelIgnored) {
        rp.sessions.retain(|_, s| &s.sid != sid);
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache, no-store"))
        .body("<!doctype html><title>Logged out</title>")
}

/// The profile the kit needs for this RP, with everything it promises declared.
pub fn profile(rp: &ReferenceRp, broker_base: &str, limits: &Limits) -> String {
    format!(
        r#"
[target]
base_url = "{base}"
restart_command = "python3 -c 'import urllib.request as u; u.urlopen(u.Request(\"{base}/__restart\", method=\"POST\"))'"
restart_timeout_seconds = 20
login_path = "/login"
protected_path = "/me"
logged_in_marker = "Logged in as"
sensitive_path = "/transfer"
sensitive_marker = "Transfer approved"

[target.logout]
method = "POST"
path = "/logout"

[client]
client_id = "{CLIENT_ID}"
client_secret = "{SECRET}"
redirect_uri = "{base}/callback"
post_logout_redirect_uri = "{base}/"
backchannel_logout_uri = "{base}/backchannel-logout"
frontchannel_logout_uri = "{base}/frontchannel-logout"
scopes = ["openid", "mitid"]

[assurance]
required = "substantial"
asks_with = "idp_params"

[sessions]
idle_seconds = {idle}
absolute_seconds = {absolute}
broker_check_seconds = {check}
max_login_age_seconds = {age}
max_wait_seconds = 90

[citizens]
user = "app.instant"

[broker]
url = "{broker_base}"
"#,
        base = rp.base,
        idle = limits.idle.as_secs(),
        absolute = limits.absolute.as_secs(),
        check = limits.broker_check.as_secs(),
        age = limits.max_login_age.as_secs(),
    )
}

//! A small but real relying party for proving the conformance kit right: it logs citizens
//! in through the broker over HTTP and validates everything a careful RP validates —
//! unless a seeded fault tells it to skip one thing.

use std::collections::HashSet;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    NoStateCheck,
    NoNonceCheck,
    AlgNoneAccepted,
    IssNotChecked,
    AudNotChecked,
    ExpiredAccepted,
    LocalOnlyLogout,
    SessionNotInvalidated,
    NoNoStore,
    BackchannelIgnored,
    NoIdleTimeout,
    NoAbsoluteTimeout,
}

struct Pending {
    state: String,
    nonce: String,
    verifier: String,
}

struct Session {
    sub: String,
    sid: String,
    id_token: String,
    created: Instant,
    last_seen: Instant,
}

struct Rp {
    base: String,
    issuer: String,
    faults: HashSet<Fault>,
    idle: Duration,
    absolute: Duration,
    http: reqwest::Client,
    pending: DashMap<String, Pending>,
    sessions: DashMap<String, Session>,
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

pub async fn start(
    issuer: &str,
    faults: &[Fault],
    idle: Duration,
    absolute: Duration,
) -> ReferenceRp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let rp = web::Data::new(Rp {
        base: base.clone(),
        issuer: issuer.to_string(),
        faults: faults.iter().copied().collect(),
        idle,
        absolute,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        pending: DashMap::new(),
        sessions: DashMap::new(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(rp.clone())
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login))
            .route("/callback", web::get().to(callback))
            .route("/me", web::get().to(me))
            .route("/logout", web::post().to(logout))
            .route("/backchannel-logout", web::post().to(backchannel))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    ReferenceRp { base, handle }
}

async fn home() -> HttpResponse {
    HttpResponse::Ok().body("Home")
}

async fn login(rp: web::Data<Rp>) -> HttpResponse {
    let (state, nonce, verifier) = (random(), random(), random() + &random());
    let challenge = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
    let id = random();
    let url = format!(
        "{}/connect/authorize?{}",
        rp.issuer,
        serde_urlencoded::to_string([
            ("client_id", CLIENT_ID),
            ("redirect_uri", &format!("{}/callback", rp.base)),
            ("response_type", "code"),
            ("scope", "openid mitid"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .unwrap()
    );
    rp.pending.insert(
        id.clone(),
        Pending {
            state,
            nonce,
            verifier,
        },
    );
    HttpResponse::SeeOther()
        .insert_header(("Location", url))
        .cookie(
            Cookie::build("rp_login", id)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .finish(),
        )
        .finish()
}

fn claims_of(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn header_of(token: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?).ok()
}

/// Verifies the signature against the broker's JWKS, fetched each time (so rotated keys
/// are always found).
async fn signature_ok(rp: &Rp, token: &str) -> bool {
    let Some(header) = header_of(token) else {
        return false;
    };
    let alg = header["alg"].as_str().unwrap_or_default().to_string();
    if alg == "none" {
        return rp.faults.contains(&Fault::AlgNoneAccepted);
    }
    let jwks: Value = match rp
        .http
        .get(format!(
            "{}/.well-known/openid-configuration/jwks",
            rp.issuer
        ))
        .send()
        .await
    {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(_) => return false,
    };
    let Some(key) = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"] == header["kid"] && k["alg"] == alg.as_str())
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

async fn id_token_ok(rp: &Rp, token: &str, nonce: &str) -> bool {
    let Some(claims) = claims_of(token) else {
        return false;
    };
    let now = unix_now();
    let has = |f: Fault| rp.faults.contains(&f);
    let aud_ok = match &claims["aud"] {
        Value::String(aud) => aud == CLIENT_ID,
        Value::Array(auds) => auds.len() == 1 && auds[0] == CLIENT_ID,
        _ => false,
    };
    let iat_ok = claims["iat"].as_i64().is_some_and(|iat| iat <= now + 60);
    let exp_ok = claims["exp"].as_i64().is_some_and(|exp| exp > now);
    signature_ok(rp, token).await
        && (has(Fault::IssNotChecked) || claims["iss"] == rp.issuer.as_str())
        && (has(Fault::AudNotChecked) || aud_ok)
        && (has(Fault::ExpiredAccepted) || (exp_ok && iat_ok))
        && (has(Fault::NoNonceCheck) || claims["nonce"] == nonce)
        && claims["sub"].as_str().is_some_and(|s| !s.is_empty())
}

async fn callback(
    rp: web::Data<Rp>,
    req: HttpRequest,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    if let Some(error) = query.get("error") {
        return HttpResponse::Ok().body(format!("Login failed: {error}"));
    }
    let Some((_, pending)) = req
        .cookie("rp_login")
        .and_then(|c| rp.pending.remove(c.value()))
    else {
        return HttpResponse::BadRequest().body("no login in progress");
    };
    if !rp.faults.contains(&Fault::NoStateCheck) && query.get("state") != Some(&pending.state) {
        return HttpResponse::BadRequest().body("state mismatch");
    }
    let Some(code) = query.get("code") else {
        return HttpResponse::BadRequest().body("no code");
    };
    let tokens: Value = match rp
        .http
        .post(format!("{}/connect/token", rp.issuer))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", &format!("{}/callback", rp.base)),
            ("code_verifier", &pending.verifier),
        ])
        .send()
        .await
    {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(_) => return HttpResponse::BadGateway().body("token endpoint unreachable"),
    };
    let Some(id_token) = tokens["id_token"].as_str() else {
        return HttpResponse::BadRequest().body("no id_token");
    };
    if !id_token_ok(&rp, id_token, &pending.nonce).await {
        return HttpResponse::BadRequest().body("the id_token is not valid");
    }
    let claims = claims_of(id_token).unwrap_or(Value::Null);
    let session = random();
    rp.sessions.insert(
        session.clone(),
        Session {
            sub: claims["sub"].as_str().unwrap_or_default().to_string(),
            sid: claims["sid"].as_str().unwrap_or_default().to_string(),
            id_token: id_token.to_string(),
            created: Instant::now(),
            last_seen: Instant::now(),
        },
    );
    HttpResponse::SeeOther()
        .insert_header(("Location", "/me"))
        .cookie(
            Cookie::build("rp_session", session)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .finish(),
        )
        .finish()
}

fn live_session(rp: &Rp, req: &HttpRequest) -> Option<String> {
    let id = req.cookie("rp_session")?.value().to_string();
    let mut session = rp.sessions.get_mut(&id)?;
    let idle_over =
        session.last_seen.elapsed() >= rp.idle && !rp.faults.contains(&Fault::NoIdleTimeout);
    let absolute_over =
        session.created.elapsed() >= rp.absolute && !rp.faults.contains(&Fault::NoAbsoluteTimeout);
    if idle_over || absolute_over {
        drop(session);
        rp.sessions.remove(&id);
        return None;
    }
    session.last_seen = Instant::now();
    Some(session.sub.clone())
}

async fn me(rp: web::Data<Rp>, req: HttpRequest) -> HttpResponse {
    match live_session(&rp, &req) {
        Some(sub) => {
            let mut response = HttpResponse::Ok();
            if !rp.faults.contains(&Fault::NoNoStore) {
                response.insert_header(("Cache-Control", "no-store"));
            }
            response.body(format!("Logged in as {sub}"))
        }
        None => HttpResponse::Unauthorized().body("Not logged in"),
    }
}

async fn logout(rp: web::Data<Rp>, req: HttpRequest) -> HttpResponse {
    let id = req
        .cookie("rp_session")
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let id_token = rp.sessions.get(&id).map(|s| s.id_token.clone());
    if !rp.faults.contains(&Fault::SessionNotInvalidated) {
        rp.sessions.remove(&id);
    }
    let mut removal = Cookie::build("rp_session", "").path("/").finish();
    removal.make_removal();
    let location = match (id_token, rp.faults.contains(&Fault::LocalOnlyLogout)) {
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
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .cookie(removal)
        .finish()
}

async fn backchannel(
    rp: web::Data<Rp>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let Some(token) = form.get("logout_token") else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(claims) = claims_of(token) else {
        return HttpResponse::BadRequest().finish();
    };
    let events_ok = claims["events"]
        .get("http://schemas.openid.net/event/backchannel-logout")
        .is_some();
    let valid = signature_ok(&rp, token).await
        && header_of(token).is_some_and(|h| h["typ"] == "logout+jwt")
        && claims["iss"] == rp.issuer.as_str()
        && claims["aud"] == CLIENT_ID
        && events_ok
        && claims.get("nonce").is_none()
        && (claims["sid"].is_string() || claims["sub"].is_string());
    if !valid {
        return HttpResponse::BadRequest().finish();
    }
    if !rp.faults.contains(&Fault::BackchannelIgnored) {
        let sid = claims["sid"].as_str().unwrap_or_default().to_string();
        rp.sessions.retain(|_, s| s.sid != sid);
    }
    HttpResponse::Ok().finish()
}

/// The profile the kit needs for this RP, with its session limits declared.
pub fn profile(rp: &ReferenceRp, broker_base: &str, idle: u64, absolute: u64) -> String {
    format!(
        r#"
[target]
base_url = "{base}"
login_path = "/login"
protected_path = "/me"
logged_in_marker = "Logged in as"

[target.logout]
method = "POST"
path = "/logout"

[client]
client_id = "{CLIENT_ID}"
client_secret = "{SECRET}"
redirect_uri = "{base}/callback"
post_logout_redirect_uri = "{base}/"
backchannel_logout_uri = "{base}/backchannel-logout"

[sessions]
idle_seconds = {idle}
absolute_seconds = {absolute}
max_wait_seconds = 30

[broker]
url = "{broker_base}"
"#,
        base = rp.base
    )
}

//! "Min Side": a small demo service modelled on borger.dk's Min Side, and example code of a
//! relying party that does everything right. `mitid-sim demo` runs it beside the broker;
//! the conformance kit's whole catalogue passes against it (`tests/api/demo.rs`), so it is
//! also the kit's always-available self-test.
//!
//! Where each duty of a careful RP lives:
//! - `oidc.rs`: discovery (issuer checked, re-read after `discovery_refresh`); the
//!   authorization request (state, nonce, PKCE S256, the exact registered redirect URI,
//!   Substantial); the code exchange; id_token validation against the JWKS (signature with
//!   ES256/RS256 only, iss, aud, exp, iat, nonce, sub, level, auth_time for a fresh login;
//!   keys fetched again for an unknown kid); userinfo's sub; logout-token validation.
//! - `login.rs`: the callback (state bound to the browser, RFC 9207 `iss`, then the tokens,
//!   then userinfo and the register); "Log af" ending this session and the broker's
//!   (end_session with `id_token_hint`); back-channel logout.
//! - `sessions.rs`: server-side sessions behind an opaque cookie; idle and absolute
//!   limits; the broker's `session_expiry`; bounded pending logins; logout-token replay.
//! - `web.rs`: cookies (`HttpOnly`, `SameSite=Lax`, `Secure` and `__Host-` over https),
//!   `Cache-Control: no-store` and a strict CSP on every page, CSRF tokens, and the broker
//!   session checked every `broker_check_every` (userinfo's `session_is_active`).
//! - `pages.rs`: what a logged-in citizen sees; a fresh login (`max_age=0`) before the
//!   sensitive page.
//! - `register.rs`: the simulator-only CPR register API for what the token does not carry.

mod login;
pub mod oidc;
mod pages;
pub mod register;
pub mod sessions;
pub mod texts;
mod web;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};

use crate::protocols::oidc::clients::{Client, RegisteredUri};
use crate::tls::ServerTls;

/// The client id Min Side registers with the broker.
pub const CLIENT_ID: &str = "min-side";
/// Where Min Side listens by default: the port after the broker's.
pub const DEFAULT_PORT: u16 = 8089;

/// Min Side's own rules for its sessions.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after login, whatever the activity.
    pub absolute: Duration,
    /// How often a page view asks the broker whether its session still lives.
    pub broker_check_every: Duration,
    /// How long a fresh login opens the sensitive page.
    pub fresh_login_valid: Duration,
    /// How long the broker's discovery document is trusted before it is read again.
    pub discovery_refresh: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(15 * 60),
            absolute: Duration::from_secs(8 * 3600),
            broker_check_every: Duration::from_secs(10),
            fresh_login_valid: Duration::from_secs(5 * 60),
            discovery_refresh: Duration::from_secs(3600),
        }
    }
}

pub struct Config {
    /// The broker's issuer, e.g. `http://127.0.0.1:8088/op`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub settings: Settings,
    /// Serve HTTPS with this certificate.
    pub tls: Option<ServerTls>,
    /// Trust only this CA when talking to the broker (its local CA under `--tls`).
    pub broker_ca: Option<Vec<u8>>,
}

/// A bound but not yet serving Min Side: its base URL is known, so the broker can register
/// its exact redirect URIs before it starts.
pub struct Bound {
    listener: TcpListener,
    pub base_url: String,
}

/// Binds `host:port` (0 picks a free port).
pub fn bind(host: &str, port: u16, https: bool) -> std::io::Result<Bound> {
    let listener = TcpListener::bind((host, port))?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let scheme = if https { "https" } else { "http" };
    Ok(Bound {
        listener,
        base_url: format!("{scheme}://{host}:{}", addr.port()),
    })
}

/// The broker's registration of Min Side: its exact callback, logout return page and
/// back-channel logout endpoint.
pub fn registration(
    base_url: &str,
    client_id: &str,
    client_secret: &str,
) -> Result<Client, String> {
    let uri = |path: &str| RegisteredUri::parse(&format!("{base_url}{path}"));
    let mut client = crate::protocols::oidc::clients::parse_clients(&format!(
        "[[client]]\nclient_id = \"{client_id}\"\nname = \"Min Side (demo)\"\nclient_secret = \"{client_secret}\"\nredirect_uris = [\"{base_url}/callback\"]\nrequire_pkce = true\n"
    ))
    .map_err(|e| e.to_string())?
    .remove(0);
    client.post_logout_redirect_uris = vec![uri(web::LOGGED_OUT_PATH)?];
    client.backchannel_logout_uri = Some(uri(web::BACKCHANNEL_PATH)?);
    Ok(client)
}

/// A running Min Side.
pub struct MinSide {
    pub base_url: String,
    handle: ServerHandle,
}

impl MinSide {
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// Starts Min Side on a bound listener; it reads the broker's discovery first, so the
/// broker must be serving. Call inside a Tokio runtime.
pub async fn start(config: Config, bound: Bound) -> Result<MinSide, String> {
    let mut http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10));
    match &config.broker_ca {
        // The broker's local CA, and nothing else.
        Some(ca) => {
            let ca = reqwest::Certificate::from_pem(ca).map_err(|e| e.to_string())?;
            http = http.tls_built_in_root_certs(false).add_root_certificate(ca);
        }
        // A certificate of the user's own: the web's roots and those of SSL_CERT_FILE.
        None => {
            for root in crate::tls::roots_from_environment()? {
                http = http.add_root_certificate(root);
            }
        }
    }
    let http = http.build().map_err(|e| e.to_string())?;
    let client = oidc::Client::new(
        config.issuer.clone(),
        config.client_id,
        config.client_secret,
        format!("{}/callback", bound.base_url),
        http.clone(),
        config.settings.discovery_refresh,
    );
    client
        .discovery()
        .await
        .map_err(|e| format!("Min Side cannot use the broker: {e}"))?;
    let state = actix_web::web::Data::new(web::State::new(
        client,
        http,
        bound.base_url.clone(),
        config.settings,
    ));
    let sweeper = std::sync::Arc::downgrade(&state.clone().into_inner());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            match sweeper.upgrade() {
                Some(state) => state.sessions.sweep(),
                None => break,
            }
        }
    });
    let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(web::routes))
        .workers(2)
        .shutdown_timeout(2);
    let server = match &config.tls {
        Some(tls) => {
            server.listen_openssl(bound.listener, tls.acceptor().map_err(|e| e.to_string())?)
        }
        None => server.listen(bound.listener),
    }
    .map_err(|e| e.to_string())?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(MinSide {
        base_url: bound.base_url,
        handle,
    })
}

/// The service's own clock; the broker's (which tests may shift) is not its business.
#[allow(clippy::disallowed_methods)]
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

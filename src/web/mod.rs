//! actix wiring: routes, the server, and the front page.

pub mod admin;
pub mod assets;
pub mod danish_time;
pub mod dashboard;
pub mod devices;
pub mod fidelity;
pub mod front;
pub mod i18n;
mod key_source;
pub mod login;
pub mod login_professional;
pub mod nemlogin;
pub mod oidc;
pub mod pages;
pub mod register;
pub mod security_headers;

pub use key_source::KeySource;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::broker::{Broker, Clock, LogoutListener, Settings};
use crate::identity::{Identity, Population, Workforce};
use crate::persistence::{SaveAll, StateDir};
use crate::protocols::oidc::backchannel::{Backchannel, RetryPolicy};
use crate::protocols::oidc::{paths, Client, ClientRegistry, Lifetimes, Provider, StateKeeper};
use crate::protocols::saml;
use crate::protocols::saml::sp::{ServiceProvider, SpRegistry};

/// Everything a broker needs to start.
pub struct Config {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// The URL citizens and RPs use, when it differs from `http://<host>:<port>`
    /// (behind a proxy or in a container).
    pub public_url: Option<String>,
    pub identities: Vec<Identity>,
    /// Organisations and professional identities (MitID Erhverv), checked against
    /// `identities` (`Workforce::check`).
    pub workforce: Workforce,
    pub clients: Vec<Client>,
    pub keys: KeySource,
    pub settings: Settings,
    pub lifetimes: Lifetimes,
    pub clock: Clock,
    pub workers: Option<usize>,
    pub backchannel_retry: RetryPolicy,
    /// Bearer token the admin API requires; mandatory when binding a non-loopback address
    /// or when `public_url` names another host (a proxy). Empty counts as none.
    pub admin_token: Option<String>,
    /// Keeps runtime changes across restarts.
    pub state_dir: Option<std::path::PathBuf>,
    /// The NemLog-in personality's service providers and keys.
    pub nemlogin: NemLoginConfig,
    /// Serve HTTPS with this certificate instead of HTTP.
    pub tls: Option<crate::tls::ServerTls>,
}

/// What the NemLog-in personality starts with.
#[derive(Default)]
pub struct NemLoginConfig {
    /// Registered at start (a saved state's replace them).
    pub service_providers: Vec<ServiceProvider>,
    /// The IdP keys; by default kept in `<state dir>/nemlogin`, else in the per-user
    /// folder's `nemlogin` (made on first use).
    pub keys: Option<saml::IdpKeySource>,
}

/// The `--public-url`: an absolute http(s) URL.
fn public_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|err| format!("--public-url `{text}`: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "--public-url `{text}` must be an http(s) URL with a host"
        ));
    }
    Ok(url)
}

/// True for 127.0.0.0/8, ::1, "localhost" and names under `.localhost` (RFC 6761).
pub fn is_loopback(host: &str) -> bool {
    let name = host.trim_end_matches('.');
    name.eq_ignore_ascii_case("localhost")
        || name.to_ascii_lowercase().ends_with(".localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A started broker.
pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    /// Where the signing keys come from, for the banner.
    pub keys_origin: String,
    pub provider: web::Data<Provider>,
    /// The NemLog-in personality.
    pub nemlogin: web::Data<saml::Provider>,
    server: Server,
}

impl Running {
    pub fn issuer(&self) -> &str {
        &self.provider.issuer
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (Ctrl-C or a handle's `stop`).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves in the background of the current runtime (for tests and in-process use).
    pub fn spawn(self) -> (SocketAddr, String, web::Data<Provider>, ServerHandle) {
        let handle = self.server.handle();
        let (addr, base, provider) = (self.addr, self.base_url.clone(), self.provider.clone());
        tokio::spawn(self.server);
        (addr, base, provider, handle)
    }
}

/// Binds the port and builds the broker. Call inside a Tokio runtime.
pub fn start(config: Config) -> std::io::Result<Running> {
    let refused =
        |message: String| std::io::Error::new(std::io::ErrorKind::PermissionDenied, message);
    let public_url = match &config.public_url {
        Some(text) => Some(public_url(text).map_err(refused)?),
        None => None,
    };
    let listener = TcpListener::bind((config.host.as_str(), config.port))?;
    let addr = listener.local_addr()?;
    // Judged on the address actually bound, not on how --host spelled it.
    let protection = admin::AdminProtection::new(
        addr.ip(),
        public_url.as_ref(),
        config.admin_token.as_deref(),
    )
    .map_err(refused)?;
    let host = if addr.ip().is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let base_url = match &public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_string(),
        None => format!("{scheme}://{host}:{}", addr.port()),
    };
    let service_providers = Arc::new(SpRegistry::new());
    let state = config
        .state_dir
        .as_ref()
        .map(|dir| StateDir::new(dir).keeping(Arc::clone(&service_providers)));
    let saved = match &state {
        Some(state) => state
            .load()
            .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))?,
        None => None,
    };
    let (keys, keys_origin) = config
        .keys
        .resolve(saved.as_ref(), config.state_dir.as_deref())
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))?;
    let clients = match &saved {
        Some(saved) => saved.clients.clone(),
        None => config.clients,
    };
    let saved_service_providers = match saved.as_ref().map(|saved| saved.service_providers()) {
        Some(Err(err)) => {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, err));
        }
        Some(Ok(Some(saved))) => Some(saved),
        _ => None,
    };
    for sp in saved_service_providers.unwrap_or(config.nemlogin.service_providers) {
        service_providers.upsert(sp);
    }
    let fixtures = Population {
        citizens: config.identities,
        workforce: config.workforce,
    };
    let broker = Broker::new(config.settings, config.clock, keys, fixtures);
    if let Some(saved) = saved {
        broker.identities.replace_all(saved.citizens);
        // A state file from before MitID Erhverv keeps the fixtures' workforce.
        if let Some(workforce) = saved.workforce {
            broker.identities.replace_workforce(workforce);
        }
        broker.code_cards.import(saved.cards);
    }
    let mut provider = Provider::new(
        Arc::clone(&broker),
        &base_url,
        ClientRegistry::new(clients),
        config.lifetimes,
    );
    provider.backchannel = Backchannel::new(config.backchannel_retry);
    let state = state.map(Arc::new);
    provider.state = state.clone().map(|state| state as Arc<dyn StateKeeper>);
    let provider = web::Data::new(provider);

    let nemlogin_keys = match config.nemlogin.keys {
        Some(keys) => keys,
        None => {
            match saml::idp::IdpKeys::folder(config.state_dir.as_deref()) {
                Ok(folder) => saml::IdpKeySource::KeptIn(folder),
                Err(_) => {
                    tracing::warn!("no per-user folder to keep the NemLog-in keys in: they are new at every start");
                    saml::IdpKeySource::Fresh
                }
            }
        }
    };
    let mut nemlogin = saml::Provider::new(
        Arc::clone(&broker),
        &base_url,
        service_providers,
        nemlogin_keys,
    );
    nemlogin.state = state.map(|state| {
        Arc::new(SaveAll::new(
            state,
            Arc::downgrade(&provider.clone().into_inner()),
        )) as Arc<dyn saml::provider::StateKeeper>
    });
    let nemlogin = web::Data::new(nemlogin);
    // Both personalities hear of every ended session, whoever ended it.
    broker.logouts.subscribe(
        Arc::downgrade(&provider.clone().into_inner()) as std::sync::Weak<dyn LogoutListener>
    );
    broker.logouts.subscribe(
        Arc::downgrade(&nemlogin.clone().into_inner()) as std::sync::Weak<dyn LogoutListener>
    );

    if provider.state.is_some() {
        // The first save makes freshly generated keys survive a restart too.
        let first = provider.clone();
        tokio::spawn(async move {
            if let Err(err) = first.persist().await {
                tracing::error!("cannot save the state: {err}");
            }
        });
    }

    let sweeper = provider.clone();
    let saml_sweeper = nemlogin.clone();
    tokio::spawn(async move {
        // Session expiry is checked every second so idle and absolute limits hold to the
        // second (also after a clock shift); the other housekeeping runs every 30 s.
        let mut tick = tokio::time::interval(StdDuration::from_secs(1));
        for round in 0u64.. {
            tick.tick().await;
            let work = sweeper.clone();
            let saml_work = saml_sweeper.clone();
            // A task per round: should one ever panic, housekeeping still goes on.
            let done = tokio::spawn(async move {
                work.expire_sessions();
                if round % 30 == 0 {
                    work.sweep();
                    saml_work.sweep();
                    work.broker.sweep();
                }
            })
            .await;
            if let Err(err) = done {
                tracing::error!("housekeeping failed this round: {err}");
            }
        }
    });

    let data = provider.clone();
    let admin_protection = web::Data::new(protection);
    let nemlogin_data = nemlogin.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(security_headers::add))
            .app_data(data.clone())
            .app_data(admin_protection.clone())
            .app_data(nemlogin_data.clone())
            .configure(nemlogin::routes)
            .configure(routes)
    })
    .shutdown_timeout(2);
    let mut server = match &config.tls {
        Some(tls) => {
            server.listen_openssl(listener, tls.acceptor().map_err(std::io::Error::other)?)?
        }
        None => server.listen(listener)?,
    };
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    Ok(Running {
        addr,
        base_url,
        keys_origin,
        provider,
        nemlogin,
        server: server.run(),
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let op = paths::ISSUER_PREFIX;
    cfg.route("/", web::get().to(front::index))
        .route(
            &format!("{op}{}", paths::DISCOVERY),
            web::get().to(oidc::discovery),
        )
        .route(&format!("{op}{}", paths::JWKS), web::get().to(oidc::jwks))
        .route(
            &format!("{op}{}", paths::AUTHORIZE),
            web::get().to(oidc::authorize_get),
        )
        .route(
            &format!("{op}{}", paths::AUTHORIZE),
            web::post().to(oidc::authorize_post),
        )
        .route(
            &format!("{op}{}", paths::TOKEN),
            web::post().to(oidc::token),
        )
        .route(
            &format!("{op}{}", paths::USERINFO),
            web::get().to(oidc::userinfo),
        )
        .route(
            &format!("{op}{}", paths::USERINFO),
            web::post().to(oidc::userinfo),
        )
        .route(
            &format!("{op}{}", paths::END_SESSION),
            web::get().to(oidc::end_session_get),
        )
        .route(
            &format!("{op}{}", paths::END_SESSION),
            web::post().to(oidc::end_session_post),
        )
        .route(
            &format!("{op}{}", paths::BACKEND_LOGOUT),
            web::post().to(oidc::backend_logout),
        )
        .route(
            &format!("{op}{}", paths::ERROR_PAGE),
            web::get().to(oidc::error_page),
        )
        .route(
            &format!("{op}{}", paths::LOGOUT_PAGE),
            web::get().to(oidc::logout_page),
        )
        .route(
            &format!("{op}{}", paths::REVOCATION),
            web::post().to(oidc::revocation),
        )
        .route(
            &format!("{op}{}", paths::INTROSPECTION),
            web::post().to(oidc::introspection),
        )
        .route("/login/{id}", web::get().to(login::show))
        .route("/login/{id}/status", web::get().to(login::status))
        .route("/login/{id}/user-id", web::post().to(login::user_id))
        .route("/login/{id}/code", web::post().to(login::code))
        .route("/login/{id}/password", web::post().to(login::password))
        .route("/login/{id}/choose", web::post().to(login::choose))
        .route("/login/{id}/cancel", web::post().to(login::cancel))
        .route("/login/{id}/nemid", web::post().to(login::nemid))
        .route("/login/{id}/idp", web::post().to(login::idp))
        .route("/login/{id}/chip", web::post().to(login::chip))
        .route("/login/{id}/card-key", web::post().to(login::card_key))
        .route(
            "/login/{id}/activate-card",
            web::post().to(login::activate_card),
        )
        .route("/login/{id}/cpr", web::post().to(login::cpr))
        .route(
            "/login/{id}/professional",
            web::post().to(login::professional),
        )
        .route(
            "/login/{id}/return",
            web::post().to(login::return_to_service),
        )
        .route("/dashboard", web::get().to(dashboard::show))
        .route("/dashboard/token", web::post().to(dashboard::sign_in))
        .route(
            "/dashboard/app-requests/{id}/{decision}",
            web::post().to(dashboard::answer_app),
        )
        .route(
            "/dashboard/sessions/{id}/end",
            web::post().to(dashboard::end_session),
        )
        .route("/sim/phone/{user_id}", web::get().to(devices::phone))
        .route(
            "/sim/phone/{user_id}/pending",
            web::get().to(devices::pending),
        )
        .route("/sim/app/{id}", web::get().to(devices::app_request))
        .route("/sim/app/{id}", web::post().to(devices::answer_app_request))
        .route(
            "/sim/code-display/{user_id}",
            web::get().to(devices::code_display),
        )
        .route(
            "/sim/code-card/{user_id}",
            web::get().to(devices::code_card),
        )
        .route(
            "/sim/audio-reader/{user_id}",
            web::get().to(devices::audio_reader),
        )
        .route(
            "/sim/audio-reader/{user_id}/code.wav",
            web::get().to(devices::audio_reader_wav),
        )
        .route(
            &format!("{}/person", register::PREFIX),
            web::get().to(register::person),
        )
        .route(
            &format!("{}/openapi.json", register::PREFIX),
            web::get().to(register::openapi),
        )
        .route(
            crate::protocols::fidelity::LEDGER_PATH,
            web::get().to(fidelity::ledger),
        )
        .route(
            &format!("{}/{{row}}", crate::protocols::fidelity::LEDGER_PATH),
            web::get().to(fidelity::row),
        )
        .configure(fidelity::unemulated_endpoints)
        .route("/static/{name}", web::get().to(assets::serve))
        .service(admin::scope())
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    let language = i18n::page_language(&req, None);
    pages::message(
        StatusCode::NOT_FOUND,
        language,
        i18n::pick(language, "Siden findes ikke", "Page not found"),
        i18n::pick(
            language,
            "Der er intet på denne adresse.",
            "There is nothing at this address.",
        ),
        i18n::pick(
            language,
            "Forsiden viser issuer, testpersoner og klienter.",
            "The front page shows the issuer, test citizens and clients.",
        ),
    )
}

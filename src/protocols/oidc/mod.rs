//! OpenID Connect provider with the NEB personality: issuer `<base>/op` and its paths.

pub mod algorithms;
pub mod authorize;
pub mod backchannel;
pub mod callback;
pub mod client_auth;
pub mod client_keys;
pub mod clients;
pub mod discovery;
pub mod dpop;
pub mod encryption;
pub mod error;
pub mod error_page;
pub mod faults;
pub mod grants;
pub mod limits;
pub mod login;
pub mod logout;
pub mod record;
pub mod replay;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use time::Duration;
use url::Url;

use crate::broker::sessions::EndedSession;
use crate::broker::{Broker, LogoutListener};
use crate::flow::Logins;
use crate::protocols::claims;

pub use authorize::{
    AuthorizeRequest, IdentityHint, Language, Rejection, Simulation, SimulationMode,
};
pub use clients::{Client, ClientRegistry};
pub use error::{ErrorCode, OAuthError};
pub use login::{AuthorizeOutcome, Finished};

/// Endpoint paths below the issuer, as on the real broker.
pub mod paths {
    pub const ISSUER_PREFIX: &str = "/op";
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const JWKS: &str = "/.well-known/openid-configuration/jwks";
    pub const AUTHORIZE: &str = "/connect/authorize";
    pub const TOKEN: &str = "/connect/token";
    pub const USERINFO: &str = "/connect/userinfo";
    pub const END_SESSION: &str = "/connect/endsession";
    pub const REVOCATION: &str = "/connect/revocation";
    pub const INTROSPECTION: &str = "/connect/introspect";
    pub const BACKEND_LOGOUT: &str = "/api/v1/session/logout";
    /// NEB's own error page, where invalid authorization requests end.
    pub const ERROR_PAGE: &str = "/Error";
    /// NEB's logout page, where end session sends a browser without a usable hint.
    pub const LOGOUT_PAGE: &str = "/Account/Logout";
}

#[derive(Clone, Debug)]
pub struct Lifetimes {
    pub code: Duration,
    pub id_token: Duration,
    pub access_token: Duration,
    pub refresh_token: Duration,
    /// Access tokens of the client_credentials grant ("service tokens").
    pub service_token: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code: Duration::seconds(60),
            id_token: Duration::minutes(5),
            access_token: Duration::hours(3),
            refresh_token: Duration::days(30),
            service_token: Duration::hours(1),
        }
    }
}

pub struct Provider {
    pub broker: Arc<Broker>,
    /// Where the server is reached, e.g. `http://127.0.0.1:8088`.
    pub base_url: String,
    pub issuer: String,
    pub clients: ClientRegistry,
    pub logins: Logins<AuthorizeRequest>,
    pub grants: grants::Grants,
    pub lifetimes: Lifetimes,
    pub backchannel: backchannel::Backchannel,
    pub faults: faults::Faults,
    pub recorder: record::Recorder,
    /// Seals the errors NEB's error page (`<issuer>/Error?errorId=`) shows.
    pub error_pages: error_page::ErrorPages,
    /// An issuer the discovery document announces instead of the real one (fault T09).
    pub discovery_issuer: arc_swap::ArcSwapOption<String>,
    /// Where runtime changes are kept across restarts (`--state-dir`).
    pub state: Option<Arc<dyn StateKeeper>>,
    /// The clients' keys fetched from their `jwks_uri`.
    pub client_keys: client_keys::ClientKeys,
    /// `jti` values of client assertions (private_key_jwt) and DPoP proofs seen.
    pub replays: Replays,
}

/// The memories of single-use JWT identifiers, one per kind of JWT.
pub struct Replays {
    pub assertions: replay::ReplayCache,
    pub dpop_proofs: replay::ReplayCache,
}

impl Default for Replays {
    fn default() -> Self {
        // Entries are short-lived (minutes); the bound caps memory under a flood.
        Self {
            assertions: replay::ReplayCache::new(200_000),
            dpop_proofs: replay::ReplayCache::new(200_000),
        }
    }
}

/// A future that a trait object can return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Keeps runtime state across restarts. The provider only asks for a save after a change;
/// what is kept, and where, is decided above the protocols (`persistence::StateDir`).
pub trait StateKeeper: Send + Sync {
    /// Returns once the provider's current state is durable.
    fn save<'a>(&'a self, provider: &'a Provider) -> BoxFuture<'a, Result<(), String>>;
}

impl Provider {
    pub fn new(
        broker: Arc<Broker>,
        base_url: &str,
        clients: ClientRegistry,
        lifetimes: Lifetimes,
    ) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        let max_pending_logins = broker.settings.max_pending_logins;
        Self {
            broker,
            issuer: format!("{base_url}{}", paths::ISSUER_PREFIX),
            base_url,
            clients,
            logins: Logins::with_capacity(max_pending_logins),
            grants: grants::Grants::default(),
            lifetimes,
            backchannel: backchannel::Backchannel::new(backchannel::RetryPolicy::default()),
            faults: faults::Faults::default(),
            recorder: record::Recorder::default(),
            error_pages: error_page::ErrorPages::default(),
            discovery_issuer: arc_swap::ArcSwapOption::empty(),
            state: None,
            client_keys: client_keys::ClientKeys::default(),
            replays: Replays::default(),
        }
    }

    /// The issuer the broker names itself in discovery, tokens and authorization
    /// responses: its own, unless the admin API made it announce another (conformance T09),
    /// which it then does consistently, so that only an RP comparing discovery with the
    /// issuer it was configured with notices.
    pub fn acting_issuer(&self) -> String {
        self.discovery_issuer.load_full().map_or_else(
            || self.issuer.clone(),
            |announced| announced.as_ref().clone(),
        )
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Ends expired sessions and tells their clients, and fixes app requests whose
    /// answer or time-out is due. Runs every second and after every clock change.
    pub fn expire_sessions(&self) {
        let now = self.broker.clock.now();
        self.broker.apps.settle(now);
        for ended in self.broker.sessions.end_expired(now) {
            self.announce_logout(ended);
        }
    }

    /// Tells every personality that a session ended: back-channel logout to its clients
    /// (in the background, as the listener below), `LogoutRequest`s to its SAML service
    /// providers.
    pub fn announce_logout(&self, ended: EndedSession) {
        tracing::info!(session = %ended.session.id, reason = ?ended.reason, "broker session ended");
        self.broker.logouts.announce(&ended);
    }

    /// Saves runtime state when the broker keeps it (`--state-dir`); a no-op otherwise.
    pub async fn persist(&self) -> Result<(), String> {
        match &self.state {
            Some(state) => state.save(self).await,
            None => Ok(()),
        }
    }

    pub fn sweep(&self) {
        let now = self.broker.clock.now();
        let sessions = &self.broker.sessions;
        self.grants
            .forget_sessions(|id| !sessions.is_active(id, now));
        self.logins.sweep(now);
        self.grants.sweep(now);
        self.replays.assertions.sweep(now.unix_timestamp());
        self.replays.dpop_proofs.sweep(now.unix_timestamp());
    }
}

/// Back-channel logout to every client of a session that ended, whoever ended it.
impl LogoutListener for Provider {
    fn session_ended(&self, ended: &EndedSession) {
        // What only the session kept alive goes now, not at the next sweep.
        self.grants.forget_session(ended.session.id);
        self.backchannel.announce(self, ended.clone());
    }
}

/// Adds parameters to a registered URI that may already carry a query.
pub(crate) fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return uri.to_string();
    }
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        // Registered URIs were parsed when registered, so this is unreachable in practice.
        Err(_) => uri.to_string(),
    }
}

impl AuthorizeRequest {
    /// Whether the citizen confirms their CPR number: `ssn` releases it, and `nemid.pid`
    /// needs it to look up the NemID PID of a MitID identity.
    pub fn cpr_entry(&self) -> crate::flow::CprEntry {
        use crate::flow::CprEntry;
        if self.has_scope("ssn") {
            CprEntry::Always
        } else if self.has_scope("nemid.pid") {
            CprEntry::AfterMitId
        } else {
            CprEntry::Never
        }
    }

    /// What this request carries into MitID's transaction, for the claims only the
    /// authenticating client gets: the reference text, passed through as the RP encoded it.
    fn idp_transaction(&self) -> claims::IdpTransaction {
        claims::IdpTransaction {
            reference_text: self
                .mitid
                .texts
                .reference_text
                .as_ref()
                .map(|text| text.encoded().to_string()),
        }
    }
}

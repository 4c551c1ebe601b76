//! The NemLog-in personality on the shared broker: its IdP keys and metadata, its
//! registered service providers, the logins it started and its one SAML endpoint, which
//! tells AuthnRequests, LogoutRequests and LogoutResponses apart as NemLog-in does.
//!
//! Sessions are the broker's: every SP shares one SSO scope, the SSO group
//! [`SSO_GROUP`] (NemLog-in is single sign-on across public services), which OpenID
//! Connect clients may join too; the `SessionIndex` an SP receives is the broker session's
//! ID.

use std::path::PathBuf;
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::OnceCell;

use super::binding::Received;
use super::faults::Faults;
use super::idp::{IdentityProvider, IdpKeyError, IdpKeys};
use super::metadata::idp_metadata;
use super::replay::SeenRequests;
use super::slo::Logouts;
use super::sp::{ServiceProvider, SpRegistry};
use super::vocabulary::Binding;
use crate::broker::sessions::{EndedSession, SsoScope};
use crate::broker::Broker;
use crate::flow::Logins;
use crate::protocols::front::Answer;

use super::authn_request::AuthnRequest;

/// The SSO group every NemLog-in service provider belongs to. OpenID Connect clients in
/// a group of this name share the sessions, so one logout reaches both kinds.
pub const SSO_GROUP: &str = "nemlogin";

/// The broker sessions NemLog-in logins start and reuse.
pub fn sso_scope() -> SsoScope {
    SsoScope::Group(SSO_GROUP.to_string())
}

/// Where the IdP's signing and encryption keys come from.
#[derive(Clone, Debug)]
pub enum IdpKeySource {
    /// Exactly these (the in-process simulator's test keys, or the caller's).
    Given(IdpKeys),
    /// Kept in this folder across restarts, so SPs can pin the certificates; made on
    /// first use.
    KeptIn(PathBuf),
    /// New keys for this run.
    Fresh,
}

/// A future that a trait object can return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Keeps runtime state (the registered SPs with everything else) across restarts; the
/// provider only asks for a save after a change.
pub trait StateKeeper: Send + Sync {
    fn save(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// The IdP once its keys are at hand.
pub struct Ready {
    pub idp: IdentityProvider,
    /// The signed metadata document, made once.
    pub metadata: String,
    /// Where the keys come from, for the log.
    pub keys_origin: String,
}

pub struct Provider {
    pub broker: Arc<Broker>,
    /// Where the server is reached, e.g. `http://127.0.0.1:8088`.
    pub base_url: String,
    pub service_providers: Arc<SpRegistry>,
    pub logins: Logins<AuthnRequest>,
    pub faults: Faults,
    pub(super) seen_requests: SeenRequests,
    /// Each SP's latest assertion ID (what `replayed_assertion` repeats).
    pub(super) last_assertions: DashMap<String, String>,
    pub logouts: Logouts,
    key_source: IdpKeySource,
    ready: OnceCell<Result<Ready, String>>,
    pub state: Option<Arc<dyn StateKeeper>>,
}

/// What the SAML endpoint answers.
#[derive(Debug)]
pub enum Outcome {
    /// Show the MitID pages; the browser gets the login's binding cookie.
    ShowLogin { login_id: String, binding: String },
    /// Send the browser on: a Response to the ACS, a logout message to an SP.
    Browser { answer: Answer, sso: SsoCookie },
    /// The answer to a SOAP request (a LogoutResponse, or a SOAP fault).
    Soap { status: u16, body: String },
    /// Nobody can be answered (an untrusted or unreadable message): a page, never a
    /// redirect.
    Refused {
        status: u16,
        title: &'static str,
        message: String,
    },
}

/// What happens to the browser's SSO cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SsoCookie {
    Keep,
    /// A session began: the browser's new cookie value.
    Set(String),
    /// The browser has no session left.
    Clear,
}

impl Outcome {
    pub(super) fn refused(title: &'static str, message: impl Into<String>) -> Outcome {
        Outcome::Refused {
            status: 400,
            title,
            message: message.into(),
        }
    }
}

impl Provider {
    pub fn new(
        broker: Arc<Broker>,
        base_url: &str,
        service_providers: Arc<SpRegistry>,
        key_source: IdpKeySource,
    ) -> Provider {
        Provider {
            broker,
            base_url: base_url.trim_end_matches('/').to_string(),
            service_providers,
            logins: Logins::default(),
            faults: Faults::default(),
            seen_requests: SeenRequests::default(),
            last_assertions: DashMap::new(),
            logouts: Logouts::default(),
            key_source,
            ready: OnceCell::new(),
            state: None,
        }
    }

    /// The IdP, its keys read or made on first use (off the async threads: making RSA
    /// keys takes a moment), so a broker nobody asks for NemLog-in starts as fast as
    /// before.
    pub async fn ready(&self) -> Result<&Ready, String> {
        let ready = self
            .ready
            .get_or_init(|| async {
                let source = self.key_source.clone();
                let base_url = self.base_url.clone();
                tokio::task::spawn_blocking(move || prepare(source, &base_url))
                    .await
                    .unwrap_or_else(|err| {
                        Err(format!("the NemLog-in keys could not be prepared: {err}"))
                    })
            })
            .await;
        ready.as_ref().map_err(Clone::clone)
    }

    /// The IdP if its keys are ready (or failed) already, without waiting.
    pub(super) fn ready_now(&self) -> Option<&Result<Ready, String>> {
        self.ready.get()
    }

    /// Takes one message off the SAML endpoint: an AuthnRequest (SSO), a LogoutRequest or
    /// a LogoutResponse (SLO). `simulation` is mitid-sim's simulation parameter, if sent.
    pub async fn receive(
        &self,
        received: Received,
        simulation: Option<&str>,
        browser_key: Option<&str>,
    ) -> Outcome {
        let ready = match self.ready().await {
            Ok(ready) => ready,
            Err(err) => {
                return Outcome::Refused {
                    status: 503,
                    title: "NemLog-in er ikke tilgængelig / NemLog-in is not available",
                    message: err,
                }
            }
        };
        let root = roxmltree::Document::parse(&received.xml)
            .map(|doc| doc.root_element().tag_name().name().to_string());
        match (received.binding, root.as_deref()) {
            (Binding::HttpRedirect | Binding::HttpPost, Ok("AuthnRequest")) => {
                self.single_sign_on(ready, &received, simulation, browser_key)
            }
            (_, Ok("LogoutRequest")) => self.logout_request(ready, &received, browser_key).await,
            (Binding::HttpRedirect | Binding::HttpPost, Ok("LogoutResponse")) => {
                self.logout_response(ready, &received, browser_key).await
            }
            (Binding::Soap, _) => Outcome::Soap {
                status: 500,
                body: super::slo::soap_fault("the SOAP binding carries LogoutRequests only here"),
            },
            (_, Ok(other)) => Outcome::refused(
                "Ukendt besked / Unknown message",
                format!("expected an AuthnRequest, LogoutRequest or LogoutResponse, got {other}"),
            ),
            (_, Err(err)) => Outcome::refused(
                "Ugyldig besked / Malformed message",
                format!("the message is not well-formed XML: {err}"),
            ),
        }
    }

    /// Registers an SP, or replaces the one with its entity ID; true when it is new.
    pub fn register_service_provider(&self, sp: ServiceProvider) -> (Arc<ServiceProvider>, bool) {
        let new = self.service_providers.get(&sp.entity_id).is_none();
        (self.service_providers.upsert(sp), new)
    }

    /// Removes an SP with its pending faults; its sessions go on without it.
    pub fn delete_service_provider(&self, entity_id: &str) -> Option<Arc<ServiceProvider>> {
        let removed = self.service_providers.remove(entity_id)?;
        self.faults.clear(entity_id);
        self.last_assertions.remove(entity_id);
        Some(removed)
    }

    /// Tells every personality that a session ended.
    pub(super) fn announce(&self, ended: EndedSession) {
        tracing::info!(session = %ended.session.id, reason = ?ended.reason, "broker session ended");
        self.broker.logouts.announce(&ended);
    }

    /// Saves runtime state when the broker keeps it (`--state-dir`); a no-op otherwise.
    pub async fn persist(&self) -> Result<(), String> {
        match &self.state {
            Some(state) => state.save().await,
            None => Ok(()),
        }
    }

    /// Drops ended logins, remembered request IDs and logouts; called periodically.
    pub fn sweep(&self) {
        let now = self.broker.clock.now();
        self.logins.sweep(now);
        self.seen_requests.sweep(now);
        self.logouts.sweep(now);
    }
}

fn prepare(source: IdpKeySource, base_url: &str) -> Result<Ready, String> {
    let (keys, keys_origin) = match source {
        IdpKeySource::Given(keys) => (keys, "given".to_string()),
        IdpKeySource::Fresh => (
            IdpKeys::generate().map_err(|e| e.to_string())?,
            "fresh for this run".into(),
        ),
        IdpKeySource::KeptIn(folder) => match IdpKeys::load_or_create(&folder) {
            Ok(keys) => (keys, format!("kept in {}", folder.display())),
            // A read-only home (a container, say) must not stop the IdP.
            Err(IdpKeyError::Write(err)) => {
                tracing::warn!("the NemLog-in keys cannot be kept: {err}");
                (
                    IdpKeys::generate().map_err(|e| e.to_string())?,
                    format!("fresh for this run (cannot keep keys: {err})"),
                )
            }
            Err(err) => return Err(err.to_string()),
        },
    };
    let idp = IdentityProvider::new(base_url, keys);
    let metadata = idp_metadata(&idp).map_err(|e| e.to_string())?;
    tracing::info!(keys = %keys_origin, entity_id = %idp.entity_id, "NemLog-in IdP ready");
    Ok(Ready {
        idp,
        metadata,
        keys_origin,
    })
}

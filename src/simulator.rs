//! In-process use: start a broker inside your own `#[tokio::test]`, like wiremock's
//! `MockServer`, on a free loopback port, and steer it with typed methods.
//!
//! ```
//! use mitid_sim::broker::scripts::ScriptedLogin;
//! use mitid_sim::Simulator;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let sim = Simulator::builder().start().await.unwrap();
//! assert!(sim.issuer().ends_with("/op"));
//!
//! // Point the RP under test at `sim.issuer()`; then script an edge case:
//! sim.script_logins("app.approve", ScriptedLogin::Reject, 1).unwrap();
//! sim.advance_clock(time::Duration::hours(2));
//! assert!(sim.citizen("nobody").is_err());
//! sim.stop().await;
//! # }
//! ```

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::web::Data;

use uuid::Uuid;

use crate::authenticators::Method;
use crate::broker::scripts::ScriptedLogin;
use crate::broker::sessions::{EndReason, SsoSession};
use crate::broker::{Clock, KeySet, Settings};
use crate::control::ControlError;
use crate::identity::{self, Identity, Organisation, ProfessionalIdentity, Workforce};
use crate::protocols::oidc::backchannel::Delivery;
use crate::protocols::oidc::backchannel::RetryPolicy;
use crate::protocols::oidc::clients::{self, Client};
use crate::protocols::oidc::faults::TokenFault;
use crate::protocols::oidc::record::Exchange;
use crate::protocols::oidc::{Lifetimes, Provider};
use crate::protocols::saml;
use crate::protocols::saml::credential::Credential;
use crate::protocols::saml::faults::SamlFault;
use crate::protocols::saml::idp::IdpKeys;
use crate::protocols::saml::slo::LogoutDelivery;
use crate::protocols::saml::sp::ServiceProvider;
use crate::web::{self, KeySource};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Fixtures(#[from] crate::fixtures::FixtureError),
    #[error("the workforce does not fit the citizens: {0}")]
    Workforce(String),
    #[error(transparent)]
    Keys(#[from] crate::broker::keys::KeyError),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error(transparent)]
    ServiceProviders(#[from] saml::sp::SpError),
    #[error("the NemLog-in test keys: {0}")]
    NemLoginKeys(#[from] saml::credential::CredentialError),
}

#[derive(Default)]
pub struct SimulatorBuilder {
    users: Option<Vec<Identity>>,
    workforce: Option<Workforce>,
    clients: Option<Vec<Client>>,
    keys: Option<KeySource>,
    settings: Settings,
    lifetimes: Lifetimes,
    clock: Clock,
    backchannel_retry: RetryPolicy,
    state_dir: Option<std::path::PathBuf>,
    service_providers: Option<Vec<ServiceProvider>>,
    nemlogin_keys: Option<IdpKeys>,
    tls: Option<crate::tls::ServerTls>,
}

impl SimulatorBuilder {
    /// Citizens instead of the built-in ones (and, unless `workforce` is given too, no
    /// organisations or professional identities).
    pub fn users(mut self, users: Vec<Identity>) -> Self {
        self.users = Some(users);
        self
    }

    /// Organisations and professional identities (MitID Erhverv) instead of the built-in
    /// ones; their people must be among the citizens.
    pub fn workforce(mut self, workforce: Workforce) -> Self {
        self.workforce = Some(workforce);
        self
    }

    /// Citizens and workforce of one users fixture (`identity::load_population`).
    pub fn population(self, population: identity::Population) -> Self {
        self.users(population.citizens)
            .workforce(population.workforce)
    }

    /// Relying parties instead of the built-in ones.
    pub fn clients(mut self, clients: Vec<Client>) -> Self {
        self.clients = Some(clients);
        self
    }

    /// Signs with these keys. Without a call to `keys`, `fresh_keys` or `keys_kept_in`,
    /// the simulator signs with the test-only keys of `certs/` (public, so never for
    /// anything real): it starts at once, and its `kid`s are the same in every run.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(KeySource::Given(keys));
        self
    }

    /// New keys and certificates for this run (the RSA key follows in the background).
    pub fn fresh_keys(mut self) -> Self {
        self.keys = Some(KeySource::Fresh);
        self
    }

    /// Keys kept in `dir` across runs, as `mitid-sim serve` keeps them in the per-user
    /// folder: generated on the first start, read on later ones.
    pub fn keys_kept_in(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.keys = Some(KeySource::KeptIn(dir.into()));
        self
    }

    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    pub fn lifetimes(mut self, lifetimes: Lifetimes) -> Self {
        self.lifetimes = lifetimes;
        self
    }

    /// How back-channel logout retries (tests shorten the backoff).
    pub fn backchannel_retry(mut self, policy: RetryPolicy) -> Self {
        self.backchannel_retry = policy;
        self
    }

    /// NemLog-in service providers instead of the built-in demo SP.
    pub fn service_providers(mut self, service_providers: Vec<ServiceProvider>) -> Self {
        self.service_providers = Some(service_providers);
        self
    }

    /// The NemLog-in IdP signs and decrypts with these keys. Without a call, it uses the
    /// test-only keys of `certs/` (or, with `state_dir`, keys kept there), so a test never
    /// writes keys to the real home folder.
    pub fn nemlogin_keys(mut self, keys: IdpKeys) -> Self {
        self.nemlogin_keys = Some(keys);
        self
    }

    /// Keeps runtime changes in this folder across restarts.
    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Serves HTTPS with this certificate (e.g. `ServerTls::local`): the issuer is `https://…`
    /// and cookies are `Secure`.
    pub fn tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The most logins in progress at once; beyond it the oldest ends (default 10,000).
    pub fn max_pending_logins(mut self, max: usize) -> Self {
        self.settings.max_pending_logins = max;
        self
    }

    /// A clock the test keeps a handle to, to make time pass.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Starts the broker on 127.0.0.1 with a free port, serving in the background.
    pub async fn start(self) -> Result<Simulator, StartError> {
        let (users, workforce) = match self.users {
            Some(users) => (users, self.workforce.unwrap_or_default()),
            None => {
                let built_in = identity::built_in_population()?;
                (
                    built_in.citizens,
                    self.workforce.unwrap_or(built_in.workforce),
                )
            }
        };
        workforce
            .check(&users)
            .map_err(|problem| StartError::Workforce(problem.message))?;
        let clients = match self.clients {
            Some(clients) => clients,
            None => clients::built_in_clients()?,
        };
        let keys = match self.keys {
            Some(keys) => keys,
            None => KeySource::Given(test_keys()?),
        };
        let nemlogin_keys = match (self.nemlogin_keys, &self.state_dir) {
            (Some(keys), _) => Some(saml::IdpKeySource::Given(keys)),
            (None, Some(_)) => None,
            (None, None) => Some(saml::IdpKeySource::Given(nemlogin_test_keys()?)),
        };
        let service_providers = match self.service_providers {
            Some(service_providers) => service_providers,
            None => saml::sp::built_in_service_providers()?,
        };
        let running = web::start(web::Config {
            host: "127.0.0.1".into(),
            port: 0,
            public_url: None,
            identities: users,
            workforce,
            clients,
            keys,
            settings: self.settings,
            lifetimes: self.lifetimes,
            clock: self.clock,
            workers: Some(2),
            backchannel_retry: self.backchannel_retry,
            admin_token: None,
            state_dir: self.state_dir,
            nemlogin: web::NemLoginConfig {
                service_providers,
                keys: nemlogin_keys,
            },
            tls: self.tls,
        })?;
        let nemlogin = running.nemlogin.clone();
        let (addr, base_url, provider, handle) = running.spawn();
        Ok(Simulator {
            addr,
            base_url,
            provider,
            nemlogin,
            handle,
        })
    }
}

/// The test-only keys of `certs/`, built in.
fn test_keys() -> Result<KeySet, crate::broker::keys::KeyError> {
    KeySet::from_pems(
        include_bytes!("../certs/rs256.pem"),
        include_bytes!("../certs/es256.pem"),
    )
}

/// The test-only NemLog-in IdP keys of `certs/`, built in.
fn nemlogin_test_keys() -> Result<IdpKeys, saml::credential::CredentialError> {
    let signing = include_bytes!("../certs/nemlogin-signing.pem");
    let encryption = include_bytes!("../certs/nemlogin-encryption.pem");
    Ok(IdpKeys {
        signing: Credential::from_pem(signing, signing)?,
        encryption: Credential::from_pem(encryption, encryption)?,
    })
}

pub struct Simulator {
    addr: SocketAddr,
    base_url: String,
    provider: Data<Provider>,
    nemlogin: Data<saml::Provider>,
    handle: ServerHandle,
}

impl Simulator {
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `<base>/op`, the issuer RPs configure.
    pub fn issuer(&self) -> &str {
        &self.provider.issuer
    }

    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The NemLog-in personality.
    pub fn nemlogin(&self) -> &saml::Provider {
        &self.nemlogin
    }

    /// `<base>/nemlogin/idp/saml/3.0/metadata`, the IdP metadata SPs configure.
    pub fn nemlogin_metadata_url(&self) -> String {
        format!("{}{}", self.base_url, saml::idp::METADATA_PATH)
    }

    pub fn clock(&self) -> &Clock {
        &self.provider.broker.clock
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    // ---- control operations: the admin API's, as typed methods ----

    /// Everything about one citizen, with live device state (as `GET /admin/citizens/<id>`).
    pub fn citizen(&self, user_id: &str) -> Result<serde_json::Value, ControlError> {
        self.provider.citizen_report(user_id)
    }

    pub async fn create_citizen(&self, identity: Identity) -> Result<(), ControlError> {
        self.provider.create_citizen(identity)?;
        self.saved().await
    }

    /// With a state directory, changes are on disk before the method returns.
    async fn saved(&self) -> Result<(), ControlError> {
        self.provider.persist().await.map_err(ControlError::Invalid)
    }

    pub async fn replace_citizen(
        &self,
        user_id: &str,
        identity: Identity,
    ) -> Result<(), ControlError> {
        self.provider.replace_citizen(user_id, identity)?;
        self.saved().await
    }

    pub async fn delete_citizen(&self, user_id: &str) -> Result<(), ControlError> {
        self.provider.delete_citizen(user_id).map(|_| ())?;
        self.saved().await
    }

    pub async fn lock_citizen(&self, user_id: &str) -> Result<(), ControlError> {
        self.provider.lock_citizen(user_id).map(|_| ())?;
        self.saved().await
    }

    pub async fn unlock_citizen(&self, user_id: &str) -> Result<(), ControlError> {
        self.provider.unlock_citizen(user_id).map(|_| ())?;
        self.saved().await
    }

    /// Back to the citizens, organisations and professional identities of the start.
    pub async fn reset_citizens(&self) -> Result<(), ControlError> {
        self.provider.reset_citizens();
        self.saved().await
    }

    // ---- MitID Erhverv: organisations and professional identities ----

    /// Adds a test organisation (checked as a fixture's; 409 if the CVR number is taken).
    pub async fn create_organisation(
        &self,
        organisation: Organisation,
    ) -> Result<(), ControlError> {
        self.provider.create_organisation(organisation)?;
        self.saved().await
    }

    /// Deletes an organisation nobody works for.
    pub async fn delete_organisation(&self, cvr: &str) -> Result<(), ControlError> {
        self.provider.delete_organisation(cvr).map(|_| ())?;
        self.saved().await
    }

    /// Adds a professional identity; its organisation and the MitID it logs in with must
    /// exist.
    pub async fn create_professional(
        &self,
        professional: ProfessionalIdentity,
    ) -> Result<(), ControlError> {
        self.provider.create_professional(professional)?;
        self.saved().await
    }

    /// Replaces the professional identity with this persistent professional ID.
    pub async fn replace_professional(
        &self,
        professional: ProfessionalIdentity,
    ) -> Result<(), ControlError> {
        self.provider
            .replace_professional(&professional.uuid.to_string(), professional)?;
        self.saved().await
    }

    pub async fn delete_professional(&self, uuid: Uuid) -> Result<(), ControlError> {
        self.provider
            .delete_professional(&uuid.to_string())
            .map(|_| ())?;
        self.saved().await
    }

    pub async fn lock_professional(&self, uuid: Uuid) -> Result<(), ControlError> {
        self.provider
            .lock_professional(&uuid.to_string())
            .map(|_| ())?;
        self.saved().await
    }

    pub async fn unlock_professional(&self, uuid: Uuid) -> Result<(), ControlError> {
        self.provider
            .unlock_professional(&uuid.to_string())
            .map(|_| ())?;
        self.saved().await
    }

    /// Scripts the next `count` logins of a citizen ("the next login is rejected").
    pub fn script_logins(
        &self,
        user_id: &str,
        behaviour: ScriptedLogin,
        count: usize,
    ) -> Result<(), ControlError> {
        check_count(count)?;
        behaviour.check().map_err(ControlError::Invalid)?;
        let citizen = self
            .provider
            .broker
            .identities
            .by_user_id(user_id)
            .ok_or_else(|| ControlError::NotFound(format!("no citizen has user ID `{user_id}`")))?;
        self.provider
            .broker
            .scripts
            .push(citizen.uuid, behaviour, count);
        Ok(())
    }

    /// Pending MitID app requests, as `(request id, user ID)`.
    pub fn app_requests(&self) -> Vec<(String, String)> {
        let broker = &self.provider.broker;
        let now = broker.clock.now();
        broker
            .identities
            .all()
            .iter()
            .filter_map(|c| {
                broker
                    .apps
                    .pending_for(c.uuid, now)
                    .map(|r| (r.id, c.user_id.to_string()))
            })
            .collect()
    }

    /// The swipe on the citizen's phone (or a rejection).
    pub fn answer_app_request(&self, id: &str, approve: bool) -> Result<(), ControlError> {
        let broker = &self.provider.broker;
        broker
            .apps
            .answer(id, approve, broker.clock.now())
            .map(|_| ())
            .map_err(|err| ControlError::Conflict(err.to_string()))
    }

    /// The code the citizen's code display shows now.
    pub fn current_code(&self, user_id: &str) -> Result<String, ControlError> {
        let broker = &self.provider.broker;
        broker
            .identities
            .by_user_id(user_id)
            .and_then(|c| {
                c.totp_device(Method::CodeDisplay)
                    .map(|d| d.secret.code_at(broker.clock.now()))
            })
            .ok_or_else(|| ControlError::NotFound(format!("`{user_id}` has no code display")))
    }

    /// Registers (or replaces) a relying party.
    pub async fn register_client(&self, client: Client) -> Result<(), ControlError> {
        self.provider.register_client(client)?;
        self.saved().await
    }

    /// Puts a client in an SSO group, or (`None`) gives it sessions of its own.
    pub async fn set_sso_group(
        &self,
        client_id: &str,
        group: Option<&str>,
    ) -> Result<(), ControlError> {
        self.provider
            .set_sso_group(client_id, group.map(str::to_string))?;
        self.saved().await
    }

    pub async fn delete_client(&self, client_id: &str) -> Result<(), ControlError> {
        self.provider.delete_client(client_id).map(|_| ())?;
        self.saved().await
    }

    /// Breaks the client's next `count` id_tokens (or userinfo answers) as `fault` says.
    pub fn inject_fault(
        &self,
        client_id: &str,
        fault: TokenFault,
        count: usize,
    ) -> Result<(), ControlError> {
        check_count(count)?;
        let client = self
            .provider
            .clients
            .get(client_id)
            .ok_or_else(|| ControlError::NotFound(format!("no client `{client_id}`")))?;
        if let Some(why) = fault.unusable_for(&client) {
            return Err(ControlError::Invalid(why));
        }
        self.provider.faults.push(client_id, fault, count);
        Ok(())
    }

    /// New signing keys; the old ones stay published for an hour.
    pub async fn rotate_keys(&self) -> Result<(), ControlError> {
        let broker = &self.provider.broker;
        broker
            .keys
            .rotate(broker.clock.unix())
            .map_err(|err| ControlError::Invalid(err.to_string()))?;
        self.saved().await
    }

    pub fn sessions(&self) -> Vec<SsoSession> {
        self.provider.broker.sessions.all()
    }

    /// Ends a broker session now; its clients get back-channel logout (sent from a task
    /// of the current Tokio runtime, as in `#[tokio::test]`).
    pub fn end_session(&self, neb_sid: Uuid) -> Result<(), ControlError> {
        self.provider
            .end_session_now(neb_sid, EndReason::Admin)
            .map(|_| ())
    }

    /// Moves the broker's clock; sessions that fall due end at once (their back-channel
    /// logout goes out from a task of the current Tokio runtime).
    pub fn advance_clock(&self, by: time::Duration) {
        let _ = self.provider.change_clock(|clock| {
            clock.advance(by);
            Ok::<(), ()>(())
        });
    }

    // ---- the NemLog-in personality ----

    /// Registers (or replaces) a NemLog-in service provider, e.g. one read with
    /// `ServiceProvider::from_metadata`.
    pub async fn register_service_provider(
        &self,
        service_provider: ServiceProvider,
    ) -> Result<(), ControlError> {
        self.nemlogin.register_service_provider(service_provider);
        self.nemlogin_saved().await
    }

    pub async fn delete_service_provider(&self, entity_id: &str) -> Result<(), ControlError> {
        self.nemlogin
            .delete_service_provider(entity_id)
            .ok_or_else(|| {
                ControlError::NotFound(format!("no service provider has entity ID `{entity_id}`"))
            })?;
        self.nemlogin_saved().await
    }

    async fn nemlogin_saved(&self) -> Result<(), ControlError> {
        self.nemlogin.persist().await.map_err(ControlError::Invalid)
    }

    /// Breaks the SP's next `count` successful responses as `fault` says.
    pub fn inject_saml_fault(
        &self,
        entity_id: &str,
        fault: SamlFault,
        count: usize,
    ) -> Result<(), ControlError> {
        check_count(count)?;
        if self.nemlogin.service_providers.get(entity_id).is_none() {
            return Err(ControlError::NotFound(format!(
                "no service provider has entity ID `{entity_id}`"
            )));
        }
        self.nemlogin.faults.push(entity_id, fault, count);
        Ok(())
    }

    /// Every LogoutRequest the NemLog-in IdP sent an SP (or could not send).
    pub fn saml_logouts(&self) -> Vec<LogoutDelivery> {
        self.nemlogin.logouts.deliveries()
    }

    /// What a client (or every client) sent the broker.
    pub fn record(&self, client_id: Option<&str>) -> Vec<Exchange> {
        self.provider.recorder.list(client_id, None)
    }

    /// Every back-channel logout delivery so far.
    pub fn logouts(&self) -> Vec<Delivery> {
        self.provider.backchannel.deliveries()
    }
}

/// The most logins or responses one script or fault may cover (as the admin API).
pub const MAX_COUNT: usize = 1_000;

fn check_count(count: usize) -> Result<(), ControlError> {
    if (1..=MAX_COUNT).contains(&count) {
        Ok(())
    } else {
        Err(ControlError::Invalid(format!(
            "count must be 1 to {MAX_COUNT}"
        )))
    }
}

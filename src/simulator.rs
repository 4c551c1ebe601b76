//! In-process use: start a broker inside your own `#[tokio::test]`, like wiremock's
//! `MockServer`, on a free loopback port.

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::web::Data;

use crate::broker::{Clock, KeySet, Settings};
use crate::identity::{self, Identity};
use crate::protocols::oidc::backchannel::RetryPolicy;
use crate::protocols::oidc::clients::{self, Client};
use crate::protocols::oidc::{Lifetimes, Provider};
use crate::web;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Fixtures(#[from] crate::fixtures::FixtureError),
    #[error(transparent)]
    Keys(#[from] crate::broker::keys::KeyError),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

#[derive(Default)]
pub struct SimulatorBuilder {
    users: Option<Vec<Identity>>,
    clients: Option<Vec<Client>>,
    keys: Option<KeySet>,
    settings: Settings,
    lifetimes: Lifetimes,
    clock: Clock,
    backchannel_retry: RetryPolicy,
    state_dir: Option<std::path::PathBuf>,
}

impl SimulatorBuilder {
    /// Citizens instead of the built-in ones.
    pub fn users(mut self, users: Vec<Identity>) -> Self {
        self.users = Some(users);
        self
    }

    /// Relying parties instead of the built-in ones.
    pub fn clients(mut self, clients: Vec<Client>) -> Self {
        self.clients = Some(clients);
        self
    }

    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(keys);
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

    /// Keeps runtime changes in this folder across restarts.
    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// A clock the test keeps a handle to, to make time pass.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Starts the broker on 127.0.0.1 with a free port, serving in the background.
    pub async fn start(self) -> Result<Simulator, StartError> {
        let users = match self.users {
            Some(users) => users,
            None => identity::built_in_users()?,
        };
        let clients = match self.clients {
            Some(clients) => clients,
            None => clients::built_in_clients()?,
        };
        let keys = match self.keys {
            Some(keys) => keys,
            None => KeySet::generate()?,
        };
        let running = web::start(web::Config {
            host: "127.0.0.1".into(),
            port: 0,
            public_url: None,
            identities: users,
            clients,
            keys,
            settings: self.settings,
            lifetimes: self.lifetimes,
            clock: self.clock,
            workers: Some(2),
            backchannel_retry: self.backchannel_retry,
            admin_token: None,
            state_dir: self.state_dir,
        })?;
        let (addr, base_url, provider, handle) = running.spawn();
        Ok(Simulator {
            addr,
            base_url,
            provider,
            handle,
        })
    }
}

pub struct Simulator {
    addr: SocketAddr,
    base_url: String,
    provider: Data<Provider>,
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

    pub fn clock(&self) -> &Clock {
        &self.provider.broker.clock
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

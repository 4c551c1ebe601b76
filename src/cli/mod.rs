//! Subcommands: `serve`, `certs`, the offline readers of the fixtures (`users list|show|
//! generate`, `device code|audio|card|key`) and the verbs that drive a running broker
//! through its admin API (`users`, `organisations`, `professionals`, `device`, `clients`,
//! `sessions`, `keys`, `clock`, `record`; see `server.rs`).

mod apps;
mod certs;
mod citizens;
mod clients;
mod clock;
mod conformance;
mod demo;
mod device;
mod docs;
mod files;
mod keys;
mod output;
mod record;
mod serve;
mod server;
mod service_providers;
mod sessions;
mod table;
mod users;
mod workforce;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use mitid_sim::broker::clock::{parse_start_offset, Clock};
use mitid_sim::identity::{self, Identity};
use mitid_sim::protocols::oidc::clients::{self as fixture_clients, Client};

/// Default port of `mitid-sim serve`.
pub const DEFAULT_PORT: u16 = 8088;

#[derive(Parser)]
#[command(
    name = "mitid-sim",
    version,
    about = "A simulator of the Danish MitID/NemID login brokers (NEB's OpenID Connect, NemLog-in's OIOSAML 3.0)",
    long_about = "A self-hostable simulator of the Danish MitID/NemID login brokers: OpenID Connect \
with the endpoints, claims and errors of the Nets eID Broker, NemLog-in's OIOSAML 3.0 identity \
provider for SAML service providers, MitID login pages with simulated devices, built-in test \
citizens, an admin API, and a conformance kit that proves a relying party handles login, logout \
and session expiry correctly. For test use only: every citizen is fictitious."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct FixtureArgs {
    /// Citizens to load instead of the built-in ones (TOML, see fixtures/users.toml).
    #[arg(long, value_name = "FILE", env = "MITID_SIM_USERS")]
    users: Option<PathBuf>,
}

impl FixtureArgs {
    pub fn load(&self) -> Result<Vec<Identity>, String> {
        self.load_population().map(|population| population.citizens)
    }

    /// The citizens with the file's organisations and professional identities.
    pub fn load_population(&self) -> Result<identity::Population, String> {
        match &self.users {
            Some(path) => identity::load_population(path),
            None => identity::built_in_population(),
        }
        .map_err(|e| e.to_string())
    }

    pub fn find(&self, user: &str) -> Result<Identity, String> {
        self.load()?
            .into_iter()
            .find(|i| i.user_id.key() == user.to_lowercase())
            .ok_or_else(|| format!("no citizen has user ID `{user}` (see `mitid-sim users list`)"))
    }
}

#[derive(clap::Args, Clone)]
pub struct ClockArgs {
    /// Shift the broker's clock, e.g. 90s, -5m, 2h, 1d.
    #[arg(long, value_name = "DURATION", default_value = "0s", allow_hyphen_values = true, value_parser = parse_start_offset)]
    clock_offset: time::Duration,
}

impl ClockArgs {
    pub fn clock(&self) -> Clock {
        Clock::with_offset(self.clock_offset)
    }

    /// The offset as given, in seconds (`0s`, `-300s`).
    pub fn offset_text(&self) -> String {
        format!("{}s", self.clock_offset.whole_seconds())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker.
    Serve(serve::ServeArgs),
    /// Run the broker and Min Side, a demo service to log in to, on a second port.
    Demo(demo::DemoArgs),
    /// Citizens: list, show and generate fixtures; create, change, lock and script them
    /// on a running broker.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// MitID Erhverv's test organisations: list and show (fixtures, or a running broker
    /// with --server); create, change and delete them on a running broker.
    Organisations {
        #[command(subcommand)]
        command: workforce::OrganisationsCommand,
    },
    /// MitID Erhverv's professional identities: list and show (fixtures, or a running
    /// broker with --server); create, change, lock and delete them on a running broker.
    Professionals {
        #[command(subcommand)]
        command: workforce::ProfessionalsCommand,
    },
    /// A citizen's simulated devices: code display, audio code reader, code card, and a
    /// running broker's app requests.
    Device {
        #[command(subcommand)]
        command: device::DeviceCommand,
    },
    /// Relying parties of a running broker: register, remove, inject token faults.
    Clients {
        #[command(subcommand)]
        command: clients::ClientsCommand,
    },
    /// NemLog-in service providers (SAML SPs) of a running broker: register by metadata,
    /// remove, inject response faults; the IdP's logout record.
    #[command(name = "service-providers", visible_alias = "sps")]
    ServiceProviders {
        #[command(subcommand)]
        command: service_providers::ServiceProvidersCommand,
    },
    /// SSO sessions of a running broker: list, end, expire; back-channel logouts.
    Sessions {
        #[command(subcommand)]
        command: sessions::SessionsCommand,
    },
    /// Signing keys of a running broker: list, rotate.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// The clock of a running broker: show, shift, set, reset.
    Clock {
        #[command(subcommand)]
        command: clock::ClockCommand,
    },
    /// What clients sent a running broker, and its back-channel logout deliveries.
    Record(record::RecordArgs),
    /// The RP conformance kit: drive your relying party through the catalogue.
    Conformance {
        #[command(subcommand)]
        command: conformance::ConformanceCommand,
    },
    /// Signing keys and certificates on disk: generate them, export one for pinning.
    Certs {
        #[command(subcommand)]
        command: certs::CertsCommand,
    },
    /// Print shell completions (bash, zsh, fish, powershell, elvish); see the README for
    /// where to install them.
    Completions(docs::CompletionsArgs),
    /// Print the manual page (roff), or write one per subcommand with --out DIR.
    Man(docs::ManArgs),
}

pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Users { command } => users::run(command),
        Command::Organisations { command } => workforce::run_organisations(command),
        Command::Professionals { command } => workforce::run_professionals(command),
        Command::Device { command } => device::run(command),
        Command::Clients { command } => clients::run(command),
        Command::ServiceProviders { command } => service_providers::run(command),
        Command::Sessions { command } => sessions::run(command),
        Command::Keys { command } => keys::run(command),
        Command::Clock { command } => clock::run(command),
        Command::Record(args) => record::run(args),
        Command::Conformance { command } => conformance::run(command),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
        Command::Certs { command } => certs::run(command),
    }
}

pub fn load_clients(path: Option<&Path>) -> Result<Vec<Client>, String> {
    match path {
        Some(path) => fixture_clients::load_clients(path),
        None => fixture_clients::built_in_clients(),
    }
    .map_err(|e| e.to_string())
}

/// Runs one future on a small runtime, for the subcommands that talk HTTP or wait for keys.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime starts")
        .block_on(future)
}

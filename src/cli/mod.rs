//! Subcommands: `serve`, `users`, `device`, `certs`.

mod device;
mod serve;
mod table;
mod users;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use mitid_sim::broker::clock::{parse_offset, Clock};
use mitid_sim::identity::{self, Identity};
use mitid_sim::protocols::oidc::clients::{self, Client};

/// Default port of `mitid-sim serve`.
pub const DEFAULT_PORT: u16 = 8088;

#[derive(Parser)]
#[command(
    name = "mitid-sim",
    version,
    about = "A simulator of the Danish MitID/NemID login broker (OpenID Connect)"
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
        match &self.users {
            Some(path) => identity::load_users(path),
            None => identity::built_in_users(),
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
    #[arg(long, value_name = "DURATION", default_value = "0s", allow_hyphen_values = true, value_parser = parse_offset)]
    clock_offset: time::Duration,
}

impl ClockArgs {
    pub fn clock(&self) -> Clock {
        Clock::with_offset(self.clock_offset)
    }
}

/// A running broker to ask instead of the fixture files.
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// Base URL of a running broker (e.g. http://127.0.0.1:8088) to read live state from.
    #[arg(long, value_name = "URL", env = "MITID_SIM_SERVER")]
    server: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker.
    Serve(serve::ServeArgs),
    /// Inspect, generate and unlock citizens.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Read a citizen's simulated device: code display, audio code reader, code card.
    Device {
        #[command(subcommand)]
        command: device::DeviceCommand,
    },
    /// Manage signing keys.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
}

#[derive(Subcommand)]
enum CertsCommand {
    /// Write fresh es256.pem and rs256.pem for `serve --keys`.
    Generate {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Users { command } => users::run(command),
        Command::Device { command } => device::run(command),
        Command::Certs {
            command: CertsCommand::Generate { out },
        } => {
            let keys = mitid_sim::broker::KeySet::generate().map_err(|e| e.to_string())?;
            block_on(keys.save(&out)).map_err(|e| e.to_string())?;
            println!(
                "wrote {} and {}",
                out.join("es256.pem").display(),
                out.join("rs256.pem").display()
            );
            Ok(())
        }
    }
}

pub fn load_clients(path: Option<&Path>) -> Result<Vec<Client>, String> {
    match path {
        Some(path) => clients::load_clients(path),
        None => clients::built_in_clients(),
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

/// Sends an admin API request to a running broker and returns its JSON.
pub fn admin_call(
    server: &str,
    method: reqwest::Method,
    path: &str,
) -> Result<serde_json::Value, String> {
    let url = format!("{}/admin{path}", server.trim_end_matches('/'));
    block_on(async {
        let response = reqwest::Client::new()
            .request(method, &url)
            .send()
            .await
            .map_err(|e| format!("cannot reach the broker at {url}: {e}"))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("{url} answered {status} without JSON: {e}"))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!(
                "{url} answered {status}: {}",
                body["message"].as_str().unwrap_or("no message")
            ))
        }
    })
}

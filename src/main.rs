//! The `mitid-sim` command line: parse arguments, load fixtures, start or query the broker.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mitid_sim::broker::clock::{parse_offset, Clock};
use mitid_sim::broker::{KeySet, Settings};
use mitid_sim::identity::{self, Identity};
use mitid_sim::protocols::oidc::clients::{self, Client};
use mitid_sim::protocols::oidc::Lifetimes;
use mitid_sim::web;

/// Default port of `mitid-sim serve`.
const DEFAULT_PORT: u16 = 8088;

#[derive(Parser)]
#[command(
    name = "mitid-sim",
    version,
    about = "A simulator of the Danish MitID/NemID login broker (OpenID Connect)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct FixtureArgs {
    /// Citizens to load instead of the built-in ones (TOML, see fixtures/users.toml).
    #[arg(long, value_name = "FILE", env = "MITID_SIM_USERS")]
    users: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
struct ClockArgs {
    /// Shift the broker's clock, e.g. 90s, -5m, 2h, 1d.
    #[arg(long, value_name = "DURATION", default_value = "0s", allow_hyphen_values = true, value_parser = parse_offset)]
    clock_offset: time::Duration,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker.
    Serve {
        /// Address to bind. Loopback by default: the simulator is not for networks.
        #[arg(long, default_value = "127.0.0.1", env = "MITID_SIM_HOST")]
        host: String,
        /// Port to bind; 0 picks a free one.
        #[arg(long, default_value_t = DEFAULT_PORT, env = "MITID_SIM_PORT")]
        port: u16,
        /// The URL RPs and browsers use, if not http://<host>:<port> (e.g. behind a proxy).
        #[arg(long, value_name = "URL", env = "MITID_SIM_PUBLIC_URL")]
        public_url: Option<String>,
        #[command(flatten)]
        fixtures: FixtureArgs,
        /// Relying parties to register instead of the built-in ones (TOML, see fixtures/clients.toml).
        #[arg(long, value_name = "FILE", env = "MITID_SIM_CLIENTS")]
        clients: Option<PathBuf>,
        /// Folder with es256.pem and rs256.pem to sign with, instead of fresh keys.
        #[arg(long, value_name = "DIR", env = "MITID_SIM_KEYS")]
        keys: Option<PathBuf>,
        /// How long an app request waits for the swipe.
        #[arg(long, default_value = "2m", value_parser = parse_offset)]
        app_timeout: time::Duration,
        /// How long three wrong code-display codes block the device.
        #[arg(long, default_value = "15m", value_parser = parse_offset)]
        code_block: time::Duration,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Inspect the citizens.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Read a citizen's simulated device.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Manage signing keys.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// List the citizens with their authenticators and purpose.
    List {
        #[command(flatten)]
        fixtures: FixtureArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Print the code the citizen's code display shows now.
    Code {
        /// The citizen's user ID.
        user: String,
        #[command(flatten)]
        fixtures: FixtureArgs,
        #[command(flatten)]
        clock: ClockArgs,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mitid-sim: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            host,
            port,
            public_url,
            fixtures,
            clients,
            keys,
            app_timeout,
            code_block,
            clock,
        } => {
            let identities = load_users(&fixtures)?;
            let clients = load_clients(clients.as_deref())?;
            let keys = match keys {
                Some(dir) => KeySet::load(&dir).map_err(|e| e.to_string())?,
                None => KeySet::generate().map_err(|e| e.to_string())?,
            };
            let settings = Settings {
                app_timeout,
                code_display_block: code_block,
                ..Settings::default()
            };
            serve(web::Config {
                host,
                port,
                public_url,
                identities,
                clients,
                keys,
                settings,
                lifetimes: Lifetimes::default(),
                clock: Clock::with_offset(clock.clock_offset),
                workers: None,
            })
        }
        Command::Users {
            command: UsersCommand::List { fixtures, json },
        } => {
            let identities = load_users(&fixtures)?;
            if json {
                let rows: Vec<_> = identities.iter().map(user_json).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", citizen_table(&identities));
            }
            Ok(())
        }
        Command::Device {
            command:
                DeviceCommand::Code {
                    user,
                    fixtures,
                    clock,
                },
        } => {
            let identities = load_users(&fixtures)?;
            let citizen = find_user(&identities, &user)?;
            let device = citizen
                .code_display
                .as_ref()
                .ok_or_else(|| format!("`{user}` has no code display"))?;
            let now = Clock::with_offset(clock.clock_offset).now();
            println!("{}", device.secret.code_at(now));
            eprintln!(
                "(valid for {} more seconds)",
                device.secret.seconds_left(now)
            );
            Ok(())
        }
        Command::Certs {
            command: CertsCommand::Generate { out },
        } => {
            let keys = KeySet::generate().map_err(|e| e.to_string())?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(keys.save(&out))
                .map_err(|e| e.to_string())?;
            println!(
                "wrote {} and {}",
                out.join("es256.pem").display(),
                out.join("rs256.pem").display()
            );
            Ok(())
        }
    }
}

fn load_users(args: &FixtureArgs) -> Result<Vec<Identity>, String> {
    match &args.users {
        Some(path) => identity::load_users(path),
        None => identity::built_in_users(),
    }
    .map_err(|e| e.to_string())
}

fn load_clients(path: Option<&Path>) -> Result<Vec<Client>, String> {
    match path {
        Some(path) => clients::load_clients(path),
        None => clients::built_in_clients(),
    }
    .map_err(|e| e.to_string())
}

fn find_user<'a>(identities: &'a [Identity], user: &str) -> Result<&'a Identity, String> {
    identities
        .iter()
        .find(|i| i.user_id.key() == user.to_lowercase())
        .ok_or_else(|| format!("no citizen has user ID `{user}` (see `mitid-sim users list`)"))
}

fn methods(identity: &Identity) -> String {
    let methods: Vec<_> = identity.methods().iter().map(|m| m.slug()).collect();
    if methods.is_empty() {
        "-".into()
    } else {
        methods.join(", ")
    }
}

fn user_json(identity: &Identity) -> serde_json::Value {
    serde_json::json!({
        "user_id": identity.user_id.as_str(),
        "name": identity.name,
        "uuid": identity.uuid,
        "cpr": identity.cpr.map(|c| c.to_string()),
        "status": identity.status,
        "ial": identity.ial,
        "authenticators": identity.methods(),
        "purpose": identity.purpose,
    })
}

fn citizen_table(identities: &[Identity]) -> String {
    let rows: Vec<[String; 4]> = identities
        .iter()
        .map(|i| {
            [
                i.user_id.to_string(),
                i.name.clone(),
                methods(i),
                i.purpose.clone(),
            ]
        })
        .collect();
    let headers = ["USER ID", "NAME", "AUTHENTICATORS", "PURPOSE"];
    let width = |col: usize, cap: usize| {
        rows.iter()
            .map(|r| r[col].chars().count())
            .chain([headers[col].len()])
            .max()
            .unwrap_or(0)
            .min(cap)
    };
    let widths = [width(0, 20), width(1, 32), width(2, 22)];
    let clip = |text: &str, cap: usize| {
        if text.chars().count() > cap {
            format!("{}…", text.chars().take(cap - 1).collect::<String>())
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        out.push_str(&format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}\n",
            clip(cells[0], widths[0]),
            clip(cells[1], widths[1]),
            clip(cells[2], widths[2]),
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        ));
    };
    line(headers);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
    out
}

fn serve(config: web::Config) -> Result<(), String> {
    let citizens = citizen_table(&config.identities);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let requested = format!("{}:{}", config.host, config.port);
        let running =
            web::start(config).map_err(|e| format!("cannot listen on {requested}: {e}"))?;
        println!("mitid-sim is running (NEB personality)");
        println!("  issuer     {}", running.issuer());
        println!(
            "  discovery  {}/.well-known/openid-configuration",
            running.issuer()
        );
        println!("  front page {}/", running.base_url);
        println!();
        print!("{citizens}");
        println!();
        println!("Press Ctrl-C to stop.");
        running
            .run_until_stopped()
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })
}

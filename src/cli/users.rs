//! `mitid-sim users ...`: the persona catalogue.

use std::path::PathBuf;

use clap::Subcommand;
use mitid_sim::authenticators::{AppRegistry, CodeCards, CodeDisplayGuard};
use mitid_sim::broker::report::{citizen_report, Devices};
use mitid_sim::identity::generate::{generate_users, GenerateOptions};
use mitid_sim::identity::Identity;

use super::{table, ClockArgs, FixtureArgs, ServerArgs};

#[derive(Subcommand)]
pub enum UsersCommand {
    /// List the citizens with their authenticators and purpose.
    List {
        #[command(flatten)]
        fixtures: FixtureArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one citizen, with device state (live with --server).
    Show {
        /// The citizen's user ID.
        user: String,
        #[command(flatten)]
        fixtures: FixtureArgs,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Lift a running broker's code-display blocks for a citizen.
    Unlock {
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Write N fictitious, valid, varied citizens as fixture TOML.
    Generate {
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// The same seed gives the same citizens.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write to a file instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub fn run(command: UsersCommand) -> Result<(), String> {
    match command {
        UsersCommand::List { fixtures, json } => {
            let identities = fixtures.load()?;
            if json {
                let rows: Vec<_> = identities.iter().map(summary_json).collect();
                println!("{}", pretty(&rows)?);
            } else {
                print!("{}", citizen_table(&identities));
            }
            Ok(())
        }
        UsersCommand::Show {
            user,
            fixtures,
            server,
            clock,
        } => {
            let report = match &server.server {
                Some(url) => {
                    super::admin_call(url, reqwest::Method::GET, &format!("/citizens/{user}"))?
                }
                None => {
                    let citizen = fixtures.find(&user)?;
                    let (apps, cards) = (AppRegistry::default(), CodeCards::default());
                    let guard = CodeDisplayGuard::new(time::Duration::ZERO);
                    let devices = Devices {
                        apps: &apps,
                        code_displays: &guard,
                        code_cards: &cards,
                    };
                    citizen_report(&citizen, &devices, clock.clock().now())
                }
            };
            println!("{}", pretty(&report)?);
            Ok(())
        }
        UsersCommand::Unlock { user, server } => {
            let url = server.server.ok_or(
                "unlock changes a running broker: give --server URL (or MITID_SIM_SERVER)",
            )?;
            super::admin_call(
                &url,
                reqwest::Method::POST,
                &format!("/citizens/{user}/unlock"),
            )?;
            println!("unlocked {user}");
            Ok(())
        }
        UsersCommand::Generate { count, seed, out } => generate(count, seed, out),
    }
}

fn generate(count: usize, seed: u64, out: Option<PathBuf>) -> Result<(), String> {
    let today = mitid_sim::broker::Clock::default().now().date();
    let text = generate_users(&GenerateOptions { count, seed, today });
    match out {
        Some(path) => {
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "wrote {count} citizens to {} (load them with --users)",
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn pretty<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

fn methods(identity: &Identity) -> String {
    let methods: Vec<_> = identity.all_methods().iter().map(|m| m.slug()).collect();
    if methods.is_empty() {
        "-".into()
    } else {
        methods.join(", ")
    }
}

fn summary_json(identity: &Identity) -> serde_json::Value {
    serde_json::json!({
        "user_id": identity.user_id.as_str(),
        "name": identity.name,
        "uuid": identity.uuid,
        "cpr": identity.cpr.map(|c| c.to_string()),
        "status": identity.status,
        "ial": identity.ial,
        "authenticators": identity.all_methods(),
        "purpose": identity.purpose,
    })
}

pub fn citizen_table(identities: &[Identity]) -> String {
    let rows: Vec<Vec<String>> = identities
        .iter()
        .map(|i| {
            vec![
                i.user_id.to_string(),
                i.name.clone(),
                methods(i),
                i.purpose.clone(),
            ]
        })
        .collect();
    table::render(
        &["USER ID", "NAME", "AUTHENTICATORS", "PURPOSE"],
        &rows,
        &[20, 32, 40],
    )
}

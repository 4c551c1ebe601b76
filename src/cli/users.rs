//! `mitid-sim users ...`: the persona catalogue.

use std::path::PathBuf;

use clap::Subcommand;
use mitid_sim::authenticators::{AppRegistry, CodeCards, CodeDisplayGuard};
use mitid_sim::broker::report::{citizen_report, Devices};
use mitid_sim::identity::generate::{generate_users, GenerateOptions};
use mitid_sim::identity::Identity;

use super::citizens::{self, CitizenCommand};
use super::output::pretty;
use super::server::LiveArgs;
use super::{table, ClockArgs, FixtureArgs};

#[derive(Subcommand)]
pub enum UsersCommand {
    /// List the citizens with their authenticators and purpose (a running broker's with
    /// --server, else the fixtures').
    List {
        #[command(flatten)]
        fixtures: FixtureArgs,
        #[command(flatten)]
        server: LiveArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one citizen, with device state (live with --server, else from the
    /// fixtures with fresh devices).
    Show {
        /// The citizen's user ID.
        user: String,
        #[command(flatten)]
        fixtures: FixtureArgs,
        #[command(flatten)]
        server: LiveArgs,
        #[command(flatten)]
        clock: ClockArgs,
    },
    #[command(flatten)]
    Live(CitizenCommand),
    /// Write N fictitious, valid, varied citizens as fixture TOML.
    Generate {
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// The same seed gives the same citizens.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also N test organisations (MitID Erhverv) with professional identities for some
        /// citizens and a few employees without CPR; the citizens stay as without it.
        #[arg(long, default_value_t = 0, value_name = "N")]
        organisations: usize,
        /// Write to a file instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub fn run(command: UsersCommand) -> Result<(), String> {
    match command {
        UsersCommand::List {
            fixtures,
            server,
            json,
        } => {
            if let Some(server) = server.connect()? {
                let reports = server.get("/citizens")?;
                if json {
                    println!("{}", pretty(&reports)?);
                } else {
                    let reports = reports.as_array().cloned().unwrap_or_default();
                    print!("{}", citizens::live_table(&reports));
                }
                return Ok(());
            }
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
            let report = match server.connect()? {
                Some(server) => {
                    server.get(&format!("/citizens/{}", super::server::segment(&user)))?
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
        UsersCommand::Live(command) => citizens::run(command),
        UsersCommand::Generate {
            count,
            seed,
            organisations,
            out,
        } => generate(count, seed, organisations, out),
    }
}

fn generate(
    count: usize,
    seed: u64,
    organisations: usize,
    out: Option<PathBuf>,
) -> Result<(), String> {
    let today = mitid_sim::broker::Clock::default().now().date();
    let text = generate_users(&GenerateOptions {
        count,
        seed,
        today,
        organisations,
    });
    match out {
        Some(path) => {
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "wrote {count} citizens{} to {} (load them with --users)",
                match organisations {
                    0 => String::new(),
                    n => format!(" and {n} organisations"),
                },
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
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

//! `mitid-sim organisations ...` and `mitid-sim professionals ...`: MitID Erhverv's test
//! organisations and professional identities, read from the fixtures offline or from a
//! running broker (`--server`), and changed on a running broker through its admin API.

use std::path::PathBuf;

use clap::Subcommand;
use mitid_sim::identity::{Cvr, Population};
use reqwest::Method;
use serde_json::Value;

use super::citizens::{merge_patch, parse_change};
use super::files::read_object;
use super::output::{cell, pretty};
use super::server::{segment, LiveArgs, ServerArgs};
use super::{table, FixtureArgs};

/// How to reach what a listing shows: the fixtures offline, or a running broker.
#[derive(clap::Args)]
pub struct Listing {
    #[command(flatten)]
    fixtures: FixtureArgs,
    #[command(flatten)]
    server: LiveArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl Listing {
    /// The answer of `GET /admin<path>` on a running broker, else `offline()`.
    fn read(
        &self,
        path: &str,
        offline: impl FnOnce(&Population) -> Result<Value, String>,
    ) -> Result<Value, String> {
        match self.server.connect()? {
            Some(server) => server.get(path),
            None => offline(&self.fixtures.load_population()?),
        }
    }

    fn print(&self, value: &Value, human: impl FnOnce(&Value) -> String) -> Result<(), String> {
        if self.json {
            println!("{}", pretty(value)?);
        } else {
            print!("{}", human(value));
        }
        Ok(())
    }
}

/// A change to send a running broker: a file, or KEY=VALUE fields.
#[derive(Subcommand)]
pub enum Change<Key: clap::Args> {
    /// Add one to a running broker.
    Create {
        /// A TOML file with exactly one table of the fixtures/users.toml format, or a .json
        /// file with the object; `-` reads standard input.
        #[arg(long, short = 'f', value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Replace one on a running broker with the one in a file.
    Update {
        #[command(flatten)]
        key: Key,
        #[arg(long, short = 'f', value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Change some fields on a running broker (a JSON merge patch; VALUE is JSON when it
    /// parses, else text; a dotted KEY reaches into a table; null removes a field).
    Set {
        #[command(flatten)]
        key: Key,
        #[arg(required = true, value_name = "KEY=VALUE", value_parser = parse_change)]
        changes: Vec<(String, Value)>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove one from a running broker.
    Delete {
        #[command(flatten)]
        key: Key,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(clap::Args)]
pub struct CvrKey {
    /// The organisation's CVR number.
    cvr: String,
}

#[derive(clap::Args)]
pub struct UuidKey {
    /// The persistent professional ID.
    uuid: String,
}

#[derive(Subcommand)]
pub enum OrganisationsCommand {
    /// The test organisations (the fixtures', or a running broker's with --server).
    List {
        #[command(flatten)]
        listing: Listing,
    },
    /// One organisation.
    Show {
        cvr: String,
        #[command(flatten)]
        listing: Listing,
    },
    #[command(flatten)]
    Change(Change<CvrKey>),
}

#[derive(Subcommand)]
pub enum ProfessionalsCommand {
    /// The professional identities (the fixtures', or a running broker's with --server).
    List {
        /// Only those of this organisation.
        #[arg(long, value_name = "CVR")]
        cvr: Option<String>,
        #[command(flatten)]
        listing: Listing,
    },
    /// One professional identity.
    Show {
        uuid: String,
        #[command(flatten)]
        listing: Listing,
    },
    /// Give a professional identity of a running broker the status `locked`.
    Lock {
        uuid: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Lift a `locked` status of a professional identity on a running broker.
    Unlock {
        uuid: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    #[command(flatten)]
    Change(Change<UuidKey>),
}

pub fn run_organisations(command: OrganisationsCommand) -> Result<(), String> {
    match command {
        OrganisationsCommand::List { listing } => {
            let all = listing.read("/organisations", |population| {
                to_json(&population.workforce.organisations)
            })?;
            listing.print(&all, organisation_table)
        }
        OrganisationsCommand::Show { cvr, listing } => {
            let path = format!("/organisations/{}", segment(&cvr));
            let one = listing.read(&path, |population| {
                let wanted = Cvr::parse(&cvr)?;
                population
                    .workforce
                    .organisation(wanted)
                    .ok_or_else(|| format!("no organisation has CVR {wanted}"))
                    .and_then(to_json)
            })?;
            println!("{}", pretty(&one)?);
            Ok(())
        }
        OrganisationsCommand::Change(change) => apply(
            change,
            "organisation",
            "/organisations",
            |key: &CvrKey| key.cvr.clone(),
            |answer| organisation_table(&Value::Array(vec![answer.clone()])),
        ),
    }
}

pub fn run_professionals(command: ProfessionalsCommand) -> Result<(), String> {
    match command {
        ProfessionalsCommand::List { cvr, listing } => {
            let path = match &cvr {
                Some(cvr) => format!("/professionals?cvr={}", segment(cvr)),
                None => "/professionals".to_string(),
            };
            let all = listing.read(&path, |population| {
                let wanted = cvr.as_deref().map(Cvr::parse).transpose()?;
                let kept: Vec<_> = population
                    .workforce
                    .professionals
                    .iter()
                    .filter(|p| wanted.is_none_or(|cvr| p.cvr == cvr))
                    .collect();
                to_json(&kept)
            })?;
            listing.print(&all, professional_table)
        }
        ProfessionalsCommand::Show { uuid, listing } => {
            let path = format!("/professionals/{}", segment(&uuid));
            let one = listing.read(&path, |population| {
                population
                    .workforce
                    .professionals
                    .iter()
                    .find(|p| p.uuid.to_string() == uuid.trim().to_lowercase())
                    .ok_or_else(|| format!("no professional identity has ID {uuid}"))
                    .and_then(to_json)
            })?;
            println!("{}", pretty(&one)?);
            Ok(())
        }
        ProfessionalsCommand::Lock { uuid, server } => server.print(
            Method::POST,
            &format!("/professionals/{}/lock", segment(&uuid)),
            None,
            |answer| with_table("locked", answer),
        ),
        ProfessionalsCommand::Unlock { uuid, server } => server.print(
            Method::POST,
            &format!("/professionals/{}/unlock", segment(&uuid)),
            None,
            |answer| with_table("unlocked", answer),
        ),
        ProfessionalsCommand::Change(change) => apply(
            change,
            "professional",
            "/professionals",
            |key: &UuidKey| key.uuid.clone(),
            |answer| professional_table(&Value::Array(vec![answer.clone()])),
        ),
    }
}

/// Sends a create, update, set or delete to `collection` on a running broker.
fn apply<Key: clap::Args>(
    change: Change<Key>,
    table_name: &str,
    collection: &str,
    key_of: impl Fn(&Key) -> String,
    show: impl Fn(&Value) -> String,
) -> Result<(), String> {
    let one = |key: &Key| format!("{collection}/{}", segment(&key_of(key)));
    match change {
        Change::Create { file, server } => {
            let body = read_object(&file, table_name)?;
            server.print(Method::POST, collection, Some(&body), |answer| {
                format!("created\n{}", show(answer))
            })
        }
        Change::Update { key, file, server } => {
            let body = read_object(&file, table_name)?;
            server.print(Method::PUT, &one(&key), Some(&body), |answer| {
                format!("updated\n{}", show(answer))
            })
        }
        Change::Set {
            key,
            changes,
            server,
        } => {
            let patch = merge_patch(changes);
            server.print(Method::PATCH, &one(&key), Some(&patch), |answer| {
                format!("updated\n{}", show(answer))
            })
        }
        Change::Delete { key, server } => {
            server.print(Method::DELETE, &one(&key), None, |answer| {
                format!("deleted {}", cell(&answer["deleted"]))
            })
        }
    }
}

fn to_json(value: impl serde::Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

fn with_table(done: &str, answer: &Value) -> String {
    format!(
        "{done} {}\n{}",
        cell(&answer["uuid"]),
        professional_table(&Value::Array(vec![answer.clone()]))
    )
}

fn joined(value: &Value) -> String {
    match value.as_array() {
        Some(items) if !items.is_empty() => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        _ => "-".into(),
    }
}

fn organisation_table(all: &Value) -> String {
    let rows: Vec<Vec<String>> = all
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|o| {
            vec![
                cell(&o["cvr"]),
                cell(&o["name"]),
                joined(&o["p_numbers"]),
                joined(&o["se_numbers"]),
                cell(&o["purpose"]),
            ]
        })
        .collect();
    table::render(
        &["CVR", "NAME", "P NUMBERS", "SE NUMBERS", "PURPOSE"],
        &rows,
        &[8, 40, 24, 10],
    )
}

/// How the person logs in: their private MitID (found by CPR number) and/or a dedicated eID.
fn logs_in_with(professional: &Value) -> String {
    let private = professional["cpr"].is_string() && professional["private_mitid"] != false;
    let mut ways = Vec::new();
    if private {
        ways.push(format!("private MitID ({})", cell(&professional["cpr"])));
    }
    if let Some(id) = professional["erhverv_user_id"].as_str() {
        ways.push(id.to_string());
    }
    ways.join(", ")
}

fn professional_table(all: &Value) -> String {
    let rows: Vec<Vec<String>> = all
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let name = format!("{} {}", cell(&p["given_name"]), cell(&p["family_name"]));
            let role = p["role"].as_str().unwrap_or("employee").replace('_', " ");
            let status = p["status"].as_str().unwrap_or("active").to_string();
            vec![
                cell(&p["uuid"]),
                name,
                cell(&p["cvr"]),
                role,
                status,
                logs_in_with(p),
            ]
        })
        .collect();
    table::render(
        &[
            "PERSISTENT ID",
            "NAME",
            "CVR",
            "ROLE",
            "STATUS",
            "LOGS IN WITH",
        ],
        &rows,
        &[36, 28, 8, 17, 9],
    )
}

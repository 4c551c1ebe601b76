//! `mitid-sim clients ...`: the relying parties of a running broker, and the faults and
//! logout behaviour it shows them.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::Subcommand;
use mitid_sim::protocols::oidc::faults::TokenFault;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::files::read_object;
use super::output::{cell, fields, items};
use super::server::{segment, ServerArgs};
use super::table;

#[derive(Subcommand)]
pub enum ClientsCommand {
    /// The relying parties a running broker knows, with their pending token faults.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Everything about one relying party of a running broker.
    Show {
        client_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Register a relying party with a running broker (replacing one with its client_id).
    Register {
        /// A TOML file with exactly one [[client]] (the fixtures/clients.toml format), or a
        /// .json file with the client object; `-` reads standard input.
        #[arg(long, short = 'f', value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Put a relying party in an SSO group: clients of one group share broker sessions
    /// (single sign-on and single logout). Without a group a client has sessions of its
    /// own, as at NEB by default.
    SsoGroup {
        client_id: String,
        /// The group's name.
        #[arg(required_unless_present = "none", conflicts_with = "none")]
        group: Option<String>,
        /// Take the client out of its group.
        #[arg(long)]
        none: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a relying party from a running broker.
    Delete {
        client_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make a running broker's next ID token (or userinfo) answers to a client faulty, to
    /// see that the client refuses them.
    Fault {
        client_id: String,
        /// What is wrong with the token.
        #[arg(value_parser = fault_names())]
        fault: String,
        /// How many answers in a row get the fault.
        #[arg(long, default_value_t = 1)]
        count: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Drop a client's pending token faults on a running broker.
    ClearFaults {
        client_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Hold back a running broker's back-channel logout to a client (deliveries show as
    /// `withheld` in `record`), or resume it with --resume.
    WithholdBackchannel {
        client_id: String,
        /// Deliver back-channel logout to the client again.
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// The fault names the broker knows, as `clients fault` offers them.
fn fault_names() -> PossibleValuesParser {
    // Leaked once per run: clap's possible values are static text.
    PossibleValuesParser::new(
        TokenFault::ALL.map(|fault| -> &'static str { Box::leak(fault.name().into_boxed_str()) }),
    )
}

pub fn run(command: ClientsCommand) -> Result<(), String> {
    match command {
        ClientsCommand::List { server } => {
            server.print(Method::GET, "/clients", None, clients_table)
        }
        ClientsCommand::Show { client_id, server } => {
            server.print(Method::GET, &path(&client_id, ""), None, fields)
        }
        ClientsCommand::Register { file, server } => {
            let client = read_object(&file, "client")?;
            let (status, answer) =
                server
                    .connect()?
                    .call_with_status(Method::POST, "/clients", Some(&client))?;
            server.show(&answer, |client| {
                let done = if status == StatusCode::CREATED {
                    "registered"
                } else {
                    "replaced"
                };
                format!(
                    "{done} {}\n{}",
                    cell(&client["client_id"]),
                    clients_table(&json!([client]))
                )
            })
        }
        ClientsCommand::SsoGroup {
            client_id,
            group,
            none: _,
            server,
        } => {
            let body = json!({ "sso_group": group });
            server.print(
                Method::PUT,
                &path(&client_id, "/sso-group"),
                Some(&body),
                |client| match &client["sso_group"] {
                    Value::String(group) => format!(
                        "{} shares sessions with the clients of SSO group {group}",
                        cell(&client["client_id"])
                    ),
                    _ => format!(
                        "{} has broker sessions of its own (no SSO group)",
                        cell(&client["client_id"])
                    ),
                },
            )
        }
        ClientsCommand::Delete { client_id, server } => {
            server.print(Method::DELETE, &path(&client_id, ""), None, |answer| {
                format!("deleted {}", cell(&answer["deleted"]))
            })
        }
        ClientsCommand::Fault {
            client_id,
            fault,
            count,
            server,
        } => {
            let body = json!({ "fault": fault, "count": count });
            server.print(
                Method::POST,
                &path(&client_id, "/faults"),
                Some(&body),
                faults_line,
            )
        }
        ClientsCommand::ClearFaults { client_id, server } => server.print(
            Method::DELETE,
            &path(&client_id, "/faults"),
            None,
            faults_line,
        ),
        ClientsCommand::WithholdBackchannel {
            client_id,
            resume,
            server,
        } => {
            let body = json!({ "withhold": !resume });
            server.print(
                Method::POST,
                &path(&client_id, "/backchannel"),
                Some(&body),
                |answer| {
                    let client = cell(&answer["client_id"]);
                    if answer["withheld"] == true {
                        format!(
                            "back-channel logout to {client} is withheld (resume with --resume)"
                        )
                    } else {
                        format!("back-channel logout to {client} is delivered again")
                    }
                },
            )
        }
    }
}

/// `/clients/<client_id><rest>`
fn path(client_id: &str, rest: &str) -> String {
    format!("/clients/{}{rest}", segment(client_id))
}

fn clients_table(clients: &Value) -> String {
    let rows: Vec<Vec<String>> = items(clients)
        .iter()
        .map(|c| {
            let has_keys = !c["jwks"].is_null() || !c["jwks_uri"].is_null();
            let auth = match (&c["token_endpoint_auth_method"], has_keys) {
                (Value::Null, false) => "secret".to_string(),
                (Value::Null, true) if c["client_secret"].is_null() => "private_key_jwt".into(),
                (Value::Null, true) => "secret or key".into(),
                (method, _) => cell(method),
            };
            vec![
                cell(&c["client_id"]),
                cell(&c["name"]),
                auth,
                cell(&c["id_token_signed_response_alg"]),
                cell(&c["sso_group"]),
                if c["allow_simulation"] == true {
                    "yes"
                } else {
                    "no"
                }
                .into(),
                cell(&c["pending_faults"]),
                cell(&c["redirect_uris"]),
            ]
        })
        .collect();
    table::render(
        &[
            "CLIENT ID",
            "NAME",
            "AUTH",
            "ALG",
            "SSO GROUP",
            "NO-UI",
            "PENDING FAULTS",
            "REDIRECT URIS",
        ],
        &rows,
        &[24, 28, 20, 5, 16, 5, 32],
    )
}

fn faults_line(answer: &Value) -> String {
    format!(
        "pending token faults for {}: {}",
        cell(&answer["client_id"]),
        match cell(&answer["pending_faults"]).as_str() {
            "-" => "none".to_string(),
            faults => faults.to_string(),
        }
    )
}

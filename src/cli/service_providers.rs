//! `mitid-sim service-providers ...` (alias `sps`): the NemLog-in service providers (SAML
//! SPs) of a running broker, the response faults it shows them, and its record of
//! LogoutRequests.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::Subcommand;
use mitid_sim::protocols::saml::faults::SamlFault;
use mitid_sim::protocols::saml::sp::{from_toml_file, ServiceProvider};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::output::{cell, fields, items, time};
use super::server::{segment, ServerArgs};
use super::table;

#[derive(Subcommand)]
pub enum ServiceProvidersCommand {
    /// The service providers a running broker knows, with their pending response faults.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Everything about one service provider (by entity ID).
    Show {
        entity_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Register service providers with a running broker (replacing those with the same
    /// entity ID): from the SP's SAML metadata, or a TOML file of [[service_provider]]
    /// tables (the fixtures/saml-sps.toml format).
    Register {
        /// The SP's metadata (an md:EntityDescriptor with an SPSSODescriptor).
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "file",
            conflicts_with = "file"
        )]
        metadata: Option<PathBuf>,
        /// A TOML file with [[service_provider]] tables.
        #[arg(long, short = 'f', value_name = "FILE")]
        file: Option<PathBuf>,
        /// What the MitID pages call the service (with --metadata).
        #[arg(long, requires = "metadata")]
        name: Option<String>,
        /// Sign the Response too, not only the assertion (with --metadata).
        #[arg(long, requires = "metadata")]
        sign_response: bool,
        /// Ignore mitid-sim's simulation parameter for this SP (with --metadata).
        #[arg(long, requires = "metadata")]
        no_simulation: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a service provider from a running broker.
    Delete {
        entity_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make a running broker's next successful responses to a service provider faulty, to
    /// see that the SP refuses them.
    Fault {
        entity_id: String,
        /// What is wrong with the response.
        #[arg(value_parser = fault_names())]
        fault: String,
        /// How many responses in a row get the fault.
        #[arg(long, default_value_t = 1)]
        count: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Drop a service provider's pending response faults on a running broker.
    ClearFaults {
        entity_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The LogoutRequests a running broker's NemLog-in IdP sent (or could not send).
    Logouts {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The NemLog-in IdP of a running broker: entity ID, endpoint, metadata URL.
    Idp {
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn fault_names() -> PossibleValuesParser {
    PossibleValuesParser::new(SamlFault::ALL.map(SamlFault::name))
}

pub fn run(command: ServiceProvidersCommand) -> Result<(), String> {
    use ServiceProvidersCommand as C;
    match command {
        C::List { server } => {
            server.print(Method::GET, "/nemlogin/service-providers", None, sp_table)
        }
        C::Show { entity_id, server } => {
            server.print(Method::GET, &path(&entity_id, ""), None, fields)
        }
        C::Register {
            metadata,
            file,
            name,
            sign_response,
            no_simulation,
            server,
        } => {
            let registrations = match (metadata, file) {
                (Some(metadata), _) => {
                    let xml = std::fs::read_to_string(&metadata)
                        .map_err(|e| format!("cannot read {}: {e}", metadata.display()))?;
                    // Read here first, so a mistake is reported with the file and line.
                    ServiceProvider::from_metadata(&xml, &metadata.display().to_string())
                        .map_err(|e| e.to_string())?;
                    let mut body = json!({ "metadata": xml });
                    if let Some(name) = name {
                        body["name"] = json!(name);
                    }
                    if sign_response {
                        body["sign_response"] = json!(true);
                    }
                    if no_simulation {
                        body["allow_simulation"] = json!(false);
                    }
                    vec![body]
                }
                (None, Some(file)) => {
                    let sps = from_toml_file(&file).map_err(|e| e.to_string())?;
                    if sps.is_empty() {
                        return Err(format!(
                            "{} has no [[service_provider]] table",
                            file.display()
                        ));
                    }
                    sps.iter()
                        .map(|sp| serde_json::to_value(sp.record()).unwrap_or(Value::Null))
                        .collect()
                }
                (None, None) => return Err("give --metadata FILE or --file FILE".into()),
            };
            let connection = server.connect()?;
            for body in registrations {
                let (status, answer) = connection.call_with_status(
                    Method::POST,
                    "/nemlogin/service-providers",
                    Some(&body),
                )?;
                server.show(&answer, |sp| {
                    let done = if status == StatusCode::CREATED {
                        "registered"
                    } else {
                        "replaced"
                    };
                    format!(
                        "{done} {}\n{}",
                        cell(&sp["entity_id"]),
                        sp_table(&json!([sp]))
                    )
                })?;
            }
            Ok(())
        }
        C::Delete { entity_id, server } => {
            server.print(Method::DELETE, &path(&entity_id, ""), None, |answer| {
                format!("deleted {}", cell(&answer["deleted"]))
            })
        }
        C::Fault {
            entity_id,
            fault,
            count,
            server,
        } => {
            let body = json!({ "fault": fault, "count": count });
            server.print(
                Method::POST,
                &path(&entity_id, "/faults"),
                Some(&body),
                faults_line,
            )
        }
        C::ClearFaults { entity_id, server } => server.print(
            Method::DELETE,
            &path(&entity_id, "/faults"),
            None,
            faults_line,
        ),
        C::Logouts { server } => {
            server.print(Method::GET, "/nemlogin/logouts", None, logouts_table)
        }
        C::Idp { server } => server.print(Method::GET, "/nemlogin/idp", None, |idp| {
            format!(
                "entity ID   {}\nendpoint    {}\nmetadata    {}\nSSO group   {}\nkeys        {}",
                cell(&idp["entity_id"]),
                cell(&idp["endpoint"]),
                cell(&idp["metadata_url"]),
                cell(&idp["sso_group"]),
                cell(&idp["keys"]),
            )
        }),
    }
}

/// `/nemlogin/service-providers/<entity ID><rest>`
fn path(entity_id: &str, rest: &str) -> String {
    format!("/nemlogin/service-providers/{}{rest}", segment(entity_id))
}

fn locations(endpoints: &Value) -> String {
    let list: Vec<String> = items(endpoints)
        .iter()
        .map(|e| {
            let binding = cell(&e["binding"]);
            let short = binding.rsplit(':').next().unwrap_or(&binding).to_string();
            format!("{} ({short})", cell(&e["location"]))
        })
        .collect();
    if list.is_empty() {
        "-".into()
    } else {
        list.join(", ")
    }
}

fn sp_table(sps: &Value) -> String {
    let rows: Vec<Vec<String>> = items(sps)
        .iter()
        .map(|sp| {
            vec![
                cell(&sp["entity_id"]),
                cell(&sp["name"]),
                locations(&sp["assertion_consumer_service"]),
                locations(&sp["single_logout_service"]),
                if sp["allow_simulation"] == true {
                    "yes"
                } else {
                    "no"
                }
                .into(),
                cell(&sp["pending_faults"]),
            ]
        })
        .collect();
    table::render(
        &["ENTITY ID", "NAME", "ACS", "SLO", "NO-UI", "PENDING FAULTS"],
        &rows,
        &[40, 24, 40, 40, 5],
    )
}

fn logouts_table(logouts: &Value) -> String {
    let rows: Vec<Vec<String>> = items(logouts)
        .iter()
        .map(|d| {
            vec![
                time(&d["created"]),
                cell(&d["entity_id"]),
                cell(&d["session"]),
                cell(&d["binding"]),
                cell(&d["state"]),
                cell(&d["detail"]),
            ]
        })
        .collect();
    table::render(
        &["TIME", "ENTITY ID", "SESSION", "BINDING", "STATE", "DETAIL"],
        &rows,
        &[19, 40, 36, 8, 13],
    )
}

fn faults_line(answer: &Value) -> String {
    format!(
        "pending response faults for {}: {}",
        cell(&answer["entity_id"]),
        match cell(&answer["pending_faults"]).as_str() {
            "-" => "none".to_string(),
            faults => faults.to_string(),
        }
    )
}

//! `mitid-sim users create|update|set|delete|lock|unlock|reset|script|scripts|clear-scripts`:
//! the citizens of a running broker, through its admin API.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::files::read_object;
use super::output::cell;
use super::server::{segment, ServerArgs};
use super::table;

#[derive(Subcommand)]
pub enum CitizenCommand {
    /// Add a citizen to a running broker.
    Create {
        /// A TOML file with exactly one [[user]] (the fixtures/users.toml format), or a
        /// .json file with the citizen object; `-` reads standard input.
        #[arg(long, short = 'f', value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Replace a citizen of a running broker with the one in a file.
    Update {
        /// The citizen's user ID.
        user: String,
        /// As for `users create`: one [[user]] in TOML, or a .json citizen object.
        #[arg(long, short = 'f', value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Change some fields of a citizen of a running broker (a JSON merge patch).
    ///
    /// VALUE is read as JSON when it parses (true, 3, null, '"1234"', '{"answer":"reject"}'),
    /// else as text. A dotted KEY reaches into a table; null removes a field. Example:
    /// mitid-sim users set anna.jensen status=locked "name=Ny Navn" app.answer=reject
    Set {
        /// The citizen's user ID.
        user: String,
        /// Fields to change, e.g. status=locked.
        #[arg(required = true, value_name = "KEY=VALUE", value_parser = parse_change)]
        changes: Vec<(String, Value)>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a citizen from a running broker.
    Delete {
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Give a citizen of a running broker the status `locked`.
    Lock {
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Lift a running broker's code-display blocks for a citizen, and a `locked` status.
    Unlock {
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Put a running broker's citizens back as it started, with fresh devices.
    Reset {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Decide how a citizen's next logins go on a running broker.
    Script {
        user: String,
        /// What happens: the app rejects, never answers, approves after --ms, or the
        /// citizen aborts after the user ID.
        #[arg(value_enum)]
        behaviour: Behaviour,
        /// Milliseconds before the app approves (for `delay`).
        #[arg(long, required_if_eq("behaviour", "delay"))]
        ms: Option<u64>,
        /// How many logins in a row behave so.
        #[arg(long, default_value_t = 1)]
        count: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The scripted logins still pending for a citizen of a running broker.
    Scripts {
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Drop a citizen's pending scripted logins on a running broker.
    ClearScripts {
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Behaviour {
    Reject,
    Timeout,
    Abort,
    Delay,
}

impl Behaviour {
    fn name(self) -> &'static str {
        match self {
            Behaviour::Reject => "reject",
            Behaviour::Timeout => "timeout",
            Behaviour::Abort => "abort",
            Behaviour::Delay => "delay",
        }
    }
}

pub fn run(command: CitizenCommand) -> Result<(), String> {
    match command {
        CitizenCommand::Create { file, server } => {
            let citizen = read_object(&file, "user")?;
            server.print(Method::POST, "/citizens", Some(&citizen), |report| {
                report_with("created", report)
            })
        }
        CitizenCommand::Update { user, file, server } => {
            let citizen = read_object(&file, "user")?;
            server.print(Method::PUT, &path(&user, ""), Some(&citizen), |report| {
                report_with("updated", report)
            })
        }
        CitizenCommand::Set {
            user,
            changes,
            server,
        } => {
            let patch = merge_patch(changes);
            server.print(Method::PATCH, &path(&user, ""), Some(&patch), |report| {
                report_with("updated", report)
            })
        }
        CitizenCommand::Delete { user, server } => {
            server.print(Method::DELETE, &path(&user, ""), None, |answer| {
                format!("deleted {}", cell(&answer["deleted"]))
            })
        }
        CitizenCommand::Lock { user, server } => {
            server.print(Method::POST, &path(&user, "/lock"), None, |report| {
                report_with("locked", report)
            })
        }
        CitizenCommand::Unlock { user, server } => {
            server.print(Method::POST, &path(&user, "/unlock"), None, |report| {
                report_with("unlocked", report)
            })
        }
        CitizenCommand::Reset { server } => {
            server.print(Method::POST, "/citizens/reset", None, |answer| {
                format!(
                    "reset: the broker has its {} starting citizens, {} organisations and {} \
                     professional identities again",
                    cell(&answer["citizens"]),
                    cell(&answer["organisations"]),
                    cell(&answer["professionals"])
                )
            })
        }
        CitizenCommand::Script {
            user,
            behaviour,
            ms,
            count,
            server,
        } => {
            let mut body = json!({ "behaviour": behaviour.name(), "count": count });
            match (behaviour, ms) {
                (Behaviour::Delay, Some(ms)) => body["ms"] = json!(ms),
                (_, Some(_)) => return Err("--ms goes with `delay` only".into()),
                _ => {}
            }
            server.print(
                Method::POST,
                &path(&user, "/script"),
                Some(&body),
                pending_table,
            )
        }
        CitizenCommand::Scripts { user, server } => {
            server.print(Method::GET, &path(&user, "/script"), None, pending_table)
        }
        CitizenCommand::ClearScripts { user, server } => {
            server.print(Method::DELETE, &path(&user, "/script"), None, |answer| {
                format!(
                    "cleared the scripted logins of {}",
                    cell(&answer["user_id"])
                )
            })
        }
    }
}

/// `/citizens/<user><rest>`
fn path(user: &str, rest: &str) -> String {
    format!("/citizens/{}{rest}", segment(user))
}

/// `KEY=VALUE`, the value as JSON when it parses, else as text.
pub fn parse_change(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE (e.g. status=locked)"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("`{text}` has no field name before `=`"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
    Ok((key.to_string(), value))
}

/// The changes as one JSON merge patch; `app.answer=x` becomes `{"app": {"answer": "x"}}`.
pub fn merge_patch(changes: Vec<(String, Value)>) -> Value {
    let mut patch = Map::new();
    for (key, value) in changes {
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or_default();
        let mut object = &mut patch;
        for part in parts {
            let entry = object
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            object = entry.as_object_mut().expect("just made an object");
        }
        object.insert(last.to_string(), value);
    }
    Value::Object(patch)
}

/// Citizen reports (as the admin API gives them) as a table.
pub fn live_table(reports: &[Value]) -> String {
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                cell(&r["user_id"]),
                cell(&r["name"]),
                cell(&r["status"]),
                // As slugs, like the fixture table: code-display, audio-reader.
                cell(&r["authenticators"]).replace('_', "-"),
                cell(&r["purpose"]),
            ]
        })
        .collect();
    table::render(
        &["USER ID", "NAME", "STATUS", "AUTHENTICATORS", "PURPOSE"],
        &rows,
        &[20, 32, 10, 40],
    )
}

fn report_with(done: &str, report: &Value) -> String {
    format!(
        "{done} {}\n{}",
        cell(&report["user_id"]),
        live_table(std::slice::from_ref(report))
    )
}

fn pending_table(answer: &Value) -> String {
    let user = cell(&answer["user_id"]);
    let pending = answer["pending"].as_array().cloned().unwrap_or_default();
    if pending.is_empty() {
        return format!("no scripted logins pending for {user}\n");
    }
    let rows: Vec<Vec<String>> = pending
        .iter()
        .enumerate()
        .map(|(i, script)| {
            let behaviour = match script["ms"].as_u64() {
                Some(ms) => format!("{} {ms} ms", cell(&script["behaviour"])),
                None => cell(&script["behaviour"]),
            };
            vec![(i + 1).to_string(), behaviour]
        })
        .collect();
    format!(
        "next logins of {user}:\n{}",
        table::render(&["LOGIN", "BEHAVIOUR"], &rows, &[])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_json_when_they_parse_and_text_otherwise() {
        assert_eq!(
            parse_change("status=locked").unwrap(),
            ("status".into(), json!("locked"))
        );
        assert_eq!(
            parse_change("name=\"Ny Navn\"").unwrap(),
            ("name".into(), json!("Ny Navn"))
        );
        assert_eq!(
            parse_change("chip=true").unwrap(),
            ("chip".into(), json!(true))
        );
        assert_eq!(parse_change("x=a=b").unwrap(), ("x".into(), json!("a=b")));
        assert!(parse_change("status").is_err());
        assert!(parse_change("=x").is_err());
    }

    #[test]
    fn dotted_keys_reach_into_tables() {
        let patch = merge_patch(vec![
            ("app.answer".into(), json!("reject")),
            ("app.after_ms".into(), json!(5)),
            ("status".into(), json!("locked")),
        ]);
        assert_eq!(
            patch,
            json!({"app": {"answer": "reject", "after_ms": 5}, "status": "locked"})
        );
    }
}

//! `mitid-sim sessions ...`: a running broker's SSO sessions and the back-channel logouts
//! that followed their end.

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::output::{cell, items, time};
use super::record::deliveries_table;
use super::server::{segment, ServerArgs};
use super::table;

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// The SSO sessions of a running broker.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// End a session now, as an administrator would (back-channel logout to its clients).
    End {
        /// The session's ID, `neb_sid` in tokens (see `sessions list`).
        neb_sid: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// End a session as if its absolute lifetime had run out.
    Expire {
        /// The session's ID, `neb_sid` in tokens (see `sessions list`).
        neb_sid: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Every back-channel logout delivery of a running broker and how it went.
    Logouts {
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn run(command: SessionsCommand) -> Result<(), String> {
    let (neb_sid, expire, server) = match command {
        SessionsCommand::List { server } => {
            return server.print(Method::GET, "/sessions", None, sessions_table)
        }
        SessionsCommand::Logouts { server } => {
            return server.print(Method::GET, "/logouts", None, deliveries_table)
        }
        SessionsCommand::End { neb_sid, server } => (neb_sid, false, server),
        SessionsCommand::Expire { neb_sid, server } => (neb_sid, true, server),
    };
    let (method, path) = if expire {
        (
            Method::POST,
            format!("/sessions/{}/expire", segment(&neb_sid)),
        )
    } else {
        (Method::DELETE, format!("/sessions/{}", segment(&neb_sid)))
    };
    server.print(method, &path, None, |answer| {
        format!(
            "ended session {} ({}); its clients: {}; its service providers: {}",
            cell(&answer["ended"]),
            cell(&answer["reason"]),
            cell(&answer["clients"]),
            cell(&answer["service_providers"])
        )
    })
}

fn sessions_table(sessions: &Value) -> String {
    let rows: Vec<Vec<String>> = items(sessions)
        .iter()
        .map(|s| {
            // OpenID Connect clients and SAML service providers alike.
            let clients: Vec<&str> = ["participants", "service_providers"]
                .iter()
                .filter_map(|kind| s[*kind].as_object())
                .flat_map(|p| p.keys().map(String::as_str))
                .collect();
            vec![
                cell(&s["id"]),
                cell(&s["citizen"]),
                cell(&s["scope"]),
                if clients.is_empty() {
                    "-".into()
                } else {
                    clients.join(", ")
                },
                time(&s["created"]),
                time(&s["last_active"]),
                time(&s["expires"]),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no sessions\n".into();
    }
    table::render(
        &[
            "NEB_SID",
            "CITIZEN UUID",
            "SCOPE",
            "CLIENTS",
            "CREATED",
            "LAST ACTIVE",
            "EXPIRES",
        ],
        &rows,
        &[36, 36, 24, 32, 19, 19],
    )
}

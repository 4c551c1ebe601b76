//! `mitid-sim device requests|approve|reject`: the MitID app requests of a running broker,
//! answered as the citizen's phone would.

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::output::{cell, items, time};
use super::server::{segment, ServerArgs};
use super::table;

#[derive(Subcommand)]
pub enum AppCommand {
    /// The app requests waiting for a swipe on a running broker.
    Requests {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Approve an app request on a running broker, as the citizen swiping yes.
    Approve {
        /// The request's ID (see `device requests`).
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Reject an app request on a running broker.
    Reject {
        /// The request's ID (see `device requests`).
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn run(command: AppCommand) -> Result<(), String> {
    let (id, approve, server) = match command {
        AppCommand::Requests { server } => {
            return server.print(Method::GET, "/app-requests", None, requests_table)
        }
        AppCommand::Approve { id, server } => (id, true, server),
        AppCommand::Reject { id, server } => (id, false, server),
    };
    let action = if approve { "approve" } else { "reject" };
    let path = format!("/app-requests/{}/{action}", segment(&id));
    server.print(Method::POST, &path, None, |answer| {
        format!(
            "app request {}: {}",
            cell(&answer["id"]),
            cell(&answer["state"])
        )
    })
}

fn requests_table(requests: &Value) -> String {
    let rows: Vec<Vec<String>> = items(requests)
        .iter()
        .map(|r| {
            vec![
                cell(&r["id"]),
                cell(&r["user_id"]),
                cell(&r["client"]),
                time(&r["created"]),
                time(&r["expires"]),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no app requests are waiting\n".into();
    }
    table::render(
        &["ID", "USER ID", "CLIENT", "CREATED", "EXPIRES"],
        &rows,
        &[40, 20, 32, 19],
    )
}

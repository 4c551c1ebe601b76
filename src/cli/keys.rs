//! `mitid-sim keys ...`: a running broker's signing keys.

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::output::{cell, items, time};
use super::server::ServerArgs;
use super::table;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// The keys a running broker signs with, and retired ones still in its JWKS.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Sign with new keys from now on; the old ones stay in the JWKS for an hour.
    Rotate {
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn run(command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::List { server } => server.print(Method::GET, "/keys", None, keys_table),
        KeysCommand::Rotate { server } => {
            server.print(Method::POST, "/keys/rotate", None, |keys| {
                format!("rotated the signing keys\n{}", keys_table(keys))
            })
        }
    }
}

fn keys_table(keys: &Value) -> String {
    let rows: Vec<Vec<String>> = items(keys)
        .iter()
        .map(|k| {
            vec![
                cell(&k["kid"]),
                cell(&k["alg"]),
                cell(&k["status"]),
                time(&k["retired_at"]),
            ]
        })
        .collect();
    table::render(&["KID", "ALG", "STATUS", "RETIRED AT"], &rows, &[])
}

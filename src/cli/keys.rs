//! `mitid-sim keys ...`: a running broker's signing keys.

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::output::{cell, items, time};
use super::server::{segment, ServerArgs};
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
    /// The certificate (PEM) a running broker signs id_tokens with, for an RP to pin;
    /// --kid for another published key.
    Certificate {
        #[arg(long)]
        kid: Option<String>,
        /// Write the PEM to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn run(command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::List { server } => server.print(Method::GET, "/keys", None, keys_table),
        KeysCommand::Certificate { kid, out, server } => {
            let path = match &kid {
                Some(kid) => format!("/keys/certificate?kid={}", segment(kid)),
                None => "/keys/certificate".into(),
            };
            let answer = server.connect()?.get(&path)?;
            if server.json {
                return super::output::print_json(&answer);
            }
            let pem = answer["pem"]
                .as_str()
                .ok_or("the broker sent no certificate")?;
            super::output::write_or_print(out.as_deref(), pem)
        }
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

//! `mitid-sim record`: what clients sent a running broker, and its back-channel logouts.

use reqwest::Method;
use serde_json::Value;

use super::output::{cell, items, time};
use super::server::ServerArgs;
use super::table;

/// Parameters left out of the table: shown elsewhere, long, or secret (see --json).
const QUIET_PARAMS: [&str; 7] = [
    "client_id",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "code_verifier",
    "client_secret",
    "authorization",
];

#[derive(clap::Args)]
pub struct RecordArgs {
    /// Only this client's requests and back-channel deliveries.
    #[arg(long, value_name = "CLIENT_ID")]
    client: Option<String>,
    /// Only what happened from this Unix time on (the broker's time, see `clock show`).
    #[arg(long, value_name = "UNIX", conflicts_with = "clear")]
    since: Option<i64>,
    /// Empty the record (of --client only, if given) instead of showing it.
    #[arg(long)]
    clear: bool,
    #[command(flatten)]
    server: ServerArgs,
}

pub fn run(args: RecordArgs) -> Result<(), String> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(client) = &args.client {
        query.append_pair("client", client);
    }
    if let Some(since) = args.since {
        query.append_pair("since", &since.to_string());
    }
    let query = query.finish();
    let path = if query.is_empty() {
        "/record".to_string()
    } else {
        format!("/record?{query}")
    };
    if args.clear {
        return args.server.print(Method::DELETE, &path, None, |answer| {
            match cell(&answer["cleared"]).as_str() {
                "all" => "cleared the record of all clients".to_string(),
                client => format!("cleared the record of {client}"),
            }
        });
    }
    let record = every_page(&args, &query)?;
    args.server.show(&record, |record| {
        format!(
            "{}\n{}",
            requests_table(&record["requests"]),
            deliveries_table(&record["backchannel"])
        )
    })
}

/// The whole record: the broker answers a page at a time, `next_after` naming the next.
fn every_page(args: &RecordArgs, query: &str) -> Result<Value, String> {
    let server = args.server.connect()?;
    let separator = if query.is_empty() { "" } else { "&" };
    let first = server.get(&format!("/record?{query}"))?;
    let mut requests = first["requests"].as_array().cloned().unwrap_or_default();
    let mut next = first["next_after"].as_u64();
    while let Some(after) = next {
        let page = server.get(&format!("/record?{query}{separator}after={after}"))?;
        requests.extend(page["requests"].as_array().cloned().unwrap_or_default());
        next = page["next_after"].as_u64();
    }
    Ok(serde_json::json!({
        "requests": requests,
        "backchannel": first["backchannel"],
        "next_after": null,
    }))
}

fn requests_table(requests: &Value) -> String {
    let rows: Vec<Vec<String>> = items(requests)
        .iter()
        .map(|r| {
            let params: Vec<String> = r["params"]
                .as_object()
                .map(|params| {
                    params
                        .iter()
                        .filter(|(key, _)| !QUIET_PARAMS.contains(&key.as_str()))
                        .map(|(key, value)| format!("{key}={}", cell(value)))
                        .collect()
                })
                .unwrap_or_default();
            vec![
                cell(&r["seq"]),
                time(&r["at"]),
                cell(&r["client_id"]),
                format!("{} {}", cell(&r["method"]), cell(&r["endpoint"])),
                cell(&r["status"]),
                match (&r["error"], &r["error_description"]) {
                    (Value::String(code), Value::String(why)) => format!("{code}: {why}"),
                    (error, _) => cell(error),
                },
                params.join(" "),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no requests recorded\n".into();
    }
    table::render(
        &[
            "SEQ", "TIME", "CLIENT", "REQUEST", "STATUS", "ERROR", "PARAMS",
        ],
        &rows,
        &[6, 19, 24, 24, 6, 48],
    )
}

/// Back-channel logout deliveries, as `record` and `/admin/logouts` give them.
pub fn deliveries_table(deliveries: &Value) -> String {
    let rows: Vec<Vec<String>> = items(deliveries)
        .iter()
        .map(|d| {
            let attempts = items(&d["attempts"]);
            let last =
                attempts
                    .last()
                    .map_or("-".to_string(), |a| match (&a["status"], &a["error"]) {
                        (_, Value::String(error)) => error.clone(),
                        (status, _) => cell(status),
                    });
            vec![
                cell(&d["client_id"]),
                cell(&d["state"]),
                attempts.len().to_string(),
                cell(&d["reason"]),
                time(&d["created"]),
                cell(&d["session"]),
                last,
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no back-channel logout deliveries\n".into();
    }
    table::render(
        &[
            "BACK-CHANNEL TO",
            "STATE",
            "ATTEMPTS",
            "REASON",
            "CREATED",
            "NEB_SID",
            "LAST ANSWER",
        ],
        &rows,
        &[24, 10, 8, 16, 19, 36],
    )
}

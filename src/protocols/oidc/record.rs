//! What each client sent the broker, for QA and for the conformance kit's [S]
//! observations: every authorize, token, userinfo, logout, revocation and introspection
//! request, with its parameters (secrets masked) and the answer it got.

use std::collections::{BTreeMap, VecDeque};

use dashmap::DashMap;
use serde::Serialize;

/// Requests kept per client; older ones are dropped first.
const KEPT_PER_CLIENT: usize = 1_000;
/// Requests that named no (known) client are kept under this key.
pub const UNKNOWN_CLIENT: &str = "-";

#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub seq: u64,
    pub at: i64,
    pub endpoint: &'static str,
    pub method: String,
    pub client_id: String,
    pub params: BTreeMap<String, String>,
    pub status: u16,
    /// The OAuth error code of the answer, if it was an error.
    pub error: Option<String>,
    /// Why: NEB's answers often carry no description (bare token errors, its error page),
    /// so the record keeps the broker's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[derive(Debug, Default)]
pub struct Recorder {
    by_client: DashMap<String, VecDeque<Exchange>>,
    seq: std::sync::atomic::AtomicU64,
}

/// Parameters whose values are secret or long-lived credentials.
fn mask(key: &str, value: &str) -> String {
    match key {
        "client_secret" | "password" => "***".into(),
        "authorization" => value
            .split_whitespace()
            .next()
            .map_or("***".into(), |scheme| format!("{scheme} ***")),
        "access_token" | "refresh_token" | "token" | "id_token_hint" | "id_token"
        | "code_verifier" => {
            let head: String = value.chars().take(12).collect();
            format!("{head}…")
        }
        _ => value.to_string(),
    }
}

pub struct Request<'a> {
    pub endpoint: &'static str,
    pub method: &'a str,
    pub client_id: Option<&'a str>,
    pub params: &'a [(String, String)],
    pub status: u16,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Recorder {
    pub fn record(&self, request: Request<'_>, at: i64) {
        let params = request
            .params
            .iter()
            .map(|(k, v)| (k.clone(), mask(k, v)))
            .collect();
        let client_id = request.client_id.unwrap_or(UNKNOWN_CLIENT).to_string();
        let exchange = Exchange {
            seq: self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            at,
            endpoint: request.endpoint,
            method: request.method.to_string(),
            client_id: client_id.clone(),
            params,
            status: request.status,
            error: request.error,
            error_description: request.error_description,
        };
        let mut log = self.by_client.entry(client_id).or_default();
        if log.len() == KEPT_PER_CLIENT {
            log.pop_front();
        }
        log.push_back(exchange);
    }

    /// Oldest first, optionally for one client and from a time on.
    pub fn list(&self, client_id: Option<&str>, since: Option<i64>) -> Vec<Exchange> {
        let mut all: Vec<Exchange> = self
            .by_client
            .iter()
            .filter(|entry| client_id.is_none_or(|id| entry.key() == id))
            .flat_map(|entry| entry.value().iter().cloned().collect::<Vec<_>>())
            .filter(|e| since.is_none_or(|t| e.at >= t))
            .collect();
        all.sort_by_key(|e| e.seq);
        all
    }

    pub fn clear(&self, client_id: Option<&str>) {
        match client_id {
            Some(id) => {
                self.by_client.remove(id);
            }
            None => self.by_client.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(client: &'a str, params: &'a [(String, String)]) -> Request<'a> {
        Request {
            endpoint: "token",
            method: "POST",
            client_id: Some(client),
            params,
            status: 200,
            error: None,
            error_description: None,
        }
    }

    #[test]
    fn secrets_are_masked_and_clients_filtered() {
        let recorder = Recorder::default();
        let params = vec![
            ("client_secret".to_string(), "s3cret".to_string()),
            ("code".to_string(), "abc".to_string()),
        ];
        recorder.record(request("a", &params), 10);
        recorder.record(request("b", &params), 20);
        let a = recorder.list(Some("a"), None);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].params["client_secret"], "***");
        assert_eq!(a[0].params["code"], "abc");
        assert_eq!(recorder.list(None, Some(15)).len(), 1);
        recorder.clear(Some("a"));
        assert!(recorder.list(Some("a"), None).is_empty());
        assert_eq!(recorder.list(None, None).len(), 1);
    }
}

//! What each client sent the broker, for QA and for the conformance kit's [S]
//! observations: every authorize, token, userinfo, logout, revocation and introspection
//! request, with its parameters (secrets masked) and the answer it got.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dashmap::DashMap;
use serde::Serialize;

/// Requests kept per client; older ones are dropped first.
const KEPT_PER_CLIENT: usize = 1_000;
/// Bytes the whole record may hold (parameters and bookkeeping, estimated); beyond it the
/// oldest requests of any client are dropped first.
pub const MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;
/// The longest parameter value kept; longer ones are cut and marked.
pub const MAX_VALUE_BYTES: usize = 512;
/// The longest parameter name kept.
const MAX_NAME_BYTES: usize = 64;
/// Parameters kept per request; the rest are counted.
const MAX_PARAMS: usize = 40;
/// What one kept request costs besides its parameters (struct, map nodes, strings).
const EXCHANGE_OVERHEAD: usize = 256;
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

impl Exchange {
    fn bytes(&self) -> usize {
        EXCHANGE_OVERHEAD
            + self.client_id.len()
            + self.method.len()
            + self.error.as_ref().map_or(0, String::len)
            + self.error_description.as_ref().map_or(0, String::len)
            + self
                .params
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2 * std::mem::size_of::<String>())
                .sum::<usize>()
    }
}

/// One page of the record, oldest first.
#[derive(Debug, Serialize)]
pub struct Page {
    pub requests: Vec<Exchange>,
    /// The `after` that asks for the next page, when there is one.
    pub next_after: Option<u64>,
}

#[derive(Debug)]
pub struct Recorder {
    by_client: DashMap<String, VecDeque<Exchange>>,
    seq: AtomicU64,
    bytes: AtomicUsize,
    max_bytes: usize,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::with_budget(MAX_RECORD_BYTES)
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A value as the record keeps it: long ones cut, with a marker saying how long they were.
fn kept(value: String) -> String {
    if value.len() <= MAX_VALUE_BYTES {
        return value;
    }
    format!(
        "{}…[truncated: {} bytes]",
        cut(&value, MAX_VALUE_BYTES),
        value.len()
    )
}

/// Parameters whose values are secret or long-lived credentials.
fn mask(key: &str, value: &str) -> String {
    match key {
        "client_secret" | "password" => "***".into(),
        "authorization" => value
            .split_whitespace()
            .next()
            .map_or("***".into(), |scheme| format!("{} ***", cut(scheme, 32))),
        "access_token" | "refresh_token" | "token" | "id_token_hint" | "id_token"
        | "code_verifier" => {
            let head: String = value.chars().take(12).collect();
            format!("{head}…")
        }
        _ => kept(value.to_string()),
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
    /// A record of at most `max_bytes` (estimated).
    pub fn with_budget(max_bytes: usize) -> Self {
        Self {
            by_client: DashMap::new(),
            seq: AtomicU64::new(0),
            bytes: AtomicUsize::new(0),
            max_bytes,
        }
    }

    pub fn record(&self, request: Request<'_>, at: i64) {
        let mut params: BTreeMap<String, String> = request
            .params
            .iter()
            .take(MAX_PARAMS)
            .map(|(k, v)| {
                let name = cut(k, MAX_NAME_BYTES);
                (name.to_string(), mask(name, v))
            })
            .collect();
        if request.params.len() > MAX_PARAMS {
            params.insert(
                "…".into(),
                format!(
                    "{} more parameters not recorded",
                    request.params.len() - MAX_PARAMS
                ),
            );
        }
        let client_id = request.client_id.unwrap_or(UNKNOWN_CLIENT).to_string();
        let exchange = Exchange {
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            at,
            endpoint: request.endpoint,
            method: cut(request.method, 16).to_string(),
            client_id: client_id.clone(),
            params,
            status: request.status,
            error: request.error.map(|e| cut(&e, MAX_VALUE_BYTES).to_string()),
            error_description: request
                .error_description
                .map(|e| cut(&e, MAX_VALUE_BYTES).to_string()),
        };
        {
            let mut log = self.by_client.entry(client_id).or_default();
            // Counted before it is visible, so whoever drops it never subtracts more
            // than was added.
            self.bytes.fetch_add(exchange.bytes(), Ordering::AcqRel);
            if log.len() == KEPT_PER_CLIENT {
                if let Some(dropped) = log.pop_front() {
                    self.bytes.fetch_sub(dropped.bytes(), Ordering::AcqRel);
                }
            }
            log.push_back(exchange);
        }
        if self.bytes.load(Ordering::Acquire) > self.max_bytes {
            self.shrink();
        }
    }

    /// Drops the oldest requests of any client until the record fits its budget.
    fn shrink(&self) {
        while self.bytes.load(Ordering::Acquire) > self.max_bytes {
            // Each client's log is in order, so the oldest request is at one of the fronts.
            let oldest = self
                .by_client
                .iter()
                .filter_map(|log| log.front().map(|e| (e.seq, log.key().clone())))
                .min();
            let Some((seq, client)) = oldest else {
                return;
            };
            if let Some(mut log) = self.by_client.get_mut(&client) {
                if log.front().is_some_and(|e| e.seq == seq) {
                    if let Some(dropped) = log.pop_front() {
                        self.bytes.fetch_sub(dropped.bytes(), Ordering::AcqRel);
                    }
                }
            }
        }
    }

    /// Every kept request, oldest first, optionally for one client and from a time on.
    pub fn list(&self, client_id: Option<&str>, since: Option<i64>) -> Vec<Exchange> {
        self.page(client_id, since, None, usize::MAX).requests
    }

    /// Up to `limit` requests after the one numbered `after`, oldest first.
    pub fn page(
        &self,
        client_id: Option<&str>,
        since: Option<i64>,
        after: Option<u64>,
        limit: usize,
    ) -> Page {
        let mut all: Vec<Exchange> = Vec::new();
        for log in self
            .by_client
            .iter()
            .filter(|log| client_id.is_none_or(|id| log.key() == id))
        {
            all.extend(
                log.value()
                    .iter()
                    .filter(|e| after.is_none_or(|a| e.seq > a))
                    .filter(|e| since.is_none_or(|t| e.at >= t))
                    .cloned(),
            );
        }
        all.sort_by_key(|e| e.seq);
        let more = all.len() > limit;
        all.truncate(limit);
        Page {
            next_after: more.then(|| all.last().map(|e| e.seq)).flatten(),
            requests: all,
        }
    }

    /// The `n` latest requests of every client, newest first (the dashboard's view).
    pub fn latest(&self, n: usize) -> Vec<Exchange> {
        let mut latest: Vec<Exchange> = Vec::new();
        for log in self.by_client.iter() {
            // Each client's log is in arrival order: its newest are at the back.
            latest.extend(log.value().iter().rev().take(n).cloned());
        }
        latest.sort_by_key(|e| std::cmp::Reverse(e.seq));
        latest.truncate(n);
        latest
    }

    pub fn clear(&self, client_id: Option<&str>) {
        let removed: Vec<VecDeque<Exchange>> = match client_id {
            Some(id) => self
                .by_client
                .remove(id)
                .map(|(_, log)| log)
                .into_iter()
                .collect(),
            None => {
                let keys: Vec<String> = self.by_client.iter().map(|l| l.key().clone()).collect();
                keys.iter()
                    .filter_map(|k| self.by_client.remove(k).map(|(_, log)| log))
                    .collect()
            }
        };
        let freed: usize = removed.iter().flatten().map(Exchange::bytes).sum();
        self.bytes.fetch_sub(freed, Ordering::AcqRel);
    }

    /// The estimated bytes the record holds now.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
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

    #[test]
    fn long_values_are_cut_with_a_marker_and_extra_parameters_counted() {
        let recorder = Recorder::default();
        let mut params = vec![
            ("state".to_string(), "ø".repeat(1000)),
            ("n".repeat(500), "v".to_string()),
        ];
        params.extend((0..60).map(|i| (format!("p{i:02}"), "x".to_string())));
        recorder.record(request("a", &params), 10);
        let kept = &recorder.list(None, None)[0].params;
        let state = &kept["state"];
        assert!(state.ends_with("…[truncated: 2000 bytes]"), "{state}");
        assert_eq!(state.len(), 512 + "…[truncated: 2000 bytes]".len());
        assert!(kept.contains_key(&"n".repeat(64)));
        assert_eq!(kept["…"], "22 more parameters not recorded");
        assert_eq!(kept.len(), 41);
    }

    #[test]
    fn the_record_stays_within_its_byte_budget_dropping_the_oldest() {
        let recorder = Recorder::with_budget(64 * 1024);
        let params = vec![("state".to_string(), "s".repeat(100_000))];
        for n in 0..1_000 {
            let client = if n % 2 == 0 { "a" } else { "b" };
            recorder.record(request(client, &params), n);
        }
        assert!(recorder.bytes() <= 64 * 1024, "{}", recorder.bytes());
        let kept = recorder.list(None, None);
        assert!(kept.len() > 10, "{}", kept.len());
        assert_eq!(kept.last().unwrap().seq, 999, "the newest is kept");
        let first = kept[0].seq as usize;
        assert_eq!(kept.len(), 1_000 - first, "only the oldest were dropped");
        recorder.clear(None);
        assert_eq!(recorder.bytes(), 0);
    }

    #[test]
    fn pages_follow_each_other_without_gaps() {
        let recorder = Recorder::default();
        for n in 0..25 {
            recorder.record(request(if n % 3 == 0 { "a" } else { "b" }, &[]), n);
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = recorder.page(None, None, after, 10);
            seen.extend(page.requests.iter().map(|e| e.seq));
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, (0..25).collect::<Vec<u64>>());
        let only_a = recorder.page(Some("a"), None, None, 100);
        assert_eq!(only_a.requests.len(), 9);
        assert_eq!(only_a.next_after, None);
    }
}

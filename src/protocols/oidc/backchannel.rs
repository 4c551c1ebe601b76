//! OpenID Connect Back-Channel Logout 1.0: when a broker session ends, every client that
//! took part and registered a `backchannel_logout_uri` gets a signed logout token, in the
//! background, with bounded retries. Every attempt is recorded for the admin API. The
//! admin API can also send one logout token of its choosing, possibly broken, at once.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use dashmap::{DashMap, DashSet};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::faults::{self, LogoutTokenFault};
use super::Provider;
use crate::broker::keys::KeyError;
use crate::broker::sessions::{EndReason, EndedSession};
use crate::broker::{Broker, SigningAlg};

pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` header of logout tokens (Back-Channel Logout 1.0 §2.4), which tells them
/// apart from id_tokens.
pub const LOGOUT_TYP: &str = "logout+jwt";

/// The claims of a logout token; it names the session by `sid`, the citizen by `sub`, or both.
fn logout_claims(
    issuer: &str,
    client_id: &str,
    jti: &str,
    sid: Option<&str>,
    sub: Option<&str>,
    now: i64,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".into(), issuer.into());
    claims.insert("aud".into(), client_id.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + 120).into());
    claims.insert("jti".into(), jti.into());
    claims.insert("events".into(), json!({ EVENT: {} }));
    if let Some(sid) = sid {
        claims.insert("sid".into(), sid.into());
    }
    if let Some(sub) = sub {
        claims.insert("sub".into(), sub.into());
    }
    claims
}

/// One POST of a logout token: the RP's HTTP status, or why there was none.
async fn post_logout_token(
    http: &reqwest::Client,
    uri: &str,
    token: &str,
) -> (Option<u16>, Option<String>) {
    match http.post(uri).form(&[("logout_token", token)]).send().await {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(err) => (None, Some(err.to_string())),
    }
}

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// Doubles after each failed attempt.
    pub first_backoff: StdDuration,
    pub timeout: StdDuration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_backoff: StdDuration::from_millis(500),
            timeout: StdDuration::from_secs(5),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub at: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Every attempt failed.
    Failed,
    /// Held back on purpose (the conformance kit isolates some scenarios this way).
    Withheld,
}

#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    pub jti: String,
    pub client_id: String,
    pub uri: String,
    pub session: Uuid,
    pub sid: Uuid,
    pub sub: String,
    pub reason: EndReason,
    pub created: i64,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    /// The logout token sent, for RP developers to inspect.
    pub logout_token: Option<String>,
}

pub struct Backchannel {
    http: reqwest::Client,
    deliveries: Arc<DashMap<String, Delivery>>,
    policy: RetryPolicy,
    withheld: DashSet<String>,
    /// Clients whose front-channel logout iframes are left off the logout page.
    frontchannel_withheld: DashSet<String>,
}

impl Backchannel {
    pub fn new(policy: RetryPolicy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            http,
            deliveries: Arc::new(DashMap::new()),
            policy,
            withheld: DashSet::new(),
            frontchannel_withheld: DashSet::new(),
        }
    }

    /// Stops (or resumes) back-channel logout to one client, and its front-channel
    /// logout iframes as well where `frontchannel` says so: judging an RP's own logout
    /// needs both held back, judging its front-channel logout needs the back channel alone.
    pub fn withhold(&self, client_id: &str, withhold: bool, frontchannel: bool) {
        for (set, on) in [
            (&self.withheld, withhold),
            (&self.frontchannel_withheld, frontchannel),
        ] {
            if on {
                set.insert(client_id.to_string());
            } else {
                set.remove(client_id);
            }
        }
    }

    pub fn clear(&self, client_id: Option<&str>) {
        match client_id {
            Some(id) => self.deliveries.retain(|_, d| d.client_id != id),
            None => self.deliveries.clear(),
        }
    }

    /// Keeps the delivery log bounded under thousands of CI logins: oldest go first.
    fn forget_oldest(&self) {
        const KEPT: usize = 10_000;
        // Trimmed to nine tenths, so the sort runs once per thousand deliveries, not on
        // every one once the log is full.
        if self.deliveries.len() > KEPT {
            let mut all: Vec<(i64, String)> = self
                .deliveries
                .iter()
                .map(|d| (d.created, d.jti.clone()))
                .collect();
            all.sort();
            for (_, jti) in all.iter().take(all.len() - KEPT * 9 / 10) {
                self.deliveries.remove(jti);
            }
        }
    }

    pub fn is_withheld(&self, client_id: &str) -> bool {
        self.withheld.contains(client_id)
    }

    pub fn is_frontchannel_withheld(&self, client_id: &str) -> bool {
        self.frontchannel_withheld.contains(client_id)
    }

    /// Sends a logout token once, now, without retries or a record in the delivery log.
    pub async fn send_once(&self, uri: &str, token: &str) -> (Option<u16>, Option<String>) {
        post_logout_token(&self.http, uri, token).await
    }

    /// Every delivery so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        let mut all: Vec<_> = self.deliveries.iter().map(|d| d.clone()).collect();
        all.sort_by_key(|d| (d.created, d.client_id.clone()));
        all
    }

    pub fn announce(&self, provider: &Provider, ended: EndedSession) {
        let now = provider.broker.clock.now();
        for (client_id, participant) in &ended.session.participants {
            let Some(client) = provider.clients.get(client_id) else {
                continue;
            };
            let Some(uri) = client.backchannel_logout_uri.as_ref() else {
                continue;
            };
            let jti = Uuid::new_v4().to_string();
            let withheld = self.withheld.contains(client_id);
            let delivery = Delivery {
                jti: jti.clone(),
                client_id: client_id.clone(),
                uri: uri.as_str().to_string(),
                session: ended.session.id,
                sid: participant.sid,
                sub: participant.subject.clone(),
                reason: ended.reason,
                created: now.unix_timestamp(),
                state: if withheld {
                    DeliveryState::Withheld
                } else {
                    DeliveryState::Pending
                },
                attempts: Vec::new(),
                logout_token: None,
            };
            self.deliveries.insert(jti.clone(), delivery.clone());
            self.forget_oldest();
            if withheld {
                tracing::info!(client = %client_id, "back-channel logout withheld");
                continue;
            }
            let claims = logout_claims(
                &provider.acting_issuer(),
                client_id,
                &jti,
                Some(&participant.sid.to_string()),
                Some(&participant.subject),
                now.unix_timestamp(),
            );
            let job = DeliveryJob {
                broker: Arc::clone(&provider.broker),
                http: self.http.clone(),
                deliveries: Arc::clone(&self.deliveries),
                policy: self.policy.clone(),
                alg: client.id_token_signed_response_alg,
                claims,
                delivery,
            };
            tokio::spawn(job.run());
        }
    }
}

struct DeliveryJob {
    broker: Arc<Broker>,
    http: reqwest::Client,
    deliveries: Arc<DashMap<String, Delivery>>,
    policy: RetryPolicy,
    alg: SigningAlg,
    claims: Map<String, Value>,
    delivery: Delivery,
}

impl DeliveryJob {
    async fn run(self) {
        let jti = self.delivery.jti.clone();
        let token = match self
            .broker
            .keys
            .sign(self.alg, LOGOUT_TYP, self.claims.clone())
            .await
        {
            Ok(token) => token,
            Err(err) => {
                self.record(
                    &jti,
                    None,
                    Some(format!("could not sign the logout token: {err}")),
                    DeliveryState::Failed,
                );
                return;
            }
        };
        if let Some(mut delivery) = self.deliveries.get_mut(&jti) {
            delivery.logout_token = Some(token.clone());
        }
        let mut backoff = self.policy.first_backoff;
        for attempt in 1..=self.policy.max_attempts {
            let sent = post_logout_token(&self.http, &self.delivery.uri, &token).await;
            let last = attempt == self.policy.max_attempts;
            match sent {
                (Some(status), _) if (200..300).contains(&status) => {
                    tracing::info!(client = %self.delivery.client_id, attempt, "back-channel logout delivered");
                    self.record(&jti, Some(status), None, DeliveryState::Delivered);
                    return;
                }
                (Some(status), _) => {
                    tracing::warn!(client = %self.delivery.client_id, attempt, status, "back-channel logout refused");
                    let state = if last {
                        DeliveryState::Failed
                    } else {
                        DeliveryState::Pending
                    };
                    self.record(&jti, Some(status), None, state);
                }
                (None, error) => {
                    let error = error.unwrap_or_default();
                    tracing::warn!(client = %self.delivery.client_id, attempt, error = %error, "back-channel logout failed");
                    let state = if last {
                        DeliveryState::Failed
                    } else {
                        DeliveryState::Pending
                    };
                    self.record(&jti, None, Some(error), state);
                }
            }
            if !last {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }

    fn record(&self, jti: &str, status: Option<u16>, error: Option<String>, state: DeliveryState) {
        if let Some(mut delivery) = self.deliveries.get_mut(jti) {
            delivery.attempts.push(Attempt {
                at: self.broker.clock.unix(),
                status,
                error,
            });
            delivery.state = state;
        }
    }
}

/// A logout token the admin API is to send: about which session or citizen, and how broken.
/// Without `sid` and `sub`, the client's part in its newest live session is meant.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutInjection {
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: Option<String>,
    pub fault: Option<LogoutTokenFault>,
}

/// What became of an injected logout token.
#[derive(Debug, Serialize)]
pub struct InjectedLogout {
    /// The RP's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub logout_token: String,
    /// The session and citizen the token is about (`no_sub_no_sid` leaves them out of it).
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InjectionError {
    #[error("{0}")]
    UnknownClient(String),
    /// The client or its sessions cannot take this logout token now.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("could not sign the logout token: {0}")]
    Signing(#[from] KeyError),
}

impl Provider {
    /// Signs a logout token for `client_id` as `injection` says and POSTs it to the client's
    /// back-channel logout URI once, now. The delivery log is left alone: it records the
    /// broker's own logouts, which the conformance kit compares with what RPs did.
    pub async fn inject_logout_token(
        &self,
        client_id: &str,
        injection: LogoutInjection,
    ) -> Result<InjectedLogout, InjectionError> {
        let client = self
            .clients
            .get(client_id)
            .ok_or_else(|| InjectionError::UnknownClient(format!("no client `{client_id}`")))?;
        let uri = client.backchannel_logout_uri.as_ref().ok_or_else(|| {
            InjectionError::Conflict(format!(
                "client `{client_id}` has no backchannel_logout_uri"
            ))
        })?;
        let now = self.broker.clock.now();
        let (sid, sub) = match (injection.sid, injection.sub) {
            (None, None) => {
                let participant = self
                    .broker
                    .sessions
                    .newest_participant(client_id, now)
                    .ok_or_else(|| {
                        InjectionError::Conflict(format!(
                            "client `{client_id}` takes part in no live session; give `sid` or `sub`"
                        ))
                    })?;
                (Some(participant.sid.to_string()), Some(participant.subject))
            }
            given => given,
        };
        let jti = injection.jti.unwrap_or_else(|| Uuid::new_v4().to_string());
        let alg = client.id_token_signed_response_alg;
        let keys = &self.broker.keys;
        let now_unix = now.unix_timestamp();
        let logout_token = match injection.fault {
            Some(LogoutTokenFault::IdToken) => {
                // Signed by the broker and about the right citizen: only `typ`, `events`
                // and `nonce` tell it from a logout token, so an RP must check them.
                let sub = sub.as_deref().ok_or_else(|| {
                    InjectionError::Invalid(
                        "the id_token fault needs `sub` (or neither `sid` nor `sub`)".into(),
                    )
                })?;
                let mut claims: Map<String, Value> = [
                    ("iss", json!(self.acting_issuer())),
                    ("aud", json!(client_id)),
                    ("sub", json!(sub)),
                    ("iat", json!(now_unix)),
                    ("nbf", json!(now_unix)),
                    (
                        "exp",
                        json!(now_unix + self.lifetimes.id_token.whole_seconds()),
                    ),
                    ("auth_time", json!(now_unix)),
                    (
                        "nonce",
                        json!(format!("nonce-{}", crate::random::short_id())),
                    ),
                    ("jti", json!(jti)),
                ]
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect();
                if let Some(sid) = &sid {
                    claims.insert("sid".into(), sid.as_str().into());
                }
                keys.sign(alg, "JWT", claims).await?
            }
            fault => {
                let mut claims = logout_claims(
                    &self.acting_issuer(),
                    client_id,
                    &jti,
                    sid.as_deref(),
                    sub.as_deref(),
                    now_unix,
                );
                if let Some(fault) = fault {
                    faults::alter_logout_claims(fault, &mut claims, now_unix);
                }
                match fault.and_then(LogoutTokenFault::signature_fault) {
                    Some(broken) => {
                        faults::sign_with_fault(keys, alg, LOGOUT_TYP, broken, claims).await?
                    }
                    None => keys.sign(alg, LOGOUT_TYP, claims).await?,
                }
            }
        };
        let (status, error) = self
            .backchannel
            .send_once(uri.as_str(), &logout_token)
            .await;
        let fault = injection.fault.map(LogoutTokenFault::name);
        tracing::info!(client = %client_id, fault = ?fault, status = ?status, error = ?error, "logout token injected");
        Ok(InjectedLogout {
            status,
            error,
            logout_token,
            sid,
            sub,
            jti,
        })
    }
}

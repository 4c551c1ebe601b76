//! OpenID Connect Back-Channel Logout 1.0: when a broker session ends, every client that
//! took part and registered a `backchannel_logout_uri` gets a signed logout token, in the
//! background, with bounded retries. Every attempt is recorded for the admin API.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use dashmap::{DashMap, DashSet};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::Provider;
use crate::broker::sessions::{EndReason, EndedSession};
use crate::broker::{Broker, SigningAlg};

pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

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
        }
    }

    /// Stops (or resumes) back-channel logout to one client.
    pub fn withhold(&self, client_id: &str, withhold: bool) {
        if withhold {
            self.withheld.insert(client_id.to_string());
        } else {
            self.withheld.remove(client_id);
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
        if self.deliveries.len() > KEPT {
            let mut all: Vec<(i64, String)> = self
                .deliveries
                .iter()
                .map(|d| (d.created, d.jti.clone()))
                .collect();
            all.sort();
            for (_, jti) in all.iter().take(all.len() - KEPT) {
                self.deliveries.remove(jti);
            }
        }
    }

    /// Withheld clients get neither back- nor front-channel logout.
    pub fn is_withheld(&self, client_id: &str) -> bool {
        self.withheld.contains(client_id)
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
            let serde_json::Value::Object(claims) = json!({
                "iss": provider.issuer,
                "aud": client_id,
                "iat": now.unix_timestamp(),
                "exp": now.unix_timestamp() + 120,
                "jti": jti,
                "events": { EVENT: {} },
                "sid": participant.sid.to_string(),
                "sub": participant.subject,
            }) else {
                continue;
            };
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
    claims: serde_json::Map<String, serde_json::Value>,
    delivery: Delivery,
}

impl DeliveryJob {
    async fn run(self) {
        let jti = self.delivery.jti.clone();
        let token = match self
            .broker
            .keys
            .sign(self.alg, "logout+jwt", self.claims.clone())
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
            let sent = self
                .http
                .post(&self.delivery.uri)
                .form(&[("logout_token", token.as_str())])
                .send()
                .await;
            let last = attempt == self.policy.max_attempts;
            match sent {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(client = %self.delivery.client_id, attempt, "back-channel logout delivered");
                    self.record(
                        &jti,
                        Some(response.status().as_u16()),
                        None,
                        DeliveryState::Delivered,
                    );
                    return;
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    tracing::warn!(client = %self.delivery.client_id, attempt, status, "back-channel logout refused");
                    let state = if last {
                        DeliveryState::Failed
                    } else {
                        DeliveryState::Pending
                    };
                    self.record(&jti, Some(status), None, state);
                }
                Err(err) => {
                    tracing::warn!(client = %self.delivery.client_id, attempt, error = %err, "back-channel logout failed");
                    let state = if last {
                        DeliveryState::Failed
                    } else {
                        DeliveryState::Pending
                    };
                    self.record(&jti, None, Some(err.to_string()), state);
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

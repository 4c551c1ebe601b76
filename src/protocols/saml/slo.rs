//! Single logout (SAML profiles §4.4) across every party of a broker session.
//!
//! An SP's LogoutRequest (Redirect, POST or SOAP) ends the sessions it names (its
//! `SessionIndex`, which is the broker session's ID, for its `NameID`). Every other party
//! hears of it: OpenID Connect clients by back-channel logout (the broker's listeners),
//! other SPs by a LogoutRequest of the IdP's: over SOAP where the SP registered a SOAP
//! endpoint, else through the browser, one SP after another (front-channel, the chain
//! travelling in `RelayState`). Then the SP that asked gets its LogoutResponse: `Success`,
//! or `Responder` / `PartialLogout` when some SP could not be logged out.
//!
//! Sessions that end otherwise (an OIDC logout in a shared session, expiry, the admin API)
//! reach their SPs over SOAP; an SP without a SOAP endpoint cannot be reached without the
//! browser, which the logout record says.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use dashmap::DashMap;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::binding::{self, Field, Received};
use super::idp::IdentityProvider;
use super::logout::{self, LogoutError, LogoutRequest};
use super::provider::{Outcome, Provider, Ready, SsoCookie};
use super::sp::{Endpoint, ServiceProvider, SpRegistry};
use super::vocabulary::{status, Binding, Status, SOAP_ENVELOPE_NS};
use crate::broker::sessions::{EndReason, EndedSession, LogoutListener};
use crate::protocols::front::Answer;

/// How long a front-channel logout may take from one SP to the next.
const CHAIN_LIFETIME: Duration = Duration::minutes(5);
/// Most front-channel logouts in progress (each started by a verified LogoutRequest).
const MOST_CHAINS: usize = 10_000;
/// Most deliveries kept in the record; older ones are forgotten first.
const KEPT_DELIVERIES: usize = 10_000;
/// How long an SP's SOAP endpoint has to answer.
const SOAP_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// One LogoutRequest of the IdP to one SP, as the record shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogoutDelivery {
    pub entity_id: String,
    /// The broker session (the `SessionIndex`).
    pub session: Uuid,
    /// `soap`, `redirect` or `post`; none when the SP could not be reached.
    pub binding: Option<&'static str>,
    pub state: DeliveryState,
    pub detail: Option<String>,
    pub created: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Sent through the browser; the SP's answer has not come back (yet).
    Sent,
    /// The SP answered `Success`.
    LoggedOut,
    /// The SP answered with another status, an unverifiable message, or not at all.
    Failed,
    /// No endpoint the IdP can use now (no SOAP endpoint and no browser at hand).
    NotReachable,
}

/// An SP to log out of one session.
#[derive(Clone, Debug)]
struct Visit {
    entity_id: String,
    name_id: String,
    session: Uuid,
}

/// A front-channel logout in progress.
struct Chain {
    /// The LogoutRequest that started it; its SP is answered at the end.
    origin: LogoutRequest,
    pending: VecDeque<Visit>,
    /// The SP visited now and the ID of the LogoutRequest it was sent.
    current: Option<(Visit, String)>,
    partial: bool,
    expires: OffsetDateTime,
}

/// Logouts in progress and the record of every LogoutRequest the IdP sent.
pub struct Logouts {
    chains: DashMap<String, Chain>,
    record: Arc<Mutex<VecDeque<LogoutDelivery>>>,
    http: reqwest::Client,
}

impl Default for Logouts {
    fn default() -> Self {
        Self {
            chains: DashMap::new(),
            record: Arc::default(),
            http: reqwest::Client::builder()
                .timeout(SOAP_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }
}

impl Logouts {
    /// Every LogoutRequest the IdP sent (or could not send), oldest first.
    pub fn deliveries(&self) -> Vec<LogoutDelivery> {
        lock(&self.record).iter().cloned().collect()
    }

    pub fn sweep(&self, now: OffsetDateTime) {
        self.chains.retain(|_, chain| chain.expires > now);
    }

    fn note(&self, delivery: LogoutDelivery) {
        note(&self.record, delivery);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn note(record: &Mutex<VecDeque<LogoutDelivery>>, delivery: LogoutDelivery) {
    let mut record = lock(record);
    // A browser delivery that comes back replaces its `sent` entry.
    if let Some(sent) = record.iter_mut().rev().find(|d| {
        d.state == DeliveryState::Sent
            && d.entity_id == delivery.entity_id
            && d.session == delivery.session
            && d.binding == delivery.binding
    }) {
        *sent = delivery;
        return;
    }
    record.push_back(delivery);
    while record.len() > KEPT_DELIVERIES {
        record.pop_front();
    }
}

fn binding_name(binding: Binding) -> &'static str {
    match binding {
        Binding::HttpRedirect => "redirect",
        Binding::HttpPost => "post",
        Binding::Soap => "soap",
        Binding::Artifact => "artifact",
    }
}

/// A SOAP 1.1 fault, for SOAP requests nobody can be answered for.
pub fn soap_fault(message: &str) -> String {
    format!(
        "<soap11:Envelope xmlns:soap11=\"{SOAP_ENVELOPE_NS}\"><soap11:Body><soap11:Fault>\
         <faultcode>soap11:Client</faultcode><faultstring>{}</faultstring></soap11:Fault>\
         </soap11:Body></soap11:Envelope>",
        super::xml::escape(message)
    )
}

/// The browser endpoint an SP is logged out at: HTTP-Redirect, else HTTP-POST.
fn browser_endpoint(sp: &ServiceProvider) -> Option<&Endpoint> {
    sp.single_logout_service(Binding::HttpRedirect)
        .or_else(|| sp.single_logout_service(Binding::HttpPost))
}

impl Provider {
    /// A LogoutRequest from an SP, over any binding.
    pub(super) async fn logout_request(
        &self,
        ready: &Ready,
        received: &Received,
        browser_key: Option<&str>,
    ) -> Outcome {
        let now = self.broker.clock.now();
        let soap = received.binding == Binding::Soap;
        let request =
            match logout::parse_request(received, &ready.idp, &self.service_providers, now) {
                Ok(request) => request,
                Err(err) => {
                    tracing::info!(%err, "LogoutRequest refused");
                    return match err {
                        LogoutError::XmlSec(_) if soap => Outcome::Soap {
                            status: 500,
                            body: soap_fault(&err.to_string()),
                        },
                        _ if soap => Outcome::Soap {
                            status: 400,
                            body: soap_fault(&err.to_string()),
                        },
                        _ => Outcome::refused(
                            "Logout-forespørgslen afvises / The logout request is refused",
                            err.to_string(),
                        ),
                    };
                }
            };
        let mut others = Vec::new();
        for id in self.sessions_named(&request) {
            let Some(mut ended) = self.broker.sessions.end(id, EndReason::RpLogout, now) else {
                continue;
            };
            // This logout takes over the session's SPs; the listeners tell its clients.
            for (entity_id, participant) in std::mem::take(&mut ended.session.service_providers) {
                if entity_id != request.sp.entity_id {
                    others.push(Visit {
                        entity_id,
                        name_id: participant.subject,
                        session: id,
                    });
                }
            }
            self.announce(ended);
        }
        let mut partial = false;
        let mut through_browser = VecDeque::new();
        let mut by_soap = Vec::new();
        for visit in others {
            let Some(sp) = self.service_providers.get(&visit.entity_id) else {
                partial = true;
                self.not_reachable(&visit, "the SP is no longer registered", now);
                continue;
            };
            match (
                sp.single_logout_service(Binding::Soap),
                browser_endpoint(&sp),
            ) {
                (Some(endpoint), _) => by_soap.push((sp.clone(), endpoint.clone(), visit)),
                (None, Some(_)) if !soap => through_browser.push_back(visit),
                (None, Some(_)) => {
                    partial = true;
                    self.not_reachable(
                        &visit,
                        "no SOAP SingleLogoutService, and a SOAP logout has no browser",
                        now,
                    );
                }
                (None, None) => {
                    partial = true;
                    self.not_reachable(&visit, "the SP registered no SingleLogoutService", now);
                }
            }
        }
        let deliveries: Vec<_> = by_soap
            .into_iter()
            .map(|(sp, endpoint, visit)| {
                let idp = ready.idp.clone();
                let registry = self.service_providers.clone();
                let http = self.logouts.http.clone();
                let record = self.logouts.record.clone();
                tokio::spawn(async move {
                    deliver_soap(&http, &idp, &registry, &sp, &endpoint, &visit, &record, now).await
                })
            })
            .collect();
        // The SOAP calls run side by side; the answer waits for all of them.
        for delivery in deliveries {
            if !delivery.await.unwrap_or(false) {
                partial = true;
            }
        }
        let chain = Chain {
            origin: request,
            pending: through_browser,
            current: None,
            partial,
            expires: now + CHAIN_LIFETIME,
        };
        self.next_in_chain(ready, crate::random::secret_token(), chain, browser_key)
    }

    /// An SP's LogoutResponse to the LogoutRequest the IdP sent it through the browser.
    pub(super) async fn logout_response(
        &self,
        ready: &Ready,
        received: &Received,
        browser_key: Option<&str>,
    ) -> Outcome {
        let now = self.broker.clock.now();
        let chain = received
            .relay_state
            .as_deref()
            .and_then(|id| self.logouts.chains.remove(id));
        let Some((chain_id, mut chain)) = chain.filter(|(_, c)| c.expires > now) else {
            return Outcome::refused(
                "Ukendt logout / Unknown logout",
                "this LogoutResponse answers no logout in progress (its RelayState names none, or it took more than 5 minutes)",
            );
        };
        if let Some((visit, request_id)) = chain.current.take() {
            let verdict = logout::parse_response(
                received,
                &ready.idp,
                &self.service_providers,
                &request_id,
                now,
            )
            .map_err(|err| err.to_string())
            .and_then(|response| {
                if response.is_success() {
                    Ok(())
                } else {
                    Err(format!("the SP answered {}", response.status_code))
                }
            });
            chain.partial |= verdict.is_err();
            self.logouts.note(LogoutDelivery {
                entity_id: visit.entity_id,
                session: visit.session,
                binding: Some(binding_name(received.binding)),
                state: if verdict.is_ok() {
                    DeliveryState::LoggedOut
                } else {
                    DeliveryState::Failed
                },
                detail: verdict.err(),
                created: now.unix_timestamp(),
            });
        }
        self.next_in_chain(ready, chain_id, chain, browser_key)
    }

    /// Sends the browser to the next SP of a front-channel logout, or, when none is left,
    /// back to the SP that asked, with its LogoutResponse.
    fn next_in_chain(
        &self,
        ready: &Ready,
        chain_id: String,
        mut chain: Chain,
        browser_key: Option<&str>,
    ) -> Outcome {
        let now = self.broker.clock.now();
        while let Some(visit) = chain.pending.pop_front() {
            let sp = self.service_providers.get(&visit.entity_id);
            let Some((sp, endpoint)) = sp
                .as_ref()
                .and_then(|sp| browser_endpoint(sp).map(|e| (sp, e.clone())))
            else {
                chain.partial = true;
                self.not_reachable(&visit, "the SP or its SingleLogoutService is gone", now);
                continue;
            };
            let outgoing = logout::request_to_sp(
                &ready.idp,
                &endpoint,
                &visit.name_id,
                &visit.session.to_string(),
                now,
            );
            let answer = match endpoint.binding {
                Binding::HttpRedirect => outgoing
                    .redirect(&ready.idp, Field::SamlRequest, Some(&chain_id))
                    .map(Answer::Redirect),
                _ => outgoing
                    .post(&ready.idp, Field::SamlRequest, Some(&chain_id))
                    .map(Answer::Post),
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(err) => {
                    chain.partial = true;
                    self.logouts.note(LogoutDelivery {
                        entity_id: sp.entity_id.clone(),
                        session: visit.session,
                        binding: None,
                        state: DeliveryState::Failed,
                        detail: Some(err.to_string()),
                        created: now.unix_timestamp(),
                    });
                    continue;
                }
            };
            self.logouts.note(LogoutDelivery {
                entity_id: visit.entity_id.clone(),
                session: visit.session,
                binding: Some(binding_name(endpoint.binding)),
                state: DeliveryState::Sent,
                detail: None,
                created: now.unix_timestamp(),
            });
            chain.current = Some((visit, outgoing.id));
            if self.logouts.chains.len() >= MOST_CHAINS {
                self.logouts.sweep(now);
            }
            if self.logouts.chains.len() < MOST_CHAINS {
                self.logouts.chains.insert(chain_id, chain);
            }
            return Outcome::Browser {
                answer,
                sso: self.cookie_after_logout(browser_key),
            };
        }
        self.answer_origin(ready, &chain.origin, chain.partial, browser_key)
    }

    /// The LogoutResponse to the SP that asked, over the binding it asked with.
    fn answer_origin(
        &self,
        ready: &Ready,
        request: &LogoutRequest,
        partial: bool,
        browser_key: Option<&str>,
    ) -> Outcome {
        let now = self.broker.clock.now();
        let status = if partial {
            Status::responder(
                status::PARTIAL_LOGOUT,
                "not every service provider of the session could be logged out",
            )
        } else {
            Status::success()
        };
        if request.binding == Binding::Soap {
            let body = logout::response_to_sp(&ready.idp, request, &status, now)
                .and_then(|outgoing| outgoing.soap(&ready.idp));
            return match body {
                Ok(body) => Outcome::Soap { status: 200, body },
                Err(err) => Outcome::Soap {
                    status: 500,
                    body: soap_fault(&err.to_string()),
                },
            };
        }
        let endpoint = request
            .sp
            .single_logout_service(request.binding)
            .or_else(|| browser_endpoint(&request.sp));
        let Some(endpoint) = endpoint else {
            return Outcome::refused(
                "Logget af / Logged out",
                format!(
                    "you are logged out, but {} registered no SingleLogoutService to answer at",
                    request.sp.entity_id
                ),
            );
        };
        let answer =
            logout::response_to(&ready.idp, request, endpoint, &status, now).and_then(|outgoing| {
                match endpoint.binding {
                    Binding::HttpRedirect => outgoing
                        .redirect(
                            &ready.idp,
                            Field::SamlResponse,
                            request.relay_state.as_deref(),
                        )
                        .map(Answer::Redirect),
                    _ => outgoing
                        .post(
                            &ready.idp,
                            Field::SamlResponse,
                            request.relay_state.as_deref(),
                        )
                        .map(Answer::Post),
                }
            });
        Outcome::Browser {
            answer: answer.unwrap_or_else(|err| Answer::Failed(err.to_string())),
            sso: self.cookie_after_logout(browser_key),
        }
    }

    /// The live sessions an SP's LogoutRequest names: its `SessionIndex` values (the
    /// broker session IDs), or with none every session of its `NameID`; always sessions
    /// this SP took part in with this `NameID`.
    fn sessions_named(&self, request: &LogoutRequest) -> Vec<Uuid> {
        let takes_part = |session: &crate::broker::sessions::SsoSession| {
            session
                .service_providers
                .get(&request.sp.entity_id)
                .is_some_and(|p| p.subject == request.name_id)
        };
        let sessions = &self.broker.sessions;
        if request.session_indexes.is_empty() {
            return sessions
                .all()
                .iter()
                .filter(|s| takes_part(s))
                .map(|s| s.id)
                .collect();
        }
        request
            .session_indexes
            .iter()
            .filter_map(|index| Uuid::parse_str(index).ok())
            .filter(|id| sessions.get(*id).is_some_and(|s| takes_part(&s)))
            .collect()
    }

    fn cookie_after_logout(&self, browser_key: Option<&str>) -> SsoCookie {
        let now = self.broker.clock.now();
        match browser_key {
            Some(key) if self.broker.sessions.browser_has_sessions(key, now) => SsoCookie::Keep,
            Some(_) => SsoCookie::Clear,
            None => SsoCookie::Keep,
        }
    }

    fn not_reachable(&self, visit: &Visit, why: &str, now: OffsetDateTime) {
        tracing::info!(sp = %visit.entity_id, why, "SAML logout not delivered");
        self.logouts.note(LogoutDelivery {
            entity_id: visit.entity_id.clone(),
            session: visit.session,
            binding: None,
            state: DeliveryState::NotReachable,
            detail: Some(why.to_string()),
            created: now.unix_timestamp(),
        });
    }
}

/// Sessions that ended elsewhere (an OIDC logout in a shared session, expiry, the admin
/// API): each SP hears of it over SOAP, in the background.
impl LogoutListener for Provider {
    fn session_ended(&self, ended: &EndedSession) {
        if ended.session.service_providers.is_empty() {
            return;
        }
        let now = self.broker.clock.now();
        let Some(Ok(ready)) = self.ready_now() else {
            return;
        };
        for (entity_id, participant) in &ended.session.service_providers {
            let visit = Visit {
                entity_id: entity_id.clone(),
                name_id: participant.subject.clone(),
                session: ended.session.id,
            };
            let Some(sp) = self.service_providers.get(entity_id) else {
                self.not_reachable(&visit, "the SP is no longer registered", now);
                continue;
            };
            let Some(endpoint) = sp.single_logout_service(Binding::Soap).cloned() else {
                self.not_reachable(
                    &visit,
                    "no SOAP SingleLogoutService: a logout without the browser reaches SPs over SOAP only",
                    now,
                );
                continue;
            };
            let idp = ready.idp.clone();
            let registry = self.service_providers.clone();
            let http = self.logouts.http.clone();
            let record = self.logouts.record.clone();
            tokio::spawn(async move {
                deliver_soap(&http, &idp, &registry, &sp, &endpoint, &visit, &record, now).await;
            });
        }
    }
}

/// One LogoutRequest over SOAP, its LogoutResponse verified; the record says how it went.
#[allow(clippy::too_many_arguments)]
async fn deliver_soap(
    http: &reqwest::Client,
    idp: &IdentityProvider,
    registry: &SpRegistry,
    sp: &ServiceProvider,
    endpoint: &Endpoint,
    visit: &Visit,
    record: &Mutex<VecDeque<LogoutDelivery>>,
    now: OffsetDateTime,
) -> bool {
    let outcome = soap_exchange(http, idp, registry, endpoint, visit, now).await;
    if let Err(err) = &outcome {
        tracing::info!(sp = %sp.entity_id, %err, "SOAP logout failed");
    }
    note(
        record,
        LogoutDelivery {
            entity_id: sp.entity_id.clone(),
            session: visit.session,
            binding: Some("soap"),
            state: if outcome.is_ok() {
                DeliveryState::LoggedOut
            } else {
                DeliveryState::Failed
            },
            detail: outcome.as_ref().err().cloned(),
            created: now.unix_timestamp(),
        },
    );
    outcome.is_ok()
}

async fn soap_exchange(
    http: &reqwest::Client,
    idp: &IdentityProvider,
    registry: &SpRegistry,
    endpoint: &Endpoint,
    visit: &Visit,
    now: OffsetDateTime,
) -> Result<(), String> {
    let outgoing = logout::request_to_sp(
        idp,
        endpoint,
        &visit.name_id,
        &visit.session.to_string(),
        now,
    );
    let body = outgoing.soap(idp).map_err(|e| e.to_string())?;
    let response = http
        .post(&endpoint.location)
        .header("content-type", "text/xml; charset=utf-8")
        .header(
            "soapaction",
            "http://www.oasis-open.org/committees/security",
        )
        .body(body)
        .send()
        .await
        .map_err(|err| {
            format!(
                "the SOAP endpoint {} did not answer: {err}",
                endpoint.location
            )
        })?;
    let code = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| format!("the SOAP answer could not be read: {err}"))?;
    if !code.is_success() {
        return Err(format!("the SOAP endpoint answered HTTP {code}"));
    }
    let received = binding::from_soap(&text).map_err(|e| e.to_string())?;
    let response = logout::parse_response(&received, idp, registry, &outgoing.id, now)
        .map_err(|e| e.to_string())?;
    if response.is_success() {
        Ok(())
    } else {
        Err(format!("the SP answered {}", response.status_code))
    }
}

//! The MitID app on the citizen's (simulated) phone: a login asks the app, the citizen
//! approves with a swipe or rejects, or the request times out. One pending request per
//! citizen at a time, as the real app refuses parallel logins.

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::ClientTexts;
use crate::identity::Loa;

/// How the simulated app answers without a human, scripted per citizen in the fixtures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AppConfigToml", into = "AppConfigToml")]
pub struct AppConfig {
    pub answer: AppAnswer,
    /// Substantial for an ordinary app; High for an app enrolled with chip or passport.
    pub level: Loa,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum AppAnswer {
    /// Waits for someone to swipe on the phone page (the default).
    Manual,
    Approve {
        after_ms: u64,
    },
    Reject {
        after_ms: u64,
    },
    /// Never answers, so the request times out.
    Never,
}

/// The longest a scripted app answer may wait: a day, far past any `--app-timeout` one
/// would choose (the request times out first).
pub const MAX_ANSWER_DELAY_MS: u64 = 86_400_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppConfigToml {
    #[serde(default = "manual")]
    answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after_ms: Option<u64>,
    #[serde(default = "substantial")]
    level: Loa,
}

fn manual() -> String {
    "manual".into()
}

fn substantial() -> Loa {
    Loa::Substantial
}

impl TryFrom<AppConfigToml> for AppConfig {
    type Error = String;
    fn try_from(raw: AppConfigToml) -> Result<Self, Self::Error> {
        let after_ms = raw.after_ms;
        if let Some(ms) = after_ms.filter(|ms| *ms > MAX_ANSWER_DELAY_MS) {
            return Err(format!(
                "`after_ms` = {ms} is more than a day ({MAX_ANSWER_DELAY_MS} ms)"
            ));
        }
        let answer = match (raw.answer.as_str(), after_ms) {
            ("manual", None) => AppAnswer::Manual,
            ("never", None) => AppAnswer::Never,
            ("approve", after) => AppAnswer::Approve {
                after_ms: after.unwrap_or(0),
            },
            ("reject", after) => AppAnswer::Reject {
                after_ms: after.unwrap_or(0),
            },
            ("manual" | "never", Some(_)) => {
                return Err(format!(
                    "`after_ms` applies only to answer = \"approve\" or \"reject\", not \"{}\"",
                    raw.answer
                ))
            }
            (other, _) => {
                return Err(format!(
                    "unknown app answer `{other}`: use manual, approve, reject or never"
                ))
            }
        };
        if raw.level == Loa::Low {
            return Err("the MitID app authenticates at substantial or high, not low".into());
        }
        Ok(Self {
            answer,
            level: raw.level,
        })
    }
}

impl From<AppConfig> for AppConfigToml {
    fn from(config: AppConfig) -> Self {
        let (answer, after_ms) = match config.answer {
            AppAnswer::Manual => ("manual", None),
            AppAnswer::Never => ("never", None),
            AppAnswer::Approve { after_ms } => ("approve", Some(after_ms)),
            AppAnswer::Reject { after_ms } => ("reject", Some(after_ms)),
        };
        Self {
            answer: answer.into(),
            after_ms,
            level: config.level,
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            answer: AppAnswer::Manual,
            level: Loa::Substantial,
        }
    }
}

pub type AppRequestId = String;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppRequestState {
    Pending,
    Approved,
    Rejected,
    TimedOut,
    Cancelled,
}

/// Which app a request asks: the MitID app, or NemID's key app (nøgleapp), which the same
/// simulated phone answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    #[default]
    MitId,
    NemIdKeyApp,
}

impl AppKind {
    /// The brand the phone shows.
    pub fn brand(self) -> &'static str {
        match self {
            AppKind::MitId => "MitID",
            AppKind::NemIdKeyApp => "NemID",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct AppRequest {
    pub id: AppRequestId,
    pub app: AppKind,
    pub citizen: Uuid,
    /// Shown on the phone: who asks ("Log på hos <client>").
    pub client_name: String,
    /// The action header and the service's reference text, shown with the client's name.
    pub texts: ClientTexts,
    pub created: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub answer: AppAnswer,
    pub level: Loa,
    decided: Option<AppRequestState>,
}

impl AppRequest {
    /// The state at `now`: scripted answers and time-outs are evaluated lazily, so no
    /// timer runs per request and a shifted clock takes effect at once.
    pub fn state_at(&self, now: OffsetDateTime) -> AppRequestState {
        if let Some(decided) = self.decided {
            return decided;
        }
        let elapsed = now - self.created;
        // A delay past i64 milliseconds waits for ever (it would wrap to "at once").
        let after = |ms: u64| i64::try_from(ms).map_or(Duration::MAX, Duration::milliseconds);
        let scripted = match self.answer {
            AppAnswer::Approve { after_ms } if elapsed >= after(after_ms) => {
                Some(AppRequestState::Approved)
            }
            AppAnswer::Reject { after_ms } if elapsed >= after(after_ms) => {
                Some(AppRequestState::Rejected)
            }
            _ => None,
        };
        match scripted {
            Some(state) if now < self.expires => state,
            _ if now >= self.expires => AppRequestState::TimedOut,
            _ => AppRequestState::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("parallel_sessions_detected: the citizen's app is already busy with another login")]
    ParallelRequest,
    #[error("no such app request")]
    Unknown,
    #[error("the request is no longer waiting for an answer (it is {0:?})")]
    NotPending(AppRequestState),
}

#[derive(Debug, Default)]
pub struct AppRegistry {
    requests: DashMap<AppRequestId, AppRequest>,
    active_by_citizen: DashMap<Uuid, AppRequestId>,
}

pub struct NewAppRequest<'a> {
    pub app: AppKind,
    pub citizen: Uuid,
    pub config: AppConfig,
    pub client_name: &'a str,
    pub texts: ClientTexts,
    pub timeout: Duration,
}

impl AppRegistry {
    pub fn start(
        &self,
        new: NewAppRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<AppRequestId, AppError> {
        let id = crate::random::short_id();
        // The citizen's slot is held while deciding, so two logins racing for the same
        // app cannot both get through.
        match self.active_by_citizen.entry(new.citizen) {
            Entry::Occupied(mut slot) => {
                let busy = self
                    .requests
                    .get(slot.get())
                    .is_some_and(|r| r.state_at(now) == AppRequestState::Pending);
                if busy {
                    return Err(AppError::ParallelRequest);
                }
                slot.insert(id.clone());
            }
            Entry::Vacant(slot) => {
                slot.insert(id.clone());
            }
        }
        self.requests.insert(
            id.clone(),
            AppRequest {
                id: id.clone(),
                app: new.app,
                citizen: new.citizen,
                client_name: new.client_name.to_string(),
                texts: new.texts,
                created: now,
                expires: now + new.timeout,
                answer: new.config.answer,
                level: new.config.level,
                decided: None,
            },
        );
        Ok(id)
    }

    pub fn get(&self, id: &str) -> Option<AppRequest> {
        self.requests.get(id).map(|r| r.clone())
    }

    pub fn state(&self, id: &str, now: OffsetDateTime) -> Option<AppRequestState> {
        self.requests.get(id).map(|r| r.state_at(now))
    }

    /// The pending request of a citizen, for their phone page.
    pub fn pending_for(&self, citizen: Uuid, now: OffsetDateTime) -> Option<AppRequest> {
        let id = self.active_by_citizen.get(&citizen)?.clone();
        self.get(&id)
            .filter(|r| r.state_at(now) == AppRequestState::Pending)
    }

    /// The citizen's swipe (approve) or rejection on the phone.
    pub fn answer(
        &self,
        id: &str,
        approve: bool,
        now: OffsetDateTime,
    ) -> Result<AppRequestState, AppError> {
        let mut request = self.requests.get_mut(id).ok_or(AppError::Unknown)?;
        match request.state_at(now) {
            AppRequestState::Pending => {
                let state = if approve {
                    AppRequestState::Approved
                } else {
                    AppRequestState::Rejected
                };
                request.decided = Some(state);
                Ok(state)
            }
            other => Err(AppError::NotPending(other)),
        }
    }

    /// The login was abandoned (cancel, another authenticator chosen): free the app.
    pub fn cancel(&self, id: &str, now: OffsetDateTime) {
        if let Some(mut request) = self.requests.get_mut(id) {
            if request.state_at(now) == AppRequestState::Pending {
                request.decided = Some(AppRequestState::Cancelled);
            }
        }
    }

    /// Fixes the outcome of every request whose scripted answer or time-out is due at
    /// `now`, so that turning the clock back later cannot make it wait again (and block
    /// the citizen's next login as a parallel request). Runs before and after every clock
    /// change, and every second.
    pub fn settle(&self, now: OffsetDateTime) {
        for mut request in self.requests.iter_mut() {
            if request.decided.is_none() {
                let state = request.state_at(now);
                if state != AppRequestState::Pending {
                    request.decided = Some(state);
                }
            }
        }
    }

    /// Drops requests that ended long ago; runs from the broker's housekeeping task.
    pub fn sweep(&self, now: OffsetDateTime) {
        let horizon = now - Duration::minutes(10);
        self.requests.retain(|_, r| r.expires > horizon);
        self.active_by_citizen
            .retain(|_, id| self.requests.contains_key(id.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00:00 UTC);

    fn request(
        registry: &AppRegistry,
        citizen: Uuid,
        answer: AppAnswer,
    ) -> Result<AppRequestId, AppError> {
        registry.start(
            NewAppRequest {
                app: AppKind::MitId,
                citizen,
                config: AppConfig {
                    answer,
                    level: Loa::Substantial,
                },
                client_name: "Demo RP",
                texts: ClientTexts::default(),
                timeout: Duration::minutes(2),
            },
            NOW,
        )
    }

    #[test]
    fn a_timed_out_request_stays_timed_out_when_the_clock_goes_back() {
        let registry = AppRegistry::default();
        let citizen = Uuid::new_v4();
        let id = request(&registry, citizen, AppAnswer::Manual).unwrap();
        let later = NOW + Duration::minutes(5);
        registry.settle(later);
        assert_eq!(registry.state(&id, NOW), Some(AppRequestState::TimedOut));
        assert!(registry.pending_for(citizen, NOW).is_none());
        let next = request(&registry, citizen, AppAnswer::Manual);
        assert!(next.is_ok(), "not blocked as parallel: {next:?}");
    }

    #[test]
    fn a_swipe_approves_once() {
        let registry = AppRegistry::default();
        let id = request(&registry, Uuid::new_v4(), AppAnswer::Manual).unwrap();
        assert_eq!(registry.state(&id, NOW), Some(AppRequestState::Pending));
        assert_eq!(
            registry.answer(&id, true, NOW),
            Ok(AppRequestState::Approved)
        );
        assert_eq!(
            registry.answer(&id, false, NOW),
            Err(AppError::NotPending(AppRequestState::Approved))
        );
    }

    #[test]
    fn scripted_answers_arrive_after_their_delay() {
        let registry = AppRegistry::default();
        let id = request(
            &registry,
            Uuid::new_v4(),
            AppAnswer::Approve { after_ms: 1500 },
        )
        .unwrap();
        assert_eq!(
            registry.state(&id, NOW + Duration::seconds(1)),
            Some(AppRequestState::Pending)
        );
        assert_eq!(
            registry.state(&id, NOW + Duration::seconds(2)),
            Some(AppRequestState::Approved)
        );
        let rejected =
            request(&registry, Uuid::new_v4(), AppAnswer::Reject { after_ms: 0 }).unwrap();
        assert_eq!(
            registry.state(&rejected, NOW),
            Some(AppRequestState::Rejected)
        );
    }

    #[test]
    fn unanswered_requests_time_out() {
        let registry = AppRegistry::default();
        let id = request(&registry, Uuid::new_v4(), AppAnswer::Never).unwrap();
        assert_eq!(
            registry.state(&id, NOW + Duration::seconds(119)),
            Some(AppRequestState::Pending)
        );
        assert_eq!(
            registry.state(&id, NOW + Duration::seconds(120)),
            Some(AppRequestState::TimedOut)
        );
        assert!(registry
            .answer(&id, true, NOW + Duration::minutes(3))
            .is_err());
    }

    #[test]
    fn a_second_login_is_refused_while_the_first_waits() {
        let registry = AppRegistry::default();
        let citizen = Uuid::new_v4();
        let first = request(&registry, citizen, AppAnswer::Manual).unwrap();
        assert_eq!(
            request(&registry, citizen, AppAnswer::Manual),
            Err(AppError::ParallelRequest)
        );
        registry.cancel(&first, NOW);
        assert!(request(&registry, citizen, AppAnswer::Manual).is_ok());
    }

    #[test]
    fn fixture_answers_are_validated() {
        let ok: AppConfig = toml::from_str("answer = \"approve\"\nafter_ms = 500").unwrap();
        assert_eq!(ok.answer, AppAnswer::Approve { after_ms: 500 });
        let err = toml::from_str::<AppConfig>("answer = \"never\"\nafter_ms = 5").unwrap_err();
        let too_long =
            toml::from_str::<AppConfig>("answer = \"approve\"\nafter_ms = 86400001").unwrap_err();
        assert!(
            too_long.to_string().contains("more than a day"),
            "{too_long}"
        );
        assert!(err.to_string().contains("after_ms"), "{err}");
        let err = toml::from_str::<AppConfig>("answer = \"maybe\"").unwrap_err();
        assert!(err.to_string().contains("unknown app answer"), "{err}");
    }
}

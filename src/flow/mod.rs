//! The login transaction as a state machine: user ID, then one authenticator, then a
//! result. Protocol-agnostic: the protocol that started the login keeps its request in `P`.

use std::sync::Arc;

use dashmap::DashMap;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::authenticators::app::{AppError, NewAppRequest};
use crate::authenticators::{AppRequestId, AppRequestState, CodeCheck, Method, Proof};
use crate::broker::Broker;
use crate::identity::{Identity, IdentityStatus, Loa};

pub type LoginId = String;

/// What the relying party asked of this login.
#[derive(Clone, Debug)]
pub struct Requirements {
    pub client_name: String,
    pub min_loa: Loa,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Authentication {
    pub citizen: Uuid,
    pub proof: Proof,
    /// The lower of the identity's IAL and the authenticator's AAL.
    pub loa: Loa,
    pub ial: Loa,
    pub auth_time: OffsetDateTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The citizen pressed "Afbryd".
    Aborted,
    AppRejected,
    AppTimedOut,
    /// No authenticator of this citizen reaches the level the RP asked for.
    InsufficientAssurance,
    IdentityNotUsable(IdentityStatus),
}

impl Failure {
    /// Failures the citizen should read about before going back to the service.
    pub fn explained_first(self) -> bool {
        matches!(
            self,
            Failure::InsufficientAssurance | Failure::IdentityNotUsable(_)
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Authenticated(Authentication),
    Failed(Failure),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    EnterUserId,
    ChooseMethod {
        citizen: Uuid,
    },
    App {
        citizen: Uuid,
        request: AppRequestId,
    },
    Code {
        citizen: Uuid,
    },
    Password {
        citizen: Uuid,
        proof: Proof,
    },
    /// Three wrong codes: the code display is blocked until the given time.
    Blocked {
        citizen: Uuid,
        until: OffsetDateTime,
    },
    Finished(Outcome),
}

impl Step {
    pub fn citizen(&self) -> Option<Uuid> {
        match self {
            Step::ChooseMethod { citizen }
            | Step::App { citizen, .. }
            | Step::Code { citizen }
            | Step::Password { citizen, .. }
            | Step::Blocked { citizen, .. } => Some(*citizen),
            Step::EnterUserId => None,
            Step::Finished(Outcome::Authenticated(auth)) => Some(auth.citizen),
            Step::Finished(Outcome::Failed(_)) => None,
        }
    }
}

/// A message shown with the current step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    UnknownUserId,
    WrongCode { attempts_left: u8 },
    CodeAlreadyUsed,
    WrongPassword,
    AppBusy,
    MethodUnavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("this step of the login is over; reload the page")]
    WrongStep,
}

pub struct Login<P> {
    pub id: LoginId,
    /// Secret kept in the browser's cookie, so a leaked login URL cannot be finished elsewhere.
    pub browser_binding: String,
    /// Anti-CSRF token every form of this login carries.
    pub csrf: String,
    pub request: P,
    pub requirements: Requirements,
    pub step: Step,
    pub notice: Option<Notice>,
    pub expires: OffsetDateTime,
}

impl<P> Login<P> {
    pub fn new(request: P, requirements: Requirements, broker: &Broker) -> Self {
        Self {
            id: crate::random::short_id(),
            browser_binding: crate::random::secret_token(),
            csrf: crate::random::secret_token(),
            request,
            requirements,
            step: Step::EnterUserId,
            notice: None,
            expires: broker.clock.now() + broker.settings.login_lifetime,
        }
    }

    /// A login for a known citizen that skips the pages (`simulation=no-ui`).
    pub fn authenticate_directly(&mut self, broker: &Broker, citizen: &Identity) -> &Step {
        if !citizen.status.can_log_in() {
            self.step = Step::Finished(Outcome::Failed(Failure::IdentityNotUsable(citizen.status)));
            return &self.step;
        }
        let best = self
            .usable_methods(citizen)
            .into_iter()
            .map(|m| proof_for(citizen, m))
            .rev() // on a tie the first-offered method (the app) wins
            .max_by_key(|p| p.aal);
        match best {
            Some(proof) => self.finish(broker, citizen, proof),
            None => self.step = Step::Finished(Outcome::Failed(Failure::InsufficientAssurance)),
        }
        &self.step
    }

    /// Methods of this citizen that reach what the RP asked.
    pub fn usable_methods(&self, citizen: &Identity) -> Vec<Method> {
        let wanted = self.requirements.min_loa;
        if citizen.ial < wanted {
            return Vec::new();
        }
        citizen
            .methods()
            .into_iter()
            .filter(|m| proof_for(citizen, *m).aal >= wanted)
            .collect()
    }

    pub fn submit_user_id(&mut self, broker: &Broker, text: &str) -> Result<(), FlowError> {
        if self.step != Step::EnterUserId {
            return Err(FlowError::WrongStep);
        }
        let Some(citizen) = broker.identities.by_user_id(text) else {
            self.notice = Some(Notice::UnknownUserId);
            return Ok(());
        };
        self.notice = None;
        if !citizen.status.can_log_in() {
            self.step = Step::Finished(Outcome::Failed(Failure::IdentityNotUsable(citizen.status)));
            return Ok(());
        }
        match self.usable_methods(&citizen).first() {
            Some(first) => self.start_method(broker, &citizen, *first),
            None => self.step = Step::Finished(Outcome::Failed(Failure::InsufficientAssurance)),
        }
        Ok(())
    }

    /// "Vælg en anden metode": list the citizen's other authenticators.
    pub fn show_choices(&mut self, broker: &Broker) -> Result<(), FlowError> {
        let citizen = self.active_citizen()?;
        self.release_app(broker);
        self.notice = None;
        self.step = Step::ChooseMethod { citizen };
        Ok(())
    }

    pub fn choose(&mut self, broker: &Broker, method: Method) -> Result<(), FlowError> {
        let citizen_id = self.active_citizen()?;
        let citizen = broker
            .identities
            .by_uuid(citizen_id)
            .ok_or(FlowError::WrongStep)?;
        self.release_app(broker);
        if !self.usable_methods(&citizen).contains(&method) {
            self.notice = Some(Notice::MethodUnavailable);
            self.step = Step::ChooseMethod {
                citizen: citizen_id,
            };
            return Ok(());
        }
        self.notice = None;
        self.start_method(broker, &citizen, method);
        Ok(())
    }

    fn start_method(&mut self, broker: &Broker, citizen: &Arc<Identity>, method: Method) {
        let now = broker.clock.now();
        self.step = match method {
            Method::App => {
                let config = citizen.app.unwrap_or_default();
                let started = broker.apps.start(
                    NewAppRequest {
                        citizen: citizen.uuid,
                        config,
                        client_name: &self.requirements.client_name,
                        timeout: broker.settings.app_timeout,
                    },
                    now,
                );
                match started {
                    Ok(request) => Step::App {
                        citizen: citizen.uuid,
                        request,
                    },
                    Err(
                        AppError::ParallelRequest | AppError::Unknown | AppError::NotPending(_),
                    ) => {
                        self.notice = Some(Notice::AppBusy);
                        Step::ChooseMethod {
                            citizen: citizen.uuid,
                        }
                    }
                }
            }
            Method::CodeDisplay => match broker.code_displays.blocked_until(citizen.uuid, now) {
                Some(until) => Step::Blocked {
                    citizen: citizen.uuid,
                    until,
                },
                None => Step::Code {
                    citizen: citizen.uuid,
                },
            },
        };
    }

    /// Looks at the app request; finishes the login once the citizen has answered.
    pub fn poll(&mut self, broker: &Broker) {
        let Step::App { citizen, request } = &self.step else {
            return;
        };
        let state = broker.apps.state(request, broker.clock.now());
        let citizen = *citizen;
        match state {
            Some(AppRequestState::Approved) => {
                let level = broker
                    .apps
                    .get(request)
                    .map_or(Loa::Substantial, |r| r.level);
                if let Some(identity) = broker.identities.by_uuid(citizen) {
                    self.finish(broker, &identity, Proof::app(level));
                }
            }
            Some(AppRequestState::Rejected) => self.fail(Failure::AppRejected),
            Some(AppRequestState::TimedOut) => self.fail(Failure::AppTimedOut),
            Some(AppRequestState::Pending) => {}
            Some(AppRequestState::Cancelled) | None => self.step = Step::ChooseMethod { citizen },
        }
    }

    pub fn submit_code(&mut self, broker: &Broker, code: &str) -> Result<(), FlowError> {
        let Step::Code { citizen } = self.step else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let Some(device) = &identity.code_display else {
            return Err(FlowError::WrongStep);
        };
        let now = broker.clock.now();
        self.notice = None;
        match broker
            .code_displays
            .check(citizen, &device.secret, code, now)
        {
            CodeCheck::Accepted => {
                self.step = Step::Password {
                    citizen,
                    proof: Proof::code_display(),
                }
            }
            CodeCheck::Wrong { attempts_left } => {
                self.notice = Some(Notice::WrongCode { attempts_left })
            }
            CodeCheck::Reused => self.notice = Some(Notice::CodeAlreadyUsed),
            CodeCheck::Blocked { until } => self.step = Step::Blocked { citizen, until },
        }
        Ok(())
    }

    pub fn submit_password(&mut self, broker: &Broker, password: &str) -> Result<(), FlowError> {
        let Step::Password { citizen, proof } = &self.step else {
            return Err(FlowError::WrongStep);
        };
        let (citizen, proof) = (*citizen, proof.clone());
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        if identity
            .password
            .as_ref()
            .is_some_and(|p| p.matches(password))
        {
            self.notice = None;
            self.finish(broker, &identity, proof);
        } else {
            self.notice = Some(Notice::WrongPassword);
        }
        Ok(())
    }

    /// "Afbryd", from any step that has not finished.
    pub fn cancel(&mut self, broker: &Broker) {
        if matches!(self.step, Step::Finished(_)) {
            return;
        }
        self.release_app(broker);
        self.fail(Failure::Aborted);
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.step {
            Step::Finished(outcome) => Some(outcome),
            _ => None,
        }
    }

    fn active_citizen(&self) -> Result<Uuid, FlowError> {
        match self.step {
            Step::Finished(_) | Step::EnterUserId | Step::Password { .. } => {
                Err(FlowError::WrongStep)
            }
            ref step => step.citizen().ok_or(FlowError::WrongStep),
        }
    }

    fn release_app(&self, broker: &Broker) {
        if let Step::App { request, .. } = &self.step {
            broker.apps.cancel(request, broker.clock.now());
        }
    }

    fn fail(&mut self, failure: Failure) {
        self.step = Step::Finished(Outcome::Failed(failure));
    }

    fn finish(&mut self, broker: &Broker, citizen: &Identity, proof: Proof) {
        let loa = citizen.ial.min(proof.aal);
        self.step = Step::Finished(Outcome::Authenticated(Authentication {
            citizen: citizen.uuid,
            loa,
            ial: citizen.ial,
            proof,
            auth_time: broker.clock.now(),
        }));
    }
}

fn proof_for(citizen: &Identity, method: Method) -> Proof {
    match method {
        Method::App => Proof::app(citizen.app.unwrap_or_default().level),
        Method::CodeDisplay => Proof::code_display(),
    }
}

/// Logins in progress, sharded so concurrent logins never wait on one lock.
pub struct Logins<P> {
    logins: DashMap<LoginId, Login<P>>,
}

impl<P> Default for Logins<P> {
    fn default() -> Self {
        Self {
            logins: DashMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginLookupError {
    #[error("this login does not exist or has ended")]
    Unknown,
    #[error("this login was started in another browser")]
    OtherBrowser,
    #[error("this login took too long and has expired")]
    Expired,
}

impl<P> Logins<P> {
    pub fn insert(&self, login: Login<P>) {
        self.logins.insert(login.id.clone(), login);
    }

    /// Runs `work` on the login `id`, if `binding` (the browser's cookie) owns it.
    pub fn with<R>(
        &self,
        id: &str,
        binding: Option<&str>,
        now: OffsetDateTime,
        work: impl FnOnce(&mut Login<P>) -> R,
    ) -> Result<R, LoginLookupError> {
        let mut login = self.logins.get_mut(id).ok_or(LoginLookupError::Unknown)?;
        let owns = binding.is_some_and(|b| {
            b.len() == login.browser_binding.len()
                && openssl::memcmp::eq(b.as_bytes(), login.browser_binding.as_bytes())
        });
        if !owns {
            return Err(LoginLookupError::OtherBrowser);
        }
        if login.expires <= now {
            drop(login);
            self.logins.remove(id);
            return Err(LoginLookupError::Expired);
        }
        Ok(work(&mut login))
    }

    /// Takes a finished login out, so its result is delivered exactly once.
    pub fn take(&self, id: &str) -> Option<Login<P>> {
        self.logins.remove(id).map(|(_, login)| login)
    }

    pub fn sweep(&self, now: OffsetDateTime) {
        self.logins.retain(|_, login| login.expires > now);
    }

    pub fn len(&self) -> usize {
        self.logins.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
    }
}

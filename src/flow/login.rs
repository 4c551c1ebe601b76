//! One login in progress and the moves that are not tied to one kind of secret.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::cpr::CPR_ENTRY_TRIES;
use super::{
    Authentication, ErhvervFailure, Failure, FlowError, Idp, Notice, Outcome, Requirements, Step,
    CPR_ENTRY_WINDOW,
};
use crate::authenticators::app::{AppError, NewAppRequest};
use crate::authenticators::{AppAnswer, AppKind, AppRequestState, ClientTexts, Method, Proof};
use crate::broker::scripts::ScriptedLogin;
use crate::broker::Broker;
use crate::identity::{EidKind, Identity, IdentityStatus, Loa};

pub type LoginId = String;

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
    /// Who the login was for before it failed (to activate a new card from the exhausted page).
    pub(super) last_citizen: Option<Uuid>,
    /// A scripted answer that replaces the app's own for this login.
    app_override: Option<AppAnswer>,
}

impl<P> Login<P> {
    pub fn new(request: P, requirements: Requirements, broker: &Broker) -> Self {
        let step = if requirements.idp_choices.len() > 1 {
            Step::ChooseIdp
        } else {
            first_step(&requirements, requirements.idp)
        };
        Self {
            id: crate::random::short_id(),
            browser_binding: crate::random::secret_token(),
            csrf: crate::random::secret_token(),
            request,
            requirements,
            step,
            notice: None,
            expires: broker.clock.now() + broker.settings.login_lifetime,
            last_citizen: None,
            app_override: None,
        }
    }

    /// A login for a known citizen that skips the pages (`simulation=no-ui`): the
    /// strongest usable authenticator, and the CPR counts as confirmed.
    pub fn authenticate_directly(&mut self, broker: &Broker, citizen: &Identity) -> &Step {
        if self.requirements.idp.uses_mitid() && self.requirements.mitid_refusal.is_some() {
            self.fail(Failure::ParameterRefused);
            return &self.step;
        }
        match self.direct_authentication(broker, citizen) {
            Err(failure) => self.fail(failure),
            Ok(auth) if self.requirements.idp == Idp::MitIdErhverv => {
                self.after_erhverv_mitid(broker, citizen, auth)
            }
            Ok(auth) => {
                self.step = Step::Finished(Outcome::Authenticated(Authentication {
                    cpr_verified: citizen.cpr.is_some(),
                    ..auth
                }))
            }
        }
        &self.step
    }

    /// The MitID authentication of a page-less login: scripts decide at once, else the
    /// strongest authenticator that reaches the level wins.
    pub(super) fn direct_authentication(
        &mut self,
        broker: &Broker,
        citizen: &Identity,
    ) -> Result<Authentication, Failure> {
        self.admissible(citizen)?;
        // No page to wait on: a scripted app answer decides at once.
        let scripted = self
            .apply_script(broker, citizen)
            .or(match self.app_override {
                Some(AppAnswer::Reject { .. }) => Some(Failure::AppRejected),
                Some(AppAnswer::Never) => Some(Failure::AppTimedOut),
                _ => None,
            });
        if let Some(failure) = scripted {
            return Err(failure);
        }
        let best = self
            .usable_methods(broker, citizen)
            .into_iter()
            .map(|m| proof_for(citizen, m))
            .rev() // on a tie the first-offered method (the app) wins
            .max_by_key(|p| p.aal);
        match best {
            Some(proof) => Ok(self.authentication(broker, citizen, proof)),
            None => Err(Failure::InsufficientAssurance),
        }
    }

    /// Uses up the citizen's next scripted behaviour: the app's answer is replaced, or
    /// (for other authenticators, and for aborts) the login ends as scripted.
    fn apply_script(&mut self, broker: &Broker, citizen: &Identity) -> Option<Failure> {
        let script = broker.scripts.take(citizen.uuid)?;
        let app_first = self.usable_methods(broker, citizen).first() == Some(&Method::App);
        match (script, app_first) {
            (ScriptedLogin::Abort, _) => Some(Failure::Aborted),
            (ScriptedLogin::Reject, true) => {
                self.app_override = Some(AppAnswer::Reject { after_ms: 0 });
                None
            }
            (ScriptedLogin::Timeout, true) => {
                self.app_override = Some(AppAnswer::Never);
                None
            }
            (ScriptedLogin::Delay { ms }, true) => {
                self.app_override = Some(AppAnswer::Approve { after_ms: ms });
                None
            }
            (ScriptedLogin::Reject, false) => Some(Failure::AppRejected),
            (ScriptedLogin::Timeout, false) => Some(Failure::AppTimedOut),
            (ScriptedLogin::Delay { .. }, false) => None,
        }
    }

    fn admissible(&self, citizen: &Identity) -> Result<(), Failure> {
        if !citizen.status.can_log_in() {
            return Err(Failure::IdentityNotUsable(citizen.status));
        }
        if self.requirements.idp == Idp::MitIdErhverv {
            return self.admissible_for_erhverv();
        }
        if citizen.kind == EidKind::Erhverv {
            return Err(Failure::Erhverv(ErhvervFailure::NotAPrivateIdentity));
        }
        match self.requirements.idp {
            Idp::NemId if citizen.nemid.is_none() => Err(Failure::NoNemId),
            // A NemID-only citizen has no MitID to log in with.
            Idp::MitId if citizen.methods().is_empty() => {
                Err(Failure::IdentityNotUsable(IdentityStatus::NotIssued))
            }
            _ => Ok(()),
        }
    }

    /// Methods of this citizen, for this login's identity provider, that reach what the RP asked.
    pub fn usable_methods(&self, broker: &Broker, citizen: &Identity) -> Vec<Method> {
        let level = self.requirements.level;
        if !level.admits_identity(citizen.ial) {
            return Vec::new();
        }
        let candidates = match (self.requirements.idp, &citizen.nemid) {
            (Idp::MitId | Idp::MitIdErhverv, _) => citizen.methods(),
            (Idp::NemId, Some(nemid)) => {
                let card = broker.code_cards.state(citizen.uuid, nemid);
                let mut methods = Vec::new();
                if card.key_app_active {
                    methods.push(Method::KeyApp);
                }
                methods.push(Method::CodeCard);
                methods
            }
            (Idp::NemId, None) => Vec::new(),
        };
        candidates
            .into_iter()
            .filter(|m| proof_for(citizen, *m).aal >= level.min_aal())
            .collect()
    }

    /// The chooser: the citizen picks one of the identity providers the RP offered.
    pub fn choose_idp(&mut self, idp: Idp) -> Result<(), FlowError> {
        if self.step != Step::ChooseIdp || !self.requirements.idp_choices.contains(&idp) {
            return Err(FlowError::WrongStep);
        }
        self.requirements.idp = idp;
        self.step = first_step(&self.requirements, idp);
        Ok(())
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
        self.begin(broker, &citizen);
        Ok(())
    }

    /// Starts the login for a citizen the broker already knows (step-up in a session):
    /// no user ID page, straight to the authenticators that reach the level.
    pub fn start_as(&mut self, broker: &Broker, citizen: &Arc<Identity>) {
        if !matches!(self.step, Step::Finished(_)) {
            self.begin(broker, citizen);
        }
    }

    pub(super) fn begin(&mut self, broker: &Broker, citizen: &Arc<Identity>) {
        self.last_citizen = Some(citizen.uuid);
        if let Err(failure) = self.admissible(citizen) {
            self.fail(failure);
            return;
        }
        if let Some(failure) = self.apply_script(broker, citizen) {
            self.fail(failure);
            return;
        }
        match self.usable_methods(broker, citizen).first() {
            Some(first) => self.start_method(broker, citizen, *first),
            None => self.fail(Failure::InsufficientAssurance),
        }
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
        if !self.usable_methods(broker, &citizen).contains(&method) {
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
        let uuid = citizen.uuid;
        self.step = match method {
            Method::App | Method::KeyApp => {
                let mut config = citizen.app.unwrap_or_default();
                if let Some(answer) = self.app_override {
                    config.answer = answer;
                }
                let started = broker.apps.start(
                    NewAppRequest {
                        app: if method == Method::App {
                            AppKind::MitId
                        } else {
                            AppKind::NemIdKeyApp
                        },
                        citizen: uuid,
                        config,
                        client_name: &self.requirements.client_name,
                        // The MitID client's texts; NemID's key app shows none, but speaks
                        // the login's language.
                        texts: if method == Method::App {
                            self.requirements.texts.clone()
                        } else {
                            ClientTexts {
                                language: self.requirements.texts.language,
                                ..Default::default()
                            }
                        },
                        timeout: broker.settings.app_timeout,
                    },
                    now,
                );
                match started {
                    Ok(request) => Step::App {
                        citizen: uuid,
                        method,
                        request,
                    },
                    Err(
                        AppError::ParallelRequest | AppError::Unknown | AppError::NotPending(_),
                    ) => {
                        self.notice = Some(Notice::AppBusy);
                        Step::ChooseMethod { citizen: uuid }
                    }
                }
            }
            Method::CodeDisplay | Method::AudioReader => {
                match broker.code_displays.blocked_until((uuid, method), now) {
                    Some(until) => Step::Blocked {
                        citizen: uuid,
                        method,
                        until,
                    },
                    None => Step::Code {
                        citizen: uuid,
                        method,
                    },
                }
            }
            Method::Chip | Method::Password => Step::Password {
                citizen: uuid,
                method,
            },
            Method::CodeCard => self.card_step(broker, citizen),
        };
    }

    /// Looks at the app request (finishing the login once the citizen has answered) and
    /// at a block (returning to the blocked step's input once the block has passed).
    pub fn poll(&mut self, broker: &Broker) {
        if let Step::Blocked {
            citizen, method, ..
        } = self.step
        {
            let now = broker.clock.now();
            if broker
                .code_displays
                .blocked_until((citizen, method), now)
                .is_none()
            {
                if let Some(identity) = broker.identities.by_uuid(citizen) {
                    self.notice = None;
                    self.step = match method {
                        Method::CodeDisplay | Method::AudioReader => Step::Code { citizen, method },
                        Method::CodeCard => self.card_step(broker, &identity),
                        // The password serves several methods: let the citizen pick again.
                        _ => Step::ChooseMethod { citizen },
                    };
                }
            }
            return;
        }
        let Step::App {
            citizen,
            method,
            request,
        } = &self.step
        else {
            return;
        };
        let (citizen, method) = (*citizen, *method);
        match broker.apps.state(request, broker.clock.now()) {
            Some(AppRequestState::Approved) => {
                let level = broker
                    .apps
                    .get(request)
                    .map_or(Loa::Substantial, |r| r.level);
                if let Some(identity) = broker.identities.by_uuid(citizen) {
                    self.finish(broker, &identity, Proof::of(method, level));
                }
            }
            Some(AppRequestState::Rejected) => self.fail(Failure::AppRejected),
            Some(AppRequestState::TimedOut) => self.fail(Failure::AppTimedOut),
            Some(AppRequestState::Pending) => {}
            Some(AppRequestState::Cancelled) | None => self.step = Step::ChooseMethod { citizen },
        }
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
            Step::ChooseMethod { citizen }
            | Step::App { citizen, .. }
            | Step::Code { citizen, .. }
            | Step::Blocked { citizen, .. }
            | Step::CodeCard { citizen, .. } => Ok(citizen),
            _ => Err(FlowError::WrongStep),
        }
    }

    fn release_app(&self, broker: &Broker) {
        if let Step::App { request, .. } = &self.step {
            broker.apps.cancel(request, broker.clock.now());
        }
    }

    pub(super) fn fail(&mut self, failure: Failure) {
        if let Some(citizen) = self.step.citizen() {
            self.last_citizen = Some(citizen);
        }
        self.step = Step::Finished(Outcome::Failed(failure));
    }

    fn authentication(&self, broker: &Broker, citizen: &Identity, proof: Proof) -> Authentication {
        Authentication {
            citizen: citizen.uuid,
            idp: self.requirements.idp,
            loa: citizen.ial.min(proof.aal),
            ial: citizen.ial,
            // Strong customer authentication needs two factors: never a password alone.
            psd2: self.requirements.require_psd2
                && self.requirements.idp == Idp::MitId
                && proof.aal >= Loa::Substantial,
            proof,
            auth_time: broker.clock.now(),
            cpr_verified: false,
            idp_transaction_id: Uuid::new_v4(),
            professional: None,
        }
    }

    pub(super) fn finish(&mut self, broker: &Broker, citizen: &Identity, proof: Proof) {
        let auth = self.authentication(broker, citizen, proof);
        if self.requirements.idp == Idp::MitIdErhverv {
            self.after_erhverv_mitid(broker, citizen, auth);
        } else {
            self.finish_private(citizen, auth);
        }
    }

    /// A private person's authentication ends here, or at the `ssn` CPR check.
    pub(super) fn finish_private(&mut self, citizen: &Identity, auth: Authentication) {
        self.step = if self.requirements.cpr_entry.applies_to(auth.idp) && citizen.cpr.is_some() {
            Step::CprEntry {
                deadline: auth.auth_time + CPR_ENTRY_WINDOW,
                auth,
                attempts_left: CPR_ENTRY_TRIES,
            }
        } else {
            Step::Finished(Outcome::Authenticated(auth))
        };
    }
}

/// Where the chosen identity provider's part of the login begins. MitID refuses a request
/// whose parameters it cannot use before it asks for anything.
fn first_step(requirements: &Requirements, idp: Idp) -> Step {
    match idp {
        Idp::MitId | Idp::MitIdErhverv if requirements.mitid_refusal.is_some() => {
            Step::Finished(Outcome::Failed(Failure::ParameterRefused))
        }
        Idp::MitId | Idp::MitIdErhverv => Step::EnterUserId,
        Idp::NemId => Step::NemIdCredentials,
    }
}

fn proof_for(citizen: &Identity, method: Method) -> Proof {
    Proof::of(method, citizen.app.unwrap_or_default().level)
}

//! The login transaction as a state machine: user ID, then one authenticator, then a
//! result. Protocol-agnostic: the protocol that started the login keeps its request in `P`.

use std::sync::Arc;

use dashmap::DashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::authenticators::app::{AppError, NewAppRequest};
use crate::authenticators::code_card::{KeyAppActivation, KeyCheck};
use crate::authenticators::{AppAnswer, AppRequestId, AppRequestState, CodeCheck, Method, Proof};
use crate::broker::scripts::ScriptedLogin;
use crate::broker::Broker;
use crate::identity::{Cpr, Identity, IdentityStatus, Loa};

pub type LoginId = String;

/// Which identity provider the login uses (`idp_values`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Idp {
    #[default]
    MitId,
    /// Legacy NemID with code card or key app.
    NemId,
}

impl Idp {
    /// The `idp` claim.
    pub fn claim(self) -> &'static str {
        match self {
            Idp::MitId => "mitid",
            Idp::NemId => "nemid",
        }
    }
}

/// What the relying party asked of this login.
#[derive(Clone, Debug)]
pub struct Requirements {
    pub client_name: String,
    pub min_loa: Loa,
    pub idp: Idp,
    /// Several identity providers: the citizen picks one first.
    pub idp_choices: Vec<Idp>,
    /// The `ssn` scope: the citizen confirms their CPR number after authenticating.
    pub cpr_entry: bool,
}

/// How long after the login the citizen may take to type their CPR number.
pub const CPR_ENTRY_WINDOW: Duration = Duration::minutes(15);
pub const CPR_ENTRY_TRIES: u8 = 3;

#[derive(Clone, Debug, PartialEq)]
pub struct Authentication {
    pub citizen: Uuid,
    pub idp: Idp,
    pub proof: Proof,
    /// The lower of the identity's IAL and the authenticator's AAL.
    pub loa: Loa,
    pub ial: Loa,
    pub auth_time: OffsetDateTime,
    /// The citizen confirmed their CPR number, so `dk.cpr` may be released.
    pub cpr_verified: bool,
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
    /// NemID was asked for, but the citizen has none.
    NoNemId,
    /// Every key on the card is used; `new_card_sent` tells whether one can be activated.
    CardExhausted {
        new_card_sent: bool,
    },
    CprNotMatched,
    CprTimedOut,
}

impl Failure {
    /// Failures the citizen should read about before going back to the service.
    pub fn explained_first(self) -> bool {
        !matches!(
            self,
            Failure::Aborted | Failure::AppRejected | Failure::AppTimedOut
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
    /// `idp_values` named several: MitID or NemID.
    ChooseIdp,
    EnterUserId,
    /// NemID asks for user ID and password on one page.
    NemIdCredentials,
    ChooseMethod {
        citizen: Uuid,
    },
    /// The MitID app or the NemID key app waits for the phone.
    App {
        citizen: Uuid,
        method: Method,
        request: AppRequestId,
    },
    /// A code display or audio code reader code.
    Code {
        citizen: Uuid,
        method: Method,
    },
    /// The password: after the code, or first for chip and password logins.
    Password {
        citizen: Uuid,
        method: Method,
    },
    /// Password accepted; the chip is to be presented.
    Chip {
        citizen: Uuid,
    },
    /// The page shows `key_number`; the citizen types the key beside it.
    CodeCard {
        citizen: Uuid,
        key_number: u16,
    },
    /// Activating the new card with a key from it.
    ActivateCard {
        citizen: Uuid,
        key_number: u16,
    },
    /// Three wrong guesses: the secret (`method`: a code device, `Password`, or `CodeCard`
    /// for the NemID password and keys) is blocked until the given time.
    Blocked {
        citizen: Uuid,
        method: Method,
        until: OffsetDateTime,
    },
    /// Authenticated; the `ssn` scope asks the citizen to type their CPR number.
    CprEntry {
        auth: Authentication,
        attempts_left: u8,
        deadline: OffsetDateTime,
    },
    Finished(Outcome),
}

impl Step {
    pub fn citizen(&self) -> Option<Uuid> {
        match self {
            Step::ChooseMethod { citizen }
            | Step::App { citizen, .. }
            | Step::Code { citizen, .. }
            | Step::Password { citizen, .. }
            | Step::Chip { citizen }
            | Step::CodeCard { citizen, .. }
            | Step::ActivateCard { citizen, .. }
            | Step::Blocked { citizen, .. } => Some(*citizen),
            Step::CprEntry { auth, .. } => Some(auth.citizen),
            Step::Finished(Outcome::Authenticated(auth)) => Some(auth.citizen),
            Step::ChooseIdp
            | Step::EnterUserId
            | Step::NemIdCredentials
            | Step::Finished(Outcome::Failed(_)) => None,
        }
    }

    /// A stable name, for the waiting page's script and for tests.
    pub fn name(&self) -> &'static str {
        match self {
            Step::ChooseIdp => "choose_idp",
            Step::EnterUserId => "user_id",
            Step::NemIdCredentials => "nemid_credentials",
            Step::ChooseMethod { .. } => "choose",
            Step::App { .. } => "app",
            Step::Code { .. } => "code",
            Step::Password { .. } => "password",
            Step::Chip { .. } => "chip",
            Step::CodeCard { .. } => "code_card",
            Step::ActivateCard { .. } => "activate_card",
            Step::Blocked { .. } => "blocked",
            Step::CprEntry { .. } => "cpr",
            Step::Finished(_) => "finished",
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
    WrongNemIdCredentials,
    WrongKey,
    KeyAppNeedsKeys,
    KeyAppActivated,
    WrongCpr { attempts_left: u8 },
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
    /// Who the login was for before it failed (to activate a new card from the exhausted page).
    last_citizen: Option<Uuid>,
    /// A scripted answer that replaces the app's own for this login.
    app_override: Option<AppAnswer>,
}

impl<P> Login<P> {
    pub fn new(request: P, requirements: Requirements, broker: &Broker) -> Self {
        let step = if requirements.idp_choices.len() > 1 {
            Step::ChooseIdp
        } else {
            first_step(requirements.idp)
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
        if let Err(failure) = self.admissible(citizen) {
            self.fail(failure);
            return &self.step;
        }
        // No page to wait on: a scripted app answer decides at once.
        let scripted = self
            .apply_script(broker, citizen)
            .or(match self.app_override {
                Some(AppAnswer::Reject { .. }) => Some(Failure::AppRejected),
                Some(AppAnswer::Never) => Some(Failure::AppTimedOut),
                _ => None,
            });
        if let Some(failure) = scripted {
            self.fail(failure);
            return &self.step;
        }
        let best = self
            .usable_methods(broker, citizen)
            .into_iter()
            .map(|m| proof_for(citizen, m))
            .rev() // on a tie the first-offered method (the app) wins
            .max_by_key(|p| p.aal);
        match best {
            Some(proof) => {
                let auth = self.authentication(broker, citizen, proof);
                self.step = Step::Finished(Outcome::Authenticated(Authentication {
                    cpr_verified: citizen.cpr.is_some(),
                    ..auth
                }));
            }
            None => self.fail(Failure::InsufficientAssurance),
        }
        &self.step
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
        let wanted = self.requirements.min_loa;
        if citizen.ial < wanted {
            return Vec::new();
        }
        let candidates = match (self.requirements.idp, &citizen.nemid) {
            (Idp::MitId, _) => citizen.methods(),
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
            .filter(|m| proof_for(citizen, *m).aal >= wanted)
            .collect()
    }

    /// The chooser: the citizen picks one of the identity providers the RP offered.
    pub fn choose_idp(&mut self, idp: Idp) -> Result<(), FlowError> {
        if self.step != Step::ChooseIdp || !self.requirements.idp_choices.contains(&idp) {
            return Err(FlowError::WrongStep);
        }
        self.requirements.idp = idp;
        self.step = first_step(idp);
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

    /// NemID's first page: user ID and password together.
    pub fn submit_nemid_credentials(
        &mut self,
        broker: &Broker,
        user_id: &str,
        password: &str,
    ) -> Result<(), FlowError> {
        if self.step != Step::NemIdCredentials {
            return Err(FlowError::WrongStep);
        }
        // Like the real NemID, an unknown user, a citizen without NemID and a wrong
        // password all get one message, and nothing about the identity shows before the
        // password is right.
        let Some((citizen, nemid)) = broker
            .identities
            .by_user_id(user_id)
            .and_then(|c| c.nemid.clone().map(|n| (c, n)))
        else {
            self.notice = Some(Notice::WrongNemIdCredentials);
            return Ok(());
        };
        let now = broker.clock.now();
        let secret = (citizen.uuid, Method::CodeCard);
        if !nemid.password.matches(password) {
            self.notice = Some(Notice::WrongNemIdCredentials);
            broker.code_displays.fail(secret, now);
            return Ok(());
        }
        self.notice = None;
        if let Some(until) = broker.code_displays.blocked_until(secret, now) {
            self.step = Step::Blocked {
                citizen: citizen.uuid,
                method: Method::CodeCard,
                until,
            };
            return Ok(());
        }
        broker.code_displays.succeed(secret);
        self.begin(broker, &citizen);
        Ok(())
    }

    /// Starts the login for a citizen the broker already knows (step-up in a session):
    /// no user ID page, straight to the authenticators that reach the level.
    pub fn start_as(&mut self, broker: &Broker, citizen: &Arc<Identity>) {
        self.begin(broker, citizen);
    }

    fn begin(&mut self, broker: &Broker, citizen: &Arc<Identity>) {
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
                        citizen: uuid,
                        config,
                        client_name: &self.requirements.client_name,
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

    fn card_step(&mut self, broker: &Broker, citizen: &Identity) -> Step {
        let Some(nemid) = &citizen.nemid else {
            return Step::Finished(Outcome::Failed(Failure::NoNemId));
        };
        match broker.code_cards.challenge(citizen.uuid, nemid) {
            Some(key) => Step::CodeCard {
                citizen: citizen.uuid,
                key_number: key.number,
            },
            None => {
                let new_card_sent = broker.code_cards.state(citizen.uuid, nemid).new_card_sent;
                Step::Finished(Outcome::Failed(Failure::CardExhausted { new_card_sent }))
            }
        }
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

    pub fn submit_code(&mut self, broker: &Broker, code: &str) -> Result<(), FlowError> {
        let Step::Code { citizen, method } = self.step else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let device = identity.totp_device(method).ok_or(FlowError::WrongStep)?;
        let now = broker.clock.now();
        self.notice = None;
        match broker
            .code_displays
            .check((citizen, method), &device.secret, code, now)
        {
            CodeCheck::Accepted => self.step = Step::Password { citizen, method },
            CodeCheck::Wrong { attempts_left } => {
                self.notice = Some(Notice::WrongCode { attempts_left })
            }
            CodeCheck::Reused => self.notice = Some(Notice::CodeAlreadyUsed),
            CodeCheck::Blocked { until } => {
                self.step = Step::Blocked {
                    citizen,
                    method,
                    until,
                }
            }
        }
        Ok(())
    }

    pub fn submit_password(&mut self, broker: &Broker, password: &str) -> Result<(), FlowError> {
        let Step::Password { citizen, method } = self.step else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let now = broker.clock.now();
        let secret = (citizen, Method::Password);
        let blocked = |until| Step::Blocked {
            citizen,
            method: Method::Password,
            until,
        };
        if let Some(until) = broker.code_displays.blocked_until(secret, now) {
            self.step = blocked(until);
            return Ok(());
        }
        if !identity
            .password
            .as_ref()
            .is_some_and(|p| p.matches(password))
        {
            match broker.code_displays.fail(secret, now) {
                CodeCheck::Blocked { until } => self.step = blocked(until),
                _ => self.notice = Some(Notice::WrongPassword),
            }
            return Ok(());
        }
        broker.code_displays.succeed(secret);
        self.notice = None;
        if method == Method::Chip {
            self.step = Step::Chip { citizen };
        } else {
            self.finish(broker, &identity, Proof::of(method, Loa::Substantial));
        }
        Ok(())
    }

    /// The simulated chip was presented.
    pub fn present_chip(&mut self, broker: &Broker) -> Result<(), FlowError> {
        let Step::Chip { citizen } = self.step else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        self.finish(broker, &identity, Proof::of(Method::Chip, Loa::High));
        Ok(())
    }

    /// The key typed for the key number the page shows (or, when activating, from the new card).
    pub fn submit_card_key(&mut self, broker: &Broker, typed: &str) -> Result<(), FlowError> {
        let (citizen, key_number, activating) = match self.step {
            Step::CodeCard {
                citizen,
                key_number,
            } => (citizen, key_number, false),
            Step::ActivateCard {
                citizen,
                key_number,
            } => (citizen, key_number, true),
            _ => return Err(FlowError::WrongStep),
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let nemid = identity.nemid.as_ref().ok_or(FlowError::WrongStep)?;
        let now = broker.clock.now();
        let secret = (citizen, Method::CodeCard);
        if let Some(until) = broker.code_displays.blocked_until(secret, now) {
            self.step = Step::Blocked {
                citizen,
                method: Method::CodeCard,
                until,
            };
            return Ok(());
        }
        let check = if activating {
            broker
                .code_cards
                .activate_next_card(citizen, nemid, key_number, typed)
        } else {
            broker.code_cards.redeem(citizen, nemid, key_number, typed)
        };
        self.notice = None;
        match check {
            KeyCheck::Accepted => {
                broker.code_displays.succeed(secret);
                self.finish(
                    broker,
                    &identity,
                    Proof::of(Method::CodeCard, Loa::Substantial),
                )
            }
            KeyCheck::Wrong => match broker.code_displays.fail(secret, now) {
                CodeCheck::Blocked { until } => {
                    self.step = Step::Blocked {
                        citizen,
                        method: Method::CodeCard,
                        until,
                    }
                }
                _ => self.notice = Some(Notice::WrongKey),
            },
            // Used meanwhile (another tab won the race): ask for another key.
            KeyCheck::Used => {
                self.notice = Some(Notice::WrongKey);
                self.step = self.card_step(broker, &identity);
            }
            KeyCheck::Exhausted => self.step = self.card_step(broker, &identity),
        }
        Ok(())
    }

    /// "Aktivér dit nye nøglekort": asks a key from the card that was sent.
    pub fn start_card_activation(&mut self, broker: &Broker) -> Result<(), FlowError> {
        let citizen = match self.step {
            Step::CodeCard { citizen, .. } => citizen,
            Step::Finished(Outcome::Failed(Failure::CardExhausted {
                new_card_sent: true,
            })) => self.last_citizen.ok_or(FlowError::WrongStep)?,
            _ => return Err(FlowError::WrongStep),
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let nemid = identity.nemid.as_ref().ok_or(FlowError::WrongStep)?;
        let key = broker
            .code_cards
            .next_card_challenge(citizen, nemid)
            .ok_or(FlowError::WrongStep)?;
        self.notice = None;
        self.step = Step::ActivateCard {
            citizen,
            key_number: key.number,
        };
        Ok(())
    }

    /// Activates the key app with the key shown, then logs in with it.
    pub fn activate_key_app(&mut self, broker: &Broker, typed: &str) -> Result<(), FlowError> {
        let Step::CodeCard {
            citizen,
            key_number,
        } = self.step
        else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let nemid = identity.nemid.as_ref().ok_or(FlowError::WrongStep)?;
        match broker
            .code_cards
            .activate_key_app(citizen, nemid, key_number, typed)
        {
            Ok(()) => {
                self.notice = Some(Notice::KeyAppActivated);
                self.finish(
                    broker,
                    &identity,
                    Proof::of(Method::CodeCard, Loa::Substantial),
                );
            }
            Err(KeyAppActivation::TooFewKeys) => self.notice = Some(Notice::KeyAppNeedsKeys),
            Err(KeyAppActivation::WrongKey) => self.notice = Some(Notice::WrongKey),
        }
        Ok(())
    }

    /// The `ssn` scope's CPR confirmation.
    pub fn submit_cpr(&mut self, broker: &Broker, typed: &str) -> Result<(), FlowError> {
        let Step::CprEntry {
            auth,
            attempts_left,
            deadline,
        } = &self.step
        else {
            return Err(FlowError::WrongStep);
        };
        if broker.clock.now() > *deadline {
            self.fail(Failure::CprTimedOut);
            return Ok(());
        }
        let expected = broker.identities.by_uuid(auth.citizen).and_then(|c| c.cpr);
        let matches = Cpr::parse(typed)
            .ok()
            .zip(expected)
            .is_some_and(|(a, b)| a == b);
        if matches {
            let auth = Authentication {
                cpr_verified: true,
                ..auth.clone()
            };
            self.notice = None;
            self.step = Step::Finished(Outcome::Authenticated(auth));
            return Ok(());
        }
        let left = attempts_left.saturating_sub(1);
        if left == 0 {
            self.fail(Failure::CprNotMatched);
        } else {
            self.notice = Some(Notice::WrongCpr {
                attempts_left: left,
            });
            if let Step::CprEntry { attempts_left, .. } = &mut self.step {
                *attempts_left = left;
            }
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

    fn fail(&mut self, failure: Failure) {
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
            proof,
            auth_time: broker.clock.now(),
            cpr_verified: false,
        }
    }

    fn finish(&mut self, broker: &Broker, citizen: &Identity, proof: Proof) {
        let auth = self.authentication(broker, citizen, proof);
        self.step = if self.requirements.cpr_entry && citizen.cpr.is_some() {
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

fn first_step(idp: Idp) -> Step {
    match idp {
        Idp::MitId => Step::EnterUserId,
        Idp::NemId => Step::NemIdCredentials,
    }
}

fn proof_for(citizen: &Identity, method: Method) -> Proof {
    Proof::of(method, citizen.app.unwrap_or_default().level)
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

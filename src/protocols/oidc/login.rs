//! Where an authorization request leads: an answer from the browser's session with the
//! client (or its SSO group), a simulated login, or the login pages; and, once the pages
//! are done, the answer to the RP.

use std::sync::Arc;

use time::OffsetDateTime;

use super::authorize::{self, AuthorizeRequest, IdentityHint, Rejection, SimulationMode};
use super::callback::ReturnTo;
use super::error::{ErrorCode, OAuthError};
use super::error_page::BrokerError;
use super::limits;
use super::Provider;
use crate::authenticators::{ClientTexts, Language};
use crate::broker::sessions::{EndReason, SsoSession};
use crate::broker::Broker;
use crate::flow::{
    Authentication, Failure, Idp, Login, Logins, Outcome, ProfessionalHintError, Requirements, Step,
};
use crate::identity::Identity;
use crate::protocols::front::{self, Answer, LoginFront};

/// What the authorize endpoint does with a request.
pub enum AuthorizeOutcome {
    /// Show the login pages; the browser gets the login's binding cookie.
    ShowLogin { login_id: String, binding: String },
    /// Back to the RP; `sso` is a new SSO cookie value for the browser.
    Redirect {
        location: String,
        sso: Option<String>,
    },
    /// An invalid request: NEB's own error page (`location`), never the RP.
    ErrorPage { location: String, error: OAuthError },
}

impl AuthorizeOutcome {
    fn redirect(location: String) -> Self {
        AuthorizeOutcome::Redirect {
            location,
            sso: None,
        }
    }
}

/// A finished login: where the browser goes, and its new SSO cookie if a session began.
pub struct Finished {
    pub location: String,
    pub sso: Option<String>,
}

/// The language an authorization request asks for, read before (and whether or not) the
/// request is valid, so that even NEB's error page speaks it.
fn requested_language(pairs: &[(String, String)]) -> Language {
    let named = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    Language::parse(named("language").or(named("ui_locales")))
}

impl Provider {
    pub fn authorize(
        &self,
        pairs: Vec<(String, String)>,
        browser_key: Option<&str>,
    ) -> AuthorizeOutcome {
        // Checked before a login keeps anything: a parameter over the limit is an invalid
        // request like any other (NEB's error page), naming the parameter.
        let oversized = limits::Oversized::find(&pairs);
        let language = requested_language(&pairs);
        let parsed = authorize::parse(pairs, &self.clients);
        if let Some(oversized) = oversized {
            let client_id = match &parsed {
                Ok(request) => Some(request.client.client_id.clone()),
                Err(Rejection::Page { client_id, .. }) => client_id.clone(),
                Err(Rejection::Redirect { client_id, .. }) => Some(client_id.clone()),
            };
            let error = OAuthError::invalid_request(oversized.description());
            return self.refuse(Rejection::Page { error, client_id }, language, browser_key);
        }
        let request = match parsed {
            Ok(request) => request,
            Err(rejection) => return self.refuse(rejection, language, browser_key),
        };
        let browser_state = self.browser_state(&request.client.client_id, browser_key);
        let to_rp = |error: OAuthError| {
            AuthorizeOutcome::redirect(self.error_redirect(
                request.return_to(),
                &browser_state,
                &error,
            ))
        };
        // The citizen NEB's simulation mode names, if it names one.
        let simulated = match request.simulation.as_ref().map(|s| &s.identities) {
            Some(identities) if !identities.is_empty() => {
                match self.simulated_citizen(identities) {
                    Ok(citizen) => Some(citizen),
                    Err(error) => return to_rp(error),
                }
            }
            _ => None,
        };
        let no_ui = request
            .simulation
            .as_ref()
            .is_some_and(|s| s.mode == SimulationMode::NoUi);
        let now = self.broker.clock.now();
        let scope = request.client.sso_scope();
        let session =
            browser_key.and_then(|key| self.broker.sessions.for_browser(key, &scope, now));
        if !no_ui {
            if let Some(session) = session
                .as_ref()
                .filter(|s| self.session_satisfies(s, &request, now))
            {
                self.broker.sessions.touch(session.id, now);
                let location =
                    self.issue_code(&request, session.authentication.clone(), session.id, false);
                return AuthorizeOutcome::redirect(location);
            }
            if request.prompt_none {
                return to_rp(OAuthError::new(
                    ErrorCode::LoginRequired,
                    "prompt=none, but the citizen has no session at the broker that meets the request",
                ));
            }
        }
        // Step-up needs prompt=login and a level above the session's (NEB's enable_step_up).
        let stepping_up = session.filter(|s| {
            request.mitid.enable_step_up
                && request.prompt_login
                && !request
                    .mitid
                    .level
                    .met_by(s.authentication.ial, s.authentication.proof.aal)
        });
        let professional = request.simulated_professional();
        let (requirements, hinted) = self.requirements(&request);
        let mut login = Login::new(request, requirements, &self.broker);
        if no_ui {
            if let Err(error) = self.simulate(&mut login, professional, simulated.as_deref()) {
                let to = login.request.return_to();
                return AuthorizeOutcome::redirect(self.error_redirect(to, &browser_state, &error));
            }
            let finished = self.finish(login, browser_key);
            return AuthorizeOutcome::Redirect {
                location: finished.location,
                sso: finished.sso,
            };
        }
        if let Some(professional) = professional {
            // simulation=ui names a professional identity: its MitID's authenticators, and
            // the identity chosen once the person has authenticated.
            if let Err(error) =
                login.start_as_professional(&self.broker, professional, simulated.as_deref())
            {
                let error = simulation_hint_error(error);
                let to = login.request.return_to();
                return AuthorizeOutcome::redirect(self.error_redirect(to, &browser_state, &error));
            }
        } else {
            // Step-up keeps the session's citizen (and the professional identity it acts
            // as), simulation (ui) or a hint names one: the login goes straight to the
            // authenticators.
            let step_up_eid = stepping_up
                .as_ref()
                .and_then(|s| self.broker.identities.by_uuid(s.citizen));
            let step_up_professional = stepping_up
                .as_ref()
                .and_then(|s| s.authentication.professional);
            let kept = match (step_up_professional, step_up_eid.as_deref()) {
                (Some(professional), Some(eid)) => login
                    .start_as_professional(&self.broker, professional, Some(eid))
                    .is_ok(),
                _ => false,
            };
            if !kept {
                if let Some(citizen) = step_up_eid.or(simulated).or(hinted) {
                    login.start_as(&self.broker, &citizen);
                }
            }
        }
        let outcome = AuthorizeOutcome::ShowLogin {
            login_id: login.id.clone(),
            binding: login.browser_binding.clone(),
        };
        self.logins.insert(login);
        outcome
    }

    /// `simulation=no-ui`: the login ends without a page, as the simulation names it. A
    /// MitID Erhverv login acts as the professional identity named, or as the only one of
    /// the person named; a person with several (and no `mitid_erhverv_uuid:`) cannot be
    /// logged in without the page that chooses, unless the RP allows the private identity.
    fn simulate(
        &self,
        login: &mut Login<AuthorizeRequest>,
        professional: Option<uuid::Uuid>,
        citizen: Option<&Identity>,
    ) -> Result<(), OAuthError> {
        let broker = &self.broker;
        match (professional, citizen) {
            (Some(professional), eid) => login
                .authenticate_professional_directly(broker, professional, eid)
                .map(|_| ())
                .map_err(simulation_hint_error),
            (None, Some(citizen)) => {
                login.authenticate_directly(broker, citizen);
                match &login.step {
                    Step::ChooseProfessional {
                        private_allowed: true,
                        ..
                    } => login.continue_privately(broker).map_err(|_| {
                        OAuthError::invalid_request(authorize::simulation::ERROR_PARAMETER)
                    }),
                    Step::ChooseProfessional { choices, .. } => {
                        tracing::info!(
                            identities = choices.len(),
                            "simulation=no-ui: the person has several professional \
                             identities; name one with mitid_erhverv_uuid:"
                        );
                        Err(OAuthError::invalid_request(
                            authorize::simulation::ERROR_PARAMETER,
                        ))
                    }
                    _ => Ok(()),
                }
            }
            (None, None) => {
                tracing::info!(
                    "simulation=no-ui: mitid_erhverv_uuid: needs idp_values with mitid_erhverv"
                );
                Err(OAuthError::invalid_request(
                    authorize::simulation::ERROR_PARAMETER,
                ))
            }
        }
    }

    /// An invalid request goes to NEB's error page; a simulation error to the RP.
    fn refuse(
        &self,
        rejection: Rejection,
        language: Language,
        browser_key: Option<&str>,
    ) -> AuthorizeOutcome {
        match rejection {
            Rejection::Page { error, client_id } => {
                tracing::info!(client = ?client_id, %error, "invalid authorization request");
                AuthorizeOutcome::ErrorPage {
                    location: self.error_page(&error, client_id.as_deref(), language),
                    error,
                }
            }
            Rejection::Redirect {
                client_id,
                redirect_uri,
                state,
                error,
            } => {
                let to = ReturnTo {
                    client_id: &client_id,
                    redirect_uri: &redirect_uri,
                    state: state.as_deref(),
                };
                let browser_state = self.browser_state(&client_id, browser_key);
                AuthorizeOutcome::redirect(self.error_redirect(to, &browser_state, &error))
            }
        }
    }

    /// What the login must achieve and show, and the citizen MitID's `uuid_hint` /
    /// `cpr_hint` name (a hint naming nobody stops the MitID flow).
    fn requirements(&self, request: &AuthorizeRequest) -> (Requirements, Option<Arc<Identity>>) {
        let mut requirements = Requirements {
            client_name: request.client.name.clone(),
            level: request.mitid.level,
            // A simulated professional identity makes it a MitID Erhverv login.
            idp: match request.simulated_professional() {
                Some(_) => Idp::MitIdErhverv,
                None => request.first_idp(),
            },
            idp_choices: request.idp_choices.clone(),
            cpr_entry: request.cpr_entry(),
            texts: ClientTexts {
                language: request.language,
                ..request.mitid.texts.clone()
            },
            require_psd2: request.mitid.require_psd2,
            mitid_refusal: request.mitid.refusal.clone(),
            erhverv: request.erhverv,
        };
        let hinted = match self.hinted_citizen(&request.mitid.identity_hints) {
            Ok(citizen) => citizen,
            Err(refusal) => {
                requirements.mitid_refusal.get_or_insert(refusal);
                None
            }
        };
        (requirements, hinted)
    }

    /// NEB's error page for an invalid request.
    pub fn error_page(
        &self,
        error: &OAuthError,
        client_id: Option<&str>,
        language: Language,
    ) -> String {
        let sealed = self.error_pages.seal(&BrokerError::new(
            error,
            client_id,
            language,
            self.broker.clock.unix(),
        ));
        super::append_query(
            &self.endpoint(super::paths::ERROR_PAGE),
            &[("errorId", sealed.as_str())],
        )
    }

    /// The browser's session with the client (or its SSO group), for `session_state`.
    fn browser_state(&self, client_id: &str, browser_key: Option<&str>) -> String {
        let now = self.broker.clock.now();
        self.clients
            .get(client_id)
            .zip(browser_key)
            .and_then(|(client, key)| {
                self.broker
                    .sessions
                    .for_browser(key, &client.sso_scope(), now)
            })
            .map(|session| session.id.to_string())
            .unwrap_or_default()
    }

    fn citizen_for(&self, hint: &IdentityHint) -> Option<Arc<Identity>> {
        let identities = &self.broker.identities;
        match hint {
            IdentityHint::Uuid(uuid) => identities.by_uuid(*uuid),
            IdentityHint::Username(name) => identities.by_user_id(name),
            IdentityHint::Cpr(cpr) => identities.by_cpr(cpr),
        }
    }

    /// The citizen the simulation parameter names, or NEB's error for it.
    fn simulated_citizen(&self, hints: &[IdentityHint]) -> Result<Arc<Identity>, OAuthError> {
        let mut found: Option<Arc<Identity>> = None;
        for hint in hints {
            let citizen = self.citizen_for(hint).ok_or_else(|| {
                OAuthError::new(ErrorCode::AccessDenied, authorize::simulation::UNKNOWN_USER)
            })?;
            if found.as_ref().is_some_and(|f| f.uuid != citizen.uuid) {
                return Err(OAuthError::invalid_request(
                    authorize::simulation::ERROR_PARAMETER,
                ));
            }
            found = Some(citizen);
        }
        found.ok_or_else(|| OAuthError::invalid_request(authorize::simulation::ERROR_PARAMETER))
    }

    /// The citizen MitID's `uuid_hint` / `cpr_hint` name, or why MitID refuses them.
    fn hinted_citizen(&self, hints: &[IdentityHint]) -> Result<Option<Arc<Identity>>, String> {
        let mut found: Option<Arc<Identity>> = None;
        for hint in hints {
            let citizen = self.citizen_for(hint).ok_or_else(|| match hint {
                IdentityHint::Uuid(uuid) => {
                    format!("idp_params.mitid.uuid_hint: no MitID identity has UUID {uuid}")
                }
                IdentityHint::Cpr(cpr) => {
                    format!("idp_params.mitid.cpr_hint: no MitID identity has CPR {cpr}")
                }
                IdentityHint::Username(name) => format!("no MitID identity has user ID {name}"),
            })?;
            if found.as_ref().is_some_and(|f| f.uuid != citizen.uuid) {
                return Err(
                    "idp_params.mitid.uuid_hint and cpr_hint name different identities".into(),
                );
            }
            found = Some(citizen);
        }
        Ok(found)
    }

    /// Whether the browser's session answers this request without a new authentication.
    fn session_satisfies(
        &self,
        session: &SsoSession,
        request: &AuthorizeRequest,
        now: OffsetDateTime,
    ) -> bool {
        let auth = &session.authentication;
        // max_age=0 means authenticate now, like prompt=login (OIDC WG issue 993).
        let elapsed = (now - auth.auth_time).whole_seconds();
        let fresh_enough = match request.max_age {
            None => true,
            Some(0) => false,
            Some(max_age) => i64::try_from(max_age).map_or(true, |max| elapsed <= max),
        };
        let citizen = self.broker.identities.by_uuid(session.citizen);
        let still_usable = citizen.as_ref().is_some_and(|c| c.status.can_log_in());
        let cpr_ok = !request.cpr_entry().applies_to(auth.idp)
            || auth.cpr_verified
            || citizen.as_ref().is_some_and(|c| c.cpr.is_none());
        // A MitID Erhverv session answers for its own professional identity only, while
        // that identity can still log in; a private session never answers MitID Erhverv
        // (the `idp` differs), nor the reverse.
        let same_professional = match auth.professional {
            Some(professional) => {
                request
                    .simulated_professional()
                    .is_none_or(|named| named == professional)
                    && self
                        .broker
                        .identities
                        .professional(professional)
                        .is_some_and(|p| p.can_log_in())
            }
            None => request.simulated_professional().is_none(),
        };
        !request.prompt_login
            && fresh_enough
            && still_usable
            && cpr_ok
            && same_professional
            && request.idp_choices.contains(&auth.idp)
            && request.mitid.level.met_by(auth.ial, auth.proof.aal)
    }

    /// The redirect back to the RP for a finished login: a code, or an error. A success
    /// starts or refreshes the browser's session for the client's SSO scope.
    pub fn finish(&self, login: Login<AuthorizeRequest>, browser_key: Option<&str>) -> Finished {
        let request = &login.request;
        let authentication = match login.outcome() {
            Some(Outcome::Authenticated(auth)) => auth.clone(),
            other => {
                let error = match other {
                    Some(Outcome::Failed(failure)) => failure_error(*failure),
                    _ => OAuthError::new(ErrorCode::ServerError, "the login had not finished"),
                };
                let browser_state = self.browser_state(&request.client.client_id, browser_key);
                return Finished {
                    location: self.error_redirect(request.return_to(), &browser_state, &error),
                    sso: None,
                };
            }
        };
        let now = self.broker.clock.now();
        let sessions = &self.broker.sessions;
        let scope = request.client.sso_scope();
        let existing = browser_key.and_then(|key| sessions.for_browser(key, &scope, now));
        let (session_id, sso) = match existing {
            // The same eID acting as the same identity: the session goes on. Another
            // professional identity (or the private one) is another subject for the RPs.
            Some(session)
                if session.citizen == authentication.citizen
                    && session.authentication.professional == authentication.professional =>
            {
                let authentication = Authentication {
                    cpr_verified: authentication.cpr_verified
                        || session.authentication.cpr_verified,
                    ..authentication.clone()
                };
                sessions.reauthenticate(session.id, authentication, now);
                (session.id, None)
            }
            other => {
                if let Some(previous) = other {
                    // Another citizen in the same browser and scope: the old session ends
                    // for its RPs too.
                    if let Some(ended) = sessions.end(previous.id, EndReason::Replaced, now) {
                        self.announce_logout(ended);
                    }
                }
                let session = sessions.start(authentication.clone(), scope, browser_key, now);
                (session.id, Some(session.browser_key))
            }
        };
        // This login's own authentication (a parallel tab may have replaced the session's).
        let authentication = Authentication {
            cpr_verified: authentication.cpr_verified
                || sessions
                    .get(session_id)
                    .is_some_and(|s| s.authentication.cpr_verified),
            ..authentication
        };
        Finished {
            location: self.issue_code(request, authentication, session_id, true),
            sso,
        }
    }
}

/// The login pages' view of the NEB personality: a finished login is a redirect to the RP.
impl LoginFront for Provider {
    type Request = AuthorizeRequest;

    fn broker(&self) -> &Broker {
        &self.broker
    }

    fn logins(&self) -> &Logins<AuthorizeRequest> {
        &self.logins
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn language(request: &AuthorizeRequest) -> Language {
        request.language
    }

    async fn finish_login(
        &self,
        login: Login<AuthorizeRequest>,
        browser_key: Option<&str>,
    ) -> front::Finished {
        let finished = self.finish(login, browser_key);
        front::Finished {
            answer: Answer::Redirect(finished.location),
            sso: finished.sso,
        }
    }

    async fn persist(&self) -> Result<(), String> {
        Provider::persist(self).await
    }
}

/// NEB's simulation error for a `mitid_erhverv_uuid:` that names nobody, or not the person
/// `uuid:` names.
fn simulation_hint_error(error: ProfessionalHintError) -> OAuthError {
    tracing::info!("simulation parameter refused: {error}");
    match error {
        ProfessionalHintError::UnknownProfessional | ProfessionalHintError::NoEid => {
            OAuthError::new(ErrorCode::AccessDenied, authorize::simulation::UNKNOWN_USER)
        }
        ProfessionalHintError::EidMismatch | ProfessionalHintError::NotAnErhvervLogin => {
            OAuthError::invalid_request(authorize::simulation::ERROR_PARAMETER)
        }
    }
}

/// The error the RP receives for a login that ended without a citizen.
fn failure_error(failure: Failure) -> OAuthError {
    use crate::identity::IdentityStatus;
    let (code, description) = match failure {
        Failure::Aborted => (ErrorCode::AccessDenied, "mitid_user_aborted"),
        Failure::AppRejected => (ErrorCode::AccessDenied, "mitid_user_aborted"),
        Failure::AppTimedOut => (ErrorCode::AccessDenied, "mitid_timeout"),
        Failure::InsufficientAssurance => (ErrorCode::AccessDenied, "mitid_loa_not_reachable"),
        Failure::IdentityNotUsable(IdentityStatus::Locked) => {
            (ErrorCode::AccessDenied, "mitid_identity_locked")
        }
        Failure::IdentityNotUsable(IdentityStatus::Revoked) => {
            (ErrorCode::AccessDenied, "mitid_identity_revoked")
        }
        Failure::IdentityNotUsable(IdentityStatus::Suspended) => {
            (ErrorCode::AccessDenied, "mitid_identity_suspended")
        }
        Failure::IdentityNotUsable(_) => (ErrorCode::AccessDenied, "mitid_identity_not_issued"),
        Failure::NoNemId => (ErrorCode::AccessDenied, "nemid_not_issued"),
        Failure::CardExhausted { .. } => (ErrorCode::AccessDenied, "nemid_code_card_exhausted"),
        Failure::CprNotMatched => (ErrorCode::AccessDenied, "cpr_not_matched"),
        Failure::CprTimedOut => (ErrorCode::AccessDenied, "cpr_entry_timeout"),
        Failure::ParameterRefused => (ErrorCode::InvalidRequest, "mitid_invalid_idp_params"),
        Failure::Erhverv(failure) => (ErrorCode::AccessDenied, erhverv_description(failure)),
    };
    OAuthError::new(code, description)
}

/// NEB's error codes for MitID Erhverv are not public (NEB-FIDELITY row 87): these names
/// follow the MitID ones above.
fn erhverv_description(failure: crate::flow::ErhvervFailure) -> &'static str {
    use crate::flow::ErhvervFailure;
    use crate::identity::ProfessionalStatus;
    match failure {
        ErhvervFailure::NoProfessionalIdentity => "mitid_erhverv_no_professional_identity",
        ErhvervFailure::IdentityNotUsable(ProfessionalStatus::Locked) => {
            "mitid_erhverv_identity_locked"
        }
        ErhvervFailure::IdentityNotUsable(ProfessionalStatus::Revoked) => {
            "mitid_erhverv_identity_revoked"
        }
        ErhvervFailure::IdentityNotUsable(ProfessionalStatus::Suspended) => {
            "mitid_erhverv_identity_suspended"
        }
        ErhvervFailure::IdentityNotUsable(_) => "mitid_erhverv_identity_not_active",
        ErhvervFailure::NotAPrivateIdentity => "mitid_identity_not_issued",
    }
}

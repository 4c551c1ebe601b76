//! Web SSO: an AuthnRequest leads to an answer from the browser's NemLog-in session, a
//! simulated login, or the MitID pages; a finished login to the signed Response with the
//! encrypted assertion, posted to the SP's assertion consumer service.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::authn_request::{self, AuthnRequest, AuthnRequestError, Refusal};
use super::binding::{post_form, Field, Received};
use super::provider::{sso_scope, Outcome, Provider, Ready, SsoCookie};
use super::response::{build_response, build_status_response, Delivery};
use super::simulation;
use super::sp::ServiceProvider;
use super::subject::Subject;
use super::vocabulary::{status, Profile, Status};
use crate::broker::sessions::{EndReason, SsoSession};
use crate::broker::Broker;
use crate::flow::{
    Authentication, CprEntry, ErhvervFailure, ErhvervOptions, Failure, Idp, Login, Logins,
    Outcome as LoginOutcome, ProfessionalHintError, Requirements, Step,
};
use crate::identity::{Identity, IdentityStatus, RequiredLevel};
use crate::protocols::front::{self, Answer, LoginFront};
use crate::protocols::{IdentityHint, Language};
use crate::protocols::{Simulation, SimulationMode};

impl Provider {
    /// An AuthnRequest off the Redirect or POST binding.
    pub(super) fn single_sign_on(
        &self,
        ready: &Ready,
        received: &Received,
        simulation: Option<&str>,
        browser_key: Option<&str>,
    ) -> Outcome {
        let now = self.broker.clock.now();
        let request = match authn_request::parse(received, &ready.idp, &self.service_providers, now)
        {
            Ok(request) => request,
            Err(AuthnRequestError::Page(problem)) => {
                tracing::info!(%problem, "AuthnRequest refused");
                return Outcome::refused(
                    "Login-forespørgslen afvises / The login request is refused",
                    problem.to_string(),
                );
            }
            Err(AuthnRequestError::Answer(refusal)) => {
                return self.refuse(ready, &refusal);
            }
        };
        if !self
            .seen_requests
            .first_time(&request.sp.entity_id, &request.id, now)
        {
            return Outcome::refused(
                "Login-forespørgslen er brugt / The login request was used before",
                format!(
                    "AuthnRequest {} from {} was received before; each request is answered once",
                    request.id, request.sp.entity_id
                ),
            );
        }
        let simulation = match simulation.filter(|_| request.sp.allow_simulation) {
            None => None,
            Some(value) => match simulation::parse(value) {
                Ok(simulation) => Some(simulation),
                Err(problem) => {
                    let status = Status::requester(
                        status::REQUEST_UNSUPPORTED,
                        format!("simulation: {problem}"),
                    );
                    return self.answer_status(ready, &request, &status);
                }
            },
        };
        let no_ui = simulation
            .as_ref()
            .is_some_and(|s| s.mode == SimulationMode::NoUi);
        let session =
            browser_key.and_then(|key| self.broker.sessions.for_browser(key, &sso_scope(), now));
        if !no_ui && !request.force_authn {
            if let Some(session) = session
                .as_ref()
                .filter(|s| self.session_serves(s, &request))
            {
                self.broker.sessions.touch(session.id, now);
                let auth = session.authentication.clone();
                let answer = self.answer_success(ready, &request, session.id, &auth);
                return answer_outcome(answer, SsoCookie::Keep);
            }
        }
        if request.is_passive && !no_ui {
            let status = Status::responder(
                status::NO_PASSIVE,
                "IsPassive: the citizen has no NemLog-in session that meets the request",
            );
            return self.answer_status(ready, &request, &status);
        }
        let mut login = Login::new(request.clone(), requirements(&request), &self.broker);
        let named = match simulation.as_ref().map(|s| self.simulated(s)) {
            Some(Err(status)) => return self.answer_status(ready, &request, &status),
            Some(Ok(named)) => named,
            None => None,
        };
        if let (true, Some(simulation)) = (no_ui, simulation.as_ref()) {
            if let Err(status) = self.log_in_directly(&mut login, simulation, named.as_ref()) {
                return self.answer_status(ready, &request, &status);
            }
            let finished = self.conclude(ready, login, browser_key);
            return answer_outcome(finished.answer, sso_cookie(finished.sso));
        }
        match simulation.as_ref().and_then(|s| s.professional) {
            // `ui mitid_erhverv_uuid:`: the pages of the MitID that logs in as the identity,
            // which is chosen for the person once they have authenticated.
            Some(professional) => {
                if let Err(err) =
                    login.start_as_professional(&self.broker, professional, named.as_deref())
                {
                    return self.answer_status(ready, &request, &professional_hint_status(err));
                }
            }
            None => {
                if let Some(citizen) = named {
                    login.start_as(&self.broker, &citizen);
                }
            }
        }
        let outcome = Outcome::ShowLogin {
            login_id: login.id.clone(),
            binding: login.browser_binding.clone(),
        };
        self.logins.insert(login);
        outcome
    }

    /// A trusted request NemLog-in will not serve: a status response at the SP's ACS.
    fn refuse(&self, ready: &Ready, refusal: &Refusal) -> Outcome {
        let delivery = Delivery {
            sp: &refusal.sp,
            acs_url: &refusal.acs_url,
            in_response_to: &refusal.in_response_to,
            now: self.broker.clock.now(),
            sign_response: true,
        };
        let answer = build_status_response(&ready.idp, &delivery, &refusal.status, &[])
            .map(|xml| {
                Answer::Post(post_form(
                    &refusal.acs_url,
                    Field::SamlResponse,
                    &xml,
                    refusal.relay_state.as_deref(),
                ))
            })
            .unwrap_or_else(|err| Answer::Failed(format!("the response cannot be signed: {err}")));
        answer_outcome(answer, SsoCookie::Keep)
    }

    /// Whether the browser's session answers this request without a new authentication:
    /// the same kind of identity the SP accepts (person or professional), at its level.
    fn session_serves(&self, session: &SsoSession, request: &AuthnRequest) -> bool {
        let auth = &session.authentication;
        let profile = if auth.professional.is_some() {
            Profile::Professional
        } else {
            Profile::Person
        };
        let usable = self
            .broker
            .identities
            .by_uuid(session.citizen)
            .is_some_and(|c| c.status.can_log_in());
        let professional_usable = auth.professional.is_none_or(|uuid| {
            self.broker
                .identities
                .professional(uuid)
                .is_some_and(|p| p.can_log_in())
        });
        usable
            && professional_usable
            && matches!(auth.idp, Idp::MitId | Idp::MitIdErhverv)
            && request.profiles.contains(&profile)
            && RequiredLevel::Loa(request.minimum_loa()).met_by(auth.ial, auth.proof.aal)
    }

    /// The citizen a simulation names, or the status that refuses it.
    fn simulated(&self, simulation: &Simulation) -> Result<Option<Arc<Identity>>, Status> {
        let identities = &self.broker.identities;
        let mut found: Option<Arc<Identity>> = None;
        for hint in &simulation.identities {
            let citizen = match hint {
                IdentityHint::Uuid(uuid) => identities.by_uuid(*uuid),
                IdentityHint::Username(name) => identities.by_user_id(name),
                IdentityHint::Cpr(cpr) => identities.by_cpr(cpr),
            }
            .ok_or_else(|| {
                Status::responder(
                    status::UNKNOWN_PRINCIPAL,
                    format!("simulation: no MitID identity is {hint:?}"),
                )
            })?;
            if found.as_ref().is_some_and(|f| f.uuid != citizen.uuid) {
                return Err(Status::requester(
                    status::REQUEST_UNSUPPORTED,
                    "simulation: the values name different identities",
                ));
            }
            found = Some(citizen);
        }
        Ok(found)
    }

    /// `no-ui`: the login ends at once, as the named person or professional identity.
    fn log_in_directly(
        &self,
        login: &mut Login<AuthnRequest>,
        simulation: &Simulation,
        citizen: Option<&Arc<Identity>>,
    ) -> Result<(), Status> {
        let broker = &self.broker;
        if let Some(professional) = simulation.professional {
            return login
                .authenticate_professional_directly(broker, professional, citizen.map(|c| &**c))
                .map(|_| ())
                .map_err(professional_hint_status);
        }
        let Some(citizen) = citizen else {
            return Err(Status::requester(
                status::REQUEST_UNSUPPORTED,
                "simulation: no-ui names nobody",
            ));
        };
        login.authenticate_directly(broker, citizen);
        if let Step::ChooseProfessional { .. } = login.step {
            return Err(Status::requester(
                status::REQUEST_UNSUPPORTED,
                "simulation: the person has several professional identities; name one with mitid_erhverv_uuid:",
            ));
        }
        Ok(())
    }

    /// The answer to a finished login: a session begins (or goes on) in the NemLog-in
    /// scope and the SP takes part in it.
    pub(super) fn conclude(
        &self,
        ready: &Ready,
        login: Login<AuthnRequest>,
        browser_key: Option<&str>,
    ) -> front::Finished {
        let request = &login.request;
        let auth = match login.outcome() {
            Some(LoginOutcome::Authenticated(auth)) => auth.clone(),
            other => {
                let status = match other {
                    Some(LoginOutcome::Failed(failure)) => failure_status(*failure),
                    _ => Status::responder(status::AUTHN_FAILED, "the login had not finished"),
                };
                return front::Finished {
                    answer: self.status_answer(ready, request, &status),
                    sso: None,
                };
            }
        };
        let now = self.broker.clock.now();
        let sessions = &self.broker.sessions;
        let existing = browser_key.and_then(|key| sessions.for_browser(key, &sso_scope(), now));
        let (session_id, sso) = match existing {
            Some(session) if session.citizen == auth.citizen => {
                sessions.reauthenticate(session.id, auth.clone(), now);
                (session.id, None)
            }
            other => {
                if let Some(previous) = other {
                    // Another citizen in the same browser: the old session ends for its
                    // SPs and clients too.
                    if let Some(ended) = sessions.end(previous.id, EndReason::Replaced, now) {
                        self.announce(ended);
                    }
                }
                let session = sessions.start(auth.clone(), sso_scope(), browser_key, now);
                (session.id, Some(session.browser_key))
            }
        };
        front::Finished {
            answer: self.answer_success(ready, request, session_id, &auth),
            sso,
        }
    }

    /// The signed Response with the encrypted assertion about `auth`, for the SP's ACS;
    /// the SP joins session `session_id`, whose ID is the `SessionIndex`.
    fn answer_success(
        &self,
        ready: &Ready,
        request: &AuthnRequest,
        session_id: Uuid,
        auth: &Authentication,
    ) -> Answer {
        let Some(citizen) = self.broker.identities.by_uuid(auth.citizen) else {
            let status =
                Status::responder(status::UNKNOWN_PRINCIPAL, "the citizen no longer exists");
            return self.status_answer(ready, request, &status);
        };
        let now = self.broker.clock.now();
        let subject = Subject::of(&self.broker.identities, &citizen, auth, now.date());
        let sp = &request.sp;
        self.broker
            .sessions
            .join_service_provider(session_id, &sp.entity_id, &subject.name_id());
        let previous = self.last_assertions.get(&sp.entity_id).map(|a| a.clone());
        let faults: Vec<_> = self
            .faults
            .next(&sp.entity_id, previous.as_deref())
            .into_iter()
            .collect();
        if let Some(fault) = faults.first() {
            tracing::info!(sp = %sp.entity_id, fault = fault.name(), "response fault injected");
        }
        let delivery = delivery(sp, request, now);
        match build_response(
            &ready.idp,
            &delivery,
            &subject,
            &session_id.to_string(),
            &faults,
        ) {
            Ok(built) => {
                self.last_assertions
                    .insert(sp.entity_id.clone(), built.assertion_id.clone());
                Answer::Post(post_form(
                    &request.acs_url,
                    Field::SamlResponse,
                    &built.xml,
                    request.relay_state.as_deref(),
                ))
            }
            Err(err) => Answer::Failed(format!("the response cannot be built: {err}")),
        }
    }

    fn status_answer(&self, ready: &Ready, request: &AuthnRequest, status: &Status) -> Answer {
        let now = self.broker.clock.now();
        let mut delivery = delivery(&request.sp, request, now);
        delivery.sign_response = true;
        match build_status_response(&ready.idp, &delivery, status, &[]) {
            Ok(xml) => Answer::Post(post_form(
                &request.acs_url,
                Field::SamlResponse,
                &xml,
                request.relay_state.as_deref(),
            )),
            Err(err) => Answer::Failed(format!("the response cannot be signed: {err}")),
        }
    }

    fn answer_status(&self, ready: &Ready, request: &AuthnRequest, status: &Status) -> Outcome {
        answer_outcome(self.status_answer(ready, request, status), SsoCookie::Keep)
    }
}

fn delivery<'a>(
    sp: &'a ServiceProvider,
    request: &'a AuthnRequest,
    now: OffsetDateTime,
) -> Delivery<'a> {
    Delivery {
        sp,
        acs_url: &request.acs_url,
        in_response_to: &request.id,
        now,
        sign_response: sp.sign_response,
    }
}

fn sso_cookie(sso: Option<String>) -> SsoCookie {
    sso.map_or(SsoCookie::Keep, SsoCookie::Set)
}

fn answer_outcome(answer: Answer, sso: SsoCookie) -> Outcome {
    Outcome::Browser { answer, sso }
}

/// What the MitID flow must achieve for this request. A request for the Person profile
/// is a private MitID login; for the Professional profile a MitID Erhverv login; for
/// either (or none named) a MitID Erhverv login in which the person may also go on as
/// themselves, at once when they have no professional identity.
fn requirements(request: &AuthnRequest) -> Requirements {
    let person = request.profiles.contains(&Profile::Person);
    let professional = request.profiles.contains(&Profile::Professional);
    let idp = if professional {
        Idp::MitIdErhverv
    } else {
        Idp::MitId
    };
    Requirements {
        client_name: request.sp.display_name().to_string(),
        level: RequiredLevel::Loa(request.minimum_loa()),
        idp,
        idp_choices: vec![idp],
        cpr_entry: CprEntry::Never,
        texts: Default::default(),
        require_psd2: false,
        mitid_refusal: None,
        erhverv: ErhvervOptions {
            allow_private: person,
            uncapped: true,
            selected: None,
        },
    }
}

/// The SAML status for a `mitid_erhverv_uuid:` the login cannot act as.
fn professional_hint_status(err: ProfessionalHintError) -> Status {
    match err {
        ProfessionalHintError::NotAnErhvervLogin => Status::requester(
            status::REQUEST_UNSUPPORTED,
            "simulation: mitid_erhverv_uuid needs a request that accepts the Professional profile",
        ),
        other => Status::responder(status::UNKNOWN_PRINCIPAL, format!("simulation: {other}")),
    }
}

/// The SAML status for a login that ended without a citizen: the SP's library reports
/// the top-level code; the message says what happened (NEB's error names, for QA).
fn failure_status(failure: Failure) -> Status {
    let (sub_code, message) = match failure {
        Failure::Aborted | Failure::AppRejected => (
            status::AUTHN_FAILED,
            "the citizen cancelled the login (mitid_user_aborted)",
        ),
        Failure::AppTimedOut => (
            status::AUTHN_FAILED,
            "the MitID app was not answered in time (mitid_timeout)",
        ),
        Failure::InsufficientAssurance => (
            status::NO_AUTHN_CONTEXT,
            "no authenticator of the citizen reaches the level asked for (mitid_loa_not_reachable)",
        ),
        Failure::IdentityNotUsable(IdentityStatus::Locked) => (
            status::AUTHN_FAILED,
            "the MitID identity is locked (mitid_identity_locked)",
        ),
        Failure::IdentityNotUsable(IdentityStatus::Revoked) => (
            status::AUTHN_FAILED,
            "the MitID identity is revoked (mitid_identity_revoked)",
        ),
        Failure::IdentityNotUsable(IdentityStatus::Suspended) => (
            status::AUTHN_FAILED,
            "the MitID identity is suspended (mitid_identity_suspended)",
        ),
        Failure::IdentityNotUsable(_) => (
            status::AUTHN_FAILED,
            "the person has no MitID identity (mitid_identity_not_issued)",
        ),
        Failure::NoNemId
        | Failure::CardExhausted { .. }
        | Failure::CprNotMatched
        | Failure::CprTimedOut
        | Failure::ParameterRefused => (status::AUTHN_FAILED, "the login failed"),
        Failure::Erhverv(ErhvervFailure::NoProfessionalIdentity) => (
            status::AUTHN_FAILED,
            "the person has no professional identity (mitid_erhverv_no_professional_identity)",
        ),
        Failure::Erhverv(ErhvervFailure::IdentityNotUsable(_)) => (
            status::AUTHN_FAILED,
            "the professional identity is not active (mitid_erhverv_identity_not_active)",
        ),
        Failure::Erhverv(ErhvervFailure::NotAPrivateIdentity) => (
            status::AUTHN_FAILED,
            "a MitID Erhverv eID cannot log in as a private person (mitid_identity_not_issued)",
        ),
    };
    Status::responder(sub_code, message)
}

/// The login pages' view of the NemLog-in personality: a finished login is a form the
/// browser posts to the SP.
impl LoginFront for Provider {
    type Request = AuthnRequest;

    fn broker(&self) -> &Broker {
        &self.broker
    }

    fn logins(&self) -> &Logins<AuthnRequest> {
        &self.logins
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// NemLog-in's pages are Danish.
    fn language(_: &AuthnRequest) -> Language {
        Language::Da
    }

    async fn finish_login(
        &self,
        login: Login<AuthnRequest>,
        browser_key: Option<&str>,
    ) -> front::Finished {
        match self.ready().await {
            Ok(ready) => self.conclude(ready, login, browser_key),
            Err(err) => front::Finished {
                answer: Answer::Failed(err),
                sso: None,
            },
        }
    }

    async fn persist(&self) -> Result<(), String> {
        Provider::persist(self).await
    }
}

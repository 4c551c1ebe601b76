//! OpenID Connect provider with the NEB personality: issuer `<base>/op` and its paths.

pub mod authorize;
pub mod backchannel;
pub mod clients;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod grants;
pub mod limits;
pub mod logout;
pub mod record;
pub mod token;

use std::sync::Arc;

use time::Duration;
use url::Url;
use uuid::Uuid;

use time::OffsetDateTime;

use crate::broker::sessions::{EndReason, EndedSession, SsoSession};
use crate::broker::Broker;
use crate::flow::{Authentication, Failure, Login, Logins, Outcome, Requirements};
use crate::protocols::claims::{self, LoginRecord};
use faults::TokenFault;

pub use authorize::{AuthorizeRequest, IdentityHint, Language, Rejection};
pub use clients::{Client, ClientRegistry};
pub use error::{ErrorCode, OAuthError};

/// Endpoint paths below the issuer, as on the real broker.
pub mod paths {
    pub const ISSUER_PREFIX: &str = "/op";
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const JWKS: &str = "/.well-known/openid-configuration/jwks";
    pub const AUTHORIZE: &str = "/connect/authorize";
    pub const TOKEN: &str = "/connect/token";
    pub const USERINFO: &str = "/connect/userinfo";
    pub const END_SESSION: &str = "/connect/endsession";
    pub const REVOCATION: &str = "/connect/revocation";
    pub const INTROSPECTION: &str = "/connect/introspect";
    pub const BACKEND_LOGOUT: &str = "/api/v1/session/logout";
}

#[derive(Clone, Debug)]
pub struct Lifetimes {
    pub code: Duration,
    pub id_token: Duration,
    pub access_token: Duration,
    pub refresh_token: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code: Duration::seconds(60),
            id_token: Duration::minutes(5),
            access_token: Duration::hours(3),
            refresh_token: Duration::days(30),
        }
    }
}

/// What the authorize endpoint does with a request.
pub enum AuthorizeOutcome {
    /// Show the login pages; the browser gets the login's binding cookie.
    ShowLogin {
        login_id: String,
        binding: String,
    },
    /// Back to the RP; `sso` is a new SSO cookie value for the browser.
    Redirect {
        location: String,
        sso: Option<String>,
    },
    ErrorPage(String),
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

pub struct Provider {
    pub broker: Arc<Broker>,
    /// Where the server is reached, e.g. `http://127.0.0.1:8088`.
    pub base_url: String,
    pub issuer: String,
    pub clients: ClientRegistry,
    pub logins: Logins<AuthorizeRequest>,
    pub grants: grants::Grants,
    pub lifetimes: Lifetimes,
    pub backchannel: backchannel::Backchannel,
    pub faults: faults::Faults,
    pub recorder: record::Recorder,
    /// An issuer the discovery document announces instead of the real one (fault T09).
    pub discovery_issuer: arc_swap::ArcSwapOption<String>,
    /// Where runtime changes are kept across restarts (`--state-dir`).
    pub state: Option<crate::persistence::StateDir>,
}

impl Provider {
    pub fn new(
        broker: Arc<Broker>,
        base_url: &str,
        clients: ClientRegistry,
        lifetimes: Lifetimes,
    ) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        let max_pending_logins = broker.settings.max_pending_logins;
        Self {
            broker,
            issuer: format!("{base_url}{}", paths::ISSUER_PREFIX),
            base_url,
            clients,
            logins: Logins::with_capacity(max_pending_logins),
            grants: grants::Grants::default(),
            lifetimes,
            backchannel: backchannel::Backchannel::new(backchannel::RetryPolicy::default()),
            faults: faults::Faults::default(),
            recorder: record::Recorder::default(),
            discovery_issuer: arc_swap::ArcSwapOption::empty(),
            state: None,
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub fn authorize(
        &self,
        pairs: Vec<(String, String)>,
        browser_key: Option<&str>,
    ) -> AuthorizeOutcome {
        let oversized = limits::Oversized::find(&pairs);
        let parsed = authorize::parse(pairs, &self.clients);
        if let Some(oversized) = oversized {
            return self.refuse_oversized(parsed, &oversized);
        }
        let request = match parsed {
            Ok(request) => request,
            Err(Rejection::Page(message)) => return AuthorizeOutcome::ErrorPage(message),
            Err(Rejection::Redirect {
                redirect_uri,
                state,
                error,
            }) => {
                return AuthorizeOutcome::redirect(self.error_redirect(
                    &redirect_uri,
                    state.as_deref(),
                    &error,
                ))
            }
        };
        let now = self.broker.clock.now();
        let session = browser_key.and_then(|key| self.broker.sessions.for_browser(key, now));
        if request.no_ui.is_none() {
            if let Some(session) = session
                .as_ref()
                .filter(|s| self.session_satisfies(s, &request, now))
            {
                self.broker.sessions.touch(session.id, now);
                let location =
                    self.issue_code(&request, session.authentication.clone(), session.id);
                return AuthorizeOutcome::redirect(location);
            }
            if request.prompt_none {
                let error = OAuthError::new(
                    ErrorCode::LoginRequired,
                    "prompt=none, but the citizen has no session at the broker that meets the request",
                );
                return AuthorizeOutcome::redirect(self.error_redirect(
                    &request.redirect_uri,
                    request.state.as_deref(),
                    &error,
                ));
            }
        }
        let requirements = Requirements {
            client_name: request.client.name.clone(),
            min_loa: request.min_loa,
            idp: request.first_idp(),
            idp_choices: request.idp_choices.clone(),
            cpr_entry: request.has_scope("ssn"),
            erhverv: Default::default(),
        };
        let hint = request.no_ui.clone();
        let step_up = request.enable_step_up && request.prompt_login;
        let mut login = Login::new(request, requirements, &self.broker);
        if let Some(hint) = hint {
            let citizen = match &hint {
                IdentityHint::Uuid(uuid) => self.broker.identities.by_uuid(*uuid),
                IdentityHint::Username(name) => self.broker.identities.by_user_id(name),
                IdentityHint::Cpr(cpr) => self.broker.identities.by_cpr(cpr),
            };
            let Some(citizen) = citizen else {
                let error = OAuthError::invalid_request("login_hint: no citizen matches the hint");
                return AuthorizeOutcome::redirect(self.error_redirect(
                    &login.request.redirect_uri,
                    login.request.state.as_deref(),
                    &error,
                ));
            };
            login.authenticate_directly(&self.broker, &citizen);
            let finished = self.finish(login, browser_key);
            return AuthorizeOutcome::Redirect {
                location: finished.location,
                sso: finished.sso,
            };
        }
        // Step-up keeps the session's citizen: the login goes straight to the authenticators.
        if let Some(citizen) = session
            .filter(|_| step_up)
            .and_then(|s| self.broker.identities.by_uuid(s.citizen))
        {
            login.start_as(&self.broker, &citizen);
        }
        let outcome = AuthorizeOutcome::ShowLogin {
            login_id: login.id.clone(),
            binding: login.browser_binding.clone(),
        };
        self.logins.insert(login);
        outcome
    }

    /// An authorization request with a parameter over the length limit: `invalid_request`
    /// to a trusted redirect URI (without an oversized `state`), else an error page.
    fn refuse_oversized(
        &self,
        parsed: Result<AuthorizeRequest, Rejection>,
        oversized: &limits::Oversized,
    ) -> AuthorizeOutcome {
        let (redirect_uri, state) = match parsed {
            Ok(request) => (request.redirect_uri, request.state),
            Err(Rejection::Redirect {
                redirect_uri,
                state,
                ..
            }) => (redirect_uri, state),
            Err(Rejection::Page(_)) => {
                return AuthorizeOutcome::ErrorPage(oversized.description());
            }
        };
        let state = state.filter(|_| oversized.name != "state");
        let error = OAuthError::invalid_request(oversized.description());
        AuthorizeOutcome::redirect(self.error_redirect(&redirect_uri, state.as_deref(), &error))
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
        let cpr_ok = !request.has_scope("ssn")
            || auth.cpr_verified
            || citizen.as_ref().is_some_and(|c| c.cpr.is_none());
        !request.prompt_login
            && fresh_enough
            && still_usable
            && cpr_ok
            && request.idp_choices.contains(&auth.idp)
            && auth.loa >= request.min_loa
    }

    /// The redirect back to the RP for a finished login: a code, or an error. A success
    /// starts or refreshes the browser's SSO session.
    pub fn finish(&self, login: Login<AuthorizeRequest>, browser_key: Option<&str>) -> Finished {
        let request = &login.request;
        let authentication = match login.outcome() {
            Some(Outcome::Authenticated(auth)) => auth.clone(),
            other => {
                let error = match other {
                    Some(Outcome::Failed(failure)) => failure_error(*failure),
                    _ => OAuthError::new(ErrorCode::ServerError, "the login had not finished"),
                };
                return Finished {
                    location: self.error_redirect(
                        &request.redirect_uri,
                        request.state.as_deref(),
                        &error,
                    ),
                    sso: None,
                };
            }
        };
        let now = self.broker.clock.now();
        let sessions = &self.broker.sessions;
        let existing = browser_key.and_then(|key| sessions.for_browser(key, now));
        let (session_id, sso) = match existing {
            Some(session) if session.citizen == authentication.citizen => {
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
                    // Another citizen in the same browser: the old session ends for its RPs too.
                    if let Some(ended) = sessions.end(previous.id, EndReason::Replaced, now) {
                        self.announce_logout(ended);
                    }
                }
                let session = sessions.start(authentication.clone(), now);
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
            location: self.issue_code(request, authentication, session_id),
            sso,
        }
    }

    /// A code for `request`'s client in session `session_id`, which the client joins.
    fn issue_code(
        &self,
        request: &AuthorizeRequest,
        authentication: Authentication,
        session_id: Uuid,
    ) -> String {
        let now = self.broker.clock.now();
        let client = &request.client;
        let subject = claims::subject(client.organisation(), authentication.citizen);
        let joined = self
            .broker
            .sessions
            .join(session_id, &client.client_id, &subject)
            .zip(self.broker.sessions.live(session_id, now));
        // The session ended while the login finished (a logout raced it): no code for a
        // dead session, or the RP would build a session nobody can log out.
        let Some((participant, session)) = joined else {
            let error = OAuthError::new(
                ErrorCode::LoginRequired,
                "the broker session ended while the login finished; log in again",
            );
            return self.error_redirect(&request.redirect_uri, request.state.as_deref(), &error);
        };
        let fault = self.faults.next_authorization_response(&client.client_id);
        if let Some(fault) = fault {
            tracing::info!(client = %client.client_id, fault = %fault.name(), "authorization response fault injected");
        }
        let mut session_expiry = session.absolute_expiry();
        if fault == Some(TokenFault::ShortSessionExpiry) {
            // The session itself ends early, not just the claim: the RP must notice the
            // session is gone after `session_expiry`, as it would be at the real broker.
            session_expiry = self
                .broker
                .sessions
                .shorten(session_id, now + faults::SHORT_SESSION)
                .unwrap_or(session_expiry);
        }
        let record = LoginRecord {
            transaction_id: Uuid::new_v4(),
            neb_sid: session_id,
            sid: participant.sid,
            session_expiry,
            authentication,
        };
        let code = self.grants.issue_code(grants::CodeGrant::new(
            client.client_id.clone(),
            request.redirect_uri.clone(),
            request.nonce.clone(),
            request.code_challenge.clone(),
            request.scopes.clone(),
            record,
            now + self.lifetimes.code,
        ));
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = request.state.as_deref() {
            pairs.push(("state", state));
        }
        let issuer = match fault {
            Some(TokenFault::AuthorizationResponseWrongIss) => faults::FOREIGN_ISSUER,
            _ => self.issuer.as_str(),
        };
        pairs.push(("iss", issuer));
        append_query(&request.redirect_uri, &pairs)
    }

    pub fn error_redirect(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        error: &OAuthError,
    ) -> String {
        let mut pairs = vec![
            ("error", error.code.as_str()),
            ("error_description", error.description.as_str()),
        ];
        if let Some(state) = state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.issuer));
        append_query(redirect_uri, &pairs)
    }

    /// Userinfo for a bearer access token (RFC 6750).
    pub fn userinfo(&self, access_token: &str) -> Result<serde_json::Value, OAuthError> {
        let now = self.broker.clock.now();
        let grant = self.grants.access_token(access_token, now).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidToken,
                "the access token is unknown, expired or revoked",
            )
        })?;
        let citizen = self
            .broker
            .identities
            .by_uuid(grant.citizen)
            .ok_or_else(|| {
                OAuthError::new(ErrorCode::InvalidToken, "the citizen no longer exists")
            })?;
        let session_active = self.broker.sessions.is_active(grant.record.neb_sid, now);
        let mut claims = claims::userinfo(
            &grant.subject,
            &citizen,
            &grant.record,
            &grant.scopes,
            session_active,
            now,
        );
        if self.faults.next_userinfo(&grant.client_id).is_some() {
            claims.insert("sub".into(), Uuid::new_v4().to_string().into());
        }
        Ok(serde_json::Value::Object(claims))
    }

    /// Ends expired sessions and tells their clients, and fixes app requests whose
    /// answer or time-out is due. Runs every second and after every clock change.
    pub fn expire_sessions(&self) {
        let now = self.broker.clock.now();
        self.broker.apps.settle(now);
        for ended in self.broker.sessions.end_expired(now) {
            self.announce_logout(ended);
        }
    }

    /// Back-channel logout to every client of an ended session (in the background).
    pub fn announce_logout(&self, ended: EndedSession) {
        tracing::info!(session = %ended.session.id, reason = ?ended.reason, "broker session ended");
        // What only the session kept alive goes now, not at the next sweep.
        self.grants.forget_session(ended.session.id);
        self.backchannel.announce(self, ended);
    }

    /// Saves runtime state when the broker keeps it (`--state-dir`); a no-op otherwise.
    pub async fn persist(&self) -> Result<(), String> {
        match &self.state {
            Some(state) => state.save(self).await.map_err(|err| err.to_string()),
            None => Ok(()),
        }
    }

    pub fn sweep(&self) {
        let now = self.broker.clock.now();
        let sessions = &self.broker.sessions;
        self.grants
            .forget_sessions(|id| !sessions.is_active(id, now));
        self.logins.sweep(now);
        self.grants.sweep(now);
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

/// Adds parameters to a registered URI that may already carry a query.
pub(crate) fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return uri.to_string();
    }
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        // Registered URIs were parsed when registered, so this is unreachable in practice.
        Err(_) => uri.to_string(),
    }
}

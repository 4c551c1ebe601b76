//! OpenID Connect provider with the NEB personality: issuer `<base>/op` and its paths.

pub mod authorize;
pub mod clients;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod token;

use std::sync::Arc;

use time::Duration;
use url::Url;
use uuid::Uuid;

use crate::broker::Broker;
use crate::flow::{Failure, Login, Logins, Outcome, Requirements};
use crate::protocols::claims::{self, LoginRecord};

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
}

#[derive(Clone, Debug)]
pub struct Lifetimes {
    pub code: Duration,
    pub id_token: Duration,
    pub access_token: Duration,
    /// Absolute lifetime of the broker session (`session_expiry`).
    pub session: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code: Duration::seconds(60),
            id_token: Duration::minutes(5),
            access_token: Duration::hours(3),
            session: Duration::hours(8),
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
    Redirect(String),
    ErrorPage(String),
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
}

impl Provider {
    pub fn new(
        broker: Arc<Broker>,
        base_url: &str,
        clients: ClientRegistry,
        lifetimes: Lifetimes,
    ) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        Self {
            broker,
            issuer: format!("{base_url}{}", paths::ISSUER_PREFIX),
            base_url,
            clients,
            logins: Logins::default(),
            grants: grants::Grants::default(),
            lifetimes,
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub fn authorize(&self, pairs: Vec<(String, String)>) -> AuthorizeOutcome {
        let request = match authorize::parse(pairs, &self.clients) {
            Ok(request) => request,
            Err(Rejection::Page(message)) => return AuthorizeOutcome::ErrorPage(message),
            Err(Rejection::Redirect {
                redirect_uri,
                state,
                error,
            }) => {
                return AuthorizeOutcome::Redirect(self.error_redirect(
                    &redirect_uri,
                    state.as_deref(),
                    &error,
                ))
            }
        };
        let requirements = Requirements {
            client_name: request.client.name.clone(),
            min_loa: request.min_loa,
            idp: request.idp,
            cpr_entry: request.has_scope("ssn"),
        };
        let hint = request.no_ui.clone();
        let mut login = Login::new(request, requirements, &self.broker);
        if let Some(hint) = hint {
            let citizen = match &hint {
                IdentityHint::Uuid(uuid) => self.broker.identities.by_uuid(*uuid),
                IdentityHint::Username(name) => self.broker.identities.by_user_id(name),
                IdentityHint::Cpr(cpr) => self.broker.identities.by_cpr(cpr),
            };
            let Some(citizen) = citizen else {
                let error =
                    OAuthError::invalid_request(format!("login_hint: no citizen matches {hint:?}"));
                return AuthorizeOutcome::Redirect(self.error_redirect(
                    &login.request.redirect_uri,
                    login.request.state.as_deref(),
                    &error,
                ));
            };
            login.authenticate_directly(&self.broker, &citizen);
            return AuthorizeOutcome::Redirect(self.finish(login));
        }
        let outcome = AuthorizeOutcome::ShowLogin {
            login_id: login.id.clone(),
            binding: login.browser_binding.clone(),
        };
        self.logins.insert(login);
        outcome
    }

    /// The redirect back to the RP for a finished login: a code, or an error.
    pub fn finish(&self, login: Login<AuthorizeRequest>) -> String {
        let request = &login.request;
        let authentication = match login.outcome() {
            Some(Outcome::Authenticated(auth)) => auth.clone(),
            Some(Outcome::Failed(failure)) => {
                return self.error_redirect(
                    &request.redirect_uri,
                    request.state.as_deref(),
                    &failure_error(*failure),
                )
            }
            None => {
                let error = OAuthError::new(ErrorCode::ServerError, "the login had not finished");
                return self.error_redirect(
                    &request.redirect_uri,
                    request.state.as_deref(),
                    &error,
                );
            }
        };
        let now = self.broker.clock.now();
        let record = LoginRecord {
            transaction_id: Uuid::new_v4(),
            neb_sid: Uuid::new_v4(),
            sid: Uuid::new_v4(),
            session_expiry: authentication.auth_time + self.lifetimes.session,
            authentication,
        };
        let code = self.grants.issue_code(grants::CodeGrant::new(
            request.client.client_id.clone(),
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
        pairs.push(("iss", &self.issuer));
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
        Ok(serde_json::Value::Object(claims::userinfo(
            &grant.subject,
            &citizen,
            &grant.record,
            &grant.scopes,
            now,
        )))
    }

    pub fn sweep(&self) {
        let now = self.broker.clock.now();
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
    };
    OAuthError::new(code, description)
}

/// Adds parameters to a registered URI that may already carry a query.
fn append_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        // Registered URIs were parsed when registered, so this is unreachable in practice.
        Err(_) => uri.to_string(),
    }
}

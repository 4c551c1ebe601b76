//! The authorization response: the browser's way back to the RP with a code and/or tokens,
//! or an error, in the response mode the request chose (query, fragment or form post).
//! NEB sends (recorded) `code, state, session_state, iss` on success and `error,
//! error_description, state, session_state` and no `iss` on error; the implicit and hybrid
//! flows add `id_token`, `access_token`, `token_type`, `expires_in` and `scope` in the
//! order of the IdentityServer NEB runs on.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

use super::error::{ErrorCode, OAuthError};
use super::faults;
use super::grants::{self, TokenGrant};
use super::response_type::ResponseMode;
use super::{append_query, AuthorizeRequest, Provider};
use crate::flow::Authentication;
use crate::protocols::claims::{self, IdTokenInput, LoginRecord};
use crate::protocols::front::{Answer, PostForm};

/// Where, how and for which client the authorization response goes.
#[derive(Clone, Copy, Debug)]
pub struct ReturnTo<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub mode: ResponseMode,
    pub state: Option<&'a str>,
}

impl AuthorizeRequest {
    pub fn return_to(&self) -> ReturnTo<'_> {
        ReturnTo {
            client_id: &self.client.client_id,
            redirect_uri: &self.redirect_uri,
            mode: self.response_mode,
            state: self.state.as_deref(),
        }
    }
}

/// An authorization response, ready to travel as its mode says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

impl AuthorizationResponse {
    fn new(to: ReturnTo<'_>, params: Vec<(&str, String)>) -> Self {
        Self {
            redirect_uri: to.redirect_uri.to_string(),
            mode: to.mode,
            params: params
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The error it carries, if it is an error response.
    pub fn error(&self) -> Option<OAuthError> {
        let code = self.param("error")?;
        Some(OAuthError::new(
            ErrorCode::from_wire(code).unwrap_or(ErrorCode::ServerError),
            self.param("error_description").unwrap_or_default(),
        ))
    }

    /// How the browser takes it to the RP: redirected (query and fragment modes) or
    /// posting a form (form_post).
    pub fn into_answer(self) -> Answer {
        match self.location() {
            Some(location) => Answer::Redirect(location),
            None => Answer::FormPost(PostForm {
                action: self.redirect_uri,
                fields: self.params,
            }),
        }
    }

    /// Where the browser is redirected (query and fragment modes); `None` for a form post,
    /// which the browser submits from a page instead.
    pub fn location(&self) -> Option<String> {
        let pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        match self.mode {
            ResponseMode::Query => Some(append_query(&self.redirect_uri, &pairs)),
            ResponseMode::Fragment => {
                let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
                Some(format!("{}#{encoded}", self.redirect_uri))
            }
            ResponseMode::FormPost => None,
        }
    }
}

/// OpenID Connect Session Management 1.0 §3: the hash of the client, the RP's origin, the
/// broker's state for this browser and a salt, then the salt; NEB's salt is 16 bytes of
/// upper-case hex.
pub fn session_state(client_id: &str, redirect_uri: &str, browser_state: &str) -> String {
    let origin = url::Url::parse(redirect_uri)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default();
    let mut salt = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt).expect("the system's random source works");
    let salt: String = salt.iter().map(|b| format!("{b:02X}")).collect();
    let hash = openssl::sha::sha256(format!("{client_id}{origin}{browser_state}{salt}").as_bytes());
    format!("{}.{salt}", URL_SAFE_NO_PAD.encode(hash))
}

/// OIDC Core §3.1.3.6 and §3.3.2.11: the left half of the SHA-256 of a token or code,
/// base64url (every signing algorithm here hashes with SHA-256).
pub fn left_half_hash(value: &str) -> String {
    let digest = openssl::sha::sha256(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// What the authorization endpoint hands out for one successful request.
#[derive(Default)]
struct Issued {
    code: Option<String>,
    id_token: Option<String>,
    access_token: Option<String>,
}

impl Provider {
    /// The answer to `request` for a citizen authenticated in session `session_id`, which
    /// the client joins: a code and/or tokens as the response type asks.
    /// `authenticated_here`: this request's login authenticated the citizen (rather than
    /// the SSO session answering it).
    pub(super) async fn respond(
        &self,
        request: &AuthorizeRequest,
        authentication: Authentication,
        session_id: Uuid,
        authenticated_here: bool,
    ) -> AuthorizationResponse {
        let now = self.broker.clock.now();
        let client = &request.client;
        let subject = claims::subject(client.organisation(), authentication.subject_identity());
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
            return self.error_response(request.return_to(), "", &error);
        };
        let fault = self.faults.next_authorization_response(&client.client_id);
        if let Some(fault) = fault {
            tracing::info!(client = %client.client_id, fault = %fault.name(), "authorization response fault injected");
        }
        // Under `short_session_expiry` only the claim changes (id_token and userinfo alike);
        // the session lives on, so an RP's check of the broker session cannot stand in for
        // honouring the claim.
        let session_expiry = faults::session_expiry(fault, session.absolute_expiry(), now);
        let record = LoginRecord {
            transaction_id: Uuid::new_v4(),
            neb_sid: participant.sid,
            session_expiry,
            authentication,
            idp_transaction: authenticated_here.then(|| request.idp_transaction()),
        };
        let issued = match self.issue(request, &subject, record).await {
            Ok(issued) => issued,
            Err(error) => return self.error_response(request.return_to(), "", &error),
        };
        let session_state = session_state(
            &client.client_id,
            &request.redirect_uri,
            &session_id.to_string(),
        );
        let mut params = Vec::new();
        params.extend(issued.code.map(|code| ("code", code)));
        params.extend(issued.id_token.map(|token| ("id_token", token)));
        if let Some(token) = issued.access_token {
            params.push(("access_token", token));
            params.push(("token_type", "Bearer".to_string()));
            params.push((
                "expires_in",
                self.lifetimes.access_token.whole_seconds().to_string(),
            ));
            params.push(("scope", request.scopes.join(" ")));
        }
        if let Some(state) = &request.state {
            params.push(("state", state.clone()));
        }
        params.push(("session_state", session_state));
        params.push(("iss", faults::response_issuer(fault, &self.acting_issuer())));
        AuthorizationResponse::new(request.return_to(), params)
    }

    /// The code, access token and id_token the response type asks for, in that order: the
    /// id_token's `c_hash` and `at_hash` are the hashes of the others.
    async fn issue(
        &self,
        request: &AuthorizeRequest,
        subject: &str,
        record: LoginRecord,
    ) -> Result<Issued, OAuthError> {
        let now = self.broker.clock.now();
        let client = &request.client;
        let response_type = request.response_type;
        let mut issued = Issued::default();
        let mut family = Uuid::new_v4();
        if response_type.has_code() {
            let grant = grants::CodeGrant::new(
                client.client_id.clone(),
                request.redirect_uri.clone(),
                request.nonce.clone(),
                request.code_challenge.clone(),
                request.scopes.clone(),
                record.clone(),
                now + self.lifetimes.code,
            );
            // Tokens handed out beside the code go when the code is replayed.
            family = grant.family;
            issued.code = Some(self.grants.issue_code(grant));
        }
        if !response_type.returns_tokens_from_authorize() {
            return Ok(issued);
        }
        let signing_failed = |err: crate::broker::keys::KeyError| {
            OAuthError::new(ErrorCode::ServerError, err.to_string())
        };
        // Deleted (admin API) while the login finished: the RP's login must start again.
        let gone =
            |why: &str| OAuthError::new(ErrorCode::LoginRequired, format!("{why}; log in again"));
        if response_type.has_access_token() {
            let grant = TokenGrant {
                client_id: client.client_id.clone(),
                citizen: record.authentication.citizen,
                subject: subject.to_string(),
                scopes: request.scopes.clone(),
                record: record.clone(),
                issued: now,
                expires: now + self.lifetimes.access_token,
                family,
                // No DPoP proof reaches the authorization endpoint (RFC 9449 covers the
                // token endpoint); a client that must bind its tokens cannot register
                // a response type that returns one here (`Client::problems`).
                jkt: None,
            };
            let token = self
                .mint_access_token(grant)
                .await
                .map_err(signing_failed)?;
            issued.access_token = Some(token);
        }
        if response_type.has_id_token() {
            let issuer = self.acting_issuer();
            let mut id_claims = claims::id_token(IdTokenInput {
                issuer: &issuer,
                client_id: &client.client_id,
                subject,
                nonce: request.nonce.as_deref(),
                record: &record,
                issued_at: now,
                lifetime: self.lifetimes.id_token,
                at_hash: issued.access_token.as_deref().map(left_half_hash),
                c_hash: issued.code.as_deref().map(left_half_hash),
                loip: self.professional_loip(&record).map_err(gone)?,
            });
            // No access token to fetch userinfo with: the id_token carries the claims
            // (OIDC Core §5.4; IdentityServer, which NEB runs on, does the same).
            if issued.access_token.is_none() {
                let userinfo = self
                    .login_claims(&client.client_id, subject, &record, &request.scopes, true)
                    .map_err(gone)?;
                for (name, value) in userinfo {
                    if name != "session_is_active" && !id_claims.contains_key(&name) {
                        id_claims.insert(name, value);
                    }
                }
            }
            let token = self
                .sign_id_token(client, id_claims, now)
                .await
                .map_err(signing_failed)?;
            // Encrypted to the client as at the token endpoint, when it registered so.
            issued.id_token = Some(self.seal_id_token(client, token).await?);
        }
        Ok(issued)
    }

    /// An error for the RP. NEB sends no `iss` with it, although discovery advertises
    /// `authorization_response_iss_parameter_supported` (recorded); `browser_state` is the
    /// browser's session with the client, if any, for `session_state`.
    pub fn error_response(
        &self,
        to: ReturnTo<'_>,
        browser_state: &str,
        error: &OAuthError,
    ) -> AuthorizationResponse {
        let session_state = session_state(to.client_id, to.redirect_uri, browser_state);
        let mut params = vec![
            ("error", error.code.as_str().to_string()),
            ("error_description", error.description.clone()),
        ];
        if let Some(state) = to.state {
            params.push(("state", state.to_string()));
        }
        params.push(("session_state", session_state));
        AuthorizationResponse::new(to, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_state_is_a_salted_hash_of_client_origin_and_browser_state() {
        let value = session_state("demo-rp", "http://localhost:8080/callback?x=1", "sid-1");
        let (hash, salt) = value.split_once('.').unwrap();
        assert_eq!(hash.len(), 43, "base64url of SHA-256");
        assert_eq!(salt.len(), 32);
        assert!(salt
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        let expected =
            openssl::sha::sha256(format!("demo-rphttp://localhost:8080sid-1{salt}").as_bytes());
        assert_eq!(hash, URL_SAFE_NO_PAD.encode(expected));
        assert_ne!(
            value,
            session_state("demo-rp", "http://localhost:8080/callback", "sid-1"),
            "salted"
        );
    }

    #[test]
    fn the_mode_decides_where_the_parameters_go() {
        let to = |mode| ReturnTo {
            client_id: "rp",
            redirect_uri: "https://rp.example/cb?x=1",
            mode,
            state: None,
        };
        let params = || vec![("code", "a b".to_string()), ("state", "s&t".to_string())];
        let query = AuthorizationResponse::new(to(ResponseMode::Query), params());
        assert_eq!(
            query.location().unwrap(),
            "https://rp.example/cb?x=1&code=a+b&state=s%26t"
        );
        let fragment = AuthorizationResponse::new(to(ResponseMode::Fragment), params());
        assert_eq!(
            fragment.location().unwrap(),
            "https://rp.example/cb?x=1#code=a+b&state=s%26t"
        );
        let form = AuthorizationResponse::new(to(ResponseMode::FormPost), params());
        assert_eq!(form.location(), None);
        assert_eq!(form.param("state"), Some("s&t"));
    }

    #[test]
    fn hashes_are_the_left_half_of_sha256() {
        // OIDC Core's example at_hash (A.3): access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            left_half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}

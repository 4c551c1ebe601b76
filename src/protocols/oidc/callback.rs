//! The authorization response: the browser's way back to the RP with a code or an error,
//! with the parameters NEB sends (recorded): `code, state, session_state, iss` on success,
//! `error, error_description, state, session_state` and no `iss` on error.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

use super::error::{ErrorCode, OAuthError};
use super::faults;
use super::{append_query, grants, AuthorizeRequest, Provider};
use crate::flow::Authentication;
use crate::protocols::claims::{self, LoginRecord};

/// Where, and for which client, the authorization response goes.
#[derive(Clone, Copy, Debug)]
pub struct ReturnTo<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: Option<&'a str>,
}

impl AuthorizeRequest {
    pub fn return_to(&self) -> ReturnTo<'_> {
        ReturnTo {
            client_id: &self.client.client_id,
            redirect_uri: &self.redirect_uri,
            state: self.state.as_deref(),
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

impl Provider {
    /// A code for `request`'s client in session `session_id`, which the client joins.
    /// `authenticated_here`: this request's login authenticated the citizen (rather than
    /// the SSO session answering it).
    pub(super) fn issue_code(
        &self,
        request: &AuthorizeRequest,
        authentication: Authentication,
        session_id: Uuid,
        authenticated_here: bool,
    ) -> String {
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
            return self.error_redirect(request.return_to(), "", &error);
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
        let code = self.grants.issue_code(grants::CodeGrant::new(
            client.client_id.clone(),
            request.redirect_uri.clone(),
            request.nonce.clone(),
            request.code_challenge.clone(),
            request.scopes.clone(),
            record,
            now + self.lifetimes.code,
        ));
        let session_state = session_state(
            &client.client_id,
            &request.redirect_uri,
            &session_id.to_string(),
        );
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = request.state.as_deref() {
            pairs.push(("state", state));
        }
        pairs.push(("session_state", &session_state));
        let issuer = faults::response_issuer(fault, &self.acting_issuer());
        pairs.push(("iss", &issuer));
        append_query(&request.redirect_uri, &pairs)
    }

    /// An error for the RP. NEB sends no `iss` with it, although discovery advertises
    /// `authorization_response_iss_parameter_supported` (recorded); `browser_state` is the
    /// browser's session with the client, if any, for `session_state`.
    pub fn error_redirect(
        &self,
        to: ReturnTo<'_>,
        browser_state: &str,
        error: &OAuthError,
    ) -> String {
        let session_state = session_state(to.client_id, to.redirect_uri, browser_state);
        let mut pairs = vec![
            ("error", error.code.as_str()),
            ("error_description", error.description.as_str()),
        ];
        if let Some(state) = to.state {
            pairs.push(("state", state));
        }
        pairs.push(("session_state", &session_state));
        append_query(to.redirect_uri, &pairs)
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
}

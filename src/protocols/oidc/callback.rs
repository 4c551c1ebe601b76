//! The authorization response: the browser's way back to the RP with a code or an error.

use uuid::Uuid;

use super::error::{ErrorCode, OAuthError};
use super::faults::{self, TokenFault};
use super::{append_query, grants, AuthorizeRequest, Provider};
use crate::flow::Authentication;
use crate::protocols::claims::{self, LoginRecord};

impl Provider {
    /// A code for `request`'s client in session `session_id`, which the client joins.
    pub(super) fn issue_code(
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
}

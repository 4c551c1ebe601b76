//! Logout: RP-initiated (`connect/endsession`, OpenID Connect RP-Initiated Logout 1.0),
//! NEB's back-end logout API, and the front-channel iframes of the logout page.

use std::collections::HashMap;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{append_query, OAuthError, Provider};
use crate::broker::sessions::{EndReason, EndedSession};

/// What the logout page does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSessionOutcome {
    /// No usable `id_token_hint` (or an unregistered `post_logout_redirect_uri`): nothing
    /// ends, and the browser goes to the broker's logout page, never to the RP. Recorded at
    /// NEB, which ignores `post_logout_redirect_uri` then and shows no error.
    NotLoggedOut(String),
    LoggedOut {
        /// The client whose id_token_hint asked.
        client_id: String,
        /// Front-channel logout URIs of the clients that took part, for iframes.
        frontchannel: Vec<String>,
        /// The registered `post_logout_redirect_uri` with `state`, if the RP gave one.
        redirect: Option<String>,
        /// The browser has no session left with any client: drop its SSO cookie.
        clear_sso_cookie: bool,
    },
}

/// The claims of a verified `id_token_hint` that logout needs.
struct Hint {
    client_id: String,
    subject: String,
    session: Option<Uuid>,
}

impl Provider {
    async fn verify_hint(&self, token: &str) -> Result<Hint, String> {
        let claims =
            self.broker.keys.verify(token).await.map_err(|err| {
                format!("id_token_hint is not an id_token from this broker: {err}")
            })?;
        let text = |claims: &Map<String, Value>, name: &str| {
            claims.get(name).and_then(Value::as_str).map(str::to_string)
        };
        let iss = text(&claims, "iss");
        // While the broker acts as another issuer (T09) its id_tokens name that one.
        if iss.as_deref() != Some(self.issuer.as_str())
            && iss.as_deref() != Some(self.acting_issuer().as_str())
        {
            return Err("id_token_hint was issued by another issuer".into());
        }
        if claims.contains_key("events") || claims.contains_key("scope") {
            return Err("id_token_hint is not an id_token".into());
        }
        let client_id = match claims.get("aud") {
            Some(Value::String(aud)) => aud.clone(),
            Some(Value::Array(auds)) if auds.len() == 1 => {
                auds[0].as_str().unwrap_or_default().to_string()
            }
            _ => return Err("id_token_hint has no single audience".into()),
        };
        Ok(Hint {
            subject: text(&claims, "sub").unwrap_or_default(),
            session: text(&claims, "neb_sid").and_then(|s| Uuid::parse_str(&s).ok()),
            client_id,
        })
    }

    /// `connect/endsession`: ends the broker session the hint names (and the browser's,
    /// if it is the same citizen's), then tells every client that took part.
    pub async fn end_session(
        &self,
        pairs: Vec<(String, String)>,
        browser_key: Option<&str>,
    ) -> EndSessionOutcome {
        let params: HashMap<String, String> = pairs.into_iter().collect();
        let get = |name: &str| {
            params
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let Some(token) = get("id_token_hint") else {
            return EndSessionOutcome::NotLoggedOut(
                "The logout request has no id_token_hint; the broker logs out only with one."
                    .into(),
            );
        };
        let hint = match self.verify_hint(token).await {
            Ok(hint) => hint,
            Err(problem) => return EndSessionOutcome::NotLoggedOut(problem),
        };
        if let Some(client_id) = get("client_id").filter(|id| *id != hint.client_id) {
            return EndSessionOutcome::NotLoggedOut(format!(
                "client_id `{client_id}` is not the audience of the id_token_hint (`{}`).",
                hint.client_id
            ));
        }
        let Some(client) = self.clients.get(&hint.client_id) else {
            return EndSessionOutcome::NotLoggedOut(format!(
                "The client `{}` is not registered.",
                hint.client_id
            ));
        };
        let redirect = match get("post_logout_redirect_uri") {
            Some(uri) if client.has_post_logout_redirect_uri(uri) => {
                let mut pairs = Vec::new();
                if let Some(state) = get("state") {
                    pairs.push(("state", state));
                }
                Some(append_query(uri, &pairs))
            }
            Some(uri) => {
                return EndSessionOutcome::NotLoggedOut(format!(
                    "post_logout_redirect_uri `{uri}` is not registered for client `{}`.",
                    client.client_id
                ))
            }
            None => None,
        };

        let now = self.broker.clock.now();
        let sessions = &self.broker.sessions;
        let mut ended = Vec::new();
        if let Some(id) = hint.session {
            ended.extend(sessions.end(id, EndReason::RpLogout, now));
        }
        // The browser's own session for the hint's client, if it is the hint's citizen's
        // (the hint may be from an earlier session of the same browser).
        let browser_session =
            browser_key.and_then(|key| sessions.for_browser(key, &client.sso_scope(), now));
        if let Some(session) = browser_session {
            let same_citizen = crate::protocols::claims::subject(
                client.organisation(),
                session.authentication.subject_identity(),
            ) == hint.subject;
            if same_citizen {
                ended.extend(sessions.end(session.id, EndReason::RpLogout, now));
            }
        }
        // The cookie stays while it still carries the browser's sessions with other clients.
        let browser_logged_out =
            browser_key.is_none_or(|key| !sessions.browser_has_sessions(key, now));
        let frontchannel = ended
            .iter()
            .flat_map(|e| self.frontchannel_uris(e))
            .collect();
        for session in ended {
            self.announce_logout(session);
        }
        EndSessionOutcome::LoggedOut {
            client_id: hint.client_id,
            frontchannel,
            redirect,
            clear_sso_cookie: browser_logged_out,
        }
    }

    fn frontchannel_uris(&self, ended: &EndedSession) -> Vec<String> {
        ended
            .session
            .participants
            .iter()
            .filter_map(|(client_id, participant)| {
                if self.backchannel.is_frontchannel_withheld(client_id) {
                    return None;
                }
                let client = self.clients.get(client_id)?;
                let uri = client.frontchannel_logout_uri.as_ref()?;
                let sid = participant.sid.to_string();
                let pairs: Vec<(&str, &str)> = if client.frontchannel_logout_session_required {
                    vec![("iss", self.issuer.as_str()), ("sid", sid.as_str())]
                } else {
                    Vec::new()
                };
                Some(append_query(uri.as_str(), &pairs))
            })
            .collect()
    }

    /// NEB's back-end logout: `POST <issuer>/api/v1/session/logout` with an id_token ends
    /// the session it belongs to, without a browser.
    pub async fn backend_logout(&self, id_token: &str) -> Result<Value, OAuthError> {
        let hint = self
            .verify_hint(id_token)
            .await
            .map_err(OAuthError::invalid_request)?;
        let session = hint
            .session
            .ok_or_else(|| OAuthError::invalid_request("the id_token has no neb_sid"))?;
        let now = self.broker.clock.now();
        let ended = self
            .broker
            .sessions
            .end(session, EndReason::BackendLogout, now);
        let was_active = ended.is_some();
        if let Some(ended) = ended {
            self.announce_logout(ended);
        }
        Ok(serde_json::json!({ "session": session.to_string(), "ended": was_active }))
    }
}

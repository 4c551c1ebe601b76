//! Pushed authorization requests (RFC 9126) at `connect/par`: the client posts its
//! authorization parameters (or a request object) with its client authentication, the
//! broker validates them as the authorization endpoint would and answers `201` with a
//! single-use `request_uri` that expires after ten minutes, as NEB's does (`expires_in`
//! 600, documented and recorded: `urn:ietf:params:oauth:request_uri:` and 64 upper-case
//! hex digits).

use std::collections::HashMap;

use dashmap::DashMap;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use super::authorize::{self, Provenance, Rejection};
use super::error::{ErrorCode, OAuthError};
use super::limits;
use super::request_object::{Endpoint, Unpacked};
use super::token::TokenFailure;
use super::{paths, Provider};

/// What every pushed request's `request_uri` starts with (RFC 9126 §2.2).
pub const PUSHED_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request can be used: NEB's `expires_in`.
pub const PUSHED_LIFETIME: Duration = Duration::seconds(600);
/// The most pushed requests waiting at once; more are refused until some are used or
/// expire (each is a client-authenticated request, so this only stops a runaway client).
pub const MAX_PENDING: usize = 100_000;

/// The client-authentication parameters of a push, which are not authorization parameters.
const CLIENT_AUTHENTICATION: [&str; 3] =
    ["client_secret", "client_assertion", "client_assertion_type"];

struct Pushed {
    client_id: String,
    request: Unpacked,
    expires: OffsetDateTime,
    used: bool,
}

/// Why a `request_uri` of a pushed request was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushedError {
    #[error("the request_uri is unknown: push the authorization request first (connect/par)")]
    Unknown,
    #[error("the request_uri was already used; push the authorization request again")]
    Used,
    #[error("the request_uri has expired (it is valid for {} seconds); push the authorization request again", PUSHED_LIFETIME.whole_seconds())]
    Expired,
    #[error("the request_uri was pushed by another client")]
    OtherClient,
}

/// The pushed requests waiting to be used.
#[derive(Default)]
pub struct PushedRequests {
    pending: DashMap<String, Pushed>,
}

impl PushedRequests {
    fn push(
        &self,
        client_id: &str,
        request: Unpacked,
        now: OffsetDateTime,
    ) -> Result<String, OAuthError> {
        if self.pending.len() >= MAX_PENDING {
            return Err(OAuthError::new(
                ErrorCode::ServerError,
                "too many pushed requests are waiting; use or let some expire first",
            ));
        }
        let uri = format!("{PUSHED_URI_PREFIX}{}", random_hex(32));
        self.pending.insert(
            uri.clone(),
            Pushed {
                client_id: client_id.to_string(),
                request,
                expires: now + PUSHED_LIFETIME,
                used: false,
            },
        );
        Ok(uri)
    }

    /// The pushed request `uri` names, for `client_id`, once: it is used up. Another
    /// client's attempt leaves it as it was.
    pub fn take(
        &self,
        uri: &str,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Result<Unpacked, PushedError> {
        let mut pushed = self.pending.get_mut(uri).ok_or(PushedError::Unknown)?;
        if pushed.client_id != client_id {
            return Err(PushedError::OtherClient);
        }
        if pushed.used {
            return Err(PushedError::Used);
        }
        if pushed.expires < now {
            return Err(PushedError::Expired);
        }
        pushed.used = true;
        Ok(pushed.request.clone())
    }

    /// Forgets pushed requests that expired (used ones are kept till then, to say so).
    pub fn sweep(&self, now: OffsetDateTime) {
        self.pending.retain(|_, pushed| pushed.expires >= now);
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buffer).expect("the system's random source works");
    buffer.iter().map(|b| format!("{b:02X}")).collect()
}

/// A refused push, as RFC 9126 §2.3 answers it: the token endpoint's error response.
fn refused(rejection: Rejection) -> TokenFailure {
    match rejection {
        Rejection::Page { error, .. } | Rejection::Redirect { error, .. } => error.into(),
    }
}

impl Provider {
    /// `POST connect/par`: validates and keeps the request; answers the `request_uri` and
    /// its lifetime.
    pub async fn push(
        &self,
        pairs: Vec<(String, String)>,
        authorization: Option<&str>,
    ) -> Result<Value, TokenFailure> {
        let params: HashMap<String, String> = super::token::single_valued(pairs.clone())?;
        let client = self
            .authenticated_client(&params, authorization, paths::PAR)
            .await?;
        if params
            .get("client_id")
            .is_some_and(|id| *id != client.client_id)
        {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client (RFC 9126 §2.1)",
            )
            .into());
        }
        let mut request: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(name, _)| !CLIENT_AUTHENTICATION.contains(&name.as_str()))
            .collect();
        if !params.contains_key("client_id") {
            request.push(("client_id".into(), client.client_id.clone()));
        }
        let unpacked = self
            .unpack_at(request, Endpoint::Par)
            .await
            .map_err(refused)?;
        let pushed = Unpacked {
            provenance: Provenance {
                pushed: true,
                ..unpacked.provenance
            },
            ..unpacked
        };
        // Kept for ten minutes: bounded as a login's parameters are.
        if let Some(oversized) = limits::Oversized::find(&pushed.pairs) {
            return Err(OAuthError::invalid_request(oversized.description()).into());
        }
        authorize::parse(pushed.pairs.clone(), &self.clients, pushed.provenance)
            .map_err(refused)?;
        let now = self.broker.clock.now();
        let request_uri = self.pushed.push(&client.client_id, pushed, now)?;
        Ok(json!({
            "request_uri": request_uri,
            "expires_in": PUSHED_LIFETIME.whole_seconds(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Unpacked {
        Unpacked {
            pairs: vec![("client_id".into(), "rp".into())],
            provenance: Provenance {
                pushed: true,
                ..Provenance::default()
            },
        }
    }

    #[test]
    fn a_pushed_request_is_used_once_by_its_client_before_it_expires() {
        let store = PushedRequests::default();
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let uri = store.push("rp", request(), now).unwrap();
        let hex = uri.strip_prefix(PUSHED_URI_PREFIX).unwrap();
        assert_eq!(hex.len(), 64);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        assert_eq!(
            store.take(&uri, "other", now).unwrap_err(),
            PushedError::OtherClient
        );
        assert_eq!(store.take(&uri, "rp", now).unwrap(), request());
        assert_eq!(store.take(&uri, "rp", now).unwrap_err(), PushedError::Used);
        assert_eq!(
            store.take("urn:ietf:params:oauth:request_uri:X", "rp", now),
            Err(PushedError::Unknown)
        );

        let late = store.push("rp", request(), now).unwrap();
        let after = now + PUSHED_LIFETIME + Duration::seconds(1);
        assert_eq!(store.take(&late, "rp", after), Err(PushedError::Expired));
        store.sweep(after);
        assert!(store.is_empty(), "swept once expired");
    }
}

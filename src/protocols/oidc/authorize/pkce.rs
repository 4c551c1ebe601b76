//! PKCE (RFC 7636): the code challenge a public client must send and others may.

use super::params::Params;
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::error::OAuthError;

/// The S256 code challenge, if the client sent one. It guards a code: a response without
/// one (implicit) needs none, even from a client that must use PKCE.
pub(super) fn parse(
    params: &Params,
    client: &Client,
    issues_code: bool,
) -> Result<Option<String>, OAuthError> {
    let challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (Some(challenge), Some("S256")) => Some(challenge.to_string()),
        (Some(_), Some(method)) => {
            return Err(OAuthError::invalid_request(format!(
                "code_challenge_method `{method}` is not supported; use S256"
            )))
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method is missing; only S256 is supported",
            ))
        }
        (None, Some(_)) => return Err(OAuthError::invalid_request("code_challenge is missing")),
        (None, None) => None,
    };
    if let Some(challenge) = &challenge {
        let well_formed = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(OAuthError::invalid_request(
                "code_challenge must be the 43-character base64url SHA-256 of the verifier",
            ));
        }
    }
    if challenge.is_none() && issues_code && client.pkce_required() {
        return Err(OAuthError::invalid_request(
            "this client must use PKCE: send code_challenge with code_challenge_method=S256",
        ));
    }
    Ok(challenge)
}

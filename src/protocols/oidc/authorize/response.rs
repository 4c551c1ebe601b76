//! What the client wants back and how: `response_type`, `response_mode`, and the request
//! objects (`request`, `request_uri`) that could carry the request instead.

use super::params::Params;
use crate::protocols::oidc::error::{ErrorCode, OAuthError};

pub(super) fn check(params: &Params) -> Result<(), OAuthError> {
    if params.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                format!("response_type `{other}` is not supported; use `code`"),
            ))
        }
        None => return Err(OAuthError::invalid_request("response_type is missing")),
    }
    if let Some(mode) = params.get("response_mode").filter(|m| *m != "query") {
        return Err(OAuthError::invalid_request(format!(
            "response_mode `{mode}` is not supported; use `query`"
        )));
    }
    Ok(())
}

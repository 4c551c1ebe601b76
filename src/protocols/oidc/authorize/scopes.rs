//! The `scope` parameter: `openid` and the scopes this broker knows.

use super::params::Params;
use crate::protocols::oidc::clients::SUPPORTED_SCOPES;
use crate::protocols::oidc::error::{ErrorCode, OAuthError};

pub(super) fn parse(params: &Params) -> Result<Vec<String>, OAuthError> {
    let scopes: Vec<String> = params
        .get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "scope must include `openid`",
        ));
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|s| !SUPPORTED_SCOPES.contains(&s.as_str()))
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "scope `{unknown}` is not supported (supported: {})",
                SUPPORTED_SCOPES.join(" ")
            ),
        ));
    }
    Ok(scopes)
}

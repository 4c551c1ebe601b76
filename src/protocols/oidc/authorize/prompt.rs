//! Whether an existing broker session may answer: `prompt` and `max_age`.

use super::params::Params;
use crate::protocols::oidc::error::OAuthError;

/// What the client said about reusing the citizen's session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reauthentication {
    /// `prompt=login`: authenticate now, whatever session there is.
    pub prompt_login: bool,
    /// `prompt=none`: answer from the session or with `login_required`, never a page.
    pub prompt_none: bool,
    /// Seconds since the last active authentication that the client accepts.
    pub max_age: Option<u64>,
}

pub(super) fn parse(params: &Params) -> Result<Reauthentication, OAuthError> {
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if let Some(unknown) = prompts.iter().find(|p| !["none", "login"].contains(p)) {
        return Err(OAuthError::invalid_request(format!(
            "prompt `{unknown}` is not supported"
        )));
    }
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined",
        ));
    }
    let max_age = match params.get("max_age") {
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            OAuthError::invalid_request(format!("max_age `{text}` is not a number of seconds"))
        })?),
        None => None,
    };
    Ok(Reauthentication {
        prompt_login: prompts.contains(&"login"),
        prompt_none: prompts.contains(&"none"),
        max_age,
    })
}

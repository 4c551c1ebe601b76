//! NEB's simulation mode: a login for a named citizen without pages (`simulation=no-ui`).

use super::hint::IdentityHint;
use super::params::Params;
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::error::{ErrorCode, OAuthError};

pub(super) fn parse(params: &Params, client: &Client) -> Result<Option<IdentityHint>, OAuthError> {
    match params.get("simulation") {
        None | Some("ui") => Ok(None),
        Some("no-ui") if !client.allow_simulation => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "simulation=no-ui is not allowed for this client (set allow_simulation = true)",
        )),
        Some("no-ui") => {
            let hint = params.get("login_hint").ok_or_else(|| {
                OAuthError::invalid_request(
                    "simulation=no-ui needs login_hint=uuid:<uuid>, username:<user ID> or cpr:<CPR>",
                )
            })?;
            IdentityHint::parse(hint)
                .map(Some)
                .map_err(|err| OAuthError::invalid_request(format!("login_hint: {err}")))
        }
        Some(other) => Err(OAuthError::invalid_request(format!(
            "simulation `{other}` is not supported; use ui or no-ui"
        ))),
    }
}

//! NEB's simulation mode: a login for a named citizen without pages (`simulation=no-ui`).

use super::params::Params;
use crate::identity::Cpr;
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::error::{ErrorCode, OAuthError};

/// Who a `simulation=no-ui` login is for (NEB-style `login_hint`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityHint {
    Uuid(uuid::Uuid),
    Username(String),
    Cpr(Cpr),
}

impl IdentityHint {
    fn parse(text: &str) -> Result<Self, String> {
        let (kind, value) = text.split_once(':').ok_or_else(|| {
            format!("`{text}` should be uuid:<uuid>, username:<user ID> or cpr:<CPR>")
        })?;
        match kind {
            "uuid" => uuid::Uuid::parse_str(value)
                .map(IdentityHint::Uuid)
                .map_err(|err| format!("`{value}` is not a UUID: {err}")),
            "username" => Ok(IdentityHint::Username(value.to_string())),
            "cpr" => Cpr::parse(value)
                .map(IdentityHint::Cpr)
                .map_err(|err| err.to_string()),
            other => Err(format!(
                "unknown hint kind `{other}`: use uuid, username or cpr"
            )),
        }
    }
}

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

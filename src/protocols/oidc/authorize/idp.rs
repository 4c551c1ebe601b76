//! Which identity provider and how: `idp_values` and the `idp_params` JSON.

use serde::Deserialize;

use super::params::Params;
use crate::flow::Idp;
use crate::identity::Loa;
use crate::protocols::oidc::error::OAuthError;

/// Every identity provider `idp_values` named, in order; several show NEB's chooser and
/// the first is the default for pageless logins.
pub(super) fn choices(params: &Params) -> Result<Vec<Idp>, OAuthError> {
    let mut choices: Vec<Idp> = Vec::new();
    for value in params
        .get("idp_values")
        .unwrap_or("mitid")
        .split_whitespace()
    {
        let parsed = match value {
            "mitid" => Idp::MitId,
            "nemid" => Idp::NemId,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "idp_values `{other}` is not offered by this simulator; use mitid or nemid"
                )))
            }
        };
        if !choices.contains(&parsed) {
            choices.push(parsed);
        }
    }
    if choices.is_empty() {
        choices.push(Idp::default());
    }
    Ok(choices)
}

/// What `idp_params.mitid` asks of a MitID login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MitidRequest {
    pub min_loa: Loa,
    /// `enable_step_up`: with `prompt=login`, raise an existing session's level.
    pub enable_step_up: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IdpParams {
    mitid: MitidParams,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MitidParams {
    loa_value: Option<String>,
    enable_step_up: Option<bool>,
}

pub(super) fn mitid(params: &Params) -> Result<MitidRequest, OAuthError> {
    let idp_params: IdpParams = match params.get("idp_params") {
        Some(json) => serde_json::from_str(json).map_err(|err| {
            OAuthError::invalid_request(format!("idp_params is not valid JSON: {err}"))
        })?,
        None => IdpParams::default(),
    };
    let min_loa = match idp_params.mitid.loa_value {
        Some(text) => text.parse::<Loa>().map_err(|err| {
            OAuthError::invalid_request(format!("idp_params.mitid.loa_value: {err}"))
        })?,
        None => Loa::Low,
    };
    Ok(MitidRequest {
        min_loa,
        enable_step_up: idp_params.mitid.enable_step_up.unwrap_or(false),
    })
}

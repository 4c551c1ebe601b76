//! The citizen's record in the simulated CPR register, read through the simulator-only API
//! (`GET /sim/cpr/v1/person`, docs/register-openapi.json) with the login's access token.
//! A real Min Side asks CPR itself; the token alone does not carry these facts.

use serde::{Deserialize, Serialize};

use super::oidc::{successful_body, RpError};

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Person {
    pub cpr: String,
    pub name: String,
    pub eid_name: String,
    pub date_of_birth: String,
    pub name_address_protected: bool,
    pub children: Vec<Child>,
    pub may_act_for: Vec<Principal>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Child {
    pub name: String,
    pub cpr: String,
    pub date_of_birth: String,
    pub custody_registered: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Principal {
    /// `guardian` or `power_of_attorney`.
    pub basis: String,
    pub name: String,
    pub cpr: String,
    pub date_of_birth: String,
}

/// The register's record, or `None` when the citizen is not in it (no CPR number).
pub async fn lookup(
    http: &reqwest::Client,
    issuer: &str,
    access_token: &str,
) -> Result<Option<Person>, RpError> {
    let url = url::Url::parse(issuer)
        .and_then(|issuer| issuer.join("/sim/cpr/v1/person"))
        .map_err(|e| RpError::Unreachable(e.to_string()))?;
    let request = http.get(url).bearer_auth(access_token);
    let (status, body) = match successful_body(request).await {
        Err(RpError::Refused { status: 404, .. }) => return Ok(None),
        answer => answer?,
    };
    serde_json::from_str(&body)
        .map(Some)
        .map_err(|e| RpError::Refused {
            status: status.as_u16(),
            body: format!("not a register record ({e}): {body}"),
        })
}

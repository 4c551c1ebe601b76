//! A citizen named in a request: by a simulation parameter (NEB's and mitid-sim's for
//! NemLog-in), `login_hint`, or MitID's `uuid_hint` and `cpr_hint`.

use crate::identity::Cpr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityHint {
    Uuid(uuid::Uuid),
    Username(String),
    Cpr(Cpr),
}

impl IdentityHint {
    /// `uuid:<uuid>`, `username:<user ID>` or `cpr:<CPR>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (kind, value) = text.split_once(':').ok_or_else(|| {
            format!("`{text}` should be uuid:<uuid>, username:<user ID> or cpr:<CPR>")
        })?;
        match kind {
            "uuid" => Self::uuid(value),
            "username" if !value.is_empty() => Ok(IdentityHint::Username(value.to_string())),
            "username" => Err("`username:` names no user ID".into()),
            "cpr" => Self::cpr(value),
            other => Err(format!(
                "unknown hint kind `{other}`: use uuid, username or cpr"
            )),
        }
    }

    pub fn uuid(value: &str) -> Result<Self, String> {
        uuid::Uuid::parse_str(value)
            .map(IdentityHint::Uuid)
            .map_err(|err| format!("`{value}` is not a UUID: {err}"))
    }

    pub fn cpr(value: &str) -> Result<Self, String> {
        Cpr::parse(value)
            .map(IdentityHint::Cpr)
            .map_err(|err| format!("`{value}`: {err}"))
    }
}

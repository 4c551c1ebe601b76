//! The target profile: how the kit reaches and recognises the relying party under test.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fixtures::{self, FixtureError};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetProfile {
    pub target: Target,
    pub client: ClientRegistration,
    #[serde(default)]
    pub sessions: SessionLimits,
    #[serde(default)]
    pub citizens: Citizens,
    #[serde(default)]
    pub broker: BrokerAccess,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The RP's base URL, e.g. `http://127.0.0.1:3000`.
    pub base_url: String,
    /// GET here starts the RP's login (it redirects to the broker).
    pub login_path: String,
    /// A page only a logged-in citizen sees.
    pub protected_path: String,
    /// Text the protected page shows when logged in; without it, a 200 means logged in.
    #[serde(default)]
    pub logged_in_marker: Option<String>,
    pub logout: Logout,
    /// A page that asks for a fresh authentication (S06, T10), if the RP has one.
    #[serde(default)]
    pub sensitive_path: Option<String>,
    /// Text the sensitive page shows once access is granted.
    #[serde(default)]
    pub sensitive_marker: Option<String>,
    /// A command that restarts the RP (T09: discovery is cached until a restart).
    #[serde(default)]
    pub restart_command: Option<String>,
    /// Where the RP starts a MitID Erhverv login (`idp_values` with `mitid_erhverv`), if
    /// not at `login_path`; L09 logs `citizens.professionals` in here.
    #[serde(default)]
    pub professional_login_path: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logout {
    /// GET or POST.
    #[serde(default = "post")]
    pub method: String,
    pub path: String,
    /// A page whose logout form supplies hidden fields (CSRF tokens) for a POST.
    #[serde(default)]
    pub form_page: Option<String>,
}

fn post() -> String {
    "POST".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    pub redirect_uri: String,
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub frontchannel_logout_uri: Option<String>,
    /// Registered with the broker by the kit before the run (else it must exist).
    #[serde(default = "yes")]
    pub register: bool,
}

fn yes() -> bool {
    true
}

/// The RP's own session limits, which S01/S02 verify (and wait for).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLimits {
    #[serde(default)]
    pub idle_seconds: Option<u64>,
    #[serde(default)]
    pub absolute_seconds: Option<u64>,
    /// The longest the kit may wait for a limit; longer limits are SKIPPED.
    #[serde(default = "max_wait")]
    pub max_wait_seconds: u64,
}

fn max_wait() -> u64 {
    120
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citizens {
    /// A citizen whose app approves by itself (the built-in `app.approve`).
    #[serde(default = "approving")]
    pub user: String,
    /// More citizens for L09 (unicode and long names, no CPR, protected address, High).
    #[serde(default = "persona_classes")]
    pub classes: Vec<String>,
    /// MitID Erhverv professional identities (persistent professional IDs) L09 logs in as,
    /// for an RP that offers MitID Erhverv; their MitID's app must approve by itself.
    #[serde(default)]
    pub professionals: Vec<String>,
}

impl Default for Citizens {
    fn default() -> Self {
        Self {
            user: approving(),
            classes: persona_classes(),
            professionals: Vec::new(),
        }
    }
}

fn persona_classes() -> Vec<String> {
    [
        "beskyttet",
        "uden.cpr",
        "lange.navne",
        "app.high",
        "navne.forskel",
    ]
    .map(String::from)
    .to_vec()
}

fn approving() -> String {
    "app.approve".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerAccess {
    /// The broker's base URL (its admin API is under `/admin`).
    #[serde(default = "broker_url")]
    pub url: String,
    #[serde(default)]
    pub admin_token: Option<String>,
}

impl Default for BrokerAccess {
    fn default() -> Self {
        Self {
            url: broker_url(),
            admin_token: None,
        }
    }
}

fn broker_url() -> String {
    "http://127.0.0.1:8088".into()
}

pub fn load(path: &Path) -> Result<TargetProfile, FixtureError> {
    Ok(fixtures::read::<TargetProfile>(path)?.value)
}

pub fn parse(source: &str) -> Result<TargetProfile, FixtureError> {
    Ok(fixtures::parse::<TargetProfile>(Path::new("<profile>"), source.to_string())?.value)
}

/// `mitid-sim conformance init`: a commented template.
pub const TEMPLATE: &str = include_str!("../../conformance/template.toml");

impl TargetProfile {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.target.base_url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_a_valid_profile() {
        let profile = parse(TEMPLATE).unwrap();
        assert_eq!(profile.citizens.user, "app.approve");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = parse(&TEMPLATE.replace("protected_path", "protectd_path")).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `protectd_path`"),
            "{err}"
        );
        assert!(err.line.is_some());
    }
}

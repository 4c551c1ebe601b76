//! The target profile: how the kit reaches the relying party under test, how the RP is
//! registered at the broker, and what it promises (limits, level of assurance). Scenarios
//! judge the RP against these declarations and never guess them: a scenario whose
//! declaration is missing is SKIPPED, naming the key to add.

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
    /// The level of assurance the RP requires and how it asks for it (L08).
    #[serde(default)]
    pub assurance: Option<Assurance>,
    #[serde(default)]
    pub citizens: Citizens,
    #[serde(default)]
    pub broker: BrokerAccess,
    /// The browser driver's Chromium (with `target.driver = "browser"`).
    #[serde(default)]
    pub browser: BrowserSettings,
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
    /// A command that restarts the RP (T09: RP libraries cache discovery until a restart).
    /// Run with `sh -c`; the kit waits for it to exit, then for `ready_path` to answer.
    #[serde(default)]
    pub restart_command: Option<String>,
    /// How long the restart command and the readiness probe may take together.
    #[serde(default = "restart_timeout")]
    pub restart_timeout_seconds: u64,
    /// After a restart the RP is ready when GET here answers below 500.
    #[serde(default = "root")]
    pub ready_path: String,
    /// Where the RP starts a MitID Erhverv login (`idp_values` with `mitid_erhverv`), if
    /// not at `login_path`; L09 logs `citizens.professionals` in here.
    #[serde(default)]
    pub professional_login_path: Option<String>,
    /// How the kit acts as the citizen's browser: `http` (an HTTP client with a cookie
    /// jar: fast, runs no scripts) or `browser` (headless Chromium: runs the RP's
    /// JavaScript, keeps web storage; for single-page apps).
    #[serde(default)]
    pub driver: DriverKind,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    #[default]
    Http,
    Browser,
}

/// The headless Chromium of the browser driver.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserSettings {
    /// The Chromium (or Chrome) binary; default: `$CHROMIUM`, else `chromium` on the PATH.
    #[serde(default)]
    pub executable: Option<std::path::PathBuf>,
    /// A page has settled when nothing loaded for this long (its scripts are done).
    #[serde(default = "quiet_ms")]
    pub quiet_ms: u64,
    /// A page that does not settle within this is an error.
    #[serde(default = "page_timeout")]
    pub page_timeout_seconds: u64,
}

fn quiet_ms() -> u64 {
    300
}

fn page_timeout() -> u64 {
    20
}

impl Default for BrowserSettings {
    fn default() -> Self {
        Self {
            executable: None,
            quiet_ms: quiet_ms(),
            page_timeout_seconds: page_timeout(),
        }
    }
}

impl BrowserSettings {
    /// The binary to start.
    pub fn executable(&self) -> std::path::PathBuf {
        self.executable
            .clone()
            .or_else(|| std::env::var_os("CHROMIUM").map(Into::into))
            .unwrap_or_else(|| "chromium".into())
    }
}

fn restart_timeout() -> u64 {
    60
}

fn root() -> String {
    "/".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logout {
    /// GET or POST.
    #[serde(default = "post")]
    pub method: String,
    pub path: String,
    /// A page whose logout form supplies hidden fields (CSRF tokens) for a POST, or that
    /// holds the element `click` names.
    #[serde(default)]
    pub form_page: Option<String>,
    /// A CSS selector of the "Log af" button to click on `form_page` (default: the
    /// protected page), e.g. in a single-page app. Replaces `method` and `path`.
    #[serde(default)]
    pub click: Option<String>,
}

fn post() -> String {
    "POST".into()
}

/// How the client authenticates at the token endpoint (as the broker registers it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

/// When the broker gives the client refresh tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshTokens {
    Never,
    OfflineAccess,
    Always,
}

impl RefreshTokens {
    pub fn name(self) -> &'static str {
        match self {
            RefreshTokens::Never => "never",
            RefreshTokens::OfflineAccess => "offline_access",
            RefreshTokens::Always => "always",
        }
    }
}

/// Everything the broker's registration of the RP holds. With `register = true` the kit
/// registers exactly this; with `register = false` it compares the broker's registration
/// with it and reports what differs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The redirect URI the RP uses.
    pub redirect_uri: String,
    /// More registered redirect URIs, if the RP has several.
    #[serde(default)]
    pub extra_redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub frontchannel_logout_uri: Option<String>,
    /// Default: `client_secret_basic` with a secret (the RP may then also use
    /// `client_secret_post`), `none` without.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<AuthMethod>,
    /// `ES256` or `RS256`; default: the broker's default.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// The scopes the RP asks for (L01 compares them with its authorization request).
    #[serde(default = "openid")]
    pub scopes: Vec<String>,
    /// When the broker gives refresh tokens; default: for the `offline_access` scope.
    #[serde(default)]
    pub refresh_tokens: Option<RefreshTokens>,
    /// Registered with the broker by the kit before the run (else it must exist).
    #[serde(default = "yes")]
    pub register: bool,
}

fn openid() -> Vec<String> {
    vec!["openid".into()]
}

fn yes() -> bool {
    true
}

impl ClientRegistration {
    pub fn redirect_uris(&self) -> Vec<String> {
        std::iter::once(self.redirect_uri.clone())
            .chain(self.extra_redirect_uris.iter().cloned())
            .collect()
    }
}

/// The RP's own promises about sessions, which S01–S06 and T10 verify (and wait for).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLimits {
    /// The RP ends a session unused this long (S01, S03).
    #[serde(default)]
    pub idle_seconds: Option<u64>,
    /// The RP ends a session this long after login, used or not (S02).
    #[serde(default)]
    pub absolute_seconds: Option<u64>,
    /// How often the RP asks the broker whether its session is still active (userinfo
    /// `session_is_active`, or a refresh): S05 waits this long for it to notice.
    #[serde(default)]
    pub broker_check_seconds: Option<u64>,
    /// The oldest login the sensitive page accepts before it asks for a fresh one
    /// (S06, T10 wait past it); 0 = every visit asks.
    #[serde(default)]
    pub max_login_age_seconds: Option<u64>,
    /// The longest the kit may wait in one scenario; longer waits are SKIPPED.
    #[serde(default = "max_wait")]
    pub max_wait_seconds: u64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_seconds: None,
            absolute_seconds: None,
            broker_check_seconds: None,
            max_login_age_seconds: None,
            max_wait_seconds: max_wait(),
        }
    }
}

fn max_wait() -> u64 {
    120
}

/// A level of assurance (NSIS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Substantial,
    High,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Substantial => "substantial",
            Level::High => "high",
        }
    }

    /// Reads `low`, `Substantial`, the NSIS URI or an Idura-style `urn:…:substantial`.
    pub fn parse(text: &str) -> Option<Level> {
        let last = text
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(text)
            .to_ascii_lowercase();
        match last.as_str() {
            "low" => Some(Level::Low),
            "substantial" => Some(Level::Substantial),
            "high" => Some(Level::High),
            _ => None,
        }
    }
}

/// How the RP tells the broker the level it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsksWith {
    /// `idp_params={"mitid":{"loa_value":"substantial"}}` (the NEB way).
    IdpParams,
    /// `acr_values` with the NSIS URI or the level's name.
    AcrValues,
    /// It sends nothing and relies on the broker's default (Substantial at NEB), but
    /// still checks the level in the id_token.
    Nothing,
}

impl AsksWith {
    pub fn name(self) -> &'static str {
        match self {
            AsksWith::IdpParams => "idp_params",
            AsksWith::AcrValues => "acr_values",
            AsksWith::Nothing => "nothing",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assurance {
    /// The lowest level the RP accepts.
    pub required: Level,
    pub asks_with: AsksWith,
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
    let document = fixtures::read::<TargetProfile>(path)?;
    check(&document.value).map_err(|message| FixtureError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message,
    })?;
    Ok(document.value)
}

pub fn parse(source: &str) -> Result<TargetProfile, FixtureError> {
    let path = Path::new("<profile>");
    let profile = fixtures::parse::<TargetProfile>(path, source.to_string())?.value;
    check(&profile).map_err(|message| FixtureError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message,
    })?;
    Ok(profile)
}

/// What serde cannot see: values that are well-typed but make no sense together.
fn check(profile: &TargetProfile) -> Result<(), String> {
    let client = &profile.client;
    if let Some(alg) = &client.id_token_signed_response_alg {
        if !["ES256", "RS256"].contains(&alg.as_str()) {
            return Err(format!(
                "client.id_token_signed_response_alg = \"{alg}\": use ES256 or RS256"
            ));
        }
    }
    match (client.token_endpoint_auth_method, &client.client_secret) {
        (Some(AuthMethod::None), Some(_)) => {
            return Err("client: token_endpoint_auth_method = \"none\" with a client_secret".into())
        }
        (Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost), None) => {
            return Err(
                "client: a client_secret is needed for that token_endpoint_auth_method".into(),
            )
        }
        _ => {}
    }
    if !client.scopes.iter().any(|s| s == "openid") {
        return Err("client.scopes must contain \"openid\"".into());
    }
    for (key, url) in [
        ("target.base_url", Some(&profile.target.base_url)),
        ("client.redirect_uri", Some(&client.redirect_uri)),
        ("broker.url", Some(&profile.broker.url)),
    ] {
        if let Some(url) = url {
            if url::Url::parse(url).is_err() {
                return Err(format!("{key} = \"{url}\" is not an absolute URL"));
            }
        }
    }
    if profile.target.restart_timeout_seconds == 0 {
        return Err("target.restart_timeout_seconds must be at least 1".into());
    }
    Ok(())
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

    #[test]
    fn levels_are_read_in_every_spelling_rps_send() {
        for text in [
            "substantial",
            "Substantial",
            "https://data.gov.dk/concept/core/nsis/Substantial",
            "urn:grn:authn:dk:mitid:substantial",
        ] {
            assert_eq!(Level::parse(text), Some(Level::Substantial), "{text}");
        }
        assert_eq!(Level::parse("medium"), None);
        assert!(Level::Low < Level::Substantial && Level::Substantial < Level::High);
    }

    #[test]
    fn contradictions_are_refused_with_the_key() {
        let with_none = TEMPLATE.replace(
            "client_secret = \"conformance-secret\"",
            "client_secret = \"conformance-secret\"\ntoken_endpoint_auth_method = \"none\"",
        );
        assert!(parse(&with_none)
            .unwrap_err()
            .to_string()
            .contains("token_endpoint_auth_method"));
        let bad_level = TEMPLATE.replace("required = \"substantial\"", "required = \"medium\"");
        let err = parse(&bad_level).unwrap_err();
        assert!(
            err.to_string().contains("medium") && err.line.is_some(),
            "{err}"
        );
    }
}

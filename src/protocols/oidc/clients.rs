//! Relying parties registered with the broker (fixtures/clients.toml).

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::broker::keys::SigningAlg;
use crate::broker::sessions::SsoScope;
use crate::fixtures::{self, FixtureError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// Public clients (single-page and native apps): PKCE is then mandatory.
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

/// A client secret: never empty (a client without one is a public client); `Debug` never
/// shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err(
                "`client_secret` is empty: give a secret, or leave it out for a public client (which must use PKCE)"
                    .into(),
            );
        }
        Ok(Self(text.to_string()))
    }

    pub fn matches(&self, presented: &str) -> bool {
        self.0.len() == presented.len()
            && openssl::memcmp::eq(self.0.as_bytes(), presented.as_bytes())
    }
}

impl TryFrom<String> for ClientSecret {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ClientSecret> for String {
    fn from(secret: ClientSecret) -> Self {
        secret.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// An absolute URI without a fragment, compared by exact string match (RFC 6749 §3.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegisteredUri(String);

impl RegisteredUri {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text)
            .map_err(|err| format!("`{text}` is not an absolute URI: {err}"))?;
        if url.fragment().is_some() {
            return Err(format!(
                "`{text}` has a fragment, which redirect URIs must not have"
            ));
        }
        // Schemes a browser would run or read locally instead of navigating to a service.
        if matches!(
            url.scheme(),
            "javascript" | "data" | "vbscript" | "file" | "blob"
        ) {
            return Err(format!(
                "`{text}`: the {} scheme is not allowed",
                url.scheme()
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_http(&self) -> bool {
        self.0.starts_with("https://") || self.0.starts_with("http://")
    }
}

impl TryFrom<String> for RegisteredUri {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RegisteredUri> for String {
    fn from(uri: RegisteredUri) -> Self {
        uri.0
    }
}

pub const SUPPORTED_SCOPES: [&str; 6] = [
    "openid",
    "mitid",
    "ssn",
    "nemid.pid",
    "nemlogin",
    "offline_access",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub client_id: String,
    /// Shown to the citizen ("Log på hos ...").
    pub name: String,
    #[serde(default)]
    pub client_secret: Option<ClientSecret>,
    pub redirect_uris: Vec<RegisteredUri>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<RegisteredUri>,
    /// Unset: the client may use client_secret_basic or client_secret_post.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<AuthMethod>,
    #[serde(default)]
    pub id_token_signed_response_alg: SigningAlg,
    #[serde(default)]
    pub require_pkce: bool,
    /// Allows `simulation=no-ui` logins without any page (for CI).
    #[serde(default)]
    pub allow_simulation: bool,
    /// The organisation the pairwise `sub` is stable within; defaults to the client ID.
    #[serde(default)]
    pub organisation: Option<String>,
    /// A public service provider (a public authority) gets MitID Erhverv's
    /// `nemlogin.cpr`; a private one gets `nemlogin.cpr_uuid` instead, as at NEB.
    #[serde(default)]
    pub public_service_provider: bool,
    /// Clients with the same SSO group share broker sessions (single sign-on and single
    /// logout); without one, the client has sessions of its own, as at NEB by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_group: Option<String>,
    /// Where the broker POSTs logout tokens when a session the client took part in ends.
    #[serde(default)]
    pub backchannel_logout_uri: Option<RegisteredUri>,
    #[serde(default = "yes")]
    pub backchannel_logout_session_required: bool,
    /// Loaded in an iframe by the broker's logout page.
    #[serde(default)]
    pub frontchannel_logout_uri: Option<RegisteredUri>,
    /// Adds `iss` and `sid` to the front-channel logout URI.
    #[serde(default = "yes")]
    pub frontchannel_logout_session_required: bool,
    #[serde(default)]
    pub refresh_tokens: RefreshTokens,
}

fn yes() -> bool {
    true
}

/// When the client gets refresh tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshTokens {
    Never,
    /// When the authorization request asks for the `offline_access` scope.
    #[default]
    OfflineAccess,
    Always,
}

impl Client {
    /// A client without a secret (or registered with `token_endpoint_auth_method = "none"`)
    /// is public: it authenticates with nothing, so PKCE guards its codes.
    pub fn is_public(&self) -> bool {
        match self.token_endpoint_auth_method {
            Some(method) => method == AuthMethod::None,
            None => self.client_secret.is_none(),
        }
    }

    /// The one method a client must use at the token endpoint; `None` when either
    /// secret method will do.
    pub fn auth_method(&self) -> Option<AuthMethod> {
        if self.is_public() {
            Some(AuthMethod::None)
        } else {
            self.token_endpoint_auth_method
        }
    }

    pub fn pkce_required(&self) -> bool {
        self.require_pkce || self.is_public()
    }

    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r.as_str() == uri)
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|r| r.as_str() == uri)
    }

    pub fn gets_refresh_token(&self, scopes: &[String]) -> bool {
        match self.refresh_tokens {
            RefreshTokens::Never => false,
            RefreshTokens::Always => true,
            RefreshTokens::OfflineAccess => scopes.iter().any(|s| s == "offline_access"),
        }
    }

    pub fn organisation(&self) -> &str {
        self.organisation.as_deref().unwrap_or(&self.client_id)
    }

    /// The clients this client shares broker sessions with.
    pub fn sso_scope(&self) -> SsoScope {
        match &self.sso_group {
            Some(group) => SsoScope::Group(group.clone()),
            None => SsoScope::Client(self.client_id.clone()),
        }
    }

    pub fn problems(&self) -> Option<String> {
        let browser_facing = self
            .post_logout_redirect_uris
            .iter()
            .chain(&self.frontchannel_logout_uri)
            .chain(&self.backchannel_logout_uri);
        if let Some(uri) = browser_facing.into_iter().find(|u| !u.is_http()) {
            return Some(format!(
                "client `{}`: `{}` must be an http or https URI",
                self.client_id,
                uri.as_str()
            ));
        }
        self.basic_problems()
    }

    fn basic_problems(&self) -> Option<String> {
        if self.client_id.trim().is_empty() {
            return Some("`client_id` is empty".into());
        }
        if let Some(group) = &self.sso_group {
            if group.trim().is_empty() || group.trim() != group {
                return Some(format!(
                    "client `{}`: sso_group `{group}` must be a non-empty name without surrounding spaces",
                    self.client_id
                ));
            }
        }
        if self.redirect_uris.is_empty() {
            return Some(format!("client `{}` has no redirect_uris", self.client_id));
        }
        match (self.is_public(), &self.client_secret) {
            (true, Some(_)) => Some(format!(
                "client `{}` is public (token_endpoint_auth_method = \"none\") but has a client_secret",
                self.client_id
            )),
            (false, None) => Some(format!(
                "client `{}` authenticates with {} but has no client_secret (leave both out for a public client, which must use PKCE)",
                self.client_id,
                self.token_endpoint_auth_method.map_or("a secret", AuthMethod::name)
            )),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    #[serde(default)]
    client: Vec<toml::Spanned<Client>>,
}

/// The relying parties compiled into the binary (a copy of `fixtures/clients.toml`).
pub const BUILT_IN_CLIENTS: &str = include_str!("../../../fixtures/clients.toml");

pub fn load_clients(path: &Path) -> Result<Vec<Client>, FixtureError> {
    check_clients(fixtures::read::<ClientsFile>(path)?)
}

/// Clients from TOML text (for tests and in-process use); errors name `<inline>`.
pub fn parse_clients(source: &str) -> Result<Vec<Client>, FixtureError> {
    check_clients(fixtures::parse::<ClientsFile>(
        Path::new("<inline>"),
        source.to_string(),
    )?)
}

pub fn built_in_clients() -> Result<Vec<Client>, FixtureError> {
    let path = Path::new("fixtures/clients.toml (built in)");
    check_clients(fixtures::parse::<ClientsFile>(
        path,
        BUILT_IN_CLIENTS.to_string(),
    )?)
}

fn check_clients(document: fixtures::Document<ClientsFile>) -> Result<Vec<Client>, FixtureError> {
    let mut seen = HashSet::new();
    let mut clients = Vec::new();
    for entry in &document.value.client {
        let client = entry.get_ref();
        if let Some(problem) = client.problems() {
            return Err(document.error_at(entry.span(), problem));
        }
        if !seen.insert(client.client_id.clone()) {
            return Err(document.error_at(
                entry.span(),
                format!("client_id `{}` is used twice", client.client_id),
            ));
        }
        clients.push(client.clone());
    }
    Ok(clients)
}

#[derive(Debug, Default)]
pub struct ClientRegistry {
    clients: DashMap<String, Arc<Client>>,
}

impl ClientRegistry {
    pub fn new(clients: impl IntoIterator<Item = Client>) -> Self {
        let registry = Self::default();
        for client in clients {
            registry
                .clients
                .insert(client.client_id.clone(), Arc::new(client));
        }
        registry
    }

    /// Registers (or replaces) a client at run time.
    pub fn insert(&self, client: Client) {
        self.clients
            .insert(client.client_id.clone(), Arc::new(client));
    }

    pub fn remove(&self, client_id: &str) -> Option<Arc<Client>> {
        self.clients.remove(client_id).map(|(_, c)| c)
    }

    pub fn get(&self, client_id: &str) -> Option<Arc<Client>> {
        self.clients.get(client_id).map(|c| Arc::clone(&c))
    }

    pub fn all(&self) -> Vec<Arc<Client>> {
        let mut all: Vec<_> = self.clients.iter().map(|c| Arc::clone(c.value())).collect();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_absolute_and_fragment_free() {
        assert!(RegisteredUri::parse("https://rp.example/cb").is_ok());
        assert!(
            RegisteredUri::parse("dk.myapp:/callback").is_ok(),
            "native apps use custom schemes"
        );
        assert!(RegisteredUri::parse("javascript:alert(1)//").is_err());
        assert!(RegisteredUri::parse("data:text/html,x").is_err());
        assert!(RegisteredUri::parse("/cb").is_err());
        assert!(RegisteredUri::parse("https://rp.example/cb#x").is_err());
    }

    #[test]
    fn secrets_compare_exactly_and_hide_in_debug() {
        let secret = ClientSecret("s3cret".into());
        assert!(secret.matches("s3cret"));
        assert!(!secret.matches("s3cre"));
        assert!(!secret.matches("s3creT"));
        assert_eq!(format!("{secret:?}"), "ClientSecret(***)");
    }

    fn client(toml_text: &str) -> Result<Vec<Client>, FixtureError> {
        parse_clients(&format!(
            "[[client]]\nclient_id = \"c\"\nname = \"C\"\nredirect_uris = [\"https://rp.example/cb\"]\n{toml_text}"
        ))
    }

    #[test]
    fn an_empty_secret_is_refused_with_its_place_in_the_file() {
        for empty in ["\"\"", "\"   \""] {
            let err = client(&format!("client_secret = {empty}\n")).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("<inline>:5:17:"), "{text}");
            assert!(text.contains("`client_secret` is empty"), "{text}");
        }
    }

    #[test]
    fn a_client_without_a_secret_is_public_and_must_use_pkce() {
        let public = client("").unwrap().remove(0);
        assert!(public.is_public());
        assert!(public.pkce_required());
        assert_eq!(public.auth_method(), Some(AuthMethod::None));
        let confidential = client("client_secret = \"s\"\n").unwrap().remove(0);
        assert!(!confidential.is_public() && !confidential.pkce_required());
        assert_eq!(confidential.auth_method(), None);
        let basic_without_secret =
            client("token_endpoint_auth_method = \"client_secret_basic\"\n").unwrap_err();
        assert!(
            basic_without_secret
                .to_string()
                .contains("has no client_secret"),
            "{basic_without_secret}"
        );
    }
}

//! Relying parties registered with the broker (fixtures/clients.toml).

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use super::algorithms::{ContentAlg, JwsAlg, KeyAlg};
use super::client_keys::{encryption_key, ClientJwks};
use crate::broker::keys::SigningAlg;
use crate::broker::sessions::SsoScope;
use crate::fixtures::{self, FixtureError};
use crate::identity::Cvr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 / OIDC Core §9: a JWT signed with a key of the client's `jwks` or `jwks_uri`.
    PrivateKeyJwt,
    /// Public clients (single-page and native apps): PKCE is then mandatory.
    None,
}

impl AuthMethod {
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
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

    /// The secret itself, as the key of HMAC-signed JWTs (OIDC Core §10.1).
    pub fn expose(&self) -> &str {
        &self.0
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

pub const SUPPORTED_SCOPES: [&str; 7] = [
    "openid",
    "mitid",
    "ssn",
    "nemid.pid",
    "nemlogin",
    "offline_access",
    "userinfo_token",
];

/// The scopes of service tokens NEB documents for its own APIs: `neb_api` (controlled
/// transfer and the general APIs) and `signtext_api` (transaction signing).
pub const API_SCOPES: [&str; 2] = ["neb_api", "signtext_api"];

fn documented_api_scopes() -> Vec<String> {
    API_SCOPES.map(String::from).to_vec()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub client_id: String,
    /// Shown to the citizen ("Log på hos ...").
    pub name: String,
    #[serde(default)]
    pub client_secret: Option<ClientSecret>,
    /// Empty only for an API client (`allow_client_credentials` and nothing else).
    #[serde(default)]
    pub redirect_uris: Vec<RegisteredUri>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<RegisteredUri>,
    /// Unset: the client may use client_secret_basic or client_secret_post when it has a
    /// secret, and private_key_jwt when it has keys (`jwks` or `jwks_uri`).
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

    // ---- Back channel and token protection: client keys, private_key_jwt, client
    // credentials, signed and encrypted responses, userinfo tokens, DPoP. ----
    /// The client's public keys (RFC 7591), inline: its private_key_jwt assertions are
    /// verified with them, and the broker encrypts to its `enc` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<ClientJwks>,
    /// Where the client publishes its keys instead (fetched, kept 5 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<RegisteredUri>,
    /// The one algorithm the client's assertions may use (OIDC Registration §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<JwsAlg>,
    /// Answer userinfo as a signed JWT (`application/jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<SigningAlg>,
    /// Encrypt id_tokens to the client's key (signed, then encrypted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_encrypted_response_alg: Option<KeyAlg>,
    /// Default A128CBC-HS256 when the `alg` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_encrypted_response_enc: Option<ContentAlg>,
    /// Encrypt userinfo responses to the client's key (signed first when
    /// `userinfo_signed_response_alg` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_encrypted_response_alg: Option<KeyAlg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_encrypted_response_enc: Option<ContentAlg>,
    /// When the token response carries a `userinfo_token`.
    #[serde(default)]
    pub userinfo_tokens: UserinfoTokens,
    /// An API client: may get service tokens with the client_credentials grant.
    #[serde(default)]
    pub allow_client_credentials: bool,
    /// The scopes its service tokens may carry.
    #[serde(default = "documented_api_scopes")]
    pub api_scopes: Vec<String>,
    /// The CVR number of the client's organisation (a test CVR, starting with 9), which
    /// service tokens carry as `client_org_taxation_number`; derived from the
    /// organisation's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_cvr: Option<Cvr>,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

/// When the token response carries a `userinfo_token` (all user claims, signed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserinfoTokens {
    /// When the authorization request asked for the `userinfo_token` scope.
    #[default]
    Scope,
    Always,
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
    /// A client without a secret or keys (or registered with `token_endpoint_auth_method =
    /// "none"`) is public: it authenticates with nothing, so PKCE guards its codes.
    pub fn is_public(&self) -> bool {
        match self.token_endpoint_auth_method {
            Some(method) => method == AuthMethod::None,
            None => self.client_secret.is_none() && !self.has_keys(),
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

    /// Whether the client registered keys of its own (`jwks` or `jwks_uri`).
    pub fn has_keys(&self) -> bool {
        self.jwks.is_some() || self.jwks_uri.is_some()
    }

    /// Whether the client may authenticate with `method`: the registered one, or, when
    /// none is registered, a secret method if it has a secret and private_key_jwt if it
    /// has keys; a public client only with `none`.
    pub fn accepts_auth_method(&self, method: AuthMethod) -> bool {
        if self.is_public() {
            return method == AuthMethod::None;
        }
        match self.token_endpoint_auth_method {
            Some(registered) => registered == method,
            None => match method {
                AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                    self.client_secret.is_some()
                }
                AuthMethod::PrivateKeyJwt => self.has_keys(),
                AuthMethod::None => false,
            },
        }
    }

    /// The methods the client may authenticate with, for error messages.
    pub fn auth_methods(&self) -> String {
        let methods: Vec<&str> = [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::PrivateKeyJwt,
            AuthMethod::None,
        ]
        .into_iter()
        .filter(|m| self.accepts_auth_method(*m))
        .map(AuthMethod::name)
        .collect();
        methods.join(" or ")
    }

    /// Whether a `userinfo_token` goes with tokens of these scopes.
    pub fn gets_userinfo_token(&self, scopes: &[String]) -> bool {
        self.userinfo_tokens == UserinfoTokens::Always
            || scopes.iter().any(|s| s == "userinfo_token")
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
            .chain(&self.backchannel_logout_uri)
            .chain(&self.jwks_uri);
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
        if self.redirect_uris.is_empty() && !self.allow_client_credentials {
            return Some(format!("client `{}` has no redirect_uris", self.client_id));
        }
        if self.token_endpoint_auth_method == Some(AuthMethod::PrivateKeyJwt)
            && !self.has_keys()
            && self.client_secret.is_none()
        {
            return Some(format!(
                "client `{}` authenticates with private_key_jwt but registered no keys (jwks or jwks_uri), nor a client_secret for HS256-512",
                self.client_id
            ));
        }
        if self.is_public() && self.client_secret.is_some() {
            return Some(format!(
                "client `{}` is public (token_endpoint_auth_method = \"none\") but has a client_secret",
                self.client_id
            ));
        }
        self.protection_problems()
    }

    /// Problems of the back-channel and token-protection settings.
    fn protection_problems(&self) -> Option<String> {
        let id = &self.client_id;
        if self.jwks.is_some() && self.jwks_uri.is_some() {
            return Some(format!(
                "client `{id}` has both jwks and jwks_uri: register one (RFC 7591 §2)"
            ));
        }
        let method = self.token_endpoint_auth_method;
        if matches!(
            method,
            Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
        ) && self.client_secret.is_none()
        {
            return Some(format!(
                "client `{id}` authenticates with {} but has no client_secret (leave both out for a public client, which must use PKCE)",
                method.map_or("", AuthMethod::name)
            ));
        }
        if self.token_endpoint_auth_signing_alg.is_some()
            && !self.accepts_auth_method(AuthMethod::PrivateKeyJwt)
        {
            return Some(format!(
                "client `{id}`: token_endpoint_auth_signing_alg is for private_key_jwt, which the client does not use"
            ));
        }
        for (what, alg, enc) in [
            (
                "id_token",
                self.id_token_encrypted_response_alg,
                self.id_token_encrypted_response_enc,
            ),
            (
                "userinfo",
                self.userinfo_encrypted_response_alg,
                self.userinfo_encrypted_response_enc,
            ),
        ] {
            if alg.is_none() && enc.is_some() {
                return Some(format!(
                    "client `{id}`: {what}_encrypted_response_enc needs {what}_encrypted_response_alg"
                ));
            }
            let Some(alg) = alg else { continue };
            if !self.has_keys() {
                return Some(format!(
                    "client `{id}`: {what}_encrypted_response_alg needs the client's keys (jwks or jwks_uri) to encrypt to"
                ));
            }
            // Keys behind a jwks_uri are checked when the first response is encrypted.
            let inline = self.jwks.as_ref().map(|jwks| jwks.keys());
            if inline.is_some_and(|keys| encryption_key(keys, alg).is_none()) {
                return Some(format!(
                    "client `{id}`: {what}_encrypted_response_alg {} needs an {} key (use \"enc\" or unset) in jwks",
                    alg.name(),
                    alg.key_type()
                ));
            }
        }
        if let Some(scope) = self
            .api_scopes
            .iter()
            .find(|s| !API_SCOPES.contains(&s.as_str()))
        {
            return Some(format!(
                "client `{id}`: api scope `{scope}` is not one of NEB's documented API scopes ({})",
                API_SCOPES.join(", ")
            ));
        }
        if self.allow_client_credentials && self.is_public() {
            return Some(format!(
                "client `{id}` is public: client_credentials needs a client that authenticates"
            ));
        }
        None
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

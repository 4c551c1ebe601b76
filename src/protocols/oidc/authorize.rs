//! The authorization request (OIDC Core §3.1.2.1 with NEB's extensions), parsed once.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::clients::{Client, ClientRegistry, SUPPORTED_SCOPES};
use super::error::{ErrorCode, OAuthError};
use crate::flow::Idp;
use crate::identity::{Cpr, Loa};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Language {
    #[default]
    Da,
    En,
}

impl Language {
    /// NEB's `language` parameter: da, en or kl. Greenlandic pages fall back to Danish here.
    /// A space-separated preference list (`ui_locales`) or one tag (`language`): the
    /// first tag this simulator speaks wins.
    pub fn parse(text: Option<&str>) -> Self {
        for tag in text.unwrap_or_default().split_whitespace() {
            let tag = tag.to_ascii_lowercase();
            let primary = tag.split(['-', '_']).next().unwrap_or_default();
            match primary {
                "en" => return Language::En,
                "da" | "kl" => return Language::Da,
                _ => {}
            }
        }
        Language::Da
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Da => "da",
            Language::En => "en",
        }
    }
}

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

/// A validated authorization request, kept with the login until it ends.
#[derive(Clone, Debug)]
pub struct AuthorizeRequest {
    pub client: Arc<Client>,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    pub language: Language,
    pub prompt_login: bool,
    /// `prompt=none`: answer from the SSO session or with `login_required`, never a page.
    pub prompt_none: bool,
    pub max_age: Option<u64>,
    pub min_loa: Loa,
    /// Every identity provider `idp_values` named, in order; more than one shows a chooser.
    pub idp_choices: Vec<Idp>,
    /// `idp_params.mitid.enable_step_up`: with `prompt=login`, raise an existing session's level.
    pub enable_step_up: bool,
    pub no_ui: Option<IdentityHint>,
}

impl AuthorizeRequest {
    /// The IdP a login starts with when no chooser is shown: the first one offered.
    pub fn first_idp(&self) -> Idp {
        self.idp_choices.first().copied().unwrap_or_default()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a request was refused, and where the refusal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Client or redirect URI cannot be trusted: show a page, never redirect (RFC 6749 §4.1.2.1).
    Page(String),
    /// Tell the RP at its registered redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
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

pub fn parse(
    pairs: Vec<(String, String)>,
    clients: &ClientRegistry,
) -> Result<AuthorizeRequest, Rejection> {
    let mut params: HashMap<String, String> = HashMap::new();
    let mut repeated = None;
    for (key, value) in pairs {
        if params.insert(key.clone(), value).is_some() {
            repeated = Some(key);
        }
    }
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    let client_id =
        get("client_id").ok_or_else(|| Rejection::Page("The request has no client_id.".into()))?;
    let client = clients.get(client_id).ok_or_else(|| {
        Rejection::Page(format!(
            "No client with client_id `{client_id}` is registered."
        ))
    })?;
    let redirect_uri = get("redirect_uri")
        .ok_or_else(|| Rejection::Page("The request has no redirect_uri.".into()))?;
    if !client.has_redirect_uri(redirect_uri) {
        return Err(Rejection::Page(format!(
            "redirect_uri `{redirect_uri}` is not registered for client `{client_id}`. Registered: {}.",
            client
                .redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }

    let state = get("state").map(str::to_string);
    let refuse = |code: ErrorCode, description: String| Rejection::Redirect {
        redirect_uri: redirect_uri.to_string(),
        state: state.clone(),
        error: OAuthError::new(code, description),
    };

    if let Some(key) = repeated {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            format!("parameter `{key}` appears more than once"),
        ));
    }
    if get("request").is_some() {
        return Err(refuse(
            ErrorCode::RequestNotSupported,
            "request objects are not supported".into(),
        ));
    }
    if get("request_uri").is_some() {
        return Err(refuse(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported".into(),
        ));
    }
    match get("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(refuse(
                ErrorCode::UnsupportedResponseType,
                format!("response_type `{other}` is not supported; use `code`"),
            ))
        }
        None => {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "response_type is missing".into(),
            ))
        }
    }
    if let Some(mode) = get("response_mode").filter(|m| *m != "query") {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            format!("response_mode `{mode}` is not supported; use `query`"),
        ));
    }

    let scopes: Vec<String> = get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(refuse(
            ErrorCode::InvalidScope,
            "scope must include `openid`".into(),
        ));
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|s| !SUPPORTED_SCOPES.contains(&s.as_str()))
    {
        return Err(refuse(
            ErrorCode::InvalidScope,
            format!(
                "scope `{unknown}` is not supported (supported: {})",
                SUPPORTED_SCOPES.join(" ")
            ),
        ));
    }

    let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (Some(challenge), Some("S256")) => Some(challenge.to_string()),
        (Some(_), Some(method)) => {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                format!("code_challenge_method `{method}` is not supported; use S256"),
            ))
        }
        (Some(_), None) => {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "code_challenge_method is missing; only S256 is supported".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "code_challenge is missing".into(),
            ))
        }
        (None, None) => None,
    };
    if let Some(challenge) = &code_challenge {
        let well_formed = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "code_challenge must be the 43-character base64url SHA-256 of the verifier".into(),
            ));
        }
    }
    if code_challenge.is_none() && client.pkce_required() {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            "this client must use PKCE: send code_challenge with code_challenge_method=S256".into(),
        ));
    }

    let prompts: Vec<&str> = get("prompt")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if let Some(unknown) = prompts.iter().find(|p| !["none", "login"].contains(p)) {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            format!("prompt `{unknown}` is not supported"),
        ));
    }
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined".into(),
        ));
    }
    let max_age = match get("max_age") {
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            refuse(
                ErrorCode::InvalidRequest,
                format!("max_age `{text}` is not a number of seconds"),
            )
        })?),
        None => None,
    };

    // Several values show NEB's chooser; the first is the default for pageless logins.
    let mut idp_choices: Vec<Idp> = Vec::new();
    for value in get("idp_values").unwrap_or("mitid").split_whitespace() {
        let parsed = match value {
            "mitid" => Idp::MitId,
            "nemid" => Idp::NemId,
            other => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    format!(
                        "idp_values `{other}` is not offered by this simulator; use mitid or nemid"
                    ),
                ))
            }
        };
        if !idp_choices.contains(&parsed) {
            idp_choices.push(parsed);
        }
    }
    if idp_choices.is_empty() {
        idp_choices.push(Idp::default());
    }
    let idp_params: IdpParams = match get("idp_params") {
        Some(json) => serde_json::from_str(json).map_err(|err| {
            refuse(
                ErrorCode::InvalidRequest,
                format!("idp_params is not valid JSON: {err}"),
            )
        })?,
        None => IdpParams::default(),
    };
    let min_loa = match idp_params.mitid.loa_value {
        Some(text) => text.parse::<Loa>().map_err(|err| {
            refuse(
                ErrorCode::InvalidRequest,
                format!("idp_params.mitid.loa_value: {err}"),
            )
        })?,
        None => Loa::Low,
    };

    let no_ui = match get("simulation") {
        None | Some("ui") => None,
        Some("no-ui") if !client.allow_simulation => {
            return Err(refuse(
                ErrorCode::UnauthorizedClient,
                "simulation=no-ui is not allowed for this client (set allow_simulation = true)"
                    .into(),
            ))
        }
        Some("no-ui") => {
            let hint = get("login_hint").ok_or_else(|| {
                refuse(
                    ErrorCode::InvalidRequest,
                    "simulation=no-ui needs login_hint=uuid:<uuid>, username:<user ID> or cpr:<CPR>".into(),
                )
            })?;
            Some(
                IdentityHint::parse(hint).map_err(|err| {
                    refuse(ErrorCode::InvalidRequest, format!("login_hint: {err}"))
                })?,
            )
        }
        Some(other) => {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                format!("simulation `{other}` is not supported; use ui or no-ui"),
            ))
        }
    };

    Ok(AuthorizeRequest {
        redirect_uri: redirect_uri.to_string(),
        state,
        nonce: get("nonce").map(str::to_string),
        scopes,
        code_challenge,
        language: Language::parse(get("language").or(get("ui_locales"))),
        prompt_login: prompts.contains(&"login"),
        prompt_none: prompts.contains(&"none"),
        max_age,
        min_loa,
        idp_choices,
        enable_step_up: idp_params.mitid.enable_step_up.unwrap_or(false),
        no_ui,
        client,
    })
}

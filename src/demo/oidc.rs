//! Min Side's OpenID Connect client: everything a careful relying party checks, in the
//! order the specifications give it. Nothing here trusts the broker blindly: discovery
//! must name the configured issuer, every token is verified against the published keys.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{JwsVerifier, ES256, RS256};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::unix_now;

/// How far the broker's clock may be from ours before a token's times are refused.
const CLOCK_SKEW: i64 = 60;
const NSIS_SUBSTANTIAL: &str = "https://data.gov.dk/concept/core/nsis/Substantial";
const NSIS_HIGH: &str = "https://data.gov.dk/concept/core/nsis/High";
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Debug, thiserror::Error)]
pub enum RpError {
    #[error("the broker cannot be reached: {0}")]
    Unreachable(String),
    #[error("the broker's discovery document names issuer `{found}`, not `{expected}`")]
    IssuerMismatch { expected: String, found: String },
    #[error("the broker answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("the token is not acceptable: {0}")]
    InvalidToken(String),
}

fn invalid(reason: impl Into<String>) -> RpError {
    RpError::InvalidToken(reason.into())
}

/// Sends a request and reads the body of a successful answer; a refusal keeps the broker's
/// status and body, which Min Side shows so a developer sees why.
pub async fn successful_body(
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, String), RpError> {
    let response = request
        .send()
        .await
        .map_err(|e| RpError::Unreachable(e.to_string()))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| RpError::Unreachable(e.to_string()))?;
    if !status.is_success() {
        return Err(RpError::Refused {
            status: status.as_u16(),
            body,
        });
    }
    Ok((status, body))
}

/// The endpoints from the broker's discovery document (OpenID Connect Discovery 1.0).
#[derive(Clone, Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub jwks_uri: String,
}

/// What the token endpoint answered.
#[derive(Debug, Deserialize)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
}

/// The authorization request's secrets, kept server-side until the callback.
pub struct AuthorizationRequest {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// A verified logout token: which sessions to end.
pub struct LogoutToken {
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: String,
    pub exp: i64,
}

pub struct Client {
    pub issuer: String,
    pub client_id: String,
    client_secret: String,
    pub redirect_uri: String,
    http: reqwest::Client,
    /// Discovery is cached like RP libraries do, and read again after this long.
    discovery_refresh: Duration,
    discovery: RwLock<Option<(Discovery, Instant)>>,
    /// The broker's published keys; fetched again when a token names a key not among them.
    jwks: tokio::sync::Mutex<Vec<Jwk>>,
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Client {
    pub fn new(
        issuer: String,
        client_id: String,
        client_secret: String,
        redirect_uri: String,
        http: reqwest::Client,
        discovery_refresh: Duration,
    ) -> Self {
        Self {
            issuer,
            client_id,
            client_secret,
            redirect_uri,
            http,
            discovery_refresh,
            discovery: RwLock::new(None),
            jwks: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// The discovery document, refreshed when older than `discovery_refresh`. Its issuer
    /// must be exactly the configured one (Discovery §4.3), or the broker is not trusted.
    pub async fn discovery(&self) -> Result<Discovery, RpError> {
        let cached = self
            .discovery
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((document, fetched)) = cached {
            if fetched.elapsed() < self.discovery_refresh {
                return Ok(document);
            }
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let document: Discovery = self.get_json(&url, None).await?;
        if document.issuer != self.issuer {
            return Err(RpError::IssuerMismatch {
                expected: self.issuer.clone(),
                found: document.issuer,
            });
        }
        *self.discovery.write().unwrap_or_else(|p| p.into_inner()) =
            Some((document.clone(), Instant::now()));
        Ok(document)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<T, RpError> {
        let mut request = self.http.get(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let (status, body) = successful_body(request).await?;
        serde_json::from_str(&body).map_err(|e| RpError::Refused {
            status: status.as_u16(),
            body: format!("not the expected JSON ({e}): {body}"),
        })
    }

    /// An authorization request: code flow with state, nonce and PKCE S256, at
    /// Substantial. `fresh` forces a new authentication (`max_age=0`) for a sensitive page.
    pub fn authorization_request(
        &self,
        discovery: &Discovery,
        language: &str,
        fresh: bool,
    ) -> AuthorizationRequest {
        let (state, nonce, verifier) = (random_token(), random_token(), random_token());
        let challenge = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
        let mut params = vec![
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", "openid mitid"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("idp_values", "mitid"),
            ("idp_params", r#"{"mitid":{"loa_value":"substantial"}}"#),
            ("language", language),
        ];
        if fresh {
            params.push(("max_age", "0"));
        }
        let query = serde_urlencoded::to_string(&params).unwrap_or_default();
        AuthorizationRequest {
            url: format!("{}?{query}", discovery.authorization_endpoint),
            state,
            nonce,
            verifier,
        }
    }

    /// The code for tokens (client_secret_basic, with the PKCE verifier).
    pub async fn exchange(
        &self,
        discovery: &Discovery,
        code: &str,
        verifier: &str,
    ) -> Result<Tokens, RpError> {
        let request = self
            .http
            .post(&discovery.token_endpoint)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.redirect_uri.as_str()),
                ("code_verifier", verifier),
            ]);
        let (_, body) = successful_body(request).await?;
        serde_json::from_str(&body).map_err(|e| invalid(format!("token response: {e}")))
    }

    /// Verifies a JWS against the broker's keys: ES256 or RS256 only (never `none`, never
    /// an HMAC keyed with a public key), the key named by `kid`. An unknown `kid` makes the
    /// client fetch the JWKS again once: the broker may have rotated its keys.
    async fn verified_claims(
        &self,
        discovery: &Discovery,
        token: &str,
    ) -> Result<(Map<String, Value>, Map<String, Value>), RpError> {
        let header = token
            .split('.')
            .next()
            .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
            .and_then(|h| serde_json::from_slice::<Map<String, Value>>(&h).ok())
            .ok_or_else(|| invalid("not a JWS"))?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("none");
        if !matches!(alg, "ES256" | "RS256") {
            return Err(invalid(format!("algorithm `{alg}` is not accepted")));
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no kid"))?;
        let jwk = self.key(discovery, kid).await?;
        let verifier: Box<dyn JwsVerifier> = match alg {
            "ES256" => Box::new(
                ES256
                    .verifier_from_jwk(&jwk)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            _ => Box::new(
                RS256
                    .verifier_from_jwk(&jwk)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
        };
        let (payload, _) = josekit::jwt::decode_with_verifier(token, verifier.as_ref())
            .map_err(|e| invalid(format!("signature: {e}")))?;
        Ok((header, payload.claims_set().clone()))
    }

    async fn key(&self, discovery: &Discovery, kid: &str) -> Result<Jwk, RpError> {
        let mut keys = self.jwks.lock().await;
        if let Some(key) = keys.iter().find(|k| k.key_id() == Some(kid)) {
            return Ok(key.clone());
        }
        let jwks: Value = self.get_json(&discovery.jwks_uri, None).await?;
        *keys = jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| Jwk::from_map(k.as_object()?.clone()).ok())
            .collect();
        keys.iter()
            .find(|k| k.key_id() == Some(kid))
            .cloned()
            .ok_or_else(|| invalid(format!("key `{kid}` is not in the broker's JWKS")))
    }

    /// The audience is this client alone (OIDC Core §3.1.3.7 items 3–5): no other
    /// audience is trusted.
    fn audience_ok(&self, claims: &Map<String, Value>) -> bool {
        let single = match claims.get("aud") {
            Some(Value::String(aud)) => aud == &self.client_id,
            Some(Value::Array(auds)) => auds.len() == 1 && auds[0] == self.client_id.as_str(),
            _ => false,
        };
        let azp_ok = claims
            .get("azp")
            .is_none_or(|azp| azp == self.client_id.as_str());
        single && azp_ok
    }

    /// Validates an id_token from the token endpoint (OIDC Core §3.1.3.7). `fresh_since`
    /// (Unix time) demands an authentication at or after it, for a `max_age=0` request.
    pub async fn validate_id_token(
        &self,
        discovery: &Discovery,
        token: &str,
        nonce: &str,
        fresh_since: Option<i64>,
    ) -> Result<Map<String, Value>, RpError> {
        let (_, claims) = self.verified_claims(discovery, token).await?;
        let now = unix_now();
        let number = |name: &str| claims.get(name).and_then(Value::as_i64);
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(invalid("iss is not the broker's issuer"));
        }
        if !self.audience_ok(&claims) {
            return Err(invalid("aud is not this client alone"));
        }
        if number("exp").is_none_or(|exp| exp <= now - CLOCK_SKEW) {
            return Err(invalid("expired"));
        }
        if number("iat").is_none_or(|iat| iat > now + CLOCK_SKEW) {
            return Err(invalid("iat missing or in the future"));
        }
        if number("nbf").is_some_and(|nbf| nbf > now + CLOCK_SKEW) {
            return Err(invalid("not yet valid (nbf)"));
        }
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(invalid("nonce does not match this login"));
        }
        if claims
            .get("sub")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(invalid("no sub"));
        }
        // NSIS: the service asked for Substantial; a lower level is no login for it.
        let loa = claims
            .get("loa")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if loa != NSIS_SUBSTANTIAL && loa != NSIS_HIGH {
            return Err(invalid(format!("level `{loa}` is below Substantial")));
        }
        if let Some(since) = fresh_since {
            if number("auth_time").is_none_or(|at| at < since - CLOCK_SKEW) {
                return Err(invalid("auth_time is older than the fresh login asked for"));
            }
        }
        Ok(claims)
    }

    /// Userinfo for an access token; its `sub` must be the id_token's (OIDC Core §5.3.2).
    pub async fn userinfo(
        &self,
        discovery: &Discovery,
        access_token: &str,
        sub: &str,
    ) -> Result<Map<String, Value>, RpError> {
        let info: Map<String, Value> = self
            .get_json(&discovery.userinfo_endpoint, Some(access_token))
            .await?;
        if info.get("sub").and_then(Value::as_str) != Some(sub) {
            return Err(invalid("userinfo sub is not the id_token's"));
        }
        Ok(info)
    }

    /// Whether the broker session behind an access token still lives (NEB's userinfo
    /// `session_is_active`). An unreachable broker counts as ended: fail closed.
    pub async fn broker_session_active(&self, access_token: &str, sub: &str) -> bool {
        let Ok(discovery) = self.discovery().await else {
            return false;
        };
        match self.userinfo(&discovery, access_token, sub).await {
            Ok(info) => info.get("session_is_active") != Some(&Value::from("false")),
            Err(_) => false,
        }
    }

    /// RP-initiated logout: the broker's end_session with the id_token as hint.
    pub fn end_session_url(
        &self,
        discovery: &Discovery,
        id_token: &str,
        post_logout_redirect_uri: &str,
        state: Option<&str>,
    ) -> String {
        let mut params = vec![
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", post_logout_redirect_uri),
        ];
        params.extend(state.map(|state| ("state", state)));
        let query = serde_urlencoded::to_string(params).unwrap_or_default();
        format!("{}?{query}", discovery.end_session_endpoint)
    }

    /// Validates a back-channel logout token (Back-Channel Logout 1.0 §2.6).
    pub async fn validate_logout_token(&self, token: &str) -> Result<LogoutToken, RpError> {
        let discovery = self.discovery().await?;
        let (header, claims) = self.verified_claims(&discovery, token).await?;
        let now = unix_now();
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
        if header.get("typ").and_then(Value::as_str) != Some("logout+jwt") {
            return Err(invalid("typ is not logout+jwt"));
        }
        if text("iss").as_deref() != Some(self.issuer.as_str()) {
            return Err(invalid("iss is not the broker's issuer"));
        }
        if !self.audience_ok(&claims) {
            return Err(invalid("aud is not this client alone"));
        }
        let exp = claims.get("exp").and_then(Value::as_i64);
        if exp.is_none_or(|exp| exp <= now - CLOCK_SKEW) {
            return Err(invalid("expired"));
        }
        if claims
            .get("iat")
            .and_then(Value::as_i64)
            .is_none_or(|iat| iat > now + CLOCK_SKEW)
        {
            return Err(invalid("iat missing or in the future"));
        }
        if !claims
            .get("events")
            .and_then(Value::as_object)
            .is_some_and(|events| events.get(BACKCHANNEL_EVENT).is_some_and(Value::is_object))
        {
            return Err(invalid("no back-channel logout event"));
        }
        if claims.contains_key("nonce") {
            return Err(invalid("a logout token carries no nonce"));
        }
        let (sid, sub) = (text("sid"), text("sub"));
        if sid.is_none() && sub.is_none() {
            return Err(invalid("neither sid nor sub"));
        }
        let jti = text("jti").ok_or_else(|| invalid("no jti"))?;
        Ok(LogoutToken {
            sid,
            sub,
            jti,
            exp: exp.unwrap_or(now),
        })
    }
}

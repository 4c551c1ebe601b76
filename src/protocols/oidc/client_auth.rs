//! Client authentication, shared by every client-authenticated endpoint (token, revocation,
//! introspection): HTTP Basic or form secrets (RFC 6749 §2.3.1), and `private_key_jwt`
//! (RFC 7523 §3, OIDC Core §9): a JWT the client signed with a key of its registered JWKS,
//! `iss` = `sub` = the client, an `aud` naming the broker, not expired, and a `jti` used once.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jwt;
use serde_json::{Map, Value};

use super::algorithms::JwsAlg;
use super::client_keys::{verification_keys, Freshness, KeySource};
use super::clients::{AuthMethod, Client};
use super::error::OAuthError;
use super::replay::Refusal;
use super::{paths, Provider};

/// RFC 7523 §2.2: the one client assertion type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew allowed on an assertion's `exp`, `nbf` and `iat`.
pub const ASSERTION_LEEWAY: i64 = 60;

/// A refused client-authenticated request, with the HTTP status RFC 6749 §5.2 gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFailure {
    pub error: OAuthError,
    /// 401 with `WWW-Authenticate: Basic` when the client tried HTTP Basic and failed.
    pub unauthorized_basic: bool,
}

impl From<OAuthError> for TokenFailure {
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            unauthorized_basic: false,
        }
    }
}

/// What the client presented to prove who it is.
enum Proof {
    Secret(String),
    Assertion(String),
    Nothing,
}

pub(crate) struct Credentials {
    pub client_id: String,
    proof: Proof,
    method: AuthMethod,
}

fn form_decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The credentials of a request: HTTP Basic, a client assertion, or the form's
/// `client_id` (and `client_secret`); one method, never two.
pub(crate) fn credentials(
    params: &HashMap<String, String>,
    authorization: Option<&str>,
) -> Result<Credentials, TokenFailure> {
    let basic_failure = |description: &str| TokenFailure {
        error: OAuthError::invalid_client(description),
        unauthorized_basic: true,
    };
    let two_methods = || {
        TokenFailure::from(OAuthError::invalid_request(
            "use one client authentication method, not two",
        ))
    };
    if let Some(header) = authorization {
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or_else(|| basic_failure("only HTTP Basic client authentication is supported"))?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| basic_failure("the Basic credentials are not base64"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| basic_failure("the Basic credentials lack a ':'"))?;
        if params.contains_key("client_secret") || params.contains_key("client_assertion") {
            return Err(two_methods());
        }
        let client_id = form_decode(id)
            .ok_or_else(|| basic_failure("the client id is not form-encoded UTF-8"))?;
        let secret = form_decode(secret)
            .ok_or_else(|| basic_failure("the secret is not form-encoded UTF-8"))?;
        return Ok(Credentials {
            client_id,
            proof: Proof::Secret(secret),
            method: AuthMethod::ClientSecretBasic,
        });
    }
    if let Some(assertion) = params.get("client_assertion") {
        return assertion_credentials(params, assertion);
    }
    if params.contains_key("client_assertion_type") {
        return Err(OAuthError::invalid_request(
            "client_assertion_type was sent without client_assertion",
        )
        .into());
    }
    let client_id = params.get("client_id").cloned().ok_or_else(|| {
        OAuthError::invalid_client(
            "no client authentication: use HTTP Basic, client_id and client_secret, or a client assertion (private_key_jwt)",
        )
    })?;
    Ok(match params.get("client_secret") {
        Some(secret) => Credentials {
            client_id,
            proof: Proof::Secret(secret.clone()),
            method: AuthMethod::ClientSecretPost,
        },
        None => Credentials {
            client_id,
            proof: Proof::Nothing,
            method: AuthMethod::None,
        },
    })
}

/// RFC 7521 §4.2: the assertion names its client (`sub`); a `client_id` sent beside it
/// must be the same.
fn assertion_credentials(
    params: &HashMap<String, String>,
    assertion: &str,
) -> Result<Credentials, TokenFailure> {
    if params.contains_key("client_secret") {
        return Err(
            OAuthError::invalid_request("use one client authentication method, not two").into(),
        );
    }
    match params.get("client_assertion_type").map(String::as_str) {
        Some(JWT_BEARER) => {}
        Some(other) => {
            return Err(OAuthError::invalid_client(format!(
                "client_assertion_type `{other}` is not supported; use {JWT_BEARER}"
            ))
            .into())
        }
        None => {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type is missing; use {JWT_BEARER}"
            ))
            .into())
        }
    }
    let claims = unverified_claims(assertion).ok_or_else(|| {
        OAuthError::invalid_client("the client assertion is not a signed JWT (JWS compact)")
    })?;
    let subject = claims.get("sub").and_then(Value::as_str);
    let client_id = match (params.get("client_id"), subject) {
        (Some(named), Some(sub)) if named != sub => {
            return Err(OAuthError::invalid_client(format!(
                "client_id `{named}` is not the assertion's sub `{sub}`"
            ))
            .into())
        }
        (Some(named), _) => named.clone(),
        (None, Some(sub)) => sub.to_string(),
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "the client assertion has no sub (the client_id)",
            )
            .into())
        }
    };
    Ok(Credentials {
        client_id,
        proof: Proof::Assertion(assertion.to_string()),
        method: AuthMethod::PrivateKeyJwt,
    })
}

/// The claims of a compact JWS, read before its signature is checked (to find the client
/// whose keys check it).
fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl Provider {
    /// Authenticates the client of a request at `endpoint` (one of [`paths`]).
    pub async fn authenticated_client(
        &self,
        params: &HashMap<String, String>,
        authorization: Option<&str>,
        endpoint: &str,
    ) -> Result<Arc<Client>, TokenFailure> {
        let creds = credentials(params, authorization)?;
        let basic = creds.method == AuthMethod::ClientSecretBasic;
        let fail = |description: String| TokenFailure {
            error: OAuthError::invalid_client(description),
            unauthorized_basic: basic,
        };
        let client = self
            .clients
            .get(&creds.client_id)
            .ok_or_else(|| fail(format!("unknown client `{}`", creds.client_id)))?;
        if !client.accepts_auth_method(creds.method) {
            return Err(fail(format!(
                "client `{}` must authenticate with {}",
                client.client_id,
                client.auth_methods()
            )));
        }
        match &creds.proof {
            Proof::Secret(presented) => {
                let matches = client
                    .client_secret
                    .as_ref()
                    .is_some_and(|secret| secret.matches(presented));
                if !matches {
                    return Err(fail("the client secret is wrong".into()));
                }
            }
            Proof::Assertion(token) => self
                .verify_assertion(&client, token, endpoint)
                .await
                .map_err(|why| fail(format!("private_key_jwt: {why}")))?,
            Proof::Nothing => {}
        }
        Ok(client)
    }

    /// RFC 7523 §3 and OIDC Core §9: signature, issuer, subject, audience, expiry, and a
    /// `jti` not seen before.
    async fn verify_assertion(
        &self,
        client: &Client,
        token: &str,
        endpoint: &str,
    ) -> Result<(), String> {
        let header = jwt::decode_header(token).map_err(|_| "not a JWT".to_string())?;
        let named = |member: &str| header.claim(member).and_then(Value::as_str);
        let alg: JwsAlg = named("alg").unwrap_or("none").parse()?;
        if let Some(required) = client.token_endpoint_auth_signing_alg {
            if required != alg {
                return Err(format!(
                    "signed with {alg}; the client registered token_endpoint_auth_signing_alg {required}"
                ));
            }
        }
        let kid = named("kid");
        let keys = if alg.is_symmetric() {
            vec![secret_key(client, alg)?]
        } else {
            self.registered_keys(client, alg, kid).await?
        };
        let claims = keys
            .iter()
            .find_map(|key| {
                let verifier = alg.verifier(key).ok()?;
                jwt::decode_with_verifier(token, &*verifier).ok()
            })
            .map(|(payload, _)| payload)
            .ok_or("the signature does not verify with the client's registered keys")?;
        let claims: &Map<String, Value> = claims.claims_set();
        self.check_assertion_claims(client, claims, endpoint)
    }

    /// The client's registered keys that fit `alg` and `kid`, fetching a `jwks_uri` again
    /// when its cached copy has none.
    async fn registered_keys(
        &self,
        client: &Client,
        alg: JwsAlg,
        kid: Option<&str>,
    ) -> Result<Vec<Jwk>, String> {
        let mut keys = self
            .client_keys
            .keys(client, Freshness::Cached)
            .await
            .map(|keys| verification_keys(&keys, alg, kid))?;
        if keys.is_empty() && matches!(client.key_source(), Some(KeySource::Uri(_))) {
            keys = self
                .client_keys
                .keys(client, Freshness::Refetch)
                .await
                .map(|keys| verification_keys(&keys, alg, kid))?;
        }
        if keys.is_empty() {
            return Err(match kid {
                Some(kid) => format!("no key of the client's JWKS has kid `{kid}` and fits {alg}"),
                None => format!("no key of the client's JWKS fits {alg}"),
            });
        }
        Ok(keys)
    }

    fn check_assertion_claims(
        &self,
        client: &Client,
        claims: &Map<String, Value>,
        endpoint: &str,
    ) -> Result<(), String> {
        let id = client.client_id.as_str();
        for member in ["iss", "sub"] {
            let value = claims.get(member).and_then(Value::as_str);
            if value != Some(id) {
                return Err(format!(
                    "{member} must be the client_id `{id}`, not {}",
                    value.map_or("missing".into(), |v| format!("`{v}`"))
                ));
            }
        }
        let accepted = [
            self.issuer.clone(),
            self.endpoint(paths::TOKEN),
            self.endpoint(endpoint),
        ];
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences
            .iter()
            .any(|aud| accepted.iter().any(|a| a == aud))
        {
            return Err(format!(
                "aud {audiences:?} names neither the issuer {} nor the token endpoint {}",
                self.issuer,
                self.endpoint(paths::TOKEN)
            ));
        }
        let now = self.broker.clock.unix();
        let time = |member: &str| claims.get(member).and_then(Value::as_i64);
        let exp = time("exp").ok_or("exp is missing")?;
        if exp + ASSERTION_LEEWAY <= now {
            return Err(format!("expired at {exp} (now {now})"));
        }
        if let Some(nbf) = time("nbf").filter(|nbf| *nbf > now + ASSERTION_LEEWAY) {
            return Err(format!("not valid before {nbf} (now {now})"));
        }
        if let Some(iat) = time("iat").filter(|iat| *iat > now + ASSERTION_LEEWAY) {
            return Err(format!("issued in the future ({iat}, now {now})"));
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|jti| !jti.is_empty())
            .ok_or("jti is missing")?;
        self.replays
            .assertions
            .accept_once(format!("{id}\u{0}{jti}"), exp + ASSERTION_LEEWAY, now)
            .map_err(|refusal| match refusal {
                Refusal::Replayed => format!("jti `{jti}` was used before"),
                Refusal::Full => "too many assertions in flight; try again shortly".into(),
            })
    }
}

/// OIDC Core §10.1: an HMAC-signed JWT is keyed with the client secret, which must be as
/// long as the hash (RFC 7518 §3.2).
fn secret_key(client: &Client, alg: JwsAlg) -> Result<Jwk, String> {
    let secret = client
        .client_secret
        .as_ref()
        .ok_or_else(|| format!("{alg} is keyed with the client secret, and the client has none"))?;
    let mut key = Jwk::new("oct");
    key.set_key_value(secret.expose().as_bytes());
    let needed = match alg {
        JwsAlg::HS384 => 48,
        JwsAlg::HS512 => 64,
        _ => 32,
    };
    if secret.expose().len() < needed {
        return Err(format!(
            "{alg} needs a client secret of at least {needed} bytes (RFC 7518 §3.2)"
        ));
    }
    Ok(key)
}

/// The client a client-authenticated request claims to be, for the request record.
pub fn presented_client_id(
    pairs: &[(String, String)],
    authorization: Option<&str>,
) -> Option<String> {
    let params: HashMap<String, String> = pairs.iter().cloned().collect();
    credentials(&params, authorization)
        .ok()
        .map(|c| c.client_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20client:p%40ss+word"));
        let creds = credentials(&HashMap::new(), Some(&header)).ok().unwrap();
        assert_eq!(creds.client_id, "my client");
        assert!(matches!(creds.proof, Proof::Secret(ref s) if s == "p@ss word"));
    }

    #[test]
    fn an_assertion_names_its_client_and_goes_alone() {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"sub":"rp"}"#);
        let assertion = format!("eyJhbGciOiJSUzI1NiJ9.{claims}.c2ln");
        let mut params = HashMap::from([
            ("client_assertion".to_string(), assertion.clone()),
            ("client_assertion_type".to_string(), JWT_BEARER.to_string()),
        ]);
        let creds = credentials(&params, None).ok().unwrap();
        assert_eq!(creds.client_id, "rp");
        assert_eq!(creds.method, AuthMethod::PrivateKeyJwt);
        params.insert("client_id".into(), "other".into());
        assert!(credentials(&params, None).is_err(), "client_id ≠ sub");
        params.insert("client_id".into(), "rp".into());
        params.insert("client_secret".into(), "s".into());
        assert!(credentials(&params, None).is_err(), "two methods");
        params.remove("client_secret");
        params.insert("client_assertion_type".into(), "urn:other".into());
        assert!(credentials(&params, None).is_err());
    }
}

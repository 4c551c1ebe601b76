//! The public keys a client registered, and the check of what it signed with them.
//!
//! A client gives its keys inline (`jwks`, a JWK Set) or by reference (`jwks_uri`, fetched
//! and cached: kept for [`KEPT_FOR`], fetched again sooner when a JWS names a key the
//! cached set lacks, but such refetches at most once per [`REFETCH_PAUSE`]). Used for request objects
//! (RFC 9101) and any other JWS a client signs, such as a `private_key_jwt` assertion
//! (RFC 7523). The HMAC algorithms verify with the client's secret (OIDC Core §10.1).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{self, JwsHeader, JwsVerifier};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::clients::Client;

/// The JWS algorithms a client may sign with, in NEB's discovery order (recorded for
/// request objects and client assertions alike). Never `none`.
pub const JWS_ALGS: [&str; 12] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "HS256",
    "HS384", "HS512",
];

/// How long a fetched `jwks_uri` answer is used before it is fetched again.
pub const KEPT_FOR: Duration = Duration::from_secs(300);
/// The least time between two fetches of one `jwks_uri` for unknown `kid`s (a client that
/// rotated its keys is seen at once; a flood of strange kids fetches once a pause).
pub const REFETCH_PAUSE: Duration = Duration::from_secs(10);
/// The largest `jwks_uri` answer read.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// JWK members that only a private or symmetric key has: a registered key set must not
/// carry them (the broker needs only the public half, and must not hold the client's).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// A JWK Set registered inline (`jwks`): public keys only, each readable by josekit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct ClientJwks(Value);

impl ClientJwks {
    pub fn parse(value: Value) -> Result<Self, String> {
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("`jwks` must be a JWK Set: an object with a `keys` array")?;
        if keys.is_empty() {
            return Err("`jwks` has no keys".into());
        }
        for (index, key) in keys.iter().enumerate() {
            let Some(map) = key.as_object() else {
                return Err(format!("`jwks` key {index} is not an object"));
            };
            if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| map.contains_key(**m)) {
                return Err(format!(
                    "`jwks` key {index} has the private member `{member}`: register public keys only"
                ));
            }
            Jwk::from_map(map.clone())
                .map_err(|err| format!("`jwks` key {index} is not a JWK: {err}"))?;
        }
        Ok(Self(value))
    }

    fn key_set(&self) -> Result<JwkSet, String> {
        match &self.0 {
            Value::Object(map) => JwkSet::from_map(map.clone()).map_err(|err| err.to_string()),
            _ => Err("not a JWK Set".into()),
        }
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }
}

impl TryFrom<Value> for ClientJwks {
    type Error = String;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<ClientJwks> for Value {
    fn from(jwks: ClientJwks) -> Self {
        jwks.0
    }
}

/// Why a client's JWS was not accepted. The texts go into `error_description`s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientKeyError {
    #[error("not a compact JWS: {0}")]
    Malformed(String),
    #[error("the JWS algorithm `{0}` is not accepted (accepted: {1})")]
    Algorithm(String, String),
    #[error("client `{0}` has registered no keys (`jwks` or `jwks_uri`)")]
    NoKeys(String),
    #[error("client `{0}` has no client secret to verify an HMAC signature with")]
    NoSecret(String),
    #[error("the client's jwks_uri {uri} could not be read: {reason}")]
    Unreachable { uri: String, reason: String },
    #[error("no key registered for client `{client}` fits the JWS (alg {alg}, kid {kid})")]
    UnregisteredKey {
        client: String,
        alg: String,
        kid: String,
    },
    #[error("the signature does not verify with the key registered for client `{0}`")]
    BadSignature(String),
    #[error("the JWS payload is not a JSON object")]
    NotJson,
}

/// A JWS the client signed, checked.
#[derive(Debug, Clone)]
pub struct VerifiedJws {
    pub alg: String,
    pub header: JwsHeader,
    pub claims: Map<String, Value>,
}

struct Fetched {
    keys: Arc<JwkSet>,
    at: Instant,
    /// When an unknown kid last made the broker fetch again.
    refetched: Option<Instant>,
}

/// Every client's keys: inline sets as registered, `jwks_uri` answers cached by URI.
pub struct ClientKeys {
    http: reqwest::Client,
    fetched: DashMap<String, Fetched>,
}

impl Default for ClientKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientKeys {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap_or_default();
        Self {
            http,
            fetched: DashMap::new(),
        }
    }

    /// Checks a compact JWS `client` signed with one of the `accepted` algorithms (a
    /// subset of [`JWS_ALGS`]) and returns its header and JSON claims. Times inside the
    /// claims are the caller's to check.
    pub async fn verify(
        &self,
        client: &Client,
        jws: &str,
        accepted: &[&str],
    ) -> Result<VerifiedJws, ClientKeyError> {
        let header = josekit::jwt::decode_header(jws)
            .map_err(|err| ClientKeyError::Malformed(err.to_string()))?;
        if jws.split('.').count() != 3 {
            return Err(ClientKeyError::Malformed("it has not three parts".into()));
        }
        let alg = header
            .claim("alg")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !accepted.contains(&alg.as_str()) || !JWS_ALGS.contains(&alg.as_str()) {
            return Err(ClientKeyError::Algorithm(alg, accepted.join(", ")));
        }
        let kid = header
            .claim("kid")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (payload, header) = if alg.starts_with("HS") {
            let secret = client
                .client_secret
                .as_ref()
                .ok_or_else(|| ClientKeyError::NoSecret(client.client_id.clone()))?;
            let verifier = hmac_verifier(&alg, secret.expose().as_bytes())
                .ok_or_else(|| ClientKeyError::NoSecret(client.client_id.clone()))?;
            jws::deserialize_compact(jws, verifier.as_ref())
                .map_err(|_| ClientKeyError::BadSignature(client.client_id.clone()))?
        } else {
            self.verify_with_registered_key(client, jws, &alg, kid.as_deref())
                .await?
        };
        let claims = match serde_json::from_slice::<Value>(&payload) {
            Ok(Value::Object(claims)) => claims,
            _ => return Err(ClientKeyError::NotJson),
        };
        Ok(VerifiedJws {
            alg,
            header,
            claims,
        })
    }

    async fn verify_with_registered_key(
        &self,
        client: &Client,
        jws: &str,
        alg: &str,
        kid: Option<&str>,
    ) -> Result<(Vec<u8>, JwsHeader), ClientKeyError> {
        let mut keys = self.key_set(client, false).await?;
        let mut verifiers = fitting_verifiers(&keys, alg, kid);
        if verifiers.is_empty() && client.jwks.is_none() {
            // The client may have rotated its keys since they were fetched.
            keys = self.key_set(client, true).await?;
            verifiers = fitting_verifiers(&keys, alg, kid);
        }
        if verifiers.is_empty() {
            return Err(ClientKeyError::UnregisteredKey {
                client: client.client_id.clone(),
                alg: alg.to_string(),
                kid: kid.unwrap_or("none").to_string(),
            });
        }
        verifiers
            .iter()
            .find_map(|verifier| jws::deserialize_compact(jws, verifier.as_ref()).ok())
            .ok_or_else(|| ClientKeyError::BadSignature(client.client_id.clone()))
    }

    /// The client's key set: the inline one, or its `jwks_uri`'s (cached). `refetch`
    /// (a JWS named a key the cached set lacks) fetches again, unless another refetch
    /// happened less than [`REFETCH_PAUSE`] ago.
    pub async fn key_set(
        &self,
        client: &Client,
        refetch: bool,
    ) -> Result<Arc<JwkSet>, ClientKeyError> {
        if let Some(jwks) = &client.jwks {
            return jwks
                .key_set()
                .map(Arc::new)
                .map_err(|reason| ClientKeyError::Unreachable {
                    uri: "(inline jwks)".into(),
                    reason,
                });
        }
        let Some(uri) = client.jwks_uri.as_ref().map(|u| u.as_str().to_string()) else {
            return Err(ClientKeyError::NoKeys(client.client_id.clone()));
        };
        let mut refetched = None;
        if let Some(cached) = self.fetched.get(&uri) {
            let usable = if refetch {
                cached
                    .refetched
                    .is_some_and(|at| at.elapsed() < REFETCH_PAUSE)
            } else {
                cached.at.elapsed() < KEPT_FOR
            };
            if usable {
                return Ok(Arc::clone(&cached.keys));
            }
            refetched = cached.refetched;
        }
        let keys = Arc::new(self.fetch(&uri).await?);
        let now = Instant::now();
        self.fetched.insert(
            uri,
            Fetched {
                keys: Arc::clone(&keys),
                at: now,
                refetched: if refetch { Some(now) } else { refetched },
            },
        );
        Ok(keys)
    }

    /// Forgets what was fetched from a client's `jwks_uri` (the client changed).
    pub fn forget(&self, client: &Client) {
        if let Some(uri) = &client.jwks_uri {
            self.fetched.remove(uri.as_str());
        }
    }

    async fn fetch(&self, uri: &str) -> Result<JwkSet, ClientKeyError> {
        let unreachable = |reason: String| ClientKeyError::Unreachable {
            uri: uri.to_string(),
            reason,
        };
        let mut response = self
            .http
            .get(uri)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| unreachable(err.to_string()))?;
        if !response.status().is_success() {
            return Err(unreachable(format!("HTTP {}", response.status().as_u16())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| unreachable(err.to_string()))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(unreachable(format!(
                    "the answer is longer than {MAX_JWKS_BYTES} bytes"
                )));
            }
        }
        let value: Value =
            serde_json::from_slice(&body).map_err(|err| unreachable(format!("not JSON: {err}")))?;
        ClientJwks::parse(value)
            .and_then(|jwks| jwks.key_set())
            .map_err(unreachable)
    }
}

/// A verifier for each registered key that could have made a signature with `alg`: the
/// right key type (and curve), meant for signing, and the `kid` if the JWS names one.
fn fitting_verifiers(keys: &JwkSet, alg: &str, kid: Option<&str>) -> Vec<Box<dyn JwsVerifier>> {
    let candidates = match kid {
        Some(kid) => keys.get(kid),
        None => keys.keys(),
    };
    candidates
        .into_iter()
        .filter(|jwk| jwk.key_use().is_none_or(|u| u == "sig"))
        .filter(|jwk| jwk.algorithm().is_none_or(|a| a == alg))
        .filter_map(|jwk| asymmetric_verifier(alg, jwk))
        .collect()
}

fn asymmetric_verifier(alg: &str, jwk: &Jwk) -> Option<Box<dyn JwsVerifier>> {
    let verifier: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(jws::RS256.verifier_from_jwk(jwk).ok()?),
        "RS384" => Box::new(jws::RS384.verifier_from_jwk(jwk).ok()?),
        "RS512" => Box::new(jws::RS512.verifier_from_jwk(jwk).ok()?),
        "PS256" => Box::new(jws::PS256.verifier_from_jwk(jwk).ok()?),
        "PS384" => Box::new(jws::PS384.verifier_from_jwk(jwk).ok()?),
        "PS512" => Box::new(jws::PS512.verifier_from_jwk(jwk).ok()?),
        "ES256" => Box::new(jws::ES256.verifier_from_jwk(jwk).ok()?),
        "ES384" => Box::new(jws::ES384.verifier_from_jwk(jwk).ok()?),
        "ES512" => Box::new(jws::ES512.verifier_from_jwk(jwk).ok()?),
        _ => return None,
    };
    Some(verifier)
}

fn hmac_verifier(alg: &str, secret: &[u8]) -> Option<Box<dyn JwsVerifier>> {
    let verifier: Box<dyn JwsVerifier> = match alg {
        "HS256" => Box::new(jws::HS256.verifier_from_bytes(secret).ok()?),
        "HS384" => Box::new(jws::HS384.verifier_from_bytes(secret).ok()?),
        "HS512" => Box::new(jws::HS512.verifier_from_bytes(secret).ok()?),
        _ => return None,
    };
    Some(verifier)
}

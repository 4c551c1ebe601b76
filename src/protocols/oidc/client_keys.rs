//! A client's own keys (RFC 7591 `jwks` or `jwks_uri`): the keys its `private_key_jwt`
//! assertions are verified with, and the `enc` key the broker encrypts id_tokens and
//! userinfo to. (HMAC-signed JWTs verify with the client secret instead, OIDC Core §10.1.) Keys behind a `jwks_uri` are fetched when first needed, kept for a few
//! minutes, and fetched again at once (at most once a second) when a JWT names a key the
//! copy does not have, so a client that rotates its keys is not refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use josekit::jwk::Jwk;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::algorithms::{JwsAlg, KeyAlg};
use super::clients::Client;

/// How long a fetched key set is used before it is fetched again.
pub const CACHE_TIME: Duration = Duration::from_secs(300);
/// The least time between two fetches of one client's keys, so JWTs naming unknown keys
/// cannot make the broker hammer a client's server.
pub const REFETCH_PAUSE: Duration = Duration::from_secs(1);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_DOCUMENT: usize = 256 * 1024;

/// Members of a private or symmetric key: a registration carries public keys only.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A JWK Set a client registered inline (`jwks`), checked when registered.
#[derive(Clone, Debug)]
pub struct ClientJwks {
    document: Value,
    keys: Arc<Vec<Jwk>>,
}

impl PartialEq for ClientJwks {
    fn eq(&self, other: &Self) -> bool {
        self.document == other.document
    }
}

impl ClientJwks {
    pub fn parse(document: Value) -> Result<Self, String> {
        let keys = parse_key_set(&document)?;
        Ok(Self {
            document,
            keys: Arc::new(keys),
        })
    }

    pub fn keys(&self) -> &Arc<Vec<Jwk>> {
        &self.keys
    }
}

impl Serialize for ClientJwks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.document.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ClientJwks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ClientJwks::parse(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// The keys of a JWK Set document (`{"keys": [...]}`), each a valid JWK without private
/// members.
pub fn parse_key_set(document: &Value) -> Result<Vec<Jwk>, String> {
    let keys = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("a JWK Set is an object with a `keys` array")?;
    keys.iter()
        .enumerate()
        .map(|(index, key)| {
            let map = key
                .as_object()
                .ok_or_else(|| format!("keys[{index}] is not a JSON object"))?;
            let jwk = Jwk::from_map(map.clone())
                .map_err(|err| format!("keys[{index}] is not a JWK: {err}"))?;
            if !matches!(jwk.key_type(), "RSA" | "EC") {
                return Err(format!(
                    "keys[{index}]: kty `{}` is not used here (RSA or EC)",
                    jwk.key_type()
                ));
            }
            if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| map.contains_key(**m)) {
                return Err(format!(
                    "keys[{index}] has the private member `{member}`: register the public key only"
                ));
            }
            Ok(jwk)
        })
        .collect()
}

/// Where a client's keys come from, if it has any.
#[derive(Clone, Debug, PartialEq)]
pub enum KeySource<'a> {
    Inline(&'a ClientJwks),
    Uri(&'a str),
}

impl Client {
    pub fn key_source(&self) -> Option<KeySource<'_>> {
        match (&self.jwks, &self.jwks_uri) {
            (Some(jwks), _) => Some(KeySource::Inline(jwks)),
            (None, Some(uri)) => Some(KeySource::Uri(uri.as_str())),
            (None, None) => None,
        }
    }
}

/// Whether a key set may be fetched again before its cache time is out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Cached,
    /// A JWT named a key the cached copy lacks.
    Refetch,
}

struct Fetched {
    uri: String,
    keys: Arc<Vec<Jwk>>,
    at: Instant,
}

/// The clients' key sets fetched from their `jwks_uri`.
pub struct ClientKeys {
    fetched: DashMap<String, Fetched>,
    http: reqwest::Client,
}

impl Default for ClientKeys {
    fn default() -> Self {
        Self {
            fetched: DashMap::new(),
            http: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }
}

impl ClientKeys {
    /// The client's keys; an empty set when it registered none.
    pub async fn keys(
        &self,
        client: &Client,
        freshness: Freshness,
    ) -> Result<Arc<Vec<Jwk>>, String> {
        let uri = match client.key_source() {
            None => return Ok(Arc::default()),
            Some(KeySource::Inline(jwks)) => return Ok(Arc::clone(jwks.keys())),
            Some(KeySource::Uri(uri)) => uri,
        };
        if let Some(cached) = self.fetched.get(&client.client_id) {
            let age = cached.at.elapsed();
            let usable = cached.uri == uri
                && age < CACHE_TIME
                && (freshness == Freshness::Cached || age < REFETCH_PAUSE);
            if usable {
                return Ok(Arc::clone(&cached.keys));
            }
        }
        let keys = Arc::new(self.fetch(uri).await?);
        self.fetched.insert(
            client.client_id.clone(),
            Fetched {
                uri: uri.to_string(),
                keys: Arc::clone(&keys),
                at: Instant::now(),
            },
        );
        Ok(keys)
    }

    /// Drops a client's fetched keys (its registration changed).
    pub fn forget(&self, client_id: &str) {
        self.fetched.remove(client_id);
    }

    async fn fetch(&self, uri: &str) -> Result<Vec<Jwk>, String> {
        let failed = |why: String| format!("the client's jwks_uri {uri} could not be read: {why}");
        let mut response = self
            .http
            .get(uri)
            .header(
                reqwest::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
            .send()
            .await
            .map_err(|err| failed(err.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("it answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT {
                return Err(failed(format!("it is larger than {MAX_DOCUMENT} bytes")));
            }
        }
        let document: Value =
            serde_json::from_slice(&body).map_err(|err| failed(format!("not JSON: {err}")))?;
        parse_key_set(&document).map_err(failed)
    }
}

/// The keys that may have signed a JWT with this `alg` and `kid`: of the algorithm's key
/// type, not marked for encryption, without another `alg`, and with the `kid` if one is
/// named. A key is given without its `kid` when the JWT names none, as josekit then
/// insists on a match.
pub fn verification_keys(keys: &[Jwk], alg: JwsAlg, kid: Option<&str>) -> Vec<Jwk> {
    keys.iter()
        .filter(|key| key.key_type() == alg.key_type())
        .filter(|key| key.key_use().is_none_or(|u| u == "sig"))
        .filter(|key| key.algorithm().is_none_or(|a| a == alg.name()))
        .filter(|key| kid.is_none_or(|kid| key.key_id() == Some(kid)))
        .map(|key| {
            let mut key = key.clone();
            if kid.is_none() {
                // Removing a member that exists cannot fail.
                let _ = key.set_parameter("kid", None);
            }
            key
        })
        .collect()
}

/// The key to encrypt to with `alg`: of its key type, not marked for signing, without
/// another `alg`; one marked `use: enc` is preferred.
pub fn encryption_key(keys: &[Jwk], alg: KeyAlg) -> Option<&Jwk> {
    let usable = |key: &&Jwk| {
        key.key_type() == alg.key_type()
            && key.key_use().is_none_or(|u| u == "enc")
            && key.algorithm().is_none_or(|a| a == alg.name())
    };
    keys.iter()
        .filter(usable)
        .find(|key| key.key_use() == Some("enc"))
        .or_else(|| keys.iter().find(usable))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn public(key: &Jwk, extra: &[(&str, &str)]) -> Value {
        let mut map = key.to_public_key().unwrap().as_ref().clone();
        for (name, value) in extra {
            map.insert((*name).into(), (*value).into());
        }
        Value::Object(map)
    }

    #[test]
    fn a_registered_set_must_hold_public_keys_only() {
        let rsa = Jwk::generate_rsa_key(2048).unwrap();
        assert!(ClientJwks::parse(json!({ "keys": [public(&rsa, &[])] })).is_ok());
        let private = Value::Object(rsa.as_ref().clone());
        let refused = ClientJwks::parse(json!({ "keys": [private] })).unwrap_err();
        assert!(refused.contains("private member `d`"), "{refused}");
        assert!(ClientJwks::parse(json!([])).is_err());
        assert!(ClientJwks::parse(json!({ "keys": [{ "kty": "OKP" }] })).is_err());
        let shared = json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] });
        assert!(ClientJwks::parse(shared).unwrap_err().contains("`oct`"));
    }

    #[test]
    fn keys_are_chosen_by_type_use_alg_and_kid() {
        let signing = Jwk::generate_rsa_key(2048).unwrap();
        let encryption = Jwk::generate_rsa_key(2048).unwrap();
        let set = ClientJwks::parse(json!({ "keys": [
            public(&signing, &[("kid", "s1"), ("use", "sig")]),
            public(&encryption, &[("kid", "e1"), ("use", "enc")]),
        ]}))
        .unwrap();
        let keys = set.keys();
        assert_eq!(verification_keys(keys, JwsAlg::RS256, Some("s1")).len(), 1);
        assert!(verification_keys(keys, JwsAlg::RS256, Some("e1")).is_empty());
        assert!(verification_keys(keys, JwsAlg::ES256, None).is_empty());
        let unnamed = verification_keys(keys, JwsAlg::PS256, None);
        assert_eq!(unnamed.len(), 1);
        assert_eq!(unnamed[0].key_id(), None);
        assert_eq!(
            encryption_key(keys, KeyAlg::RsaOaep256).and_then(Jwk::key_id),
            Some("e1")
        );
        assert!(encryption_key(keys, KeyAlg::EcdhEs).is_none());
    }
}

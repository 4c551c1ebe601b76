//! The broker's signing keys: an ES256 key (the default, as the real broker) and an
//! RS256 key for clients registered for it. Generated at start, or read from a folder.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{JwsHeader, JwsSigner, ES256, RS256};
use josekit::jwt::{self, JwtPayload};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::watch;

pub const ES256_FILE: &str = "es256.pem";
pub const RS256_FILE: &str = "rs256.pem";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    #[default]
    ES256,
    RS256,
}

impl SigningAlg {
    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
        }
    }
}

impl FromStr for SigningAlg {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ES256" => Ok(SigningAlg::ES256),
            "RS256" => Ok(SigningAlg::RS256),
            other => Err(format!(
                "unsupported signing algorithm `{other}`: use ES256 or RS256"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a {alg} private key in PEM: {source}")]
    Parse {
        path: String,
        alg: &'static str,
        source: josekit::JoseError,
    },
    #[error("signing failed: {0}")]
    Sign(#[from] josekit::JoseError),
    #[error("the RS256 key could not be generated")]
    RsaUnavailable,
    #[error("{0}")]
    Untrusted(String),
}

struct SigningKey {
    kid: String,
    signer: Box<dyn JwsSigner>,
    public_jwk: Jwk,
    private_pem: Vec<u8>,
}

impl SigningKey {
    fn from_pem(alg: SigningAlg, pem: &[u8]) -> Result<Self, josekit::JoseError> {
        let (signer, public_jwk): (Box<dyn JwsSigner>, Jwk) = match alg {
            SigningAlg::ES256 => (
                Box::new(ES256.signer_from_pem(pem)?),
                ES256.key_pair_from_pem(pem)?.to_jwk_public_key(),
            ),
            SigningAlg::RS256 => (
                Box::new(RS256.signer_from_pem(pem)?),
                RS256.key_pair_from_pem(pem)?.to_jwk_public_key(),
            ),
        };
        let kid = thumbprint(&public_jwk);
        let mut public_jwk = public_jwk;
        public_jwk.set_key_id(&kid);
        public_jwk.set_algorithm(alg.name());
        public_jwk.set_key_use("sig");
        Ok(Self {
            kid,
            signer,
            public_jwk,
            private_pem: pem.to_vec(),
        })
    }
}

/// RFC 7638 JWK thumbprint: stable across restarts with the same key.
fn thumbprint(jwk: &Jwk) -> String {
    let members: &[&str] = match jwk.key_type() {
        "EC" => &["crv", "kty", "x", "y"],
        _ => &["e", "kty", "n"],
    };
    // serde_json's Map keeps keys sorted, which is the canonical order RFC 7638 asks for.
    let required: Map<String, Value> = members
        .iter()
        .filter_map(|m| jwk.parameter(m).map(|v| (m.to_string(), v.clone())))
        .collect();
    let canonical = serde_json::to_vec(&required).expect("a JSON map always serialises");
    URL_SAFE_NO_PAD.encode(openssl::sha::sha256(&canonical))
}

/// The RSA key is generated on a thread of its own: it takes 50 to 400 ms, and the broker
/// must answer at once. Only RS256 signing and the JWKS wait for it, and only once.
type PendingKey = watch::Receiver<Option<Arc<SigningKey>>>;

/// One generation of keys: an ES256 key and an RS256 key. Rotation starts a new one.
pub(crate) struct Generation {
    es256: Arc<SigningKey>,
    rs256: PendingKey,
}

impl Generation {
    fn generate() -> Result<Self, KeyError> {
        let ec = ES256.generate_key_pair()?.to_pem_private_key();
        let (sender, receiver) = watch::channel(None);
        std::thread::spawn(move || {
            let generated = RS256.generate_key_pair(2048).and_then(|pair| {
                SigningKey::from_pem(SigningAlg::RS256, &pair.to_pem_private_key())
            });
            match generated {
                Ok(key) => {
                    sender.send_replace(Some(Arc::new(key)));
                }
                // Dropping the sender tells waiters the key will never come.
                Err(err) => tracing::error!("RS256 key generation failed: {err}"),
            }
        });
        Ok(Self {
            es256: Arc::new(SigningKey::from_pem(SigningAlg::ES256, &ec)?),
            rs256: receiver,
        })
    }

    fn from_pems(es256: &[u8], rs256: &[u8]) -> Result<Self, josekit::JoseError> {
        let rs256 = SigningKey::from_pem(SigningAlg::RS256, rs256)?;
        let (_, receiver) = watch::channel(Some(Arc::new(rs256)));
        Ok(Self {
            es256: Arc::new(SigningKey::from_pem(SigningAlg::ES256, es256)?),
            rs256: receiver,
        })
    }

    async fn key(&self, alg: SigningAlg) -> Result<Arc<SigningKey>, KeyError> {
        match alg {
            SigningAlg::ES256 => Ok(Arc::clone(&self.es256)),
            SigningAlg::RS256 => {
                let mut pending = self.rs256.clone();
                let ready = pending
                    .wait_for(Option::is_some)
                    .await
                    .map_err(|_| KeyError::RsaUnavailable)?;
                ready.clone().ok_or(KeyError::RsaUnavailable)
            }
        }
    }

    /// The private keys in PEM, ES256 then RS256.
    pub(crate) async fn pems(&self) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
        Ok((
            self.key(SigningAlg::ES256).await?.private_pem.clone(),
            self.key(SigningAlg::RS256).await?.private_pem.clone(),
        ))
    }
}

/// The least time a retired generation stays in the JWKS (and verifies logout hints)
/// after its retirement; the broker keeps it as long as a session lives, if longer.
pub const RETIRED_KEYS_KEPT: time::Duration = time::Duration::hours(1);

/// The broker's signing keys: the current generation signs; retired ones only verify.
/// Swapped atomically on rotation, so signing never waits on a lock.
pub struct KeySet {
    current: ArcSwap<Generation>,
    retired: ArcSwap<Vec<(i64, Arc<Generation>)>>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("es256", &self.current.load().es256.kid)
            .field("retired", &self.retired.load().len())
            .finish()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: &'static str,
    /// `current` signs; `retired` only verifies until `retired_at + 1 h`.
    pub status: &'static str,
    pub retired_at: Option<i64>,
}

impl KeySet {
    fn with(current: Generation) -> Self {
        Self {
            current: ArcSwap::from_pointee(current),
            retired: ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// Fresh keys for this run; the RSA key follows in the background.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self::with(Generation::generate()?))
    }

    /// Reads `es256.pem` and `rs256.pem` (PKCS#8 or traditional PEM) from `dir`.
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let read = |file: &str| -> Result<(String, Vec<u8>), KeyError> {
            let path = dir.join(file);
            let pem = std::fs::read(&path).map_err(|source| KeyError::Read {
                path: path.display().to_string(),
                source,
            })?;
            Ok((path.display().to_string(), pem))
        };
        let (es_path, es_pem) = read(ES256_FILE)?;
        let (rs_path, rs_pem) = read(RS256_FILE)?;
        SigningKey::from_pem(SigningAlg::ES256, &es_pem).map_err(|source| KeyError::Parse {
            path: es_path,
            alg: "ES256",
            source,
        })?;
        let generation =
            Generation::from_pems(&es_pem, &rs_pem).map_err(|source| KeyError::Parse {
                path: rs_path,
                alg: "RS256",
                source,
            })?;
        Ok(Self::with(generation))
    }

    /// Keys from PEM bytes (the state directory's copy).
    pub fn from_pems(es256: &[u8], rs256: &[u8]) -> Result<Self, KeyError> {
        Ok(Self::with(Generation::from_pems(es256, rs256)?))
    }

    pub(crate) fn current(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// Starts a new generation: new kids are published and used for signing; the old
    /// keys stay published for verification for a while.
    pub fn rotate(&self, now: i64) -> Result<(), KeyError> {
        let fresh = Arc::new(Generation::generate()?);
        let old = self.current.swap(fresh);
        // rcu: concurrent rotations each add their generation; none is lost.
        self.retired.rcu(|retired| {
            let mut next = (**retired).clone();
            next.push((now, Arc::clone(&old)));
            next
        });
        Ok(())
    }

    /// Forgets retired keys older than `keep` (at least [`RETIRED_KEYS_KEPT`]).
    pub fn prune(&self, now: i64, keep: time::Duration) {
        let keep = keep.max(RETIRED_KEYS_KEPT).whole_seconds();
        self.retired.rcu(|retired| {
            retired
                .iter()
                .filter(|(at, _)| now - at <= keep)
                .cloned()
                .collect::<Vec<_>>()
        });
    }

    async fn key(&self, alg: SigningAlg) -> Result<Arc<SigningKey>, KeyError> {
        self.current().key(alg).await
    }

    /// Every published key, current first.
    async fn published(
        &self,
    ) -> Result<Vec<(Arc<SigningKey>, &'static str, Option<i64>)>, KeyError> {
        let mut keys = Vec::new();
        let current = self.current();
        for alg in [SigningAlg::ES256, SigningAlg::RS256] {
            keys.push((current.key(alg).await?, alg.name(), None));
        }
        for (at, generation) in self.retired.load().iter() {
            for alg in [SigningAlg::ES256, SigningAlg::RS256] {
                keys.push((generation.key(alg).await?, alg.name(), Some(*at)));
            }
        }
        Ok(keys)
    }

    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        Ok(self
            .published()
            .await?
            .into_iter()
            .map(|(key, alg, retired_at)| KeyInfo {
                kid: key.kid.clone(),
                alg,
                status: if retired_at.is_some() {
                    "retired"
                } else {
                    "current"
                },
                retired_at,
            })
            .collect())
    }

    /// Writes the current private keys so a later run can reuse them with `--keys`.
    pub async fn save(&self, dir: &Path) -> Result<(), KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Write {
            path: dir.display().to_string(),
            source,
        })?;
        let (es256, rs256) = self.current().pems().await?;
        for (pem, file) in [(es256, ES256_FILE), (rs256, RS256_FILE)] {
            let path = dir.join(file);
            std::fs::write(&path, pem).map_err(|source| KeyError::Write {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    pub async fn kid(&self, alg: SigningAlg) -> Result<String, KeyError> {
        Ok(self.key(alg).await?.kid.clone())
    }

    /// The public JWK Set served at the JWKS endpoint: current and retired keys.
    pub async fn jwks(&self) -> Result<Value, KeyError> {
        let keys: Vec<Value> = self
            .published()
            .await?
            .into_iter()
            .map(|(key, _, _)| Value::Object(key.public_jwk.as_ref().clone()))
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// Checks a token this broker signed (an `id_token_hint`, a logout request) and
    /// returns its claims. Expiry is the caller's business: expired hints are allowed.
    pub async fn verify(&self, token: &str) -> Result<Map<String, Value>, KeyError> {
        let header = jwt::decode_header(token)
            .map_err(|err| KeyError::Untrusted(format!("not a JWT: {err}")))?;
        let alg = header
            .claim("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kid = header
            .claim("kid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let key = self
            .published()
            .await?
            .into_iter()
            .find(|(key, key_alg, _)| key.kid == kid && *key_alg == alg)
            .map(|(key, _, _)| key)
            .ok_or_else(|| {
                KeyError::Untrusted("the token is not signed with a key of this broker".into())
            })?;
        let verified = match alg.as_str() {
            "ES256" => jwt::decode_with_verifier(token, &ES256.verifier_from_jwk(&key.public_jwk)?),
            _ => jwt::decode_with_verifier(token, &RS256.verifier_from_jwk(&key.public_jwk)?),
        };
        let (payload, _) = verified
            .map_err(|err| KeyError::Untrusted(format!("the signature does not verify: {err}")))?;
        Ok(payload.claims_set().clone())
    }

    /// Signs `claims` as a compact JWS with the given `typ` header.
    pub async fn sign(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: Map<String, Value>,
    ) -> Result<String, KeyError> {
        let key = self.key(alg).await?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&key.kid);
        let payload = JwtPayload::from_map(claims)?;
        Ok(jwt::encode_with_signer(
            &payload,
            &header,
            key.signer.as_ref(),
        )?)
    }

    /// The public key of the current generation in PEM, for fault injection (HS256
    /// keyed with the RSA public key).
    pub async fn public_pem(&self, alg: SigningAlg) -> Result<Vec<u8>, KeyError> {
        let key = self.key(alg).await?;
        let public = match alg {
            SigningAlg::ES256 => ES256
                .key_pair_from_pem(&key.private_pem)?
                .to_pem_public_key(),
            SigningAlg::RS256 => RS256
                .key_pair_from_pem(&key.private_pem)?
                .to_pem_public_key(),
        };
        Ok(public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_survive_a_save_and_load_with_the_same_kids() {
        let keys = KeySet::generate().unwrap();
        let dir = std::env::temp_dir().join(format!("mitid-sim-keys-{}", uuid::Uuid::new_v4()));
        keys.save(&dir).await.unwrap();
        let loaded = KeySet::load(&dir).unwrap();
        for alg in [SigningAlg::ES256, SigningAlg::RS256] {
            assert_eq!(loaded.kid(alg).await.unwrap(), keys.kid(alg).await.unwrap());
        }
        assert_ne!(
            keys.kid(SigningAlg::ES256).await.unwrap(),
            keys.kid(SigningAlg::RS256).await.unwrap()
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn the_test_keys_in_certs_load() {
        let keys = KeySet::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/certs"))).unwrap();
        assert_eq!(
            keys.jwks().await.unwrap()["keys"].as_array().unwrap().len(),
            2
        );
    }

    #[tokio::test]
    async fn a_rotation_publishes_new_kids_and_keeps_the_old_ones_for_a_while() {
        let keys = KeySet::generate().unwrap();
        let old_kid = keys.kid(SigningAlg::ES256).await.unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), "abc".into());
        let old_token = keys
            .sign(SigningAlg::ES256, "JWT", claims.clone())
            .await
            .unwrap();
        keys.rotate(1_000).unwrap();
        let new_kid = keys.kid(SigningAlg::ES256).await.unwrap();
        assert_ne!(old_kid, new_kid);
        assert_eq!(
            keys.jwks().await.unwrap()["keys"].as_array().unwrap().len(),
            4
        );
        assert!(
            keys.verify(&old_token).await.is_ok(),
            "retired keys still verify"
        );
        keys.prune(1_000 + 3_599, time::Duration::ZERO);
        assert_eq!(
            keys.jwks().await.unwrap()["keys"].as_array().unwrap().len(),
            4,
            "kept an hour at least"
        );
        keys.prune(
            1_000 + RETIRED_KEYS_KEPT.whole_seconds() + 1,
            time::Duration::ZERO,
        );
        assert_eq!(
            keys.jwks().await.unwrap()["keys"].as_array().unwrap().len(),
            2
        );
        assert!(keys.verify(&old_token).await.is_err());
    }

    #[tokio::test]
    async fn a_signed_token_verifies_against_the_published_key() {
        let keys = KeySet::generate().unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), "abc".into());
        let token = keys.sign(SigningAlg::ES256, "JWT", claims).await.unwrap();
        let jwks = keys.jwks().await.unwrap();
        let jwk = Jwk::from_map(jwks["keys"][0].as_object().unwrap().clone()).unwrap();
        let verifier = ES256.verifier_from_jwk(&jwk).unwrap();
        let (payload, header) = jwt::decode_with_verifier(&token, &verifier).unwrap();
        assert_eq!(payload.subject(), Some("abc"));
        assert_eq!(
            header.key_id(),
            Some(keys.kid(SigningAlg::ES256).await.unwrap().as_str())
        );
    }

    #[test]
    fn a_missing_key_file_names_the_path() {
        let err = KeySet::load(Path::new("/nonexistent-dir")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir/es256.pem"),
            "{err}"
        );
    }
}

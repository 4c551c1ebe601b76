//! The broker's signing keys, as the real broker has them: an RSA key whose self-signed
//! certificate RPs can pin (RS256 by default, PS256 too), and a P-256 key for clients
//! registered for ES256. Generated, read from a folder, or kept in one across restarts.

mod certificate;
mod folder;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use josekit::jws::JwsHeader;
use josekit::jwt::{self, JwtPayload};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::watch;

pub use certificate::{CertificateInfo, KeyType, MissingCertificate};
pub use folder::{EC_FILE, RSA_FILE};

use certificate::SigningKey;

/// How id_tokens and logout tokens of a client are signed. RS256 is the default, as the
/// real broker's discovery says and its tokens show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    #[default]
    RS256,
    PS256,
    ES256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::PS256, SigningAlg::ES256];

    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::ES256 => "ES256",
        }
    }

    pub fn key_type(self) -> KeyType {
        match self {
            SigningAlg::RS256 | SigningAlg::PS256 => KeyType::Rsa,
            SigningAlg::ES256 => KeyType::Ec,
        }
    }
}

impl FromStr for SigningAlg {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SigningAlg::ALL
            .into_iter()
            .find(|alg| alg.name() == text)
            .ok_or_else(|| {
                format!("unsupported signing algorithm `{text}`: use RS256, PS256 or ES256")
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] crate::files::WriteError),
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error(
        "{path} has a private key but no certificate (RPs pin the certificate); \
         `mitid-sim certs generate --out <its folder>` adds one for the key"
    )]
    MissingCertificate { path: String },
    #[error("signing failed: {0}")]
    Sign(#[from] josekit::JoseError),
    #[error("key or certificate operation failed: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    #[error("no {} key signs {}", .0.key_type().name(), .0.name())]
    WrongKeyType(SigningAlg),
    #[error("the RSA key could not be generated")]
    RsaUnavailable,
    #[error("{0}")]
    Untrusted(String),
}

/// The RSA key is generated on a thread of its own: it takes 50 to 400 ms, and the broker
/// must answer at once. Only RSA signing and the JWKS wait for it, and only once.
type PendingKey = watch::Receiver<Option<Arc<SigningKey>>>;

/// Called with each key a generation had to make, so it can be kept.
type OnGenerated = Arc<dyn Fn(&SigningKey) + Send + Sync>;

/// One generation of keys: an RSA key and an EC key. Rotation starts a new one.
pub(crate) struct Generation {
    ec: Arc<SigningKey>,
    rsa: PendingKey,
}

impl Generation {
    /// Uses the keys given and generates the missing ones (the RSA key in the background).
    fn build(
        rsa: Option<SigningKey>,
        ec: Option<SigningKey>,
        on_generated: Option<OnGenerated>,
    ) -> Result<Self, KeyError> {
        let ec = match ec {
            Some(ec) => ec,
            None => {
                let ec = SigningKey::generate(KeyType::Ec)?;
                if let Some(keep) = &on_generated {
                    keep(&ec);
                }
                ec
            }
        };
        let rsa = match rsa {
            Some(rsa) => watch::channel(Some(Arc::new(rsa))).1,
            None => {
                let (sender, receiver) = watch::channel(None);
                std::thread::spawn(move || match SigningKey::generate(KeyType::Rsa) {
                    Ok(key) => {
                        if let Some(keep) = &on_generated {
                            keep(&key);
                        }
                        sender.send_replace(Some(Arc::new(key)));
                    }
                    // Dropping the sender tells waiters the key will never come.
                    Err(err) => tracing::error!("RSA key generation failed: {err}"),
                });
                receiver
            }
        };
        Ok(Self {
            ec: Arc::new(ec),
            rsa,
        })
    }

    async fn key(&self, key_type: KeyType) -> Result<Arc<SigningKey>, KeyError> {
        match key_type {
            KeyType::Ec => Ok(Arc::clone(&self.ec)),
            KeyType::Rsa => {
                let mut pending = self.rsa.clone();
                let ready = pending
                    .wait_for(Option::is_some)
                    .await
                    .map_err(|_| KeyError::RsaUnavailable)?;
                ready.clone().ok_or(KeyError::RsaUnavailable)
            }
        }
    }

    /// Both keys in their file form (private key and certificate).
    pub(crate) async fn pems(&self) -> Result<KeyPems, KeyError> {
        Ok(KeyPems {
            rsa: self.key(KeyType::Rsa).await?.to_pem()?,
            ec: self.key(KeyType::Ec).await?.to_pem()?,
        })
    }
}

/// A generation's keys in their file form: PKCS#8 private key, then the certificate.
pub struct KeyPems {
    pub rsa: Vec<u8>,
    pub ec: Vec<u8>,
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
            .field("ec", &self.current.load().ec.kid)
            .field("retired", &self.retired.load().len())
            .finish()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// The certificate's SHA-1 thumbprint in upper-case hex.
    pub kid: String,
    /// RS256 for the RSA key (which signs PS256 too), ES256 for the EC key.
    pub alg: &'static str,
    pub kty: KeyType,
    /// `current` signs; `retired` only verifies until `retired_at + 1 h`.
    pub status: &'static str,
    pub retired_at: Option<i64>,
    pub certificate: CertificateInfo,
}

impl KeySet {
    fn with(current: Generation) -> Self {
        Self {
            current: ArcSwap::from_pointee(current),
            retired: ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// Fresh keys for this run only; the RSA key follows in the background.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self::with(Generation::build(None, None, None)?))
    }

    /// Keys from their file form (the state folder's copy). Keys saved without a
    /// certificate by earlier versions get one.
    pub fn from_pems(rsa: &[u8], ec: &[u8]) -> Result<Self, KeyError> {
        let rsa = SigningKey::from_pem(
            KeyType::Rsa,
            rsa,
            "the saved RSA key",
            MissingCertificate::Issue,
        )?;
        let ec = SigningKey::from_pem(
            KeyType::Ec,
            ec,
            "the saved EC key",
            MissingCertificate::Issue,
        )?;
        Ok(Self::with(Generation::build(Some(rsa), Some(ec), None)?))
    }

    pub(crate) fn current(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// The current keys in their file form, for a state snapshot.
    pub async fn pems(&self) -> Result<KeyPems, KeyError> {
        self.current().pems().await
    }

    /// Starts a new generation: new kids are published and used for signing; the old
    /// keys stay published for verification for a while.
    pub fn rotate(&self, now: i64) -> Result<(), KeyError> {
        let fresh = Arc::new(Generation::build(None, None, None)?);
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
        self.current().key(alg.key_type()).await
    }

    /// Every published key, current first, with the time it was retired.
    async fn published(&self) -> Result<Vec<(Arc<SigningKey>, Option<i64>)>, KeyError> {
        let mut keys = Vec::new();
        let current = self.current();
        for key_type in [KeyType::Rsa, KeyType::Ec] {
            keys.push((current.key(key_type).await?, None));
        }
        for (at, generation) in self.retired.load().iter() {
            for key_type in [KeyType::Rsa, KeyType::Ec] {
                keys.push((generation.key(key_type).await?, Some(*at)));
            }
        }
        Ok(keys)
    }

    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        Ok(self
            .published()
            .await?
            .into_iter()
            .map(|(key, retired_at)| KeyInfo {
                kid: key.kid.clone(),
                alg: key.key_type.main_alg().name(),
                kty: key.key_type,
                status: if retired_at.is_some() {
                    "retired"
                } else {
                    "current"
                },
                retired_at,
                certificate: key.certificate_info(),
            })
            .collect())
    }

    pub async fn kid(&self, alg: SigningAlg) -> Result<String, KeyError> {
        Ok(self.key(alg).await?.kid.clone())
    }

    /// The certificate (PEM) of a published key, for pinning; `None` when no published
    /// key has that kid.
    pub async fn certificate_pem(&self, kid: &str) -> Result<Option<String>, KeyError> {
        match self
            .published()
            .await?
            .into_iter()
            .find(|(k, _)| k.kid == kid)
        {
            Some((key, _)) => Ok(Some(key.certificate_pem()?)),
            None => Ok(None),
        }
    }

    /// The public JWK Set served at the JWKS endpoint: current and retired keys. The EC
    /// keys only when `with_ec` (some client signs with ES256): the real broker publishes
    /// RSA keys only.
    pub async fn jwks(&self, with_ec: bool) -> Result<Value, KeyError> {
        let keys: Vec<Value> = self
            .published()
            .await?
            .into_iter()
            .filter(|(key, _)| with_ec || key.key_type == KeyType::Rsa)
            .map(|(key, _)| Value::Object(key.public_jwk().as_ref().clone()))
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// Checks a token this broker signed (an `id_token_hint`, a logout request) and
    /// returns its claims. Expiry is the caller's business: expired hints are allowed.
    pub async fn verify(&self, token: &str) -> Result<Map<String, Value>, KeyError> {
        let header = jwt::decode_header(token)
            .map_err(|err| KeyError::Untrusted(format!("not a JWT: {err}")))?;
        let named = |member: &str| {
            header
                .claim(member)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (alg, kid) = (named("alg"), named("kid"));
        let alg = SigningAlg::from_str(&alg).map_err(KeyError::Untrusted)?;
        let key = self
            .published()
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .find(|key| key.kid == kid)
            .ok_or_else(|| {
                KeyError::Untrusted("the token is not signed with a key of this broker".into())
            })?;
        key.verify(alg, token)
    }

    /// Signs `claims` as a compact JWS with the given `typ` header.
    pub async fn sign(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: Map<String, Value>,
    ) -> Result<String, KeyError> {
        let key = self.key(alg).await?;
        // The real broker's header order: alg, kid, typ.
        let mut header = JwsHeader::new();
        header.set_algorithm(alg.name());
        header.set_key_id(&key.kid);
        header.set_token_type(typ);
        let payload = JwtPayload::from_map(claims)?;
        Ok(jwt::encode_with_signer(
            &payload,
            &header,
            key.signer(alg)?,
        )?)
    }

    /// The public key of the current generation in PEM, for fault injection (HS256
    /// keyed with the RSA public key).
    pub async fn public_pem(&self, alg: SigningAlg) -> Result<Vec<u8>, KeyError> {
        self.key(alg).await?.public_pem()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use josekit::jwk::Jwk;
    use josekit::jws::{ES256, PS256, RS256};

    fn claims() -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("sub".into(), "abc".into());
        claims
    }

    fn test_keys() -> KeySet {
        KeySet::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/certs"))).unwrap()
    }

    #[tokio::test]
    async fn each_key_is_a_certificate_whose_sha1_thumbprint_is_the_kid() {
        let keys = KeySet::generate().unwrap();
        let jwks = keys.jwks(true).await.unwrap();
        for jwk in jwks["keys"].as_array().unwrap() {
            let der = STANDARD.decode(jwk["x5c"][0].as_str().unwrap()).unwrap();
            let certificate = openssl::x509::X509::from_der(&der).unwrap();
            let sha1 = openssl::sha::sha1(&der);
            let hex: String = sha1.iter().map(|b| format!("{b:02X}")).collect();
            assert_eq!(jwk["kid"], hex.as_str());
            assert_eq!(jwk["x5t"], URL_SAFE_NO_PAD.encode(sha1).as_str());
            assert_eq!(jwk["use"], "sig");
            assert!(
                jwk.get("alg").is_none(),
                "the real broker's JWKS has no alg"
            );
            assert!(jwk.get("d").is_none(), "a private part leaked: {jwk}");
            let issuer = certificate.issuer_name().to_der().unwrap();
            assert_eq!(
                issuer,
                certificate.subject_name().to_der().unwrap(),
                "self-signed"
            );
            let public = certificate.public_key().unwrap();
            assert!(certificate.verify(&public).unwrap());
        }
    }

    #[tokio::test]
    async fn the_jwks_has_the_ec_key_only_when_asked() {
        let keys = test_keys();
        let kty = |jwks: Value| -> Vec<String> {
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kty"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(kty(keys.jwks(false).await.unwrap()), ["RSA"]);
        assert_eq!(kty(keys.jwks(true).await.unwrap()), ["RSA", "EC"]);
    }

    #[tokio::test]
    async fn every_algorithm_signs_with_its_key_and_verifies_against_the_published_jwk() {
        let keys = test_keys();
        let jwks = keys.jwks(true).await.unwrap();
        for alg in SigningAlg::ALL {
            let token = keys.sign(alg, "JWT", claims()).await.unwrap();
            let header = jwt::decode_header(&token).unwrap();
            assert_eq!(header.claim("alg").unwrap(), alg.name());
            let kid = header.claim("kid").and_then(Value::as_str).unwrap();
            assert_eq!(kid, keys.kid(alg).await.unwrap());
            let jwk = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["kid"] == kid)
                .unwrap();
            let jwk = Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
            let verified = match alg {
                SigningAlg::RS256 => {
                    jwt::decode_with_verifier(&token, &RS256.verifier_from_jwk(&jwk).unwrap())
                }
                SigningAlg::PS256 => {
                    jwt::decode_with_verifier(&token, &PS256.verifier_from_jwk(&jwk).unwrap())
                }
                SigningAlg::ES256 => {
                    jwt::decode_with_verifier(&token, &ES256.verifier_from_jwk(&jwk).unwrap())
                }
            };
            assert_eq!(verified.unwrap().0.subject(), Some("abc"), "{alg:?}");
            assert_eq!(keys.verify(&token).await.unwrap()["sub"], "abc");
        }
    }

    #[tokio::test]
    async fn a_token_whose_alg_does_not_fit_the_key_of_its_kid_is_refused() {
        let keys = test_keys();
        let token = keys.sign(SigningAlg::ES256, "JWT", claims()).await.unwrap();
        let rsa_kid = keys.kid(SigningAlg::RS256).await.unwrap();
        let (_, rest) = token.split_once('.').unwrap();
        let header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"ES256","kid":"{rsa_kid}","typ":"JWT"}}"#
        ));
        let forged = format!("{header}.{rest}");
        assert!(keys.verify(&forged).await.is_err());
    }

    #[tokio::test]
    async fn a_rotation_publishes_new_certificates_and_keeps_the_old_ones_for_a_while() {
        let keys = KeySet::generate().unwrap();
        let old_kid = keys.kid(SigningAlg::RS256).await.unwrap();
        let old_token = keys.sign(SigningAlg::RS256, "JWT", claims()).await.unwrap();
        keys.rotate(1_000).unwrap();
        let new_kid = keys.kid(SigningAlg::RS256).await.unwrap();
        assert_ne!(old_kid, new_kid);
        assert_eq!(new_kid.len(), 40, "a SHA-1 thumbprint in hex");
        assert!(new_kid
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        let count = |jwks: Value| jwks["keys"].as_array().unwrap().len();
        assert_eq!(count(keys.jwks(false).await.unwrap()), 2);
        assert!(keys.certificate_pem(&old_kid).await.unwrap().is_some());
        assert!(
            keys.verify(&old_token).await.is_ok(),
            "retired keys still verify"
        );
        keys.prune(1_000 + 3_599, time::Duration::ZERO);
        assert_eq!(
            count(keys.jwks(false).await.unwrap()),
            2,
            "kept an hour at least"
        );
        keys.prune(
            1_000 + RETIRED_KEYS_KEPT.whole_seconds() + 1,
            time::Duration::ZERO,
        );
        assert_eq!(count(keys.jwks(false).await.unwrap()), 1);
        assert!(keys.verify(&old_token).await.is_err());
        assert!(keys.certificate_pem(&old_kid).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_saved_key_without_a_certificate_gets_one_when_read_from_the_state() {
        let bare = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap())
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        let ec = test_keys().pems().await.unwrap().ec;
        let keys = KeySet::from_pems(&bare, &ec).unwrap();
        let pems = keys.pems().await.unwrap();
        assert!(String::from_utf8_lossy(&pems.rsa).contains("BEGIN CERTIFICATE"));
        assert_eq!(keys.kid(SigningAlg::RS256).await.unwrap().len(), 40);
    }
}

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
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
            other => Err(format!("unsupported signing algorithm `{other}`: use ES256 or RS256")),
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
}

struct SigningKey {
    alg: SigningAlg,
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
            alg,
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

pub struct KeySet {
    es256: SigningKey,
    rs256: SigningKey,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("es256", &self.es256.kid)
            .field("rs256", &self.rs256.kid)
            .finish()
    }
}

impl KeySet {
    /// Fresh keys for this run. RSA generation is the slow part, so it runs beside the EC one.
    pub fn generate() -> Result<Self, KeyError> {
        let rsa = std::thread::spawn(|| RS256.generate_key_pair(2048).map(|k| k.to_pem_private_key()));
        let ec = ES256.generate_key_pair()?.to_pem_private_key();
        let rsa = rsa.join().expect("RSA key generation does not panic")?;
        Ok(Self {
            es256: SigningKey::from_pem(SigningAlg::ES256, &ec)?,
            rs256: SigningKey::from_pem(SigningAlg::RS256, &rsa)?,
        })
    }

    /// Reads `es256.pem` and `rs256.pem` (PKCS#8 or traditional PEM) from `dir`.
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let read = |alg: SigningAlg, file: &str| -> Result<SigningKey, KeyError> {
            let path = dir.join(file);
            let pem = std::fs::read(&path).map_err(|source| KeyError::Read {
                path: path.display().to_string(),
                source,
            })?;
            SigningKey::from_pem(alg, &pem).map_err(|source| KeyError::Parse {
                path: path.display().to_string(),
                alg: alg.name(),
                source,
            })
        };
        Ok(Self {
            es256: read(SigningAlg::ES256, ES256_FILE)?,
            rs256: read(SigningAlg::RS256, RS256_FILE)?,
        })
    }

    /// Writes the private keys so a later run can reuse them with `--keys`.
    pub fn save(&self, dir: &Path) -> Result<(), KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Write {
            path: dir.display().to_string(),
            source,
        })?;
        for key in [&self.es256, &self.rs256] {
            let file = match key.alg {
                SigningAlg::ES256 => ES256_FILE,
                SigningAlg::RS256 => RS256_FILE,
            };
            let path = dir.join(file);
            std::fs::write(&path, &key.private_pem).map_err(|source| KeyError::Write {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    fn key(&self, alg: SigningAlg) -> &SigningKey {
        match alg {
            SigningAlg::ES256 => &self.es256,
            SigningAlg::RS256 => &self.rs256,
        }
    }

    pub fn kid(&self, alg: SigningAlg) -> &str {
        &self.key(alg).kid
    }

    /// The public JWK Set served at the JWKS endpoint.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = [&self.es256, &self.rs256]
            .iter()
            .map(|k| Value::Object(k.public_jwk.as_ref().clone()))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs `claims` as a compact JWS with the given `typ` header.
    pub fn sign(&self, alg: SigningAlg, typ: &str, claims: Map<String, Value>) -> Result<String, KeyError> {
        let key = self.key(alg);
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&key.kid);
        let payload = JwtPayload::from_map(claims)?;
        Ok(jwt::encode_with_signer(&payload, &header, key.signer.as_ref())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_a_save_and_load_with_the_same_kids() {
        let keys = KeySet::generate().unwrap();
        let dir = std::env::temp_dir().join(format!("mitid-sim-keys-{}", uuid::Uuid::new_v4()));
        keys.save(&dir).unwrap();
        let loaded = KeySet::load(&dir).unwrap();
        assert_eq!(loaded.kid(SigningAlg::ES256), keys.kid(SigningAlg::ES256));
        assert_eq!(loaded.kid(SigningAlg::RS256), keys.kid(SigningAlg::RS256));
        assert_ne!(keys.kid(SigningAlg::ES256), keys.kid(SigningAlg::RS256));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_signed_token_verifies_against_the_published_key() {
        let keys = KeySet::generate().unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), "abc".into());
        let token = keys.sign(SigningAlg::ES256, "JWT", claims).unwrap();
        let jwks = keys.jwks();
        let jwk = Jwk::from_map(jwks["keys"][0].as_object().unwrap().clone()).unwrap();
        let verifier = ES256.verifier_from_jwk(&jwk).unwrap();
        let (payload, header) = jwt::decode_with_verifier(&token, &verifier).unwrap();
        assert_eq!(payload.subject(), Some("abc"));
        assert_eq!(header.key_id(), Some(keys.kid(SigningAlg::ES256)));
    }

    #[test]
    fn a_missing_key_file_names_the_path() {
        let err = KeySet::load(Path::new("/nonexistent-dir")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/es256.pem"), "{err}");
    }
}

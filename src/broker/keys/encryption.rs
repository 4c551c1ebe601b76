//! The broker's encryption key: clients encrypt request objects to it (RSA-OAEP-256, -384
//! or -512, as NEB's discovery advertises). Published in the JWKS as the real broker
//! publishes its own (recorded): `use: enc`, a self-signed certificate in `x5c`, and the
//! certificate's SHA-1 thumbprint as `kid` and `x5t`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use josekit::jwe::{self, JweDecrypter, JweHeader};
use josekit::jwk::Jwk;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use serde_json::{json, Map, Value};

use super::certificate::self_signed;
use super::KeyError;

/// The key-encryption algorithms a client may use, in NEB's discovery order (recorded).
pub const JWE_ALGS: [&str; 3] = ["RSA-OAEP-256", "RSA-OAEP-384", "RSA-OAEP-512"];

/// The content encryptions josekit decrypts (RFC 7518 §5.1); the discovery default is
/// A128CBC-HS256 (OpenID Connect Discovery §3).
pub const JWE_ENCS: [&str; 6] = [
    "A128CBC-HS256",
    "A192CBC-HS384",
    "A256CBC-HS512",
    "A128GCM",
    "A192GCM",
    "A256GCM",
];

pub(crate) struct EncryptionKey {
    pub kid: String,
    private: PKey<Private>,
    certificate: X509,
    public_jwk: Jwk,
    decrypters: Vec<(&'static str, Box<dyn JweDecrypter>)>,
    /// True when the certificate was issued now for a key read from a file.
    pub certificate_issued: bool,
}

/// Why a JWE could not be opened; the text goes into an `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("the JWE key-encryption algorithm `{0}` is not accepted (accepted: RSA-OAEP-256, RSA-OAEP-384, RSA-OAEP-512)")]
    Algorithm(String),
    #[error("the JWE is encrypted to the key `{0}`, which is not the broker's encryption key")]
    OtherKey(String),
    #[error("the JWE does not decrypt with the broker's encryption key: {0}")]
    Undecryptable(String),
}

impl EncryptionKey {
    /// A new 2048-bit RSA key and its certificate (50 to 400 ms).
    pub fn generate() -> Result<Self, KeyError> {
        let private = PKey::from_rsa(Rsa::generate(2048)?)?;
        let certificate = self_signed(&private, "mitid-sim Request Encryption (RSA)", true)?;
        Self::assemble(private, certificate, false)
    }

    /// From PEM: the PKCS#8 private key, then (normally) its certificate; a key without
    /// one gets a new certificate (clients fetch the key from the JWKS, none pins it).
    pub fn from_pem(pem: &[u8], origin: &str) -> Result<Self, KeyError> {
        let unreadable = |reason: &str| KeyError::Parse {
            path: origin.to_string(),
            reason: reason.to_string(),
        };
        let private =
            PKey::private_key_from_pem(pem).map_err(|_| unreadable("no private key in PEM"))?;
        if private.id() != Id::RSA {
            return Err(unreadable("the encryption key must be an RSA key"));
        }
        let (certificate, issued) = if String::from_utf8_lossy(pem)
            .contains("-----BEGIN CERTIFICATE-----")
        {
            let certificate = X509::from_pem(pem)
                .map_err(|_| unreadable("the CERTIFICATE block does not parse"))?;
            (certificate, false)
        } else {
            let certificate = self_signed(&private, "mitid-sim Request Encryption (RSA)", true)?;
            (certificate, true)
        };
        if !certificate.public_key()?.public_eq(&private) {
            return Err(unreadable(
                "the certificate is not for the private key beside it",
            ));
        }
        Self::assemble(private, certificate, issued)
    }

    fn assemble(
        private: PKey<Private>,
        certificate: X509,
        certificate_issued: bool,
    ) -> Result<Self, KeyError> {
        let thumbprint = certificate.digest(MessageDigest::sha1())?;
        let kid: String = thumbprint.iter().map(|b| format!("{b:02X}")).collect();
        let rsa = private.rsa()?;
        let b64 = |bytes: Vec<u8>| Value::String(URL_SAFE_NO_PAD.encode(bytes));
        // The recorded member order: kty, use, kid, x5t, e, n, x5c.
        let mut map = Map::new();
        map.insert("kty".into(), "RSA".into());
        map.insert("use".into(), "enc".into());
        map.insert("kid".into(), kid.clone().into());
        map.insert("x5t".into(), URL_SAFE_NO_PAD.encode(thumbprint).into());
        map.insert("e".into(), b64(rsa.e().to_vec()));
        map.insert("n".into(), b64(rsa.n().to_vec()));
        map.insert(
            "x5c".into(),
            json!([STANDARD.encode(certificate.to_der()?)]),
        );
        let public_jwk = Jwk::from_map(map)?;
        let pkcs8 = private.private_key_to_pkcs8()?;
        let decrypters: Vec<(&'static str, Box<dyn JweDecrypter>)> = vec![
            (
                "RSA-OAEP-256",
                Box::new(jwe::RSA_OAEP_256.decrypter_from_der(&pkcs8)?),
            ),
            (
                "RSA-OAEP-384",
                Box::new(jwe::RSA_OAEP_384.decrypter_from_der(&pkcs8)?),
            ),
            (
                "RSA-OAEP-512",
                Box::new(jwe::RSA_OAEP_512.decrypter_from_der(&pkcs8)?),
            ),
        ];
        Ok(Self {
            kid,
            private,
            certificate,
            public_jwk,
            decrypters,
            certificate_issued,
        })
    }

    /// The file form: the PKCS#8 private key, then the certificate.
    pub fn to_pem(&self) -> Result<Vec<u8>, KeyError> {
        let mut pem = self.private.private_key_to_pem_pkcs8()?;
        pem.extend(self.certificate.to_pem()?);
        Ok(pem)
    }

    pub fn public_jwk(&self) -> &Jwk {
        &self.public_jwk
    }

    /// Opens a compact JWE encrypted to this key; returns the plaintext and the header.
    pub fn decrypt(&self, compact: &str) -> Result<(Vec<u8>, JweHeader), DecryptError> {
        let header = josekit::jwt::decode_header(compact)
            .map_err(|err| DecryptError::Undecryptable(err.to_string()))?;
        let named = |member: &str| header.claim(member).and_then(Value::as_str);
        let alg = named("alg").unwrap_or_default().to_string();
        let decrypter = self
            .decrypters
            .iter()
            .find(|(name, _)| *name == alg)
            .map(|(_, decrypter)| decrypter.as_ref())
            .ok_or(DecryptError::Algorithm(alg))?;
        if let Some(kid) = named("kid").filter(|kid| *kid != self.kid) {
            return Err(DecryptError::OtherKey(kid.to_string()));
        }
        jwe::deserialize_compact(compact, decrypter)
            .map_err(|err| DecryptError::Undecryptable(err.to_string()))
    }
}

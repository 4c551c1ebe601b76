//! The JOSE algorithms of what clients send and what the broker encrypts to them: JWS
//! algorithms of client assertions and DPoP proofs (verified with josekit), and the JWE
//! key-management and content-encryption algorithms of encrypted id_tokens and userinfo.

use std::fmt;
use std::str::FromStr;

use josekit::jwe::{self, JweEncrypter, JweHeader};
use josekit::jwk::Jwk;
use josekit::jws::{self, JwsVerifier};
use josekit::JoseError;
use serde::{Deserialize, Serialize};

/// A JWS algorithm a client signs with. `none` is not one: an unsigned JWT never
/// authenticates anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JwsAlg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    HS256,
    HS384,
    HS512,
}

impl JwsAlg {
    /// Every algorithm, in the order of the real broker's discovery document
    /// (`token_endpoint_auth_signing_alg_values_supported`).
    pub const ALL: [JwsAlg; 12] = [
        JwsAlg::RS256,
        JwsAlg::RS384,
        JwsAlg::RS512,
        JwsAlg::PS256,
        JwsAlg::PS384,
        JwsAlg::PS512,
        JwsAlg::ES256,
        JwsAlg::ES384,
        JwsAlg::ES512,
        JwsAlg::HS256,
        JwsAlg::HS384,
        JwsAlg::HS512,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JwsAlg::RS256 => "RS256",
            JwsAlg::RS384 => "RS384",
            JwsAlg::RS512 => "RS512",
            JwsAlg::PS256 => "PS256",
            JwsAlg::PS384 => "PS384",
            JwsAlg::PS512 => "PS512",
            JwsAlg::ES256 => "ES256",
            JwsAlg::ES384 => "ES384",
            JwsAlg::ES512 => "ES512",
            JwsAlg::HS256 => "HS256",
            JwsAlg::HS384 => "HS384",
            JwsAlg::HS512 => "HS512",
        }
    }

    /// The `kty` of the keys this algorithm verifies with.
    pub fn key_type(self) -> &'static str {
        match self {
            JwsAlg::RS256
            | JwsAlg::RS384
            | JwsAlg::RS512
            | JwsAlg::PS256
            | JwsAlg::PS384
            | JwsAlg::PS512 => "RSA",
            JwsAlg::ES256 | JwsAlg::ES384 | JwsAlg::ES512 => "EC",
            JwsAlg::HS256 | JwsAlg::HS384 | JwsAlg::HS512 => "oct",
        }
    }

    pub fn is_symmetric(self) -> bool {
        self.key_type() == "oct"
    }

    /// A verifier for a public (or, for HS*, shared) key; josekit refuses keys of another
    /// type, curve, size (RSA under 2048 bits), `use` or `alg`.
    pub fn verifier(self, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, JoseError> {
        Ok(match self {
            JwsAlg::RS256 => Box::new(jws::RS256.verifier_from_jwk(jwk)?),
            JwsAlg::RS384 => Box::new(jws::RS384.verifier_from_jwk(jwk)?),
            JwsAlg::RS512 => Box::new(jws::RS512.verifier_from_jwk(jwk)?),
            JwsAlg::PS256 => Box::new(jws::PS256.verifier_from_jwk(jwk)?),
            JwsAlg::PS384 => Box::new(jws::PS384.verifier_from_jwk(jwk)?),
            JwsAlg::PS512 => Box::new(jws::PS512.verifier_from_jwk(jwk)?),
            JwsAlg::ES256 => Box::new(jws::ES256.verifier_from_jwk(jwk)?),
            JwsAlg::ES384 => Box::new(jws::ES384.verifier_from_jwk(jwk)?),
            JwsAlg::ES512 => Box::new(jws::ES512.verifier_from_jwk(jwk)?),
            JwsAlg::HS256 => Box::new(jws::HS256.verifier_from_jwk(jwk)?),
            JwsAlg::HS384 => Box::new(jws::HS384.verifier_from_jwk(jwk)?),
            JwsAlg::HS512 => Box::new(jws::HS512.verifier_from_jwk(jwk)?),
        })
    }
}

impl FromStr for JwsAlg {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        JwsAlg::ALL
            .into_iter()
            .find(|alg| alg.name() == text)
            .ok_or_else(|| format!("the JWS algorithm `{text}` is not accepted"))
    }
}

impl fmt::Display for JwsAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the content key of an encrypted id_token or userinfo response reaches the client
/// (JWE `alg`): wrapped with its RSA key, or agreed with its EC key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyAlg {
    #[serde(rename = "RSA-OAEP")]
    RsaOaep,
    #[serde(rename = "RSA-OAEP-256")]
    RsaOaep256,
    #[serde(rename = "RSA-OAEP-384")]
    RsaOaep384,
    #[serde(rename = "RSA-OAEP-512")]
    RsaOaep512,
    #[serde(rename = "ECDH-ES")]
    EcdhEs,
    #[serde(rename = "ECDH-ES+A128KW")]
    EcdhEsA128kw,
    #[serde(rename = "ECDH-ES+A192KW")]
    EcdhEsA192kw,
    #[serde(rename = "ECDH-ES+A256KW")]
    EcdhEsA256kw,
}

impl KeyAlg {
    pub const ALL: [KeyAlg; 8] = [
        KeyAlg::RsaOaep,
        KeyAlg::RsaOaep256,
        KeyAlg::RsaOaep384,
        KeyAlg::RsaOaep512,
        KeyAlg::EcdhEs,
        KeyAlg::EcdhEsA128kw,
        KeyAlg::EcdhEsA192kw,
        KeyAlg::EcdhEsA256kw,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::RsaOaep => "RSA-OAEP",
            KeyAlg::RsaOaep256 => "RSA-OAEP-256",
            KeyAlg::RsaOaep384 => "RSA-OAEP-384",
            KeyAlg::RsaOaep512 => "RSA-OAEP-512",
            KeyAlg::EcdhEs => "ECDH-ES",
            KeyAlg::EcdhEsA128kw => "ECDH-ES+A128KW",
            KeyAlg::EcdhEsA192kw => "ECDH-ES+A192KW",
            KeyAlg::EcdhEsA256kw => "ECDH-ES+A256KW",
        }
    }

    /// The `kty` of the client key this algorithm encrypts to.
    pub fn key_type(self) -> &'static str {
        match self {
            KeyAlg::RsaOaep | KeyAlg::RsaOaep256 | KeyAlg::RsaOaep384 | KeyAlg::RsaOaep512 => "RSA",
            _ => "EC",
        }
    }

    fn encrypter(self, jwk: &Jwk) -> Result<Box<dyn JweEncrypter>, JoseError> {
        Ok(match self {
            KeyAlg::RsaOaep => Box::new(jwe::RSA_OAEP.encrypter_from_jwk(jwk)?),
            KeyAlg::RsaOaep256 => Box::new(jwe::RSA_OAEP_256.encrypter_from_jwk(jwk)?),
            KeyAlg::RsaOaep384 => Box::new(jwe::RSA_OAEP_384.encrypter_from_jwk(jwk)?),
            KeyAlg::RsaOaep512 => Box::new(jwe::RSA_OAEP_512.encrypter_from_jwk(jwk)?),
            KeyAlg::EcdhEs => Box::new(jwe::ECDH_ES.encrypter_from_jwk(jwk)?),
            KeyAlg::EcdhEsA128kw => Box::new(jwe::ECDH_ES_A128KW.encrypter_from_jwk(jwk)?),
            KeyAlg::EcdhEsA192kw => Box::new(jwe::ECDH_ES_A192KW.encrypter_from_jwk(jwk)?),
            KeyAlg::EcdhEsA256kw => Box::new(jwe::ECDH_ES_A256KW.encrypter_from_jwk(jwk)?),
        })
    }
}

/// The content encryption of an encrypted id_token or userinfo response (JWE `enc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContentAlg {
    /// OIDC Registration §2: the default when only the `alg` is registered.
    #[default]
    #[serde(rename = "A128CBC-HS256")]
    A128CbcHs256,
    #[serde(rename = "A192CBC-HS384")]
    A192CbcHs384,
    #[serde(rename = "A256CBC-HS512")]
    A256CbcHs512,
    #[serde(rename = "A128GCM")]
    A128Gcm,
    #[serde(rename = "A192GCM")]
    A192Gcm,
    #[serde(rename = "A256GCM")]
    A256Gcm,
}

impl ContentAlg {
    pub const ALL: [ContentAlg; 6] = [
        ContentAlg::A128CbcHs256,
        ContentAlg::A192CbcHs384,
        ContentAlg::A256CbcHs512,
        ContentAlg::A128Gcm,
        ContentAlg::A192Gcm,
        ContentAlg::A256Gcm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ContentAlg::A128CbcHs256 => "A128CBC-HS256",
            ContentAlg::A192CbcHs384 => "A192CBC-HS384",
            ContentAlg::A256CbcHs512 => "A256CBC-HS512",
            ContentAlg::A128Gcm => "A128GCM",
            ContentAlg::A192Gcm => "A192GCM",
            ContentAlg::A256Gcm => "A256GCM",
        }
    }
}

/// Encrypts `payload` to the client's key as a compact JWE. `nested`: the payload is a
/// signed JWT (sign-then-encrypt, OIDC Core §16.14), said with `cty: JWT`.
pub fn encrypt(
    payload: &[u8],
    nested: bool,
    alg: KeyAlg,
    enc: ContentAlg,
    key: &Jwk,
) -> Result<String, JoseError> {
    let mut header = JweHeader::new();
    header.set_content_encryption(enc.name());
    if nested {
        header.set_content_type("JWT");
    }
    if let Some(kid) = key.key_id() {
        header.set_key_id(kid);
    }
    jwe::serialize_compact(payload, &header, &*alg.encrypter(key)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::alg::ec::EcCurve;

    #[test]
    fn names_parse_back_and_serde_uses_the_wire_names() {
        for alg in JwsAlg::ALL {
            assert_eq!(alg.name().parse::<JwsAlg>(), Ok(alg));
        }
        assert!("none".parse::<JwsAlg>().is_err());
        for alg in KeyAlg::ALL {
            assert_eq!(serde_json::to_value(alg).unwrap(), alg.name());
        }
        for enc in ContentAlg::ALL {
            assert_eq!(serde_json::to_value(enc).unwrap(), enc.name());
        }
    }

    #[test]
    fn every_key_algorithm_encrypts_to_a_key_of_its_type_and_decrypts() {
        let rsa = Jwk::generate_rsa_key(2048).unwrap();
        let ec = Jwk::generate_ec_key(EcCurve::P256).unwrap();
        for alg in KeyAlg::ALL {
            let private = if alg.key_type() == "RSA" { &rsa } else { &ec };
            let public = private.to_public_key().unwrap();
            for enc in ContentAlg::ALL {
                let token = encrypt(b"hello", true, alg, enc, &public).unwrap();
                let decrypter: Box<dyn josekit::jwe::JweDecrypter> = match alg {
                    KeyAlg::RsaOaep => Box::new(jwe::RSA_OAEP.decrypter_from_jwk(private).unwrap()),
                    KeyAlg::RsaOaep256 => {
                        Box::new(jwe::RSA_OAEP_256.decrypter_from_jwk(private).unwrap())
                    }
                    KeyAlg::RsaOaep384 => {
                        Box::new(jwe::RSA_OAEP_384.decrypter_from_jwk(private).unwrap())
                    }
                    KeyAlg::RsaOaep512 => {
                        Box::new(jwe::RSA_OAEP_512.decrypter_from_jwk(private).unwrap())
                    }
                    KeyAlg::EcdhEs => Box::new(jwe::ECDH_ES.decrypter_from_jwk(private).unwrap()),
                    KeyAlg::EcdhEsA128kw => {
                        Box::new(jwe::ECDH_ES_A128KW.decrypter_from_jwk(private).unwrap())
                    }
                    KeyAlg::EcdhEsA192kw => {
                        Box::new(jwe::ECDH_ES_A192KW.decrypter_from_jwk(private).unwrap())
                    }
                    KeyAlg::EcdhEsA256kw => {
                        Box::new(jwe::ECDH_ES_A256KW.decrypter_from_jwk(private).unwrap())
                    }
                };
                let (plain, header) = jwe::deserialize_compact(&token, &*decrypter).unwrap();
                assert_eq!(plain, b"hello");
                assert_eq!(header.content_encryption(), Some(enc.name()));
                assert_eq!(header.content_type(), Some("JWT"));
            }
        }
    }

    #[test]
    fn a_key_of_the_wrong_type_or_use_does_not_encrypt() {
        let ec = Jwk::generate_ec_key(EcCurve::P256)
            .unwrap()
            .to_public_key()
            .unwrap();
        assert!(encrypt(b"x", false, KeyAlg::RsaOaep256, ContentAlg::A128Gcm, &ec).is_err());
        let mut signing = Jwk::generate_rsa_key(2048)
            .unwrap()
            .to_public_key()
            .unwrap();
        signing.set_key_use("sig");
        assert!(encrypt(
            b"x",
            false,
            KeyAlg::RsaOaep256,
            ContentAlg::A128Gcm,
            &signing
        )
        .is_err());
    }
}

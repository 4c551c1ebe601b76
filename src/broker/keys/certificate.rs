//! One signing key with its self-signed certificate, as the real broker publishes its keys:
//! the JWKS entry carries the certificate (`x5c`) and its SHA-1 thumbprint (`x5t`), and the
//! `kid` is that thumbprint in upper-case hex, so an RP can pin the certificate.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{JwsSigner, JwsVerifier, ES256, PS256, RS256};
use josekit::jwt;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, BigNumContext, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{KeyError, SigningAlg};

/// The two kinds of key the broker holds: RSA (RS256, PS256) and EC P-256 (ES256).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KeyType {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "EC")]
    Ec,
}

impl KeyType {
    /// The algorithm the key is listed under (an RSA key signs PS256 too).
    pub fn main_alg(self) -> SigningAlg {
        match self {
            KeyType::Rsa => SigningAlg::RS256,
            KeyType::Ec => SigningAlg::ES256,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::Ec => "EC",
        }
    }
}

/// The certificates' validity: fixed dates, not the time they are made (the broker's
/// clock can be shifted by years; real time is not the broker's to read), twenty years
/// as the real broker's token-signing certificate: 2025-01-01 to 2045-01-01.
const NOT_BEFORE_UNIX: i64 = 1_735_689_600;
const NOT_AFTER_UNIX: i64 = 2_366_841_600;

/// What to do with a PEM file that has a private key but no certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingCertificate {
    /// Refuse it: the certificate is what RPs pin, so it must not change silently.
    Refuse,
    /// Issue a self-signed certificate for the key (keys saved by earlier versions).
    Issue,
}

pub(crate) struct SigningKey {
    pub key_type: KeyType,
    pub kid: String,
    private: PKey<Private>,
    certificate: X509,
    public_jwk: Jwk,
    signers: Vec<(SigningAlg, Box<dyn JwsSigner>)>,
    /// True when the certificate was issued now for a key read from a file.
    pub certificate_issued: bool,
}

/// A certificate as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    /// base64url SHA-1 thumbprint, as the JWKS `x5t`.
    pub x5t: String,
}

impl SigningKey {
    /// A new key and its self-signed certificate. RSA keys take 50 to 400 ms.
    pub fn generate(key_type: KeyType) -> Result<Self, KeyError> {
        let private = match key_type {
            KeyType::Rsa => PKey::from_rsa(Rsa::generate(2048)?)?,
            KeyType::Ec => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
                PKey::from_ec_key(EcKey::generate(&group)?)?
            }
        };
        let certificate = self_signed(&private, key_type)?;
        Self::assemble(key_type, private, certificate, false)
    }

    /// A key from PEM holding the private key (PKCS#8 or traditional) and, normally, its
    /// certificate. `origin` names the file in errors.
    pub fn from_pem(
        key_type: KeyType,
        pem: &[u8],
        origin: &str,
        missing: MissingCertificate,
    ) -> Result<Self, KeyError> {
        let unreadable = |reason: String| KeyError::Parse {
            path: origin.to_string(),
            reason,
        };
        let private = PKey::private_key_from_pem(pem)
            .map_err(|_| unreadable("no private key in PEM".into()))?;
        let found = match private.id() {
            Id::RSA => KeyType::Rsa,
            Id::EC => KeyType::Ec,
            _ => return Err(unreadable("the key is neither RSA nor EC".into())),
        };
        if found != key_type {
            return Err(unreadable(format!(
                "an {} key is expected, not {}",
                key_type.name(),
                found.name()
            )));
        }
        if key_type == KeyType::Ec {
            let curve = private.ec_key()?.group().curve_name();
            if curve != Some(Nid::X9_62_PRIME256V1) {
                return Err(unreadable("the EC key must be on P-256".into()));
            }
        }
        let has_certificate = String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----");
        let (certificate, issued) = match (has_certificate, missing) {
            (true, _) => {
                let certificate = X509::from_pem(pem)
                    .map_err(|_| unreadable("the CERTIFICATE block does not parse".into()))?;
                (certificate, false)
            }
            (false, MissingCertificate::Issue) => (self_signed(&private, key_type)?, true),
            (false, MissingCertificate::Refuse) => {
                return Err(KeyError::MissingCertificate {
                    path: origin.to_string(),
                })
            }
        };
        if !certificate.public_key()?.public_eq(&private) {
            return Err(unreadable(
                "the certificate is not for the private key beside it".into(),
            ));
        }
        Self::assemble(key_type, private, certificate, issued)
    }

    fn assemble(
        key_type: KeyType,
        private: PKey<Private>,
        certificate: X509,
        certificate_issued: bool,
    ) -> Result<Self, KeyError> {
        let thumbprint = certificate.digest(MessageDigest::sha1())?;
        let kid: String = thumbprint.iter().map(|b| format!("{b:02X}")).collect();
        let x5t = URL_SAFE_NO_PAD.encode(thumbprint);
        let x5c = STANDARD.encode(certificate.to_der()?);
        let pkcs8 = private.private_key_to_pkcs8()?;
        let signers: Vec<(SigningAlg, Box<dyn JwsSigner>)> = match key_type {
            KeyType::Rsa => vec![
                (SigningAlg::RS256, Box::new(RS256.signer_from_der(&pkcs8)?)),
                (SigningAlg::PS256, Box::new(PS256.signer_from_der(&pkcs8)?)),
            ],
            KeyType::Ec => vec![(SigningAlg::ES256, Box::new(ES256.signer_from_der(&pkcs8)?))],
        };
        let public_jwk = public_jwk(&private, key_type, &kid, &x5t, &x5c)?;
        Ok(Self {
            key_type,
            kid,
            private,
            certificate,
            public_jwk,
            signers,
            certificate_issued,
        })
    }

    /// The file form: the PKCS#8 private key, then the certificate.
    pub fn to_pem(&self) -> Result<Vec<u8>, KeyError> {
        let mut pem = self.private.private_key_to_pem_pkcs8()?;
        pem.extend(self.certificate.to_pem()?);
        Ok(pem)
    }

    pub fn certificate_pem(&self) -> Result<String, KeyError> {
        Ok(String::from_utf8_lossy(&self.certificate.to_pem()?).into_owned())
    }

    pub fn certificate_info(&self) -> CertificateInfo {
        let subject = self
            .certificate
            .subject_name()
            .entries()
            .filter_map(|entry| {
                let name = entry.object().nid().short_name().ok()?;
                let value = entry.data().to_string().ok()?;
                Some(format!("{name}={value}"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        CertificateInfo {
            subject,
            not_before: unix(self.certificate.not_before()),
            not_after: unix(self.certificate.not_after()),
            x5t: self
                .public_jwk
                .parameter("x5t")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// The JWKS entry: the members the real broker publishes, and no `alg` (as it).
    pub fn public_jwk(&self) -> &Jwk {
        &self.public_jwk
    }

    pub fn signer(&self, alg: SigningAlg) -> Result<&dyn JwsSigner, KeyError> {
        self.signers
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, signer)| signer.as_ref())
            .ok_or(KeyError::WrongKeyType(alg))
    }

    pub fn public_pem(&self) -> Result<Vec<u8>, KeyError> {
        Ok(self.private.public_key_to_pem()?)
    }

    /// Verifies a token signed with this key under `alg`; returns its claims.
    pub fn verify(&self, alg: SigningAlg, token: &str) -> Result<Map<String, Value>, KeyError> {
        if alg.key_type() != self.key_type {
            return Err(KeyError::Untrusted(format!(
                "`{}` does not go with the {} key `{}`",
                alg.name(),
                self.key_type.name(),
                self.kid
            )));
        }
        let der = self.private.public_key_to_der()?;
        let verifier: Box<dyn JwsVerifier> = match alg {
            SigningAlg::RS256 => Box::new(RS256.verifier_from_der(&der)?),
            SigningAlg::PS256 => Box::new(PS256.verifier_from_der(&der)?),
            SigningAlg::ES256 => Box::new(ES256.verifier_from_der(&der)?),
        };
        let (payload, _) = jwt::decode_with_verifier(token, verifier.as_ref())
            .map_err(|err| KeyError::Untrusted(format!("the signature does not verify: {err}")))?;
        Ok(payload.claims_set().clone())
    }
}

fn unix(time: &openssl::asn1::Asn1TimeRef) -> i64 {
    Asn1Time::from_unix(0)
        .ok()
        .and_then(|epoch| epoch.diff(time).ok())
        .map_or(0, |diff| {
            i64::from(diff.days) * 86_400 + i64::from(diff.secs)
        })
}

fn self_signed(private: &PKey<Private>, key_type: KeyType) -> Result<X509, KeyError> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "DK")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "mitid-sim (test only)")?;
    name.append_entry_by_nid(
        Nid::COMMONNAME,
        &format!("mitid-sim Token Signing ({})", key_type.name()),
    )?;
    let name = name.build();
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(private)?;
    let not_before = Asn1Time::from_unix(NOT_BEFORE_UNIX)?;
    let not_after = Asn1Time::from_unix(NOT_AFTER_UNIX)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    builder.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    let key_id = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(key_id)?;
    builder.sign(private, MessageDigest::sha256())?;
    Ok(builder.build())
}

fn public_jwk(
    private: &PKey<Private>,
    key_type: KeyType,
    kid: &str,
    x5t: &str,
    x5c: &str,
) -> Result<Jwk, KeyError> {
    let b64 = |bytes: Vec<u8>| Value::String(URL_SAFE_NO_PAD.encode(bytes));
    let mut map = Map::new();
    map.insert("kty".into(), key_type.name().into());
    map.insert("use".into(), "sig".into());
    map.insert("kid".into(), kid.into());
    map.insert("x5t".into(), x5t.into());
    match key_type {
        KeyType::Rsa => {
            let rsa = private.rsa()?;
            map.insert("e".into(), b64(rsa.e().to_vec()));
            map.insert("n".into(), b64(rsa.n().to_vec()));
        }
        KeyType::Ec => {
            let ec = private.ec_key()?;
            let mut x = BigNum::new()?;
            let mut y = BigNum::new()?;
            let mut context = BigNumContext::new()?;
            ec.public_key()
                .affine_coordinates(ec.group(), &mut x, &mut y, &mut context)?;
            map.insert("crv".into(), "P-256".into());
            map.insert("x".into(), b64(x.to_vec_padded(32)?));
            map.insert("y".into(), b64(y.to_vec_padded(32)?));
        }
    }
    map.insert("x5c".into(), json!([x5c]));
    Ok(Jwk::from_map(map)?)
}

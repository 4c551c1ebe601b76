//! An RSA key with its self-signed X.509 certificate: what the IdP signs and decrypts
//! with, and what SPs register. NemLog-in publishes plain certificates in its metadata and
//! SPs pin them, so self-signed ones behave the same for an SP.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("not an RSA private key in PEM: {0}")]
    Key(openssl::error::ErrorStack),
    #[error("not an X.509 certificate: {0}")]
    Certificate(openssl::error::ErrorStack),
    #[error("the certificate is not valid base64")]
    Base64,
    #[error("the certificate does not belong to the private key")]
    Mismatch,
    #[error("the key is not RSA; SAML signatures here are RSA-SHA256")]
    NotRsa,
    #[error("cannot create a key: {0}")]
    Generate(openssl::error::ErrorStack),
}

/// A private key and the certificate of its public half.
#[derive(Clone)]
pub struct Credential {
    private_key_pem: Vec<u8>,
    certificate: Certificate,
    key: PKey<Private>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("certificate", &self.certificate.subject())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl Credential {
    /// A new RSA-3072 key and a certificate for it, valid ten years from `not_before`.
    pub fn generate(common_name: &str) -> Result<Credential, CredentialError> {
        let rsa = Rsa::generate(3072).map_err(CredentialError::Generate)?;
        let key = PKey::from_rsa(rsa).map_err(CredentialError::Generate)?;
        let certificate = self_signed(&key, common_name).map_err(CredentialError::Generate)?;
        let private_key_pem = key
            .private_key_to_pem_pkcs8()
            .map_err(CredentialError::Generate)?;
        Ok(Credential {
            private_key_pem,
            certificate: Certificate::from_x509(certificate)
                .map_err(CredentialError::Certificate)?,
            key,
        })
    }

    pub fn from_pem(
        private_key_pem: &[u8],
        certificate_pem: &[u8],
    ) -> Result<Credential, CredentialError> {
        let key = PKey::private_key_from_pem(private_key_pem).map_err(CredentialError::Key)?;
        if key.rsa().is_err() {
            return Err(CredentialError::NotRsa);
        }
        let certificate = Certificate::from_pem(certificate_pem)?;
        let public = certificate
            .public_key()
            .map_err(CredentialError::Certificate)?;
        if !public.public_eq(&key) {
            return Err(CredentialError::Mismatch);
        }
        Ok(Credential {
            private_key_pem: private_key_pem.to_vec(),
            certificate,
            key,
        })
    }

    pub fn private_key_pem(&self) -> &[u8] {
        &self.private_key_pem
    }

    pub fn private_key(&self) -> &PKey<Private> {
        &self.key
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
}

/// An X.509 certificate, kept as DER (what metadata carries, base64) and PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    pem: Vec<u8>,
    subject: String,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({})", self.subject)
    }
}

impl Certificate {
    fn from_x509(x509: X509) -> Result<Certificate, openssl::error::ErrorStack> {
        let subject = x509
            .subject_name()
            .entries()
            .filter_map(|entry| entry.data().to_string().ok())
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Certificate {
            der: x509.to_der()?,
            pem: x509.to_pem()?,
            subject,
        })
    }

    pub fn from_pem(pem: &[u8]) -> Result<Certificate, CredentialError> {
        let x509 = X509::from_pem(pem).map_err(CredentialError::Certificate)?;
        Certificate::from_x509(x509).map_err(CredentialError::Certificate)
    }

    pub fn from_der(der: &[u8]) -> Result<Certificate, CredentialError> {
        let x509 = X509::from_der(der).map_err(CredentialError::Certificate)?;
        Certificate::from_x509(x509).map_err(CredentialError::Certificate)
    }

    /// The base64 text of an `ds:X509Certificate` element (whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Certificate, CredentialError> {
        use base64::Engine;
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| CredentialError::Base64)?;
        Certificate::from_der(&der)
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    pub fn base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn public_key(&self) -> Result<PKey<Public>, openssl::error::ErrorStack> {
        X509::from_der(&self.der)?.public_key()
    }
}

fn self_signed(key: &PKey<Private>, common_name: &str) -> Result<X509, openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("C", "DK")?;
    name.append_entry_by_text("O", "mitid-sim (test only)")?;
    name.append_entry_by_text("CN", common_name)?;
    let name = name.build();
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(key)?;
    builder.set_not_before(&*Asn1Time::days_from_now(0)?)?;
    builder.set_not_after(&*Asn1Time::days_from_now(3650)?)?;
    builder.sign(key, MessageDigest::sha256())?;
    Ok(builder.build())
}

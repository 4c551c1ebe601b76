//! SAML bindings (SAML bindings spec §3): how a message travels. HTTP-Redirect deflates and
//! base64-encodes it into the query and signs the query string; HTTP-POST base64-encodes it
//! into a form field and signs inside the XML; SOAP wraps it in an envelope.

use std::io::Read;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::{DeflateDecoder, DeflateEncoder};
use flate2::Compression;
use openssl::hash::MessageDigest;
use openssl::sign::{Signer, Verifier};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::credential::{Certificate, Credential};
use super::vocabulary::{Binding, SOAP_ENVELOPE_NS};
use super::xmlsec::RSA_SHA256;

/// Largest inflated message accepted: bounds a deflate bomb.
const MAX_MESSAGE: u64 = 256 * 1024;

/// Which field carries the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    SamlRequest,
    SamlResponse,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::SamlRequest => "SAMLRequest",
            Field::SamlResponse => "SAMLResponse",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("no {0} parameter")]
    Missing(&'static str),
    #[error("{0} appears more than once")]
    Repeated(String),
    #[error("{0} is not valid base64")]
    Base64(&'static str),
    #[error("{0} is not a DEFLATE-compressed message (HTTP-Redirect binding, §3.4.4.1)")]
    Deflate(&'static str),
    #[error("the message is larger than {MAX_MESSAGE} bytes")]
    TooLarge,
    #[error("the message is not UTF-8")]
    Utf8,
    #[error("Signature without SigAlg, or SigAlg without Signature")]
    HalfSigned,
    #[error("SigAlg {0} is not accepted: sign with {RSA_SHA256}")]
    Algorithm(String),
    #[error("the query signature does not verify with the SP's registered certificate")]
    BadSignature,
    #[error("not a SOAP 1.1 envelope with one message in its Body: {0}")]
    Soap(String),
}

/// A query signature: what was signed and the signature over it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuerySignature {
    pub algorithm: String,
    pub signature: Vec<u8>,
    /// `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as received (§3.4.4.1).
    pub signed_octets: Vec<u8>,
}

/// A message taken off its binding, not yet trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub binding: Binding,
    pub xml: String,
    pub relay_state: Option<String>,
    /// HTTP-Redirect only.
    pub query_signature: Option<QuerySignature>,
}

/// Reads an HTTP-Redirect message from the raw (still percent-encoded) query string.
pub fn from_redirect(raw_query: &str, field: Field) -> Result<Received, BindingError> {
    let mut message = None;
    let mut relay_state = None;
    let mut sig_alg = None;
    let mut signature = None;
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            n if n == field.name() => &mut message,
            "RelayState" => &mut relay_state,
            "SigAlg" => &mut sig_alg,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(raw).is_some() {
            return Err(BindingError::Repeated(name.to_string()));
        }
    }
    let raw_message = message.ok_or(BindingError::Missing(field.name()))?;
    let compressed = STANDARD
        .decode(strip_whitespace(&form_decode(raw_message)))
        .map_err(|_| BindingError::Base64(field.name()))?;
    let mut xml = Vec::new();
    DeflateDecoder::new(compressed.as_slice())
        .take(MAX_MESSAGE + 1)
        .read_to_end(&mut xml)
        .map_err(|_| BindingError::Deflate(field.name()))?;
    if xml.len() as u64 > MAX_MESSAGE {
        return Err(BindingError::TooLarge);
    }
    let xml = String::from_utf8(xml).map_err(|_| BindingError::Utf8)?;
    let query_signature = match (sig_alg, signature) {
        (None, None) => None,
        (Some(raw_alg), Some(raw_signature)) => {
            let mut signed = format!("{}={raw_message}", field.name());
            if let Some(raw_relay) = relay_state {
                signed.push_str(&format!("&RelayState={raw_relay}"));
            }
            signed.push_str(&format!("&SigAlg={raw_alg}"));
            Some(QuerySignature {
                algorithm: form_decode(raw_alg),
                signature: STANDARD
                    .decode(strip_whitespace(&form_decode(raw_signature)))
                    .map_err(|_| BindingError::Base64("Signature"))?,
                signed_octets: signed.into_bytes(),
            })
        }
        _ => return Err(BindingError::HalfSigned),
    };
    Ok(Received {
        binding: Binding::HttpRedirect,
        xml,
        relay_state: relay_state.map(form_decode),
        query_signature,
    })
}

/// Reads an HTTP-POST message from its (already form-decoded) fields.
pub fn from_post(
    message: Option<&str>,
    relay_state: Option<&str>,
    field: Field,
) -> Result<Received, BindingError> {
    let message = message.ok_or(BindingError::Missing(field.name()))?;
    let bytes = STANDARD
        .decode(strip_whitespace(message))
        .map_err(|_| BindingError::Base64(field.name()))?;
    if bytes.len() as u64 > MAX_MESSAGE {
        return Err(BindingError::TooLarge);
    }
    Ok(Received {
        binding: Binding::HttpPost,
        xml: String::from_utf8(bytes).map_err(|_| BindingError::Utf8)?,
        relay_state: relay_state.map(str::to_string),
        query_signature: None,
    })
}

/// Reads the message inside a SOAP 1.1 envelope (the SOAP binding, §3.2). The message
/// must declare its own namespaces, as SAML libraries write it.
pub fn from_soap(body: &str) -> Result<Received, BindingError> {
    if body.len() as u64 > MAX_MESSAGE {
        return Err(BindingError::TooLarge);
    }
    let doc =
        roxmltree::Document::parse(body).map_err(|err| BindingError::Soap(err.to_string()))?;
    let envelope = doc.root_element();
    let is_soap = |n: &roxmltree::Node, name: &str| {
        n.tag_name().name() == name && n.tag_name().namespace() == Some(SOAP_ENVELOPE_NS)
    };
    if !is_soap(&envelope, "Envelope") {
        return Err(BindingError::Soap("the root is not soap:Envelope".into()));
    }
    let soap_body = envelope
        .children()
        .find(|n| is_soap(n, "Body"))
        .ok_or_else(|| BindingError::Soap("no soap:Body".into()))?;
    let mut messages = soap_body.children().filter(|n| n.is_element());
    let message = messages
        .next()
        .ok_or_else(|| BindingError::Soap("the Body is empty".into()))?;
    if messages.next().is_some() {
        return Err(BindingError::Soap(
            "the Body holds more than one element".into(),
        ));
    }
    let xml = body[message.range()].to_string();
    roxmltree::Document::parse(&xml).map_err(|_| {
        BindingError::Soap("the message relies on namespaces declared on the envelope".into())
    })?;
    Ok(Received {
        binding: Binding::Soap,
        xml,
        relay_state: None,
        query_signature: None,
    })
}

impl QuerySignature {
    /// Verifies against any of the SP's certificates (RSA with SHA-256, -384 or -512).
    pub fn verify(&self, certificates: &[Certificate]) -> Result<(), BindingError> {
        let digest = match self.algorithm.as_str() {
            RSA_SHA256 => MessageDigest::sha256(),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => MessageDigest::sha384(),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => MessageDigest::sha512(),
            other => return Err(BindingError::Algorithm(other.to_string())),
        };
        for certificate in certificates {
            let Ok(key) = certificate.public_key() else {
                continue;
            };
            let verified = Verifier::new(digest, &key)
                .and_then(|mut v| v.verify_oneshot(&self.signature, &self.signed_octets))
                .unwrap_or(false);
            if verified {
                return Ok(());
            }
        }
        Err(BindingError::BadSignature)
    }
}

/// Characters left alone in the query: RFC 3986 unreserved.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URL of an HTTP-Redirect message to `endpoint`, signed with RSA-SHA256 when a
/// credential is given.
pub fn redirect_url(
    endpoint: &str,
    field: Field,
    xml: &str,
    relay_state: Option<&str>,
    signer: Option<&Credential>,
) -> Result<String, openssl::error::ErrorStack> {
    let mut deflated = Vec::new();
    DeflateEncoder::new(xml.as_bytes(), Compression::default())
        .read_to_end(&mut deflated)
        .expect("deflating into memory cannot fail");
    let mut query = format!(
        "{}={}",
        field.name(),
        utf8_percent_encode(&STANDARD.encode(deflated), QUERY)
    );
    if let Some(relay_state) = relay_state {
        query.push_str(&format!(
            "&RelayState={}",
            utf8_percent_encode(relay_state, QUERY)
        ));
    }
    if let Some(credential) = signer {
        query.push_str(&format!(
            "&SigAlg={}",
            utf8_percent_encode(RSA_SHA256, QUERY)
        ));
        let mut signer = Signer::new(MessageDigest::sha256(), credential.private_key())?;
        let signature = signer.sign_oneshot_to_vec(query.as_bytes())?;
        query.push_str(&format!(
            "&Signature={}",
            utf8_percent_encode(&STANDARD.encode(signature), QUERY)
        ));
    }
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Ok(format!("{endpoint}{separator}{query}"))
}

/// An auto-submitting HTTP-POST form, as data: the web layer renders it.
pub use crate::protocols::front::PostForm;

pub fn post_form(endpoint: &str, field: Field, xml: &str, relay_state: Option<&str>) -> PostForm {
    let mut fields = vec![(field.name().to_string(), STANDARD.encode(xml))];
    if let Some(relay_state) = relay_state {
        fields.push(("RelayState".into(), relay_state.to_string()));
    }
    PostForm {
        action: endpoint.to_string(),
        fields,
    }
}

/// A message in a SOAP 1.1 envelope.
pub fn soap_envelope(xml: &str) -> String {
    format!(
        "<soap11:Envelope xmlns:soap11=\"{SOAP_ENVELOPE_NS}\"><soap11:Body>{xml}</soap11:Body></soap11:Envelope>"
    )
}

/// Percent-decoding of a form value (`+` is a space).
fn form_decode(raw: &str) -> String {
    percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn strip_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

//! NEB's own error page. An authorization request the broker will not process never goes
//! back to the RP: the browser is sent to `<issuer>/Error?errorId=<opaque>` (recorded at
//! NEB, whose ids are ASP.NET data-protection payloads starting `CfDJ8`). Here the id is
//! the error itself, sealed (AES-256-GCM, a key per run), so the page needs no stored
//! state per refused request and nobody can make the broker's page say something else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use serde::{Deserialize, Serialize};

use super::error::OAuthError;
use crate::authenticators::Language;

/// ASP.NET Core data protection's magic header; base64url of it starts `CfDJ8`, like NEB's ids.
const MAGIC: [u8; 4] = [0x09, 0xF0, 0xC9, 0xF0];
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// How long an error id can be shown (a reload, a support ticket the same day).
const LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// Descriptions quote what the request sent; a long value is cut so the id stays a URL
/// any browser and proxy carries.
const MAX_DESCRIPTION_CHARS: usize = 400;

/// What the error page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerError {
    pub error: String,
    pub description: String,
    /// The client the request named, when it named a registered one.
    pub client_id: Option<String>,
    /// When the request was refused (Unix time).
    pub at: i64,
    /// The language the request asked for (`language`, `ui_locales`): the page speaks it.
    #[serde(default, skip_serializing_if = "is_danish")]
    pub language: Language,
}

/// Danish, the default, is left out of the sealed id (it keeps ids short).
fn is_danish(language: &Language) -> bool {
    language.is_danish()
}

impl BrokerError {
    pub fn new(error: &OAuthError, client_id: Option<&str>, language: Language, at: i64) -> Self {
        let mut description: String = error
            .description
            .chars()
            .take(MAX_DESCRIPTION_CHARS)
            .collect();
        if description.len() < error.description.len() {
            description.push('…');
        }
        Self {
            error: error.code.as_str().to_string(),
            description,
            client_id: client_id.map(str::to_string),
            at,
            language,
        }
    }
}

pub struct ErrorPages {
    key: [u8; 32],
}

impl Default for ErrorPages {
    fn default() -> Self {
        let mut key = [0u8; 32];
        openssl::rand::rand_bytes(&mut key).expect("the system's random source works");
        Self { key }
    }
}

impl ErrorPages {
    /// The `errorId` for an error.
    pub fn seal(&self, error: &BrokerError) -> String {
        let plain = serde_json::to_vec(error).expect("a plain struct serializes");
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce).expect("the system's random source works");
        let mut tag = [0u8; TAG_LEN];
        let sealed = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            &MAGIC,
            &plain,
            &mut tag,
        )
        .expect("AES-256-GCM encrypts with a 32-byte key");
        let mut id = MAGIC.to_vec();
        id.extend_from_slice(&nonce);
        id.extend_from_slice(&sealed);
        id.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(id)
    }

    /// The error behind an id this broker sealed, unless it is forged, garbled or too old.
    pub fn open(&self, id: &str, now: i64) -> Option<BrokerError> {
        let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
        let body = bytes.strip_prefix(&MAGIC)?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, rest) = body.split_at(NONCE_LEN);
        let (sealed, tag) = rest.split_at(rest.len() - TAG_LEN);
        let plain = decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(nonce),
            &MAGIC,
            sealed,
            tag,
        )
        .ok()?;
        let error: BrokerError = serde_json::from_slice(&plain).ok()?;
        (now - error.at <= LIFETIME_SECONDS).then_some(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error() -> BrokerError {
        BrokerError::new(
            &OAuthError::invalid_request("idp_values `x` is not an identity provider"),
            Some("demo-rp"),
            Language::En,
            1_000,
        )
    }

    #[test]
    fn an_id_opens_to_its_error_only_at_the_broker_that_sealed_it() {
        let pages = ErrorPages::default();
        let id = pages.seal(&error());
        assert!(id.starts_with("CfDJ8"), "{id}");
        assert_eq!(pages.open(&id, 1_000), Some(error()));
        assert_eq!(ErrorPages::default().open(&id, 1_000), None, "another key");
        assert_eq!(
            pages.open(&id, 1_000 + LIFETIME_SECONDS + 1),
            None,
            "too old"
        );
    }

    #[test]
    fn a_huge_parameter_still_makes_a_short_id() {
        let huge = OAuthError::invalid_request(format!("idp_values `{}`", "x".repeat(100_000)));
        let id = ErrorPages::default().seal(&BrokerError::new(&huge, None, Language::Da, 0));
        assert!(id.len() < 1_000, "{} characters", id.len());
    }

    #[test]
    fn garbled_or_forged_ids_open_to_nothing() {
        let pages = ErrorPages::default();
        let id = pages.seal(&error());
        let mut bytes = URL_SAFE_NO_PAD.decode(&id).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        for bad in [
            URL_SAFE_NO_PAD.encode(bytes),
            "CfDJ8".into(),
            String::new(),
            "not base64 !".into(),
            id[..id.len() - 4].to_string(),
        ] {
            assert_eq!(pages.open(&bad, 1_000), None, "{bad}");
        }
    }
}

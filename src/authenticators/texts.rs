//! What the MitID client shows about the transaction besides the service's name: the
//! action header (NEB's `action_text`) and the service's reference text (`reference_text`).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde::{Serialize, Serializer};

use super::Language;

/// The header verb of the MitID client: "Log på hos …", "Godkend hos …", …
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ActionText {
    #[default]
    LogOn,
    Approve,
    Confirm,
    Accept,
    Sign,
}

impl ActionText {
    pub const ALL: [ActionText; 5] = [
        ActionText::LogOn,
        ActionText::Approve,
        ActionText::Confirm,
        ActionText::Accept,
        ActionText::Sign,
    ];

    /// The value NEB's `action_text` takes.
    pub fn name(self) -> &'static str {
        match self {
            ActionText::LogOn => "LOG_ON",
            ActionText::Approve => "APPROVE",
            ActionText::Confirm => "CONFIRM",
            ActionText::Accept => "ACCEPT",
            ActionText::Sign => "SIGN",
        }
    }

    /// The header before the service's name.
    pub fn header(self, language: Language) -> &'static str {
        match (self, language.is_danish()) {
            (ActionText::LogOn, true) => "Log på hos",
            (ActionText::LogOn, false) => "Log on at",
            (ActionText::Approve, true) => "Godkend hos",
            (ActionText::Approve, false) => "Approve at",
            (ActionText::Confirm, true) => "Bekræft hos",
            (ActionText::Confirm, false) => "Confirm at",
            (ActionText::Accept, true) => "Accepter hos",
            (ActionText::Accept, false) => "Accept at",
            (ActionText::Sign, true) => "Underskriv hos",
            (ActionText::Sign, false) => "Sign at",
        }
    }
}

impl FromStr for ActionText {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
                format!("`{text}` is not one of {}", names.join(", "))
            })
    }
}

impl Serialize for ActionText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The service's own words about the transaction ("Overfør 100 kr. til …"), sent base64
/// encoded and shown decoded, at most 130 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceText {
    text: String,
    /// As the RP sent it: NEB passes the reference text through into its tokens encoded.
    encoded: String,
}

impl Serialize for ReferenceText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl ReferenceText {
    pub const MAX_CHARS: usize = 130;

    /// From the base64 the RP sent (standard or URL-safe alphabet, padded).
    pub fn from_base64(encoded: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(encoded)
            .or_else(|_| URL_SAFE.decode(encoded))
            .map_err(|err| format!("`{encoded}` is not base64: {err}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("`{encoded}` does not decode to UTF-8 text"))?;
        let chars = text.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "the decoded text has {chars} characters; MitID allows at most {}",
                Self::MAX_CHARS
            ));
        }
        if text.trim().is_empty() {
            return Err("the decoded text is empty".into());
        }
        Ok(Self {
            text,
            encoded: encoded.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The base64 the RP sent.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }
}

impl fmt::Display for ReferenceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The texts one login shows in the MitID client (and on the simulated phone), and the
/// language it shows them in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientTexts {
    pub action: ActionText,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_text: Option<ReferenceText>,
    pub language: Language,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_texts_are_the_five_neb_names_exactly() {
        assert_eq!("SIGN".parse(), Ok(ActionText::Sign));
        assert_eq!("LOG_ON".parse(), Ok(ActionText::LogOn));
        assert!("sign".parse::<ActionText>().is_err(), "case matters");
        assert!("FOO".parse::<ActionText>().unwrap_err().contains("LOG_ON"));
        assert_eq!(ActionText::Approve.header(Language::Da), "Godkend hos");
        assert_eq!(ActionText::Sign.header(Language::En), "Sign at");
    }

    #[test]
    fn reference_texts_are_base64_of_at_most_130_characters() {
        let text = ReferenceText::from_base64("VGVzdCByZWZlcmVuY2UgdGV4dA==").unwrap();
        assert_eq!(text.as_str(), "Test reference text");
        assert_eq!(text.encoded(), "VGVzdCByZWZlcmVuY2UgdGV4dA==");
        let danish = STANDARD.encode("Overfør 100 kr. til Ærø Æbler");
        assert_eq!(
            ReferenceText::from_base64(&danish).unwrap().as_str(),
            "Overfør 100 kr. til Ærø Æbler"
        );
        let longest = STANDARD.encode("æ".repeat(130));
        assert!(
            ReferenceText::from_base64(&longest).is_ok(),
            "characters, not bytes"
        );
        let too_long = STANDARD.encode("a".repeat(131));
        assert!(ReferenceText::from_base64(&too_long)
            .unwrap_err()
            .contains("131"));
        assert!(ReferenceText::from_base64("not base64!").is_err());
        assert!(ReferenceText::from_base64(&STANDARD.encode([0xff, 0xfe])).is_err());
    }
}

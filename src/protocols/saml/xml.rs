//! Writing XML text: escaping and SAML's time format. (Reading goes through roxmltree,
//! signing and encryption through libxmlsec1.)

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Escapes text for element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `xs:dateTime` in UTC with whole seconds and a `Z`, as SAML wants (core §1.3.3).
pub fn instant(at: OffsetDateTime) -> String {
    let at = at
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

pub fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// A fresh SAML ID: starts with a letter or underscore (xs:ID), 160 bits of randomness.
pub fn new_id() -> String {
    format!("_{}", uuid::Uuid::new_v4().simple())
}

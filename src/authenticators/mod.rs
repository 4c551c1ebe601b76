//! How a citizen proves who they are. Configuration lives on the identity; the runtime
//! state of each device (pending app requests, wrong-code counters) lives here.

pub mod app;
pub mod audio;
pub mod code_card;
pub mod code_display;
mod language;
pub mod texts;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::Loa;

pub use app::{
    AppAnswer, AppConfig, AppKind, AppRegistry, AppRequest, AppRequestId, AppRequestState,
};
pub use code_card::{CodeCards, NemIdConfig, Pid};
pub use code_display::{CodeCheck, CodeDisplayConfig, CodeDisplayGuard, TotpSecret};
pub use language::Language;
pub use texts::{ActionText, ClientTexts, ReferenceText};

/// The authenticators a login can finish with: MitID's, then legacy NemID's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    App,
    CodeDisplay,
    AudioReader,
    Chip,
    Password,
    CodeCard,
    KeyApp,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::App,
        Method::CodeDisplay,
        Method::AudioReader,
        Method::Chip,
        Method::Password,
        Method::CodeCard,
        Method::KeyApp,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Method::App => "app",
            Method::CodeDisplay => "code-display",
            Method::AudioReader => "audio-reader",
            Method::Chip => "chip",
            Method::Password => "password",
            Method::CodeCard => "code-card",
            Method::KeyApp => "key-app",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.slug() == slug)
    }

    pub fn is_nemid(self) -> bool {
        matches!(self, Method::CodeCard | Method::KeyApp)
    }

    /// Authenticators that show a TOTP code (code display and audio code reader).
    pub fn is_totp(self) -> bool {
        matches!(self, Method::CodeDisplay | Method::AudioReader)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// What the login achieved: the `amr` value and the authenticator assurance level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub method: Method,
    pub amr: &'static str,
    pub aal: Loa,
}

impl Proof {
    /// The proof each method gives; the app's level is its enrolment's.
    pub fn of(method: Method, app_level: Loa) -> Self {
        let (amr, aal) = match method {
            // The real broker spells the High-enrolled app's amr `code_app_enchanced`.
            Method::App if app_level == Loa::High => ("code_app_enchanced", Loa::High),
            Method::App => ("code_app", app_level),
            Method::CodeDisplay => ("code_token", Loa::Substantial),
            Method::AudioReader => ("code_reader", Loa::Substantial),
            Method::Chip => ("u2f_token", Loa::High),
            Method::Password => ("password", Loa::Low),
            Method::CodeCard | Method::KeyApp => ("nemid.otp", Loa::Substantial),
        };
        Self { method, amr, aal }
    }
}

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, attempt: &str) -> bool {
        // openssl's constant-time compare panics on unequal lengths, so check those first.
        self.0.len() == attempt.len() && openssl::memcmp::eq(self.0.as_bytes(), attempt.as_bytes())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

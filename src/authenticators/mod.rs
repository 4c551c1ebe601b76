//! How a citizen proves who they are. Configuration lives on the identity; the runtime
//! state of each device (pending app requests, wrong-code counters) lives here.

pub mod app;
pub mod code_display;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::Loa;

pub use app::{AppAnswer, AppConfig, AppRegistry, AppRequest, AppRequestId, AppRequestState};
pub use code_display::{CodeCheck, CodeDisplayConfig, CodeDisplayGuard, TotpSecret};

/// The authenticators a MitID login can finish with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    App,
    CodeDisplay,
}

impl Method {
    pub const ALL: [Method; 2] = [Method::App, Method::CodeDisplay];

    pub fn slug(self) -> &'static str {
        match self {
            Method::App => "app",
            Method::CodeDisplay => "code-display",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.slug() == slug)
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
    pub fn app(level: Loa) -> Self {
        // The real broker spells the High-enrolled app's amr `code_app_enchanced`.
        let amr = if level == Loa::High {
            "code_app_enchanced"
        } else {
            "code_app"
        };
        Self {
            method: Method::App,
            amr,
            aal: level,
        }
    }

    pub fn code_display() -> Self {
        Self {
            method: Method::CodeDisplay,
            amr: "code_token",
            aal: Loa::Substantial,
        }
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

//! NSIS levels of assurance, as the brokers name them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loa {
    Low,
    Substantial,
    High,
}

impl Loa {
    /// The value of the `loa`, `ial` and `aal` claims.
    pub fn uri(self) -> &'static str {
        match self {
            Loa::Low => "https://data.gov.dk/concept/core/nsis/Low",
            Loa::Substantial => "https://data.gov.dk/concept/core/nsis/Substantial",
            Loa::High => "https://data.gov.dk/concept/core/nsis/High",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Loa::Low => "low",
            Loa::Substantial => "substantial",
            Loa::High => "high",
        }
    }
}

impl fmt::Display for Loa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loa {
    type Err = String;

    /// Accepts the short names and the NSIS URIs the RPs send in `loa_value`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let short = text.rsplit('/').next().unwrap_or(text).to_ascii_lowercase();
        match short.as_str() {
            "low" => Ok(Loa::Low),
            "substantial" => Ok(Loa::Substantial),
            "high" => Ok(Loa::High),
            _ => Err(format!(
                "`{text}` is not a level of assurance (low, substantial, high or an NSIS URI)"
            )),
        }
    }
}

/// The level a relying party requires: of the login (LoA, the lower of the identity's IAL
/// and the authenticator's AAL; NEB's `loa_value`) or of the authenticator alone (NEB's
/// `aal_value`, so an identity at IAL Low may log in with a Substantial authenticator and
/// get LoA Low).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredLevel {
    Loa(Loa),
    Aal(Loa),
}

impl Default for RequiredLevel {
    /// NEB: substantial when the request names neither `loa_value` nor `aal_value`.
    fn default() -> Self {
        RequiredLevel::Loa(Loa::Substantial)
    }
}

impl RequiredLevel {
    /// Whether an identity of this IAL can reach the level at all.
    pub fn admits_identity(self, ial: Loa) -> bool {
        match self {
            RequiredLevel::Loa(level) => ial >= level,
            RequiredLevel::Aal(_) => true,
        }
    }

    /// The least an authenticator must give.
    pub fn min_aal(self) -> Loa {
        match self {
            RequiredLevel::Loa(level) | RequiredLevel::Aal(level) => level,
        }
    }

    pub fn met_by(self, ial: Loa, aal: Loa) -> bool {
        self.admits_identity(ial) && aal >= self.min_aal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aal_requirement_ignores_the_identity_level_and_a_loa_requirement_does_not() {
        let aal = RequiredLevel::Aal(Loa::Substantial);
        assert!(aal.met_by(Loa::Low, Loa::Substantial));
        assert!(!aal.met_by(Loa::High, Loa::Low));
        let loa = RequiredLevel::Loa(Loa::Substantial);
        assert!(!loa.met_by(Loa::Low, Loa::Substantial));
        assert!(loa.met_by(Loa::Substantial, Loa::High));
        assert_eq!(RequiredLevel::default(), loa);
    }

    #[test]
    fn parses_short_names_and_uris_and_orders_levels() {
        assert_eq!("substantial".parse(), Ok(Loa::Substantial));
        assert_eq!(
            "https://data.gov.dk/concept/core/nsis/High".parse(),
            Ok(Loa::High)
        );
        assert!("medium".parse::<Loa>().is_err());
        assert!(Loa::Low < Loa::Substantial && Loa::Substantial < Loa::High);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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

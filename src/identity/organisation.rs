//! Test organisations of MitID Erhverv: CVR number, name, production units (P numbers) and
//! SE numbers, parsed once and valid thereafter.

use serde::{Deserialize, Serialize};

fixed_digits!(
    /// A CVR number (Det Centrale Virksomhedsregister): 8 digits. mitid-sim holds test
    /// organisations only, and fictitious test CVR numbers start with 9 (NemLog-in's rule for
    /// test data), so a real company's number can never end up in a fixture.
    Cvr,
    8,
    "a CVR number"
);

impl Cvr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits = Self::digits_of(text)?;
        if digits[0] != b'9' {
            return Err(format!(
                "`{}` is not a test CVR number: fictitious test CVR numbers start with 9",
                text.trim()
            ));
        }
        Ok(Self(digits))
    }

    /// Real CVR numbers carry a modulus 11 check digit (weights 2,7,6,5,4,3,2,1). It is
    /// reported, not required; the generator and the built-in organisations satisfy it so
    /// that RPs that check it accept them.
    pub fn satisfies_modulus_11(&self) -> bool {
        modulus_11(&self.0)
    }
}

fixed_digits!(
    /// A P number (produktionsenhedsnummer): one production unit, i.e. one address where an
    /// organisation works. 10 digits.
    PNumber,
    10,
    "a P number"
);

impl PNumber {
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::digits_of(text).map(Self)
    }
}

fixed_digits!(
    /// An SE number (the tax authority's registration of a part of an organisation): 8 digits.
    SeNumber,
    8,
    "an SE number"
);

impl SeNumber {
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::digits_of(text).map(Self)
    }

    pub fn satisfies_modulus_11(&self) -> bool {
        modulus_11(&self.0)
    }
}

/// The CVR/SE check: weights 2,7,6,5,4,3,2,1 over the ASCII digits sum to a multiple of 11.
pub(crate) fn modulus_11(digits: &[u8; 8]) -> bool {
    const WEIGHTS: [u32; 8] = [2, 7, 6, 5, 4, 3, 2, 1];
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    sum.is_multiple_of(11)
}

/// A test organisation: the employer of professional identities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub cvr: Cvr,
    /// The registered name (`nemlogin.org_name`).
    pub name: String,
    /// What this test organisation is for, shown in listings.
    #[serde(default)]
    pub purpose: String,
    /// Its production units; a professional identity may name the one it works at.
    #[serde(default)]
    pub p_numbers: Vec<PNumber>,
    #[serde(default)]
    pub se_numbers: Vec<SeNumber>,
}

impl Organisation {
    /// Problems an entry can have beyond its syntax (fixtures and the admin API).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push(format!("organisation {} has an empty name", self.cvr));
        }
        if self.name.chars().count() > MAX_NAME_CHARS {
            problems.push(format!(
                "organisation {} has a name longer than {MAX_NAME_CHARS} characters",
                self.cvr
            ));
        }
        if let Some(p) = first_repeated(&self.p_numbers) {
            problems.push(format!(
                "organisation {} lists P number {p} twice",
                self.cvr
            ));
        }
        if let Some(se) = first_repeated(&self.se_numbers) {
            problems.push(format!(
                "organisation {} lists SE number {se} twice",
                self.cvr
            ));
        }
        problems
    }
}

/// Names longer than this are refused: no register holds them and pages could not show them.
pub const MAX_NAME_CHARS: usize = 300;

/// The first item that appeared before, if any.
pub(crate) fn first_repeated<T: PartialEq>(items: &[T]) -> Option<&T> {
    items
        .iter()
        .enumerate()
        .find(|(i, item)| items[..*i].contains(item))
        .map(|(_, item)| item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_cvr_has_eight_digits_and_starts_with_9() {
        let cvr = Cvr::parse(" 91234564 ").unwrap();
        assert_eq!(cvr.as_str(), "91234564");
        assert!(cvr.satisfies_modulus_11());
        assert!(!Cvr::parse("91234565").unwrap().satisfies_modulus_11());
        let real = Cvr::parse("43950932").unwrap_err();
        assert!(real.contains("start with 9"), "{real}");
        for bad in ["9123456", "912345640", "9123456x", "", "9123 456"] {
            let err = Cvr::parse(bad).unwrap_err();
            assert!(err.contains("exactly 8 digits"), "{bad}: {err}");
        }
    }

    #[test]
    fn p_and_se_numbers_have_their_widths() {
        assert_eq!(PNumber::parse("1012345678").unwrap().as_str(), "1012345678");
        assert!(PNumber::parse("101234567").is_err());
        assert!(SeNumber::parse("92345688").unwrap().satisfies_modulus_11());
        assert!(SeNumber::parse("9234567").is_err());
    }

    #[test]
    fn numbers_serialise_as_their_digits() {
        let cvr = Cvr::parse("91234564").unwrap();
        assert_eq!(serde_json::to_string(&cvr).unwrap(), "\"91234564\"");
        let back: Cvr = serde_json::from_str("\"91234564\"").unwrap();
        assert_eq!(back, cvr);
        assert!(serde_json::from_str::<Cvr>("\"11234564\"").is_err());
        assert_eq!(format!("{cvr:?}"), "Cvr(91234564)");
    }

    #[test]
    fn an_organisation_with_repeated_units_or_no_name_has_problems() {
        let organisation = Organisation {
            cvr: Cvr::parse("91234564").unwrap(),
            name: " ".into(),
            purpose: String::new(),
            p_numbers: vec![PNumber::parse("1012345678").unwrap(); 2],
            se_numbers: vec![],
        };
        let problems = organisation.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("empty name"));
        assert!(problems[1].contains("P number 1012345678 twice"));
    }
}

//! Danish CPR numbers (personnummer), parsed once and valid thereafter.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Female,
    Male,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CprError {
    #[error("a CPR number has 10 digits as DDMMYY-SSSS or DDMMYYSSSS, got `{0}`")]
    Shape(String),
    #[error("`{0}` has no valid birth date: {1}")]
    BirthDate(String, String),
}

/// A syntactically valid CPR number with a real birth date. Modulus 11 is not required
/// (numbers issued since 2007 need not satisfy it), so it is reported, not enforced.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cpr {
    digits: [u8; 10],
    birth_date: Date,
}

impl Cpr {
    pub fn parse(text: &str) -> Result<Self, CprError> {
        let trimmed = text.trim();
        let compact: String = match trimmed.len() {
            11 if trimmed.as_bytes()[6] == b'-' => [&trimmed[..6], &trimmed[7..]].concat(),
            10 => trimmed.to_string(),
            _ => return Err(CprError::Shape(text.to_string())),
        };
        if !compact.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CprError::Shape(text.to_string()));
        }
        let mut digits = [0u8; 10];
        for (slot, byte) in digits.iter_mut().zip(compact.bytes()) {
            *slot = byte - b'0';
        }
        let day = digits[0] * 10 + digits[1];
        let month = digits[2] * 10 + digits[3];
        let yy = i32::from(digits[4]) * 10 + i32::from(digits[5]);
        let year = century(digits[6], yy) + yy;
        let month = Month::try_from(month)
            .map_err(|_| CprError::BirthDate(text.to_string(), format!("month {month:02}")))?;
        let birth_date = Date::from_calendar_date(year, month, day).map_err(|_| {
            CprError::BirthDate(text.to_string(), format!("day {day:02} in {month} {year}"))
        })?;
        Ok(Self { digits, birth_date })
    }

    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Odd last digit: male; even: female.
    pub fn gender(&self) -> Gender {
        if self.digits[9] % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// Completed years on `today`.
    pub fn age_on(&self, today: Date) -> u32 {
        let born = self.birth_date;
        let mut age = today.year() - born.year();
        if (today.month() as u8, today.day()) < (born.month() as u8, born.day()) {
            age -= 1;
        }
        age.max(0) as u32
    }

    pub fn satisfies_modulus_11(&self) -> bool {
        const WEIGHTS: [u32; 10] = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
        let sum: u32 = self
            .digits
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(*d) * w)
            .sum();
        sum.is_multiple_of(11)
    }

    /// The 10 digits without a dash, as the brokers release it in `dk.cpr`.
    pub fn compact(&self) -> String {
        self.digits.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// The person's UUID in the CPR register (NemLog-in's `cprUuid`, NEB's
    /// `nemlogin.cpr_uuid`): derived from the number (UUID v5), so the same fictitious
    /// person has the same UUID in every run and every broker.
    pub fn person_uuid(&self) -> uuid::Uuid {
        uuid::Uuid::new_v5(&CPR_UUID_NAMESPACE, self.compact().as_bytes())
    }
}

/// The namespace of `Cpr::person_uuid` (a fixed, random UUID of mitid-sim's own).
const CPR_UUID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x3c9a_56e1_8f0d_4b7e_a2c4_19d6_5e70_b3f8);

/// The century rule keyed on the 7th digit (CPR-kontoret's table).
fn century(seventh: u8, yy: i32) -> i32 {
    match seventh {
        0..=3 => 1900,
        4 | 9 if yy <= 36 => 2000,
        4 | 9 => 1900,
        _ if yy <= 57 => 2000,
        _ => 1800,
    }
}

impl fmt::Display for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let compact = self.compact();
        write!(f, "{}-{}", &compact[..6], &compact[6..])
    }
}

impl fmt::Debug for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cpr({self})")
    }
}

impl TryFrom<String> for Cpr {
    type Error = CprError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Cpr> for String {
    fn from(cpr: Cpr) -> Self {
        cpr.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_person_uuid_is_stable_and_differs_per_person() {
        let anna = Cpr::parse("120385-1234").unwrap();
        assert_eq!(
            anna.person_uuid(),
            Cpr::parse("1203851234").unwrap().person_uuid()
        );
        assert_eq!(anna.person_uuid().get_version_num(), 5);
        assert_ne!(
            anna.person_uuid(),
            Cpr::parse("120385-1235").unwrap().person_uuid()
        );
        assert_eq!(
            anna.person_uuid().to_string(),
            "cbd0ea79-8821-5583-b019-2b19711845cf",
            "pinned: RPs may have stored it"
        );
    }
    use time::macros::date;

    #[test]
    fn accepts_both_written_forms() {
        let dashed = Cpr::parse("010190-1234").unwrap();
        let compact = Cpr::parse("0101901234").unwrap();
        assert_eq!(dashed, compact);
        assert_eq!(dashed.to_string(), "010190-1234");
        assert_eq!(dashed.compact(), "0101901234");
    }

    #[test]
    fn century_follows_the_seventh_digit() {
        assert_eq!(Cpr::parse("010190-3000").unwrap().birth_date().year(), 1990);
        assert_eq!(Cpr::parse("010110-4000").unwrap().birth_date().year(), 2010);
        assert_eq!(Cpr::parse("010150-4000").unwrap().birth_date().year(), 1950);
        assert_eq!(Cpr::parse("010136-9000").unwrap().birth_date().year(), 2036);
        assert_eq!(Cpr::parse("010137-9000").unwrap().birth_date().year(), 1937);
        assert_eq!(Cpr::parse("010157-5000").unwrap().birth_date().year(), 2057);
        assert_eq!(Cpr::parse("010158-8000").unwrap().birth_date().year(), 1858);
    }

    #[test]
    fn gender_is_the_parity_of_the_last_digit() {
        assert_eq!(Cpr::parse("010190-1235").unwrap().gender(), Gender::Male);
        assert_eq!(Cpr::parse("010190-1234").unwrap().gender(), Gender::Female);
    }

    #[test]
    fn age_counts_completed_years() {
        let cpr = Cpr::parse("150608-4321").unwrap();
        assert_eq!(cpr.age_on(date!(2026 - 06 - 14)), 17);
        assert_eq!(cpr.age_on(date!(2026 - 06 - 15)), 18);
    }

    #[test]
    fn leap_days_exist_only_in_leap_years() {
        assert!(Cpr::parse("290200-4000").is_ok());
        let err = Cpr::parse("290201-4000").unwrap_err();
        assert!(err.to_string().contains("day 29"), "{err}");
    }

    #[test]
    fn rejects_malformed_numbers_with_a_reason() {
        assert!(matches!(Cpr::parse("01019-12345"), Err(CprError::Shape(_))));
        assert!(matches!(Cpr::parse("0101901a34"), Err(CprError::Shape(_))));
        assert!(matches!(
            Cpr::parse("011390-1234"),
            Err(CprError::BirthDate(..))
        ));
        assert!(matches!(
            Cpr::parse("320190-1234"),
            Err(CprError::BirthDate(..))
        ));
    }

    #[test]
    fn modulus_11_is_reported_not_required() {
        // 070761-4285 is the classic textbook example that satisfies the check.
        assert!(Cpr::parse("070761-4285").unwrap().satisfies_modulus_11());
        assert!(!Cpr::parse("070761-4286").unwrap().satisfies_modulus_11());
    }
}

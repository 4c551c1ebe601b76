//! The code display (kodeviser): a 6-digit TOTP, then the password. Three wrong codes
//! block the device for a while; each code is accepted once (RFC 6238 §5.2).

use std::fmt;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use totp_rs::{Algorithm, Secret, Totp};
use uuid::Uuid;

use super::Method;

pub const WRONG_CODES_BEFORE_BLOCK: u8 = 3;
const STEP_SECONDS: u64 = 30;

/// A base32 TOTP seed of at least 128 bits, checked when the fixture is read.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TotpSecret {
    base32: String,
    totp: Totp,
}

impl TotpSecret {
    pub fn parse(base32: &str) -> Result<Self, String> {
        let normalised: String = base32
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let secret = Secret::try_from_base32(&normalised)
            .map_err(|_| format!("`{base32}` is not base32 (A-Z, 2-7)"))?;
        let totp = totp_rs::Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(STEP_SECONDS)
            .with_secret(secret)
            .build()
            .map_err(|err| format!("unusable TOTP secret `{base32}`: {err}"))?;
        Ok(Self {
            base32: normalised,
            totp,
        })
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; 20];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let base32 = Secret::from(bytes.to_vec()).to_base32();
        Self::parse(&base32).expect("20 random bytes always make a valid secret")
    }

    pub fn base32(&self) -> &str {
        &self.base32
    }

    /// The code the device shows at `at`.
    pub fn code_at(&self, at: OffsetDateTime) -> String {
        self.totp.generate(unix_seconds(at)).to_string()
    }

    /// Seconds until the device shows the next code.
    pub fn seconds_left(&self, at: OffsetDateTime) -> u64 {
        STEP_SECONDS - unix_seconds(at) % STEP_SECONDS
    }

    fn matching_step(&self, code: &str, at: OffsetDateTime) -> Option<u64> {
        self.totp.check(code.trim(), unix_seconds(at))
    }
}

fn unix_seconds(at: OffsetDateTime) -> u64 {
    at.unix_timestamp().max(0) as u64
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl PartialEq for TotpSecret {
    fn eq(&self, other: &Self) -> bool {
        self.base32 == other.base32
    }
}

impl TryFrom<String> for TotpSecret {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TotpSecret> for String {
    fn from(secret: TotpSecret) -> Self {
        secret.base32
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeDisplayConfig {
    /// Base32 seed of the device's TOTP (SHA-1, 6 digits, 30 s).
    pub secret: TotpSecret,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    Wrong {
        attempts_left: u8,
    },
    /// The third wrong code blocks the device until the given time.
    Blocked {
        until: OffsetDateTime,
    },
    /// A code already used once in its time window.
    Reused,
}

#[derive(Debug, Default, Clone)]
struct DeviceState {
    wrong_codes: u8,
    blocked_until: Option<OffsetDateTime>,
    last_accepted_step: Option<u64>,
}

/// Wrong-guess counters and replay memory per citizen and secret (a code display, an
/// audio code reader, the password, the NemID card are counted apart), sharded so
/// logins of different citizens never wait on each other.
#[derive(Debug)]
pub struct CodeDisplayGuard {
    devices: DashMap<(Uuid, Method), DeviceState>,
    block_for: Duration,
}

impl CodeDisplayGuard {
    pub fn new(block_for: Duration) -> Self {
        Self {
            devices: DashMap::new(),
            block_for,
        }
    }

    pub fn blocked_until(
        &self,
        device: (Uuid, Method),
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        self.devices
            .get(&device)
            .and_then(|d| d.blocked_until)
            .filter(|until| *until > now)
    }

    pub fn check(
        &self,
        device: (Uuid, Method),
        secret: &TotpSecret,
        code: &str,
        now: OffsetDateTime,
    ) -> CodeCheck {
        let mut device = self.devices.entry(device).or_default();
        if let Some(until) = device.blocked_until {
            if until > now {
                return CodeCheck::Blocked { until };
            }
            *device = DeviceState {
                last_accepted_step: device.last_accepted_step,
                ..DeviceState::default()
            };
        }
        match secret.matching_step(code, now) {
            Some(step) if device.last_accepted_step >= Some(step) => CodeCheck::Reused,
            Some(step) => {
                device.wrong_codes = 0;
                device.last_accepted_step = Some(step);
                CodeCheck::Accepted
            }
            None => Self::count_failure(&mut device, now, self.block_for),
        }
    }

    fn count_failure(
        device: &mut DeviceState,
        now: OffsetDateTime,
        block_for: Duration,
    ) -> CodeCheck {
        device.wrong_codes += 1;
        if device.wrong_codes >= WRONG_CODES_BEFORE_BLOCK {
            let until = now + block_for;
            device.blocked_until = Some(until);
            CodeCheck::Blocked { until }
        } else {
            CodeCheck::Wrong {
                attempts_left: WRONG_CODES_BEFORE_BLOCK - device.wrong_codes,
            }
        }
    }

    /// Counts a wrong password or code-card key: the third in a row blocks that secret
    /// for the block time, like a wrong code does.
    pub fn fail(&self, secret: (Uuid, Method), now: OffsetDateTime) -> CodeCheck {
        let mut device = self.devices.entry(secret).or_default();
        if let Some(until) = device.blocked_until.filter(|until| *until > now) {
            return CodeCheck::Blocked { until };
        }
        if device.blocked_until.is_some() {
            device.blocked_until = None;
            device.wrong_codes = 0;
        }
        Self::count_failure(&mut device, now, self.block_for)
    }

    /// A right password or key ends the run of wrong ones.
    pub fn succeed(&self, secret: (Uuid, Method)) {
        if let Some(mut device) = self.devices.get_mut(&secret) {
            device.wrong_codes = 0;
        }
    }

    /// Lifts every block of a citizen and forgets wrong codes (the CLI's and admin API's unlock).
    pub fn unlock(&self, citizen: Uuid) {
        self.devices.retain(|(owner, _), _| *owner != citizen);
    }

    /// Wrong codes so far and the block, for `users show`.
    pub fn status(
        &self,
        device: (Uuid, Method),
        now: OffsetDateTime,
    ) -> (u8, Option<OffsetDateTime>) {
        self.devices.get(&device).map_or((0, None), |d| {
            (d.wrong_codes, d.blocked_until.filter(|until| *until > now))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    #[test]
    fn rfc_6238_vector_is_reproduced() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", T = 59 → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let secret = TotpSecret::parse("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        assert_eq!(secret.code_at(datetime!(1970-01-01 0:00:59 UTC)), "287082");
    }

    #[test]
    fn short_or_malformed_seeds_are_refused() {
        assert!(TotpSecret::parse("JBSWY3DP")
            .unwrap_err()
            .contains("unusable"));
        assert!(TotpSecret::parse("not base32!")
            .unwrap_err()
            .contains("base32"));
    }

    #[test]
    fn a_code_works_once_and_three_wrong_codes_block_until_the_time_passes() {
        let guard = CodeDisplayGuard::new(Duration::minutes(15));
        let secret = TotpSecret::parse(SEED).unwrap();
        let citizen = (Uuid::new_v4(), Method::CodeDisplay);
        let now = datetime!(2026-11-23 12:00:00 UTC);
        let code = secret.code_at(now);
        assert_eq!(
            guard.check(citizen, &secret, &code, now),
            CodeCheck::Accepted
        );
        assert_eq!(guard.check(citizen, &secret, &code, now), CodeCheck::Reused);

        assert_eq!(
            guard.check(citizen, &secret, "000000", now),
            CodeCheck::Wrong { attempts_left: 2 }
        );
        guard.check(citizen, &secret, "000001", now);
        let blocked = guard.check(citizen, &secret, "000002", now);
        assert_eq!(
            blocked,
            CodeCheck::Blocked {
                until: now + Duration::minutes(15)
            }
        );

        let later = now + Duration::minutes(14);
        let fresh = secret.code_at(later);
        assert!(matches!(
            guard.check(citizen, &secret, &fresh, later),
            CodeCheck::Blocked { .. }
        ));
        let after = now + Duration::minutes(16);
        assert_eq!(
            guard.check(citizen, &secret, &secret.code_at(after), after),
            CodeCheck::Accepted
        );
    }
}

//! The broker's one clock. Everything that expires (codes, app requests, TOTP windows,
//! lockouts, sessions) reads time here, so `--clock-offset` can make an hour pass at once.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn with_offset(offset: Duration) -> Self {
        let clock = Self::default();
        clock.set_offset(offset);
        clock
    }

    #[allow(clippy::disallowed_methods)] // the single sanctioned reading of wall time
    pub fn now(&self) -> OffsetDateTime {
        let real = OffsetDateTime::now_utc();
        // Offsets are bounded when set, so this cannot leave the calendar in practice.
        real.checked_add(self.offset()).unwrap_or(real)
    }

    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    pub fn offset(&self) -> Duration {
        Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Sets the offset from real time, brought within the allowed range (see
    /// [`Clock::try_set_offset`] to be told instead).
    pub fn set_offset(&self, offset: Duration) {
        let (low, high) = allowed_offsets();
        self.offset_ms.store(
            offset.whole_milliseconds().clamp(low, high) as i64,
            Ordering::Relaxed,
        );
    }

    /// Moves the clock forward (or back, with a negative duration) for every holder,
    /// stopping at the ends of the allowed range (see [`Clock::try_advance`]).
    pub fn advance(&self, by: Duration) {
        let by = by.whole_milliseconds();
        let (low, high) = allowed_offsets();
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                Some((i128::from(current) + by).clamp(low, high) as i64)
            });
    }

    /// Sets the offset from real time, or says why it is not allowed.
    pub fn try_set_offset(&self, offset: Duration) -> Result<(), ClockError> {
        check(offset.whole_milliseconds())?;
        self.set_offset(offset);
        Ok(())
    }

    /// Moves the clock for every holder, or says why the new time is not allowed (and
    /// leaves the clock as it was).
    pub fn try_advance(&self, by: Duration) -> Result<(), ClockError> {
        let by = by.whole_milliseconds();
        let mut refusal = None;
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                let wanted = i128::from(current) + by;
                match check(wanted) {
                    Ok(()) => Some(wanted as i64),
                    Err(err) => {
                        refusal = Some(err);
                        None
                    }
                }
            });
        refusal.map_or(Ok(()), Err)
    }
}

/// The furthest the clock may be shifted: a century either way.
pub const MAX_OFFSET: Duration = Duration::days(36_525);

/// The earliest time the clock may show. Token times (`iat`, `exp`, `auth_time`, and
/// the faults that move them back days) must stay positive, and RP libraries distrust
/// dates near 1970.
pub const EARLIEST: OffsetDateTime = time::macros::datetime!(2000-01-01 00:00 UTC);

/// Why a clock change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("the clock shifts at most {} days either way", MAX_OFFSET.whole_days())]
    TooFar,
    #[error(
        "the clock would show {0}: it may not go back before 2000-01-01, so token times stay valid"
    )]
    TooEarly(String),
}

/// The offsets allowed now, in milliseconds: within a century, and not before [`EARLIEST`].
#[allow(clippy::disallowed_methods)] // the floor depends on the real time
fn allowed_offsets() -> (i128, i128) {
    let limit = MAX_OFFSET.whole_milliseconds();
    let floor = (EARLIEST - OffsetDateTime::now_utc()).whole_milliseconds();
    (floor.max(-limit), limit)
}

fn check(milliseconds: i128) -> Result<(), ClockError> {
    let (low, high) = allowed_offsets();
    if milliseconds.abs() > MAX_OFFSET.whole_milliseconds() || milliseconds > high {
        return Err(ClockError::TooFar);
    }
    if milliseconds < low {
        let shown = Clock::default()
            .now()
            .checked_add(Duration::milliseconds(milliseconds as i64))
            .map_or_else(
                || "a date out of range".to_string(),
                |t| t.date().to_string(),
            );
        return Err(ClockError::TooEarly(shown));
    }
    Ok(())
}

/// As [`parse_offset`], for an offset the clock starts with (`--clock-offset`): also
/// refused when it would put the clock before [`EARLIEST`].
pub fn parse_start_offset(text: &str) -> Result<Duration, String> {
    let offset = parse_offset(text)?;
    check(offset.whole_milliseconds()).map_err(|err| err.to_string())?;
    Ok(offset)
}

/// Parses offsets such as `90s`, `-5m`, `2h`, `1d` or a bare number of seconds.
pub fn parse_offset(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 90s, -5m, 2h or 1d"))?;
    let milliseconds_per_unit: i64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use ms, s, m, h or d"
            ))
        }
    };
    let too_far = || {
        format!(
            "`{text}` is more than a century: the clock shifts at most {} days",
            MAX_OFFSET.whole_days()
        )
    };
    let milliseconds = value
        .checked_mul(milliseconds_per_unit)
        .ok_or_else(too_far)?;
    if i128::from(milliseconds).abs() > MAX_OFFSET.whole_milliseconds() {
        return Err(too_far());
    }
    Ok(Duration::milliseconds(milliseconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_one_handle_moves_every_clone() {
        let clock = Clock::default();
        let shared = clock.clone();
        let before = shared.now();
        clock.advance(Duration::hours(1));
        assert!(shared.now() - before >= Duration::minutes(59));
    }

    #[test]
    fn offsets_accept_units_and_reject_nonsense() {
        assert_eq!(parse_offset("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_offset("-5m"), Ok(Duration::minutes(-5)));
        assert_eq!(parse_offset("2h"), Ok(Duration::hours(2)));
        assert_eq!(parse_offset("30"), Ok(Duration::seconds(30)));
        assert!(parse_offset("soon").is_err());
        assert!(parse_offset("3w").unwrap_err().contains("unknown unit"));
        assert!(parse_offset("5000000d").unwrap_err().contains("century"));
        assert!(parse_offset("999999999999999999d")
            .unwrap_err()
            .contains("century"));
    }

    #[test]
    fn the_offset_never_leaves_a_century_nor_goes_before_2000_whatever_is_added() {
        let clock = Clock::default();
        for _ in 0..3 {
            clock.advance(MAX_OFFSET);
        }
        assert_eq!(clock.offset(), MAX_OFFSET);
        clock.set_offset(Duration::days(-100_000));
        assert!(clock.now() >= EARLIEST, "{}", clock.now());
        assert!(clock.now() < EARLIEST + Duration::seconds(5));
        assert!(clock.now().unix_timestamp() > 0);
    }

    #[test]
    fn changes_that_would_put_token_times_before_2000_are_refused_and_change_nothing() {
        let clock = Clock::default();
        let refused = clock.try_set_offset(-MAX_OFFSET).unwrap_err();
        assert!(matches!(refused, ClockError::TooEarly(_)), "{refused}");
        assert!(refused.to_string().contains("2000-01-01"), "{refused}");
        assert_eq!(clock.offset(), Duration::ZERO);
        clock.try_advance(Duration::days(-365)).unwrap();
        for _ in 0..10 {
            let _ = clock.try_advance(Duration::days(-3650));
        }
        assert!(clock.now() >= EARLIEST);
        assert!(clock.offset() > Duration::days(-36_500));
        assert_eq!(
            clock.try_advance(Duration::days(80_000)),
            Err(ClockError::TooFar)
        );
        assert!(parse_start_offset("-36500d")
            .unwrap_err()
            .contains("2000-01-01"));
        assert_eq!(parse_start_offset("-365d"), Ok(Duration::days(-365)));
    }
}

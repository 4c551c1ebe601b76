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

    /// Sets the offset from real time, clamped to ±[`MAX_OFFSET`].
    pub fn set_offset(&self, offset: Duration) {
        self.offset_ms
            .store(clamp(offset.whole_milliseconds()), Ordering::Relaxed);
    }

    /// Moves the clock forward (or back, with a negative duration) for every holder;
    /// the total offset stays within ±[`MAX_OFFSET`].
    pub fn advance(&self, by: Duration) {
        let by = by.whole_milliseconds();
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                Some(clamp(i128::from(current) + by))
            });
    }
}

/// The furthest the clock may be shifted: a century either way.
pub const MAX_OFFSET: Duration = Duration::days(36_525);

fn clamp(milliseconds: i128) -> i64 {
    let limit = MAX_OFFSET.whole_milliseconds();
    milliseconds.clamp(-limit, limit) as i64
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
    fn the_offset_never_leaves_a_century_whatever_is_added() {
        let clock = Clock::default();
        for _ in 0..3 {
            clock.advance(MAX_OFFSET);
        }
        assert_eq!(clock.offset(), MAX_OFFSET);
        clock.set_offset(Duration::days(-100_000));
        assert_eq!(clock.offset(), -MAX_OFFSET);
        let _ = clock.now();
    }
}

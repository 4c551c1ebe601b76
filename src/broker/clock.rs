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
        OffsetDateTime::now_utc() + self.offset()
    }

    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    pub fn offset(&self) -> Duration {
        Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn set_offset(&self, offset: Duration) {
        self.offset_ms
            .store(offset.whole_milliseconds() as i64, Ordering::Relaxed);
    }

    /// Moves the clock forward (or back, with a negative duration) for every holder.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.whole_milliseconds() as i64, Ordering::Relaxed);
    }
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
    match unit {
        "ms" => Ok(Duration::milliseconds(value)),
        "s" => Ok(Duration::seconds(value)),
        "m" => Ok(Duration::minutes(value)),
        "h" => Ok(Duration::hours(value)),
        "d" => Ok(Duration::days(value)),
        other => Err(format!(
            "unknown unit `{other}` in `{text}`: use ms, s, m, h or d"
        )),
    }
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
    }
}

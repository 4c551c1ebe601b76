//! Times as a Danish citizen reads them: in Europe/Copenhagen (CET, or CEST in summer),
//! from the IANA time zone database bundled into the binary, so neither a hand-made
//! daylight-saving rule nor the host's tzdata decides what a page says.

use std::sync::OnceLock;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use time::OffsetDateTime;

fn copenhagen() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        TimeZone::get("Europe/Copenhagen").expect("the bundled time zone database has Copenhagen")
    })
}

fn zoned(at: OffsetDateTime) -> Option<jiff::ZonedDateTime> {
    let stamp = Timestamp::from_second(at.unix_timestamp()).ok()?;
    Some(stamp.to_zoned_datetime(copenhagen().clone()))
}

/// `14:05` in Danish time.
pub fn clock(at: OffsetDateTime) -> String {
    zoned(at).map_or_else(String::new, |z| z.strftime("%H:%M").to_string())
}

/// `29-11-2026 14:05:07 CET`: a full time stamp in Danish time with its zone.
pub fn date_time(at: OffsetDateTime) -> String {
    zoned(at).map_or_else(String::new, |z| {
        z.strftime("%d-%m-%Y %H:%M:%S %Z").to_string()
    })
}

/// A Unix time as [`date_time`] shows it.
pub fn unix_date_time(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(date_time)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn winter_is_utc_plus_one_and_summer_utc_plus_two() {
        assert_eq!(clock(datetime!(2026-01-15 12:00 UTC)), "13:00");
        assert_eq!(clock(datetime!(2026-07-15 12:00 UTC)), "14:00");
        assert_eq!(
            date_time(datetime!(2026-07-15 12:00:05 UTC)),
            "15-07-2026 14:00:05 CEST"
        );
    }

    #[test]
    fn the_switches_fall_on_the_last_sundays_of_march_and_october() {
        // 29 March 2026, 01:00 UTC: 02:00 CET becomes 03:00 CEST.
        assert_eq!(clock(datetime!(2026-03-29 00:59 UTC)), "01:59");
        assert_eq!(clock(datetime!(2026-03-29 01:00 UTC)), "03:00");
        // 25 October 2026, 01:00 UTC: 03:00 CEST becomes 02:00 CET.
        assert_eq!(clock(datetime!(2026-10-25 00:59 UTC)), "02:59");
        assert_eq!(clock(datetime!(2026-10-25 01:00 UTC)), "02:00");
        assert_eq!(
            date_time(datetime!(2026-10-25 01:00 UTC)),
            "25-10-2026 02:00:00 CET"
        );
    }
}

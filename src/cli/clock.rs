//! `mitid-sim clock ...`: a running broker's one clock, shifted to test expiry.

use clap::Subcommand;
use mitid_sim::broker::clock::parse_offset;
use reqwest::Method;
use serde_json::{json, Value};

use super::output::time;
use super::server::ServerArgs;

#[derive(Subcommand)]
pub enum ClockCommand {
    /// A running broker's time and its offset from real time.
    Show {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Move a running broker's clock by a duration (90s, -5m, 2h, 1d); sessions and
    /// codes that fall due expire at once.
    Shift {
        #[arg(allow_hyphen_values = true, value_parser = duration)]
        duration: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Set a running broker's total offset from real time (e.g. 2h, -1d, 0s).
    Set {
        #[arg(allow_hyphen_values = true, value_parser = duration)]
        offset: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Put a running broker's clock back to real time.
    Reset {
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// A duration the broker will take, checked here for a quicker error.
fn duration(text: &str) -> Result<String, String> {
    parse_offset(text).map(|_| text.trim().to_string())
}

pub fn run(command: ClockCommand) -> Result<(), String> {
    match command {
        ClockCommand::Show { server } => server.print(Method::GET, "/clock", None, clock_line),
        ClockCommand::Shift { duration, server } => {
            let body = json!({ "advance": duration });
            server.print(Method::POST, "/clock", Some(&body), clock_line)
        }
        ClockCommand::Set { offset, server } => {
            let body = json!({ "offset": offset });
            server.print(Method::POST, "/clock", Some(&body), clock_line)
        }
        ClockCommand::Reset { server } => server.print(Method::DELETE, "/clock", None, clock_line),
    }
}

fn clock_line(clock: &Value) -> String {
    format!(
        "broker time {} UTC (Unix {}), {} from real time",
        time(&clock["now"]),
        clock["now"],
        offset_text(clock["offset_seconds"].as_i64().unwrap_or(0))
    )
}

/// Seconds as `+1h30m`, `-5m`, `0s`.
fn offset_text(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let mut left = seconds.unsigned_abs();
    let mut text = String::from(sign);
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            text.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_durations() {
        assert_eq!(offset_text(0), "0s");
        assert_eq!(offset_text(3_600), "+1h");
        assert_eq!(offset_text(-300), "-5m");
        assert_eq!(offset_text(90_061), "+1d1h1m1s");
    }

    #[test]
    fn durations_are_checked_before_they_are_sent() {
        assert_eq!(duration(" -5m").unwrap(), "-5m");
        assert!(duration("5 minutes").is_err());
    }
}

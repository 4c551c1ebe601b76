//! The broker's one clock: read, shift, reset.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bad_request, Data};
use crate::broker::clock::parse_offset;
use crate::protocols::oidc::Provider;

fn clock_json(provider: &Provider) -> Value {
    let clock = &provider.broker.clock;
    json!({ "now": clock.unix(), "offset_seconds": clock.offset().whole_seconds() })
}

pub async fn show(provider: Data) -> HttpResponse {
    HttpResponse::Ok().json(clock_json(&provider))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    /// Moves the clock by this much (e.g. "1h", "-5m").
    advance: Option<String>,
    /// Sets the total offset from real time.
    offset: Option<String>,
}

/// Shifts the broker's one clock; expiry that falls due is applied at once.
pub async fn shift(provider: Data, body: web::Bytes) -> HttpResponse {
    let change: ClockChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(err) => {
            return bad_request(format!(
                "expected {{\"advance\": \"1h\"}} or {{\"offset\": \"-5m\"}}: {err}"
            ))
        }
    };
    let result = provider.change_clock(|clock| match (&change.advance, &change.offset) {
        (Some(by), None) => {
            parse_offset(by).and_then(|d| clock.try_advance(d).map_err(|e| e.to_string()))
        }
        (None, Some(offset)) => {
            parse_offset(offset).and_then(|d| clock.try_set_offset(d).map_err(|e| e.to_string()))
        }
        _ => Err("give exactly one of `advance` or `offset`".to_string()),
    });
    match result {
        Ok(()) => HttpResponse::Ok().json(clock_json(&provider)),
        Err(message) => bad_request(message),
    }
}

pub async fn reset(provider: Data) -> HttpResponse {
    let _ = provider.change_clock(|clock| {
        clock.set_offset(time::Duration::ZERO);
        Ok::<(), ()>(())
    });
    HttpResponse::Ok().json(clock_json(&provider))
}

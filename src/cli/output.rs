//! Showing the broker's JSON to a person: times, table cells, key/value listings.

use serde_json::Value;
use time::macros::format_description;
use time::OffsetDateTime;

use super::table;

pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), String> {
    println!("{}", pretty(value)?);
    Ok(())
}

pub fn pretty<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

/// Writes `text` to `out`, or to standard output without one (a PEM to pin, say).
pub fn write_or_print(out: Option<&std::path::Path>, text: &str) -> Result<(), String> {
    match out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// A Unix time as `2025-03-01 12:00:00` (UTC), or `-`.
pub fn time(value: &Value) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    value
        .as_i64()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| "-".into())
}

/// A JSON value in a table cell: strings bare, lists joined with commas, nothing as `-`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(text) if text.is_empty() => "-".into(),
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "-".into(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(cell).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// The items of a JSON array (none if it is not one).
pub fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// A JSON object as FIELD / VALUE lines, in the broker's order.
pub fn fields(object: &Value) -> String {
    let rows: Vec<Vec<String>> = object
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| vec![key.clone(), cell(value)])
                .collect()
        })
        .unwrap_or_default();
    table::render(&["FIELD", "VALUE"], &rows, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_and_times_read_naturally() {
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!(["a", "b"])), "a, b");
        assert_eq!(cell(&json!([])), "-");
        assert_eq!(cell(&json!(3)), "3");
        assert_eq!(cell(&json!({"a": 1})), r#"{"a":1}"#);
        assert_eq!(time(&json!(0)), "1970-01-01 00:00:00");
        assert_eq!(time(&json!(null)), "-");
    }
}

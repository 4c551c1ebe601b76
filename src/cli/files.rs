//! Citizens and relying parties to send a broker, read from the fixtures' TOML format
//! or as the admin API's JSON.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// One object from `path`: a `.json` file holds it as is; a TOML file holds exactly one
/// `[[table]]` (the fixtures format, e.g. `[[user]]`). `-` reads standard input (JSON
/// when it starts with `{`, else TOML).
pub fn read_object(path: &Path, table: &str) -> Result<Value, String> {
    let name = path.display().to_string();
    let (text, is_json) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        let is_json = text.trim_start().starts_with('{');
        (text, is_json)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
        let is_json = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        (text, is_json)
    };
    if is_json {
        from_json(&name, &text)
    } else {
        from_toml(&name, &text, table)
    }
}

fn from_json(name: &str, text: &str) -> Result<Value, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("{name} is not JSON: {e}"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(format!("{name} holds JSON but not an object"))
    }
}

fn from_toml(name: &str, text: &str, table: &str) -> Result<Value, String> {
    let document = text
        .parse::<toml::Table>()
        .map_err(|e| format!("{name} is not TOML: {}", one_line(&e.to_string())))?;
    let entries = match document.get(table) {
        Some(toml::Value::Array(entries)) => entries.as_slice(),
        Some(_) => return Err(format!("{name}: `{table}` must be a [[{table}]] table")),
        None => &[],
    };
    match entries {
        [entry @ toml::Value::Table(_)] => Ok(to_json(entry.clone())),
        [_] => Err(format!("{name}: `{table}` must be a [[{table}]] table")),
        _ => Err(format!(
            "{name} has {} [[{table}]] tables; give a file with exactly one",
            entries.len()
        )),
    }
}

/// TOML to the JSON the admin API takes; dates and times become their text.
pub fn to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(text) => Value::String(text),
        toml::Value::Integer(number) => Value::from(number),
        toml::Value::Float(number) => Value::from(number),
        toml::Value::Boolean(flag) => Value::Bool(flag),
        toml::Value::Datetime(datetime) => Value::String(datetime.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.into_iter().map(|(k, v)| (k, to_json(v))).collect())
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_toml_table_becomes_the_json_object_with_dates_as_text() {
        let text = "[[user]]\nuser_id = \"a\"\ndate_of_birth = 1990-01-02\n[user.app]\nanswer = \"approve\"\nafter_ms = 5\n";
        assert_eq!(
            from_toml("u.toml", text, "user").unwrap(),
            json!({"user_id": "a", "date_of_birth": "1990-01-02", "app": {"answer": "approve", "after_ms": 5}})
        );
    }

    #[test]
    fn none_or_several_tables_are_refused_by_name() {
        let none = from_toml("u.toml", "[[client]]\nclient_id = \"x\"\n", "user").unwrap_err();
        assert_eq!(
            none,
            "u.toml has 0 [[user]] tables; give a file with exactly one"
        );
        let two = from_toml("u.toml", "[[user]]\na = 1\n[[user]]\na = 2\n", "user").unwrap_err();
        assert!(two.contains("has 2 [[user]] tables"), "{two}");
        assert!(from_json("u.json", "[1]").is_err());
    }
}

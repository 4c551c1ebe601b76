//! The request's parameters as received: one value per name, empty values as absent.

use std::collections::HashMap;

pub(super) struct Params {
    values: HashMap<String, String>,
    /// A name sent more than once (OAuth 2.0 §3.1: parameters must not repeat).
    pub repeated: Option<String>,
}

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let mut values = HashMap::new();
        let mut repeated = None;
        for (key, value) in pairs {
            if values.insert(key.clone(), value).is_some() {
                repeated = Some(key);
            }
        }
        Self { values, repeated }
    }

    /// A parameter's value; an empty one counts as not sent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

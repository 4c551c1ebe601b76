//! How much an authorization request may carry. Anyone can send one, and a login in
//! progress keeps its parameters until it ends, so their size is limited (and the number
//! of logins, by `Settings::max_pending_logins`).

/// The longest value of any authorization request parameter. Generous for real clients:
/// ASP.NET Core's protected `state` runs to 1–2 KB, `idp_params` with a reference text to a
/// few hundred bytes.
pub const MAX_PARAMETER_BYTES: usize = 4096;

/// A parameter over the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversized {
    pub name: String,
    pub bytes: usize,
}

impl Oversized {
    /// The first parameter (name or value) longer than [`MAX_PARAMETER_BYTES`].
    pub fn find(pairs: &[(String, String)]) -> Option<Self> {
        pairs
            .iter()
            .find(|(name, value)| name.len().max(value.len()) > MAX_PARAMETER_BYTES)
            .map(|(name, value)| Self {
                name: shortened(name),
                bytes: name.len().max(value.len()),
            })
    }

    pub fn description(&self) -> String {
        format!(
            "parameter `{}` is {} bytes long; at most {MAX_PARAMETER_BYTES} are accepted",
            self.name, self.bytes
        )
    }
}

/// A name short enough to quote in an error.
fn shortened(name: &str) -> String {
    const SHOWN: usize = 40;
    if name.len() <= SHOWN {
        return name.to_string();
    }
    let mut end = SHOWN;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_string(), value.to_string())
    }

    #[test]
    fn the_first_oversized_parameter_is_named_with_its_length() {
        let long = "x".repeat(MAX_PARAMETER_BYTES + 1);
        let fine = "y".repeat(MAX_PARAMETER_BYTES);
        assert_eq!(Oversized::find(&[pair("state", &fine)]), None);
        let found = Oversized::find(&[pair("state", &fine), pair("nonce", &long)]).unwrap();
        assert_eq!(found.name, "nonce");
        assert_eq!(
            found.description(),
            "parameter `nonce` is 4097 bytes long; at most 4096 are accepted"
        );
        let long_name = Oversized::find(&[pair(&"æ".repeat(3000), "v")]).unwrap();
        assert_eq!(long_name.name, format!("{}…", "æ".repeat(20)));
        assert_eq!(long_name.bytes, 6000);
    }
}

//! Newtypes for identifiers that are parsed once: each has a `parse` of its own; these
//! macros add the rest (text form, serde through the text form, `Debug` with the type name).

/// A number of exactly `N` ASCII digits, kept as its digits so it is `Copy`.
macro_rules! fixed_digits {
    ($(#[$doc:meta])* $name:ident, $width:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name([u8; $width]);

        impl $name {
            fn digits_of(text: &str) -> Result<[u8; $width], String> {
                let trimmed = text.trim();
                let bytes = trimmed.as_bytes();
                if bytes.len() != $width || !bytes.iter().all(u8::is_ascii_digit) {
                    return Err(format!(
                        "`{text}` is not {}: it has exactly {} digits",
                        $what, $width
                    ));
                }
                let mut digits = [0u8; $width];
                digits.copy_from_slice(bytes);
                Ok(digits)
            }

            pub fn as_str(&self) -> &str {
                // Only ASCII digits are ever stored.
                std::str::from_utf8(&self.0).unwrap_or_default()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.as_str().to_string()
            }
        }
    };
}

/// A validated text value: the type defines `parse`; this adds `as_str`, `Display`,
/// `Debug`, serde through `String` and the conversions.
macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

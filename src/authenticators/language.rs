//! The language the citizen sees: the login pages, the MitID client (and the simulated
//! phone), the devices and the broker's own pages. Set by the RP (NEB's `language` or
//! `ui_locales`), or by a page's `?lang=`.

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Da,
    En,
}

impl Language {
    /// NEB's `language` parameter: da, en or kl. Greenlandic pages fall back to Danish here.
    /// A space-separated preference list (`ui_locales`) or one tag (`language`): the
    /// first tag this simulator speaks wins.
    pub fn parse(text: Option<&str>) -> Self {
        text.unwrap_or_default()
            .split_whitespace()
            .find_map(Self::from_tag)
            .unwrap_or_default()
    }

    /// One language tag as a page's `?lang=` gives it: `None` unless it names one spoken here.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Language::En),
            "da" | "kl" => Some(Language::Da),
            _ => None,
        }
    }

    pub fn is_danish(self) -> bool {
        self == Language::Da
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Da => "da",
            Language::En => "en",
        }
    }
}

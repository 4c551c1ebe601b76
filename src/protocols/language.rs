//! The language of the login pages: NEB's `language` parameter (or `ui_locales`); Danish
//! for NemLog-in.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
        for tag in text.unwrap_or_default().split_whitespace() {
            let tag = tag.to_ascii_lowercase();
            let primary = tag.split(['-', '_']).next().unwrap_or_default();
            match primary {
                "en" => return Language::En,
                "da" | "kl" => return Language::Da,
                _ => {}
            }
        }
        Language::Da
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Da => "da",
            Language::En => "en",
        }
    }
}

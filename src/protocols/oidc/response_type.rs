//! What an authorization response carries and how it travels: the response types of OIDC
//! Core (§3: code, implicit and hybrid flows, and OAuth 2.0's `token`) and the response
//! modes of OAuth 2.0 Multiple Response Type Encoding Practices and Form Post Response Mode.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A `response_type` value: which of code, id_token and access token the authorization
/// endpoint returns. The words may come in any order (`id_token code` is `code id_token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ResponseType {
    /// The authorization code flow.
    Code,
    /// OAuth 2.0's implicit grant: an access token only.
    Token,
    /// The implicit flow with an id_token only.
    IdToken,
    IdTokenToken,
    /// Hybrid flows.
    CodeIdToken,
    CodeToken,
    CodeIdTokenToken,
}

impl ResponseType {
    /// Every response type, in the order NEB's discovery lists them (recorded).
    pub const ALL: [ResponseType; 7] = [
        ResponseType::Code,
        ResponseType::Token,
        ResponseType::IdToken,
        ResponseType::IdTokenToken,
        ResponseType::CodeIdToken,
        ResponseType::CodeToken,
        ResponseType::CodeIdTokenToken,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ResponseType::Code => "code",
            ResponseType::Token => "token",
            ResponseType::IdToken => "id_token",
            ResponseType::IdTokenToken => "id_token token",
            ResponseType::CodeIdToken => "code id_token",
            ResponseType::CodeToken => "code token",
            ResponseType::CodeIdTokenToken => "code id_token token",
        }
    }

    pub fn has_code(self) -> bool {
        matches!(
            self,
            ResponseType::Code
                | ResponseType::CodeIdToken
                | ResponseType::CodeToken
                | ResponseType::CodeIdTokenToken
        )
    }

    pub fn has_id_token(self) -> bool {
        matches!(
            self,
            ResponseType::IdToken
                | ResponseType::IdTokenToken
                | ResponseType::CodeIdToken
                | ResponseType::CodeIdTokenToken
        )
    }

    pub fn has_access_token(self) -> bool {
        matches!(
            self,
            ResponseType::Token
                | ResponseType::IdTokenToken
                | ResponseType::CodeToken
                | ResponseType::CodeIdTokenToken
        )
    }

    /// Tokens come back through the browser (implicit and hybrid flows): the nonce is
    /// required (OIDC Core §3.2.2.1, §3.3.2.11) and the query may not carry the answer.
    pub fn returns_tokens_from_authorize(self) -> bool {
        self != ResponseType::Code
    }

    /// OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and §5: `query` for a
    /// code, `fragment` whenever a token comes back through the browser.
    pub fn default_mode(self) -> ResponseMode {
        if self.returns_tokens_from_authorize() {
            ResponseMode::Fragment
        } else {
            ResponseMode::Query
        }
    }

    /// The grant type a client using this response type needs (for discovery).
    pub fn grant_type(self) -> &'static str {
        if self.has_code() {
            "authorization_code"
        } else {
            "implicit"
        }
    }
}

impl fmt::Display for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ResponseType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
        words.sort_unstable();
        let has = |w: &str| words.binary_search(&w).is_ok();
        let known = words
            .iter()
            .all(|w| matches!(*w, "code" | "id_token" | "token"));
        let repeated = words.windows(2).any(|pair| pair[0] == pair[1]);
        let found = match (has("code"), has("id_token"), has("token")) {
            _ if !known || repeated => None,
            (true, false, false) => Some(ResponseType::Code),
            (false, false, true) => Some(ResponseType::Token),
            (false, true, false) => Some(ResponseType::IdToken),
            (false, true, true) => Some(ResponseType::IdTokenToken),
            (true, true, false) => Some(ResponseType::CodeIdToken),
            (true, false, true) => Some(ResponseType::CodeToken),
            (true, true, true) => Some(ResponseType::CodeIdTokenToken),
            (false, false, false) => None,
        };
        found.ok_or_else(|| {
            format!(
                "`{text}` is not a response type (one of: {})",
                ResponseType::ALL.map(ResponseType::name).join(", ")
            )
        })
    }
}

impl TryFrom<String> for ResponseType {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ResponseType> for String {
    fn from(value: ResponseType) -> Self {
        value.name().to_string()
    }
}

/// How the authorization response reaches the client's redirect URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query (a 303 redirect).
    Query,
    /// Parameters in the redirect URI's fragment (a 303 redirect): they stay in the browser.
    Fragment,
    /// An HTML form the browser POSTs to the redirect URI (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

impl ResponseMode {
    /// In the order NEB's discovery lists them (recorded).
    pub const ALL: [ResponseMode; 3] = [
        ResponseMode::FormPost,
        ResponseMode::Query,
        ResponseMode::Fragment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ResponseMode::ALL.into_iter().find(|m| m.name() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types_parse_in_any_word_order() {
        assert_eq!("code".parse(), Ok(ResponseType::Code));
        assert_eq!("id_token code".parse(), Ok(ResponseType::CodeIdToken));
        assert_eq!(
            "token id_token code".parse(),
            Ok(ResponseType::CodeIdTokenToken)
        );
        assert_eq!("token".parse(), Ok(ResponseType::Token));
        for bad in [
            "",
            "none",
            "code code",
            "code  foo",
            "Code",
            "code+id_token",
        ] {
            assert!(bad.parse::<ResponseType>().is_err(), "{bad:?}");
        }
        for each in ResponseType::ALL {
            assert_eq!(each.name().parse(), Ok(each));
        }
    }

    #[test]
    fn tokens_through_the_browser_default_to_the_fragment() {
        assert_eq!(ResponseType::Code.default_mode(), ResponseMode::Query);
        for each in ResponseType::ALL.into_iter().skip(1) {
            assert_eq!(each.default_mode(), ResponseMode::Fragment, "{each}");
        }
        assert_eq!(ResponseType::IdToken.grant_type(), "implicit");
        assert_eq!(ResponseType::CodeToken.grant_type(), "authorization_code");
    }
}

//! What the client wants back and how: `response_type` (among those the client may use),
//! `response_mode` (default per response type), and the nonce the implicit and hybrid
//! flows require.

use super::params::Params;
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::error::{ErrorCode, OAuthError};
use crate::protocols::oidc::response_type::{ResponseMode, ResponseType};

/// What comes back, and how it travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Response {
    pub response_type: ResponseType,
    pub mode: ResponseMode,
}

/// The response type and mode, once the client is known: a response type the client
/// may not use is NEB's `unsupported_response_type` ("Response type not supported",
/// documented in its troubleshooting guide).
pub(super) fn parse(params: &Params, client: &Client) -> Result<Response, OAuthError> {
    let named = params
        .get("response_type")
        .ok_or_else(|| OAuthError::invalid_request("response_type is missing"))?;
    let response_type: ResponseType = named.parse().map_err(|_| {
        OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            format!("Response type not supported: `{named}`"),
        )
    })?;
    if !client.allows_response_type(response_type) {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            format!(
                "Response type not supported: client `{}` may not use `{response_type}`, only {}",
                client.client_id,
                client
                    .response_types
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mode = match params.get("response_mode") {
        None => response_type.default_mode(),
        Some(named) => ResponseMode::parse(named).ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "response_mode `{named}` is not supported; use query, fragment or form_post"
            ))
        })?,
    };
    // Multiple Response Type Encoding Practices §5: tokens in a query end up in logs
    // and Referer headers.
    if mode == ResponseMode::Query && response_type.returns_tokens_from_authorize() {
        return Err(OAuthError::invalid_request(format!(
            "response_mode `query` cannot carry the tokens of response_type `{response_type}`; \
             use fragment or form_post"
        )));
    }
    if response_type.returns_tokens_from_authorize() && params.get("nonce").is_none() {
        return Err(OAuthError::invalid_request(
            "Invalid nonce: the implicit and hybrid flows require a nonce",
        ));
    }
    Ok(Response {
        response_type,
        mode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::oidc::clients::parse_clients;

    fn client(response_types: &str) -> Client {
        parse_clients(&format!(
            r#"[[client]]
client_id = "rp"
name = "RP"
client_secret = "s"
redirect_uris = ["https://rp.example/cb"]
response_types = {response_types}
"#
        ))
        .unwrap()
        .remove(0)
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn each_response_type_gets_its_default_mode() {
        let rp = client(r#"["code", "id_token", "code id_token token"]"#);
        let answer = |pairs: &[(&str, &str)]| parse(&params(pairs), &rp);
        assert_eq!(
            answer(&[("response_type", "code")]).unwrap().mode,
            ResponseMode::Query
        );
        let implicit = answer(&[("response_type", "id_token"), ("nonce", "n")]).unwrap();
        assert_eq!(implicit.response_type, ResponseType::IdToken);
        assert_eq!(implicit.mode, ResponseMode::Fragment);
        let hybrid = answer(&[
            ("response_type", "token code id_token"),
            ("nonce", "n"),
            ("response_mode", "form_post"),
        ])
        .unwrap();
        assert_eq!(hybrid.response_type, ResponseType::CodeIdTokenToken);
        assert_eq!(hybrid.mode, ResponseMode::FormPost);
    }

    #[test]
    fn refusals_name_the_rule_broken() {
        let rp = client(r#"["code", "id_token"]"#);
        let error = |pairs: &[(&str, &str)]| parse(&params(pairs), &rp).unwrap_err();
        let not_allowed = error(&[("response_type", "code id_token"), ("nonce", "n")]);
        assert_eq!(not_allowed.code, ErrorCode::UnsupportedResponseType);
        assert!(
            not_allowed
                .description
                .contains("may not use `code id_token`, only `code`, `id_token`"),
            "{not_allowed}"
        );
        assert_eq!(
            error(&[("response_type", "bogus")]).code,
            ErrorCode::UnsupportedResponseType
        );
        let nonce = error(&[("response_type", "id_token")]);
        assert!(nonce.description.starts_with("Invalid nonce"), "{nonce}");
        let query = error(&[
            ("response_type", "id_token"),
            ("nonce", "n"),
            ("response_mode", "query"),
        ]);
        assert!(
            query.description.contains("cannot carry the tokens"),
            "{query}"
        );
        let unknown = error(&[("response_type", "code"), ("response_mode", "web_message")]);
        assert!(unknown.description.contains("web_message"), "{unknown}");
        assert_eq!(
            error(&[]).description,
            "response_type is missing",
            "missing response_type"
        );
    }
}

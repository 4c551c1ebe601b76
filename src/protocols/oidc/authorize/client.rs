//! Who asks and where the answer goes: the client and its redirect URI. Until both are
//! trusted, nothing may be sent to the redirect URI (RFC 6749 §4.1.2.1).
//!
//! A redirect URI matches a registered one exactly, with two exceptions, both NEB's:
//! - a redirect URI the client signed (inside a verified request object) may carry a query
//!   of its own on a registered URI: same scheme, host, port and path ("If you sign your
//!   OpenID Connect requests, Signaturgruppen Broker allows dynamic redirect_uri's, which
//!   enables setting the id or invitation link directly in the redirect_uri");
//! - an open test client (NEB's pre-production test clients) takes any redirect URI.

use std::sync::Arc;

use super::params::Params;
use super::{Provenance, Rejection};
use crate::protocols::oidc::clients::{Client, ClientRegistry, RegisteredUri};
use crate::protocols::oidc::error::{ErrorCode, OAuthError};

pub(super) fn resolve(
    params: &Params,
    clients: &ClientRegistry,
    provenance: Provenance,
) -> Result<(Arc<Client>, String), Rejection> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| Rejection::page(OAuthError::invalid_request("client_id is missing")))?;
    let client = clients.get(client_id).ok_or_else(|| {
        Rejection::page(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("Unknown client or client not enabled: no client `{client_id}` is registered"),
        ))
    })?;
    let named = |error: OAuthError| Rejection::Page {
        error,
        client_id: Some(client.client_id.clone()),
    };
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| named(OAuthError::invalid_request("redirect_uri is missing")))?;
    if !accepts(&client, redirect_uri, provenance) {
        return Err(named(OAuthError::invalid_request(format!(
            "Invalid redirect_uri: `{redirect_uri}` is not registered for client `{client_id}` (registered: {}){}",
            client
                .redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if provenance.redirect_uri_signed {
                "; a signed request may only add a query to a registered URI"
            } else {
                ""
            }
        ))));
    }
    Ok((client, redirect_uri.to_string()))
}

fn accepts(client: &Client, redirect_uri: &str, provenance: Provenance) -> bool {
    if client.has_redirect_uri(redirect_uri) {
        return true;
    }
    // Whatever else is accepted must still be a URI a browser may be sent to.
    if RegisteredUri::parse(redirect_uri).is_err() {
        return false;
    }
    if client.open_test_client {
        return true;
    }
    provenance.redirect_uri_signed
        && client
            .redirect_uris
            .iter()
            .any(|registered| same_but_query(registered.as_str(), redirect_uri))
}

/// Same scheme, user, host, port and path: the URIs differ in their query only.
fn same_but_query(registered: &str, asked: &str) -> bool {
    let (Ok(registered), Ok(asked)) = (url::Url::parse(registered), url::Url::parse(asked)) else {
        return false;
    };
    let without_query = |url: &url::Url| {
        let mut url = url.clone();
        url.set_query(None);
        url
    };
    without_query(&registered) == without_query(&asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_redirect_uri_may_change_only_the_query() {
        let registered = "https://rp.example/cb";
        assert!(same_but_query(
            registered,
            "https://rp.example/cb?invite=42"
        ));
        assert!(same_but_query(
            "https://rp.example/cb?a=1",
            "https://rp.example/cb?invite=42"
        ));
        assert!(!same_but_query(registered, "https://rp.example/cb/other"));
        assert!(!same_but_query(registered, "https://rp.example:444/cb"));
        assert!(!same_but_query(registered, "http://rp.example/cb"));
        assert!(!same_but_query(registered, "https://evil.example/cb"));
        assert!(!same_but_query(
            registered,
            "https://rp.example@evil.example/cb"
        ));
    }
}

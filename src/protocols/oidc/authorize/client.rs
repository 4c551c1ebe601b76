//! Who asks and where the answer goes: the client and its registered redirect URI. Until
//! both are trusted, nothing may be sent to the redirect URI (RFC 6749 §4.1.2.1).

use std::sync::Arc;

use super::params::Params;
use super::Rejection;
use crate::protocols::oidc::clients::{Client, ClientRegistry};
use crate::protocols::oidc::error::{ErrorCode, OAuthError};

pub(super) fn resolve(
    params: &Params,
    clients: &ClientRegistry,
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
    if !client.has_redirect_uri(redirect_uri) {
        return Err(named(OAuthError::invalid_request(format!(
            "Invalid redirect_uri: `{redirect_uri}` is not registered for client `{client_id}` (registered: {})",
            client
                .redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    Ok((client, redirect_uri.to_string()))
}

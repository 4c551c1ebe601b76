//! Who asks and where the answer goes: the client and its registered redirect URI. Until
//! both are trusted, nothing may be sent to the redirect URI (RFC 6749 §4.1.2.1).

use std::sync::Arc;

use super::params::Params;
use super::Rejection;
use crate::protocols::oidc::clients::{Client, ClientRegistry};

pub(super) fn resolve(
    params: &Params,
    clients: &ClientRegistry,
) -> Result<(Arc<Client>, String), Rejection> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| Rejection::Page("The request has no client_id.".into()))?;
    let client = clients.get(client_id).ok_or_else(|| {
        Rejection::Page(format!(
            "No client with client_id `{client_id}` is registered."
        ))
    })?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| Rejection::Page("The request has no redirect_uri.".into()))?;
    if !client.has_redirect_uri(redirect_uri) {
        return Err(Rejection::Page(format!(
            "redirect_uri `{redirect_uri}` is not registered for client `{client_id}`. Registered: {}.",
            client
                .redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok((client, redirect_uri.to_string()))
}

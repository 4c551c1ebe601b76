//! Encrypted responses (OIDC Core §10.2, §16.14): id_tokens and userinfo encrypted to the
//! client's own key (its `jwks` or `jwks_uri`), nested as sign-then-encrypt when signed.

use super::algorithms::{self, ContentAlg, KeyAlg};
use super::client_keys::{encryption_key, Freshness};
use super::clients::Client;
use super::error::OAuthError;
use super::Provider;

impl Provider {
    /// A signed id_token, encrypted when the client registered
    /// `id_token_encrypted_response_alg`; as it was otherwise.
    pub async fn seal_id_token(
        &self,
        client: &Client,
        signed: String,
    ) -> Result<String, OAuthError> {
        match client.id_token_encrypted_response_alg {
            Some(alg) => {
                let enc = client.id_token_encrypted_response_enc.unwrap_or_default();
                self.encrypt_to_client(client, signed.as_bytes(), true, alg, enc)
                    .await
            }
            None => Ok(signed),
        }
    }

    /// A compact JWE of `payload` to the client's key for `alg`. A client whose keys have
    /// none for `alg` is misconfigured: `invalid_client`, saying which key is missing.
    pub async fn encrypt_to_client(
        &self,
        client: &Client,
        payload: &[u8],
        nested: bool,
        alg: KeyAlg,
        enc: ContentAlg,
    ) -> Result<String, OAuthError> {
        let keys = self
            .client_keys
            .keys(client, Freshness::Cached)
            .await
            .map_err(OAuthError::invalid_client)?;
        let key = encryption_key(&keys, alg).ok_or_else(|| {
            OAuthError::invalid_client(format!(
                "client `{}` registered {} encryption, but its keys have no {} key to encrypt to",
                client.client_id,
                alg.name(),
                alg.key_type()
            ))
        })?;
        algorithms::encrypt(payload, nested, alg, enc, key).map_err(|err| {
            OAuthError::invalid_client(format!(
                "client `{}`: its {} key does not encrypt with {}: {err}",
                client.client_id,
                alg.key_type(),
                alg.name()
            ))
        })
    }
}

//! The token endpoint: client authentication, code redemption with PKCE, token issue.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::clients::{AuthMethod, Client};
use super::error::{ErrorCode, OAuthError};
use super::grants::{AccessGrant, Redemption};
use super::Provider;
use crate::broker::SigningAlg;
use crate::protocols::claims::{self, IdTokenInput};

/// A refused token request, with the HTTP status RFC 6749 §5.2 gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFailure {
    pub error: OAuthError,
    /// 401 with `WWW-Authenticate: Basic` when the client tried HTTP Basic and failed.
    pub unauthorized_basic: bool,
}

impl From<OAuthError> for TokenFailure {
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            unauthorized_basic: false,
        }
    }
}

struct Credentials {
    client_id: String,
    secret: Option<String>,
    method: AuthMethod,
}

fn form_decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// RFC 6749 §2.3.1: HTTP Basic (form-encoded id and secret) or the request body, not both.
fn credentials(
    params: &HashMap<String, String>,
    authorization: Option<&str>,
) -> Result<Credentials, TokenFailure> {
    let basic_failure = |description: &str| TokenFailure {
        error: OAuthError::invalid_client(description),
        unauthorized_basic: true,
    };
    if let Some(header) = authorization {
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or_else(|| basic_failure("only HTTP Basic client authentication is supported"))?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| basic_failure("the Basic credentials are not base64"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| basic_failure("the Basic credentials lack a ':'"))?;
        if params.contains_key("client_secret") {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not Basic and client_secret",
            )
            .into());
        }
        let client_id = form_decode(id)
            .ok_or_else(|| basic_failure("the client id is not form-encoded UTF-8"))?;
        let secret = form_decode(secret)
            .ok_or_else(|| basic_failure("the secret is not form-encoded UTF-8"))?;
        return Ok(Credentials {
            client_id,
            secret: Some(secret),
            method: AuthMethod::ClientSecretBasic,
        });
    }
    let client_id = params.get("client_id").cloned().ok_or_else(|| {
        OAuthError::invalid_client(
            "no client authentication: use HTTP Basic or client_id and client_secret",
        )
    })?;
    match params.get("client_secret") {
        Some(secret) => Ok(Credentials {
            client_id,
            secret: Some(secret.clone()),
            method: AuthMethod::ClientSecretPost,
        }),
        None => Ok(Credentials {
            client_id,
            secret: None,
            method: AuthMethod::None,
        }),
    }
}

fn authenticate(
    provider: &Provider,
    creds: &Credentials,
) -> Result<std::sync::Arc<Client>, TokenFailure> {
    let basic = creds.method == AuthMethod::ClientSecretBasic;
    let fail = |description: String| TokenFailure {
        error: OAuthError::invalid_client(description),
        unauthorized_basic: basic,
    };
    let client = provider
        .clients
        .get(&creds.client_id)
        .ok_or_else(|| fail(format!("unknown client `{}`", creds.client_id)))?;
    let allowed = match client.token_endpoint_auth_method {
        Some(method) => method == creds.method,
        None => matches!(
            creds.method,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        ),
    };
    if !allowed {
        return Err(fail(format!(
            "client `{}` must authenticate with {}",
            client.client_id,
            client.token_endpoint_auth_method.map_or(
                "client_secret_basic or client_secret_post",
                AuthMethod::name
            )
        )));
    }
    if let Some(expected) = &client.client_secret {
        let presented = creds.secret.as_deref().unwrap_or_default();
        if !expected.matches(presented) {
            return Err(fail("the client secret is wrong".into()));
        }
    }
    Ok(client)
}

fn verify_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is missing (PKCE)")),
        (Some(challenge), Some(verifier)) => {
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !well_formed {
                return Err(OAuthError::invalid_grant(
                    "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            let computed = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
            if computed == challenge {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "code_verifier does not match code_challenge",
                ))
            }
        }
    }
}

/// OIDC Core §3.1.3.6: the left half of the SHA-256 of the token, base64url.
fn token_hash(token: &str) -> String {
    let digest = openssl::sha::sha256(token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

impl Provider {
    pub async fn token(
        &self,
        pairs: Vec<(String, String)>,
        authorization: Option<&str>,
    ) -> Result<Value, TokenFailure> {
        let mut params = HashMap::new();
        for (key, value) in pairs {
            if params.insert(key.clone(), value).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{key}` appears more than once"
                ))
                .into());
            }
        }
        let creds = credentials(&params, authorization)?;
        let client = authenticate(self, &creds)?;
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type `{other}` is not supported; use authorization_code"),
                )
                .into())
            }
            None => return Err(OAuthError::invalid_request("grant_type is missing").into()),
        }
        let code = params
            .get("code")
            .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let now = self.broker.clock.now();
        let grant = self.grants.redeem_code(code, now).map_err(|redemption| {
            OAuthError::invalid_grant(match redemption {
                Redemption::Unknown => "the code is unknown",
                Redemption::Expired => "the code has expired",
                Redemption::Replayed => {
                    "the code was already used; the tokens it issued are revoked"
                }
            })
        })?;
        if grant.client_id != client.client_id {
            return Err(OAuthError::invalid_grant("the code was issued to another client").into());
        }
        if params.get("redirect_uri") != Some(&grant.redirect_uri) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the one in the authorization request",
            )
            .into());
        }
        verify_pkce(
            grant.code_challenge.as_deref(),
            params.get("code_verifier").map(String::as_str),
        )?;

        let subject = claims::subject(client.organisation(), grant.record.authentication.citizen);
        let scope = grant.scopes.join(" ");
        let signing_failed = |err: crate::broker::keys::KeyError| {
            OAuthError::new(ErrorCode::ServerError, err.to_string())
        };
        let jti = uuid::Uuid::new_v4().to_string();
        let access_claims = json!({
            "iss": self.issuer,
            "aud": client.client_id,
            "client_id": client.client_id,
            "sub": subject,
            "scope": scope,
            "iat": now.unix_timestamp(),
            "nbf": now.unix_timestamp(),
            "exp": (now + self.lifetimes.access_token).unix_timestamp(),
            "jti": jti,
            "auth_time": grant.record.authentication.auth_time.unix_timestamp(),
            "idp": grant.record.authentication.idp.claim(),
            "amr": [grant.record.authentication.proof.amr],
            "neb_sid": grant.record.neb_sid.to_string(),
        });
        let access_token = self
            .broker
            .keys
            .sign(SigningAlg::ES256, "at+jwt", as_map(access_claims))
            .await
            .map_err(signing_failed)?;
        self.grants.issue_access_token(
            access_token.clone(),
            AccessGrant {
                client_id: client.client_id.clone(),
                citizen: grant.record.authentication.citizen,
                subject: subject.clone(),
                scopes: grant.scopes.clone(),
                record: grant.record.clone(),
                expires: now + self.lifetimes.access_token,
            },
        );
        self.grants.record_issued(code, &access_token);

        let id_claims = claims::id_token(IdTokenInput {
            issuer: &self.issuer,
            client_id: &client.client_id,
            subject: &subject,
            nonce: grant.nonce.as_deref(),
            record: &grant.record,
            issued_at: now,
            lifetime: self.lifetimes.id_token,
            at_hash: Some(token_hash(&access_token)),
        });
        let id_token = self
            .broker
            .keys
            .sign(client.id_token_signed_response_alg, "JWT", id_claims)
            .await
            .map_err(signing_failed)?;
        Ok(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.lifetimes.access_token.whole_seconds(),
            "id_token": id_token,
            "scope": scope,
        }))
    }
}

fn as_map(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_accepts_the_rfc_7636_example_and_refuses_others() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(verify_pkce(Some(challenge), Some(verifier)), Ok(()));
        assert!(verify_pkce(Some(challenge), None).is_err());
        assert!(verify_pkce(Some(challenge), Some(&verifier.replace('d', "e"))).is_err());
        assert!(verify_pkce(None, Some(verifier)).is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20client:p%40ss+word"));
        let creds = credentials(&HashMap::new(), Some(&header)).ok().unwrap();
        assert_eq!(creds.client_id, "my client");
        assert_eq!(creds.secret.as_deref(), Some("p@ss word"));
    }
}

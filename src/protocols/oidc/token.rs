//! The token endpoint: client authentication, code redemption with PKCE, token issue.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::clients::{AuthMethod, Client};
use super::error::{ErrorCode, OAuthError};
use super::grants::{Redemption, Rotation, TokenGrant, TokenKind};
use super::{faults, Provider};
use crate::broker::SigningAlg;
use crate::protocols::claims::{self, AccessTokenInput, IdTokenInput};

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
    let allowed = match client.auth_method() {
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
            client.auth_method().map_or(
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
    /// Client authentication shared by the token, revocation and introspection endpoints.
    fn authenticated_client(
        &self,
        params: &HashMap<String, String>,
        authorization: Option<&str>,
    ) -> Result<std::sync::Arc<Client>, TokenFailure> {
        let creds = credentials(params, authorization)?;
        authenticate(self, &creds)
    }

    pub async fn token(
        &self,
        pairs: Vec<(String, String)>,
        authorization: Option<&str>,
    ) -> Result<Value, TokenFailure> {
        let params = single_valued(pairs)?;
        let client = self.authenticated_client(&params, authorization)?;
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.redeem_code(&client, &params).await,
            Some("refresh_token") => self.refresh(&client, &params).await,
            Some(other) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type `{other}` is not supported; use authorization_code or refresh_token"),
            )
            .into()),
            None => Err(OAuthError::invalid_request("grant_type is missing").into()),
        }
    }

    async fn redeem_code(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
    ) -> Result<Value, TokenFailure> {
        let code = params
            .get("code")
            .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let now = self.broker.clock.now();
        let grant = self
            .grants
            .redeem_code(code, &client.client_id, now)
            .map_err(|redemption| {
                OAuthError::invalid_grant(match redemption {
                    Redemption::Unknown => "the code is unknown",
                    Redemption::OtherClient => "the code was issued to another client",
                    Redemption::Expired => "the code has expired",
                    Redemption::Replayed => {
                        "the code was already used; the tokens it issued are revoked"
                    }
                })
            })?;
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
        if !self.broker.sessions.is_active(grant.record.neb_sid, now) {
            self.grants.revoke_family(grant.family);
            return Err(OAuthError::invalid_grant(
                "the broker session this code belongs to has ended; log in again",
            )
            .into());
        }
        let subject = claims::subject(
            client.organisation(),
            grant.record.authentication.subject_identity(),
        );
        let token_grant = TokenGrant {
            client_id: client.client_id.clone(),
            citizen: grant.record.authentication.citizen,
            subject,
            scopes: grant.scopes.clone(),
            record: grant.record.clone(),
            issued: now,
            expires: now + self.lifetimes.access_token,
            family: grant.family,
        };
        let refresh = client
            .gets_refresh_token(&grant.scopes)
            .then(|| grant.scopes.clone());
        Ok(self
            .issue_tokens(client, token_grant, grant.nonce.as_deref(), refresh)
            .await?)
    }

    async fn refresh(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
    ) -> Result<Value, TokenFailure> {
        let token = params
            .get("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
        let now = self.broker.clock.now();
        let previous = self
            .grants
            .rotate_refresh_token(token, &client.client_id, now)
            .map_err(|rotation| {
                OAuthError::invalid_grant(match rotation {
                    Rotation::Unknown => "the refresh token is unknown or revoked",
                    Rotation::OtherClient => "the refresh token was issued to another client",
                    Rotation::Expired => "the refresh token has expired",
                    Rotation::Reused => {
                        "the refresh token was already used; its whole family is revoked"
                    }
                    Rotation::SessionEnded => "the broker session has ended; log in again",
                })
            })?;
        let session = previous.record.neb_sid;
        if !self.broker.sessions.is_active(session, now) {
            self.grants.revoke_family(previous.family);
            return Err(
                OAuthError::invalid_grant("the broker session has ended; log in again").into(),
            );
        }
        let scopes = match params.get("scope") {
            Some(asked) => {
                let asked: Vec<String> = asked.split_whitespace().map(str::to_string).collect();
                if let Some(extra) = asked.iter().find(|s| !previous.scopes.contains(s)) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        format!("scope `{extra}` was not granted originally"),
                    )
                    .into());
                }
                asked
            }
            None => previous.scopes.clone(),
        };
        self.broker.sessions.touch(session, now);
        let refresh_scopes = previous.scopes.clone();
        let token_grant = TokenGrant {
            scopes,
            issued: now,
            expires: now + self.lifetimes.access_token,
            ..previous
        };
        Ok(self
            .issue_tokens(client, token_grant, None, Some(refresh_scopes))
            .await?)
    }

    /// Signs an access token and an id_token (and makes a refresh token) for `grant`.
    /// `refresh_scopes`: the scope a new refresh token carries (RFC 6749 §6: that of the
    /// token presented, even when this access token was narrowed); `None` for no refresh token.
    async fn issue_tokens(
        &self,
        client: &Client,
        grant: TokenGrant,
        nonce: Option<&str>,
        refresh_scopes: Option<Vec<String>>,
    ) -> Result<Value, OAuthError> {
        let now = grant.issued;
        let signing_failed = |err: crate::broker::keys::KeyError| {
            OAuthError::new(ErrorCode::ServerError, err.to_string())
        };
        let record = &grant.record;
        // The professional identity as it is now: its level of identity proofing (`loip`).
        let loip = match record.authentication.professional {
            Some(uuid) => Some(
                self.broker
                    .identities
                    .professional(uuid)
                    .ok_or_else(|| {
                        OAuthError::invalid_grant("the professional identity no longer exists")
                    })?
                    .loip,
            ),
            None => None,
        };
        let scope = grant.scopes.join(" ");
        let issuer = self.acting_issuer();
        let access_claims = claims::access_token(AccessTokenInput {
            issuer: &issuer,
            client_id: &client.client_id,
            subject: &grant.subject,
            scopes: &grant.scopes,
            record,
            issued_at: now,
            expires: grant.expires,
        });
        // The real broker signs access tokens with its RSA key whatever the client's
        // id_token algorithm.
        let access_token = self
            .broker
            .keys
            .sign(SigningAlg::RS256, "at+jwt", access_claims)
            .await
            .map_err(signing_failed)?;
        let mut id_claims = claims::id_token(IdTokenInput {
            issuer: &issuer,
            client_id: &client.client_id,
            subject: &grant.subject,
            nonce,
            record,
            issued_at: now,
            lifetime: self.lifetimes.id_token,
            at_hash: Some(token_hash(&access_token)),
            loip,
        });
        let id_token = match self.faults.next_id_token(&client.client_id) {
            Some(fault) => {
                tracing::info!(client = %client.client_id, fault = %fault.name(), "id_token fault injected");
                faults::alter_claims(fault, &mut id_claims, now.unix_timestamp());
                faults::sign_with_fault(&self.broker.keys, client.id_token_signed_response_alg, "JWT", fault, id_claims).await
            }
            None => {
                self.broker
                    .keys
                    .sign(client.id_token_signed_response_alg, "JWT", id_claims)
                    .await
            }
        }
        .map_err(signing_failed)?;
        let refresh_token = refresh_scopes.map(|scopes| {
            self.grants.issue_refresh_token(TokenGrant {
                expires: now + self.lifetimes.refresh_token,
                scopes,
                ..grant.clone()
            })
        });
        self.grants.issue_access_token(&access_token, grant.clone());
        // The recorded members, in the recorded order.
        let mut body = json!({
            "id_token": id_token,
            "access_token": access_token,
            "expires_in": (grant.expires - now).whole_seconds(),
            "token_type": "Bearer",
            "scope": scope,
        });
        if let Some(refresh_token) = refresh_token {
            body["refresh_token"] = refresh_token.into();
        }
        Ok(body)
    }

    /// RFC 7009 token revocation: always 200 for a well-formed request from a known client.
    pub fn revoke(
        &self,
        pairs: Vec<(String, String)>,
        authorization: Option<&str>,
    ) -> Result<(), TokenFailure> {
        let params = single_valued(pairs)?;
        let client = self.authenticated_client(&params, authorization)?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        self.grants.revoke(token, &client.client_id);
        Ok(())
    }

    /// RFC 7662 token introspection, for the client the token was issued to.
    pub fn introspect(
        &self,
        pairs: Vec<(String, String)>,
        authorization: Option<&str>,
    ) -> Result<Value, TokenFailure> {
        let params = single_valued(pairs)?;
        let client = self.authenticated_client(&params, authorization)?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let now = self.broker.clock.now();
        let Some((kind, grant)) = self.grants.inspect(token, &client.client_id, now) else {
            return Ok(json!({ "active": false }));
        };
        let session_active = self.broker.sessions.is_active(grant.record.neb_sid, now);
        // A refresh token is worth nothing once its session has ended.
        if kind == TokenKind::RefreshToken && !session_active {
            return Ok(json!({ "active": false }));
        }
        Ok(json!({
            "active": true,
            // RFC 7662 §2.2 uses RFC 6749's token types; refresh tokens have none.
            "token_type": match kind { TokenKind::AccessToken => Some("Bearer"), TokenKind::RefreshToken => None },
            "scope": grant.scopes.join(" "),
            "client_id": grant.client_id,
            "sub": grant.subject,
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": grant.issued.unix_timestamp(),
            "exp": grant.expires.unix_timestamp(),
            "auth_time": grant.record.authentication.auth_time.unix_timestamp(),
            "neb_sid": grant.record.neb_sid.to_string(),
            "session_is_active": session_active,
        }))
    }
}

/// The client a token-endpoint-style request claims to be, for the request record.
pub fn presented_client_id(
    pairs: &[(String, String)],
    authorization: Option<&str>,
) -> Option<String> {
    let params: HashMap<String, String> = pairs.iter().cloned().collect();
    credentials(&params, authorization)
        .ok()
        .map(|c| c.client_id)
}

fn single_valued(pairs: Vec<(String, String)>) -> Result<HashMap<String, String>, TokenFailure> {
    let mut params = HashMap::new();
    for (key, value) in pairs {
        if params.insert(key.clone(), value).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter `{key}` appears more than once"
            ))
            .into());
        }
    }
    Ok(params)
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

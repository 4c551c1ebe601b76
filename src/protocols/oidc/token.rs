//! The token endpoint: code redemption with PKCE, refresh, client credentials, token
//! issue (DPoP-bound when the client proves a key), revocation and introspection.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::clients::Client;
use super::error::{ErrorCode, OAuthError};
use super::grants::{Redemption, Rotation, ServiceGrant, TokenGrant, TokenKind};
use super::{dpop, faults, paths, Provider};
use crate::broker::SigningAlg;
use crate::protocols::claims::{self, AccessTokenInput, IdTokenInput};

pub use super::client_auth::{presented_client_id, TokenFailure};

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

fn invalid_proof(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, description)
}

impl Provider {
    /// A token request: `dpop` is the request's one `DPoP` header, if it has one.
    pub async fn token(
        &self,
        pairs: Vec<(String, String)>,
        authorization: Option<&str>,
        dpop: Option<&str>,
    ) -> Result<Value, TokenFailure> {
        let params = single_valued(pairs)?;
        let client = self
            .authenticated_client(&params, authorization, paths::TOKEN)
            .await?;
        // Checked before any grant is used, so a bad proof never burns a code.
        let jkt = self.token_request_binding(&client, dpop)?;
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.redeem_code(&client, &params, jkt).await,
            Some("refresh_token") => self.refresh(&client, &params, jkt).await,
            Some("client_credentials") => self.client_credentials(&client, &params, jkt).await,
            Some(other) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type `{other}` is not supported; use authorization_code, refresh_token or client_credentials"),
            )
            .into()),
            None => Err(OAuthError::invalid_request("grant_type is missing").into()),
        }
    }

    /// RFC 9449 §5: the key a token request's DPoP proof binds its tokens to; a client
    /// registered with `dpop_bound_access_tokens` must send one.
    fn token_request_binding(
        &self,
        client: &Client,
        proof: Option<&str>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(proof) = proof else {
            return if client.dpop_bound_access_tokens {
                Err(OAuthError::invalid_request(format!(
                    "client `{}` is registered with dpop_bound_access_tokens: send a DPoP proof",
                    client.client_id
                )))
            } else {
                Ok(None)
            };
        };
        let token_endpoint = self.endpoint(paths::TOKEN);
        let expected = dpop::Expected {
            method: "POST",
            url: &token_endpoint,
            access_token: None,
        };
        dpop::verify(
            proof,
            &expected,
            self.broker.clock.unix(),
            &self.replays.dpop_proofs,
        )
        .map(|jkt| Some(jkt.0))
        .map_err(invalid_proof)
    }

    async fn redeem_code(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
        jkt: Option<String>,
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
            jkt,
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
        jkt: Option<String>,
    ) -> Result<Value, TokenFailure> {
        let token = params
            .get("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
        let now = self.broker.clock.now();
        let previous = self
            .grants
            .rotate_refresh_token(token, &client.client_id, jkt.as_deref(), now)
            .map_err(|rotation| {
                let reason = match rotation {
                    Rotation::OtherKey => {
                        return invalid_proof(
                            "the refresh token is bound to another DPoP key (RFC 9449 §5)",
                        )
                    }
                    Rotation::Unknown => "the refresh token is unknown or revoked",
                    Rotation::OtherClient => "the refresh token was issued to another client",
                    Rotation::Expired => "the refresh token has expired",
                    Rotation::Reused => {
                        "the refresh token was already used; its whole family is revoked"
                    }
                    Rotation::SessionEnded => "the broker session has ended; log in again",
                };
                OAuthError::invalid_grant(reason)
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
            jkt,
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
        let mut access_claims = claims::access_token(AccessTokenInput {
            issuer: &issuer,
            client_id: &client.client_id,
            subject: &grant.subject,
            scopes: &grant.scopes,
            record,
            issued_at: now,
            expires: grant.expires,
        });
        if let Some(jkt) = &grant.jkt {
            access_claims.insert("cnf".into(), json!({ "jkt": jkt }));
        }
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
        let id_token = self.seal_id_token(client, id_token).await?;
        let userinfo_token = match client.gets_userinfo_token(&grant.scopes) {
            true => Some(self.userinfo_token(client, &grant).await?),
            false => None,
        };
        let refresh_token = refresh_scopes.map(|scopes| {
            self.grants.issue_refresh_token(TokenGrant {
                expires: now + self.lifetimes.refresh_token,
                scopes,
                // RFC 9449 §5: a public client's refresh token is bound to its key too.
                jkt: grant.jkt.clone().filter(|_| client.is_public()),
                ..grant.clone()
            })
        });
        self.grants.issue_access_token(&access_token, grant.clone());
        // The recorded members, in the recorded order.
        let mut body = json!({
            "id_token": id_token,
            "access_token": access_token,
            "expires_in": (grant.expires - now).whole_seconds(),
            "token_type": token_type(grant.jkt.as_deref()),
            "scope": scope,
        });
        if let Some(refresh_token) = refresh_token {
            body["refresh_token"] = refresh_token.into();
        }
        if let Some(userinfo_token) = userinfo_token {
            body["userinfo_token"] = userinfo_token.into();
        }
        Ok(body)
    }

    /// The client_credentials grant (RFC 6749 §4.4): a service token for an API client,
    /// shaped as NEB's (`client_at_type: service_token`), living an hour.
    async fn client_credentials(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
        jkt: Option<String>,
    ) -> Result<Value, TokenFailure> {
        if !client.allow_client_credentials {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!(
                    "client `{}` is not an API client (allow_client_credentials)",
                    client.client_id
                ),
            )
            .into());
        }
        let scopes: Vec<String> = match params.get("scope") {
            Some(asked) => asked.split_whitespace().map(str::to_string).collect(),
            None => client.api_scopes.clone(),
        };
        if let Some(other) = scopes.iter().find(|s| !client.api_scopes.contains(s)) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!(
                    "scope `{other}` is not one of the client's API scopes ({})",
                    client.api_scopes.join(" ")
                ),
            )
            .into());
        }
        if scopes.is_empty() {
            return Err(OAuthError::new(ErrorCode::InvalidScope, "no API scope to grant").into());
        }
        let now = self.broker.clock.now();
        let grant = ServiceGrant {
            client_id: client.client_id.clone(),
            scopes,
            issued: now,
            expires: now + self.lifetimes.service_token,
            jkt,
        };
        let mut token_claims = claims::service_token(claims::ServiceTokenInput {
            issuer: &self.acting_issuer(),
            client_id: &client.client_id,
            organisation: client.organisation(),
            cvr: client.organisation_cvr.as_ref(),
            scopes: &grant.scopes,
            issued_at: now,
            expires: grant.expires,
        });
        if let Some(jkt) = &grant.jkt {
            token_claims.insert("cnf".into(), json!({ "jkt": jkt }));
        }
        let token = self
            .broker
            .keys
            .sign(SigningAlg::RS256, "at+jwt", token_claims)
            .await
            .map_err(|err| OAuthError::new(ErrorCode::ServerError, err.to_string()))?;
        self.grants.issue_service_token(&token, grant.clone());
        // As NEB's documentation shows the answer: no id_token, no refresh token.
        Ok(json!({
            "access_token": token,
            "expires_in": (grant.expires - now).whole_seconds(),
            "token_type": token_type(grant.jkt.as_deref()),
            "scope": grant.scopes.join(" "),
        }))
    }

    /// RFC 7009 token revocation: always 200 for a well-formed request from a known client.
    pub async fn revoke(
        &self,
        pairs: Vec<(String, String)>,
        authorization: Option<&str>,
    ) -> Result<(), TokenFailure> {
        let params = single_valued(pairs)?;
        let client = self
            .authenticated_client(&params, authorization, paths::REVOCATION)
            .await?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        self.grants.revoke(token, &client.client_id);
        Ok(())
    }

    /// RFC 7662 token introspection, for the client the token was issued to.
    pub async fn introspect(
        &self,
        pairs: Vec<(String, String)>,
        authorization: Option<&str>,
    ) -> Result<Value, TokenFailure> {
        let params = single_valued(pairs)?;
        let client = self
            .authenticated_client(&params, authorization, paths::INTROSPECTION)
            .await?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let now = self.broker.clock.now();
        if let Some(service) = self
            .grants
            .service_token(token, now)
            .filter(|g| g.client_id == client.client_id)
        {
            return Ok(introspected_service_token(&self.acting_issuer(), &service));
        }
        let Some((kind, grant)) = self.grants.inspect(token, &client.client_id, now) else {
            return Ok(json!({ "active": false }));
        };
        let session_active = self.broker.sessions.is_active(grant.record.neb_sid, now);
        // A refresh token is worth nothing once its session has ended.
        if kind == TokenKind::RefreshToken && !session_active {
            return Ok(json!({ "active": false }));
        }
        let mut answer = json!({
            "active": true,
            // RFC 7662 §2.2 uses RFC 6749's token types; refresh tokens have none.
            "token_type": match kind { TokenKind::AccessToken => Some(token_type(grant.jkt.as_deref())), TokenKind::RefreshToken => None },
            "scope": grant.scopes.join(" "),
            "client_id": grant.client_id,
            "sub": grant.subject,
            "iss": self.acting_issuer(),
            "aud": grant.client_id,
            "iat": grant.issued.unix_timestamp(),
            "exp": grant.expires.unix_timestamp(),
            "auth_time": grant.record.authentication.auth_time.unix_timestamp(),
            "neb_sid": grant.record.neb_sid.to_string(),
            "session_is_active": session_active,
        });
        if let Some(jkt) = &grant.jkt {
            answer["cnf"] = json!({ "jkt": jkt });
        }
        Ok(answer)
    }
}

/// RFC 9449 §5: `DPoP` for a token bound to a key, `Bearer` otherwise.
fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

fn introspected_service_token(issuer: &str, grant: &ServiceGrant) -> Value {
    let mut answer = json!({
        "active": true,
        "token_type": token_type(grant.jkt.as_deref()),
        "scope": grant.scopes.join(" "),
        "client_id": grant.client_id,
        "iss": issuer,
        "iat": grant.issued.unix_timestamp(),
        "exp": grant.expires.unix_timestamp(),
        "client_at_type": claims::SERVICE_TOKEN,
    });
    if let Some(jkt) = &grant.jkt {
        answer["cnf"] = json!({ "jkt": jkt });
    }
    answer
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
}

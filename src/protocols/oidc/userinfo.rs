//! The userinfo endpoint: the citizen's claims for an access token (RFC 6750, or RFC 9449
//! for a DPoP-bound token with its proof), as JSON, or as a signed and/or encrypted JWT
//! for clients that registered it (OIDC Core §5.3.2); and the userinfo token that goes in
//! the token response.

use serde_json::{Map, Value};

use super::clients::Client;
use super::error::{ErrorCode, OAuthError};
use super::faults::{self, TokenFault};
use super::grants::TokenGrant;
use super::{dpop, paths, Provider};
use crate::broker::SigningAlg;
use crate::protocols::claims::{self, IdTokenInput};

/// The authorization scheme the access token came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer`, or the token in the form body (RFC 6750 §2.2).
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 §7.1).
    Dpop,
}

pub struct UserinfoRequest<'a> {
    pub access_token: &'a str,
    pub scheme: Scheme,
    /// The request's `DPoP` header.
    pub proof: Option<&'a str>,
    /// The HTTP method, which a DPoP proof names.
    pub method: &'a str,
}

/// What userinfo answers: JSON, or a JWT (`application/jwt`).
#[derive(Debug)]
pub enum UserinfoBody {
    Json(Value),
    Jwt(String),
}

/// A refused userinfo request: the error, and the scheme of the challenge to answer with.
#[derive(Debug)]
pub struct UserinfoRefusal {
    pub error: OAuthError,
    pub challenge: Scheme,
}

impl UserinfoRefusal {
    fn bearer(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            error: OAuthError::new(code, description),
            challenge: Scheme::Bearer,
        }
    }

    fn dpop(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            error: OAuthError::new(code, description),
            challenge: Scheme::Dpop,
        }
    }
}

impl Provider {
    /// The client a live access token was issued to, for the request record.
    pub fn access_token_client(&self, access_token: &str) -> Option<String> {
        let now = self.broker.clock.now();
        self.grants
            .access_token(access_token, now)
            .map(|g| g.client_id)
            .or_else(|| {
                self.grants
                    .service_token(access_token, now)
                    .map(|g| g.client_id)
            })
    }

    pub async fn userinfo(
        &self,
        request: UserinfoRequest<'_>,
    ) -> Result<UserinfoBody, UserinfoRefusal> {
        let now = self.broker.clock.now();
        let Some(grant) = self.grants.access_token(request.access_token, now) else {
            if self
                .grants
                .service_token(request.access_token, now)
                .is_some()
            {
                return Err(UserinfoRefusal::bearer(
                    ErrorCode::InsufficientScope,
                    "a service token stands for no citizen: userinfo needs an access token of a login",
                ));
            }
            return Err(UserinfoRefusal::bearer(
                ErrorCode::InvalidToken,
                "the access token is unknown, expired or revoked",
            ));
        };
        self.check_binding(&grant, &request)?;
        let mut claims = self
            .userinfo_claims(&grant)
            .map_err(|error| UserinfoRefusal {
                error,
                challenge: request.scheme,
            })?;
        let fault = self.faults.next_userinfo(&grant.client_id);
        if let Some(fault) = fault {
            faults::alter_userinfo(fault, &mut claims);
        }
        let client = self.clients.get(&grant.client_id);
        match client {
            Some(client) => self
                .shape_userinfo(&client, claims, fault)
                .await
                .map_err(|error| UserinfoRefusal {
                    error,
                    challenge: request.scheme,
                }),
            // A deleted client's tokens still read as JSON.
            None => Ok(UserinfoBody::Json(Value::Object(claims))),
        }
    }

    /// RFC 9449 §7: a bound token only with the DPoP scheme and a proof by its key that
    /// names it; an unbound one only as a bearer token.
    fn check_binding(
        &self,
        grant: &TokenGrant,
        request: &UserinfoRequest<'_>,
    ) -> Result<(), UserinfoRefusal> {
        match (&grant.jkt, request.scheme) {
            (None, Scheme::Bearer) => Ok(()),
            (None, Scheme::Dpop) => Err(UserinfoRefusal::bearer(
                ErrorCode::InvalidToken,
                "the access token is not DPoP-bound: send it as a Bearer token",
            )),
            (Some(_), Scheme::Bearer) => Err(UserinfoRefusal::dpop(
                ErrorCode::InvalidToken,
                "the access token is DPoP-bound: send it with the DPoP scheme and a proof",
            )),
            (Some(bound), Scheme::Dpop) => {
                let proof = request.proof.ok_or_else(|| {
                    UserinfoRefusal::dpop(ErrorCode::InvalidDpopProof, "the DPoP proof is missing")
                })?;
                let url = self.endpoint(paths::USERINFO);
                let expected = dpop::Expected {
                    method: request.method,
                    url: &url,
                    access_token: Some(request.access_token),
                };
                let jkt = dpop::verify(
                    proof,
                    &expected,
                    self.broker.clock.unix(),
                    &self.replays.dpop_proofs,
                )
                .map_err(|why| UserinfoRefusal::dpop(ErrorCode::InvalidDpopProof, why))?;
                if &jkt.0 != bound {
                    return Err(UserinfoRefusal::dpop(
                        ErrorCode::InvalidDpopProof,
                        "the proof is signed by another key than the token is bound to",
                    ));
                }
                Ok(())
            }
        }
    }

    /// The claims for a token's grant: the citizen's while the session is active.
    fn userinfo_claims(&self, grant: &TokenGrant) -> Result<Map<String, Value>, OAuthError> {
        let now = self.broker.clock.now();
        let identities = &self.broker.identities;
        let citizen = identities.by_uuid(grant.citizen).ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidToken, "the citizen no longer exists")
        })?;
        let professional = match grant.record.authentication.professional {
            Some(uuid) => {
                let gone = || {
                    OAuthError::new(
                        ErrorCode::InvalidToken,
                        "the professional identity no longer exists",
                    )
                };
                let identity = identities.professional(uuid).ok_or_else(gone)?;
                let organisation = identities.organisation(identity.cvr).ok_or_else(gone)?;
                Some((identity, organisation))
            }
            None => None,
        };
        let public_service_provider = self
            .clients
            .get(&grant.client_id)
            .is_some_and(|c| c.public_service_provider);
        Ok(claims::userinfo(claims::UserinfoInput {
            subject: &grant.subject,
            citizen: &citizen,
            professional: professional.as_ref().map(|(identity, organisation)| {
                claims::Professional {
                    identity,
                    organisation,
                }
            }),
            public_service_provider,
            record: &grant.record,
            scopes: &grant.scopes,
            session_active: self.broker.sessions.is_active(grant.record.neb_sid, now),
            now,
        }))
    }

    /// JSON, or a JWT signed and/or encrypted as the client registered.
    async fn shape_userinfo(
        &self,
        client: &Client,
        mut claims: Map<String, Value>,
        fault: Option<TokenFault>,
    ) -> Result<UserinfoBody, OAuthError> {
        let signed = match client.userinfo_signed_response_alg {
            Some(alg) => {
                // OIDC Core §5.3.2: a signed response SHOULD name its issuer and audience.
                claims.insert("iss".into(), self.acting_issuer().into());
                claims.insert("aud".into(), client.client_id.clone().into());
                let broken = fault == Some(TokenFault::UserinfoBadSignature);
                let signing = match broken {
                    true => {
                        faults::sign_with_fault(
                            &self.broker.keys,
                            alg,
                            "JWT",
                            TokenFault::BadSignature,
                            claims.clone(),
                        )
                        .await
                    }
                    false => self.broker.keys.sign(alg, "JWT", claims.clone()).await,
                };
                Some(
                    signing
                        .map_err(|err| OAuthError::new(ErrorCode::ServerError, err.to_string()))?,
                )
            }
            None => None,
        };
        match (client.userinfo_encrypted_response_alg, signed) {
            (Some(alg), signed) => {
                let enc = client.userinfo_encrypted_response_enc.unwrap_or_default();
                let (payload, nested) = match &signed {
                    Some(jwt) => (jwt.clone().into_bytes(), true),
                    None => (Value::Object(claims).to_string().into_bytes(), false),
                };
                self.encrypt_to_client(client, &payload, nested, alg, enc)
                    .await
                    .map(UserinfoBody::Jwt)
            }
            (None, Some(jwt)) => Ok(UserinfoBody::Jwt(jwt)),
            (None, None) => Ok(UserinfoBody::Json(Value::Object(claims))),
        }
    }

    /// The userinfo token of the token response: signed with the broker's RSA key, `typ`
    /// `at+jwt`, living as long as an id_token, as recorded.
    pub(crate) async fn userinfo_token(
        &self,
        client: &Client,
        grant: &TokenGrant,
    ) -> Result<String, OAuthError> {
        let userinfo = self.userinfo_claims(grant)?;
        let professional_loip = grant
            .record
            .authentication
            .professional
            .and_then(|uuid| self.broker.identities.professional(uuid))
            .map(|identity| identity.loip);
        let id_claims = claims::id_token(IdTokenInput {
            issuer: &self.acting_issuer(),
            client_id: &client.client_id,
            subject: &grant.subject,
            nonce: None,
            record: &grant.record,
            issued_at: grant.issued,
            lifetime: self.lifetimes.id_token,
            at_hash: None,
            loip: professional_loip,
        });
        let token_claims = claims::userinfo_token(&id_claims, &userinfo);
        self.broker
            .keys
            .sign(SigningAlg::RS256, "at+jwt", token_claims)
            .await
            .map_err(|err| OAuthError::new(ErrorCode::ServerError, err.to_string()))
    }
}

/// The members of a `WWW-Authenticate: DPoP` challenge's `algs` (RFC 9449 §7.1).
pub fn dpop_algs() -> String {
    let names: Vec<&str> = dpop::ALGORITHMS.iter().map(|a| a.name()).collect();
    names.join(" ")
}

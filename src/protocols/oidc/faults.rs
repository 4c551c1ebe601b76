//! Deliberately broken tokens for the conformance catalogue (DESIGN §6, T01–T10, L05, L08,
//! S04): QA queues a fault for a client's next responses and watches whether the RP notices.

use std::collections::VecDeque;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dashmap::DashMap;
use josekit::jws::{JwsHeader, ES256, HS256};
use josekit::jwt::{self, JwtPayload};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::broker::keys::KeyError;
use crate::broker::{KeySet, SigningAlg};
use crate::identity::Loa;

/// The issuer a forged token or response claims: not the broker, so the RP must refuse it.
pub const FOREIGN_ISSUER: &str = "https://evil.example/op";
/// An audience that is not the client the token is sent to.
pub const FOREIGN_AUDIENCE: &str = "another-client";
/// How far ahead `short_session_expiry` puts the broker session's end: long enough to log
/// in and redeem the code, short enough for a test to wait it out by moving the clock.
pub const SHORT_SESSION: time::Duration = time::Duration::seconds(65);

/// A fault in the id_token (or, for `userinfo_other_sub`, in the userinfo response; for
/// `authorization_response_wrong_iss` and `short_session_expiry`, in the code redirect).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFault {
    /// T01
    WrongNonce,
    MissingNonce,
    /// T02
    WrongIss,
    /// T03
    WrongAud,
    MissingAud,
    ExtraAud,
    /// T04
    Expired,
    IatInFuture,
    MissingIat,
    /// T05
    AlgNone,
    /// T06
    BadSignature,
    Hs256WithPublicKey,
    /// T07: signed by a key the JWKS does not have.
    UnknownKid,
    /// T08
    MissingSub,
    UserinfoOtherSub,
    /// T10: `auth_time` a day old, past any `max_age`.
    StaleAuthTime,
    /// L05: the code redirect's RFC 9207 `iss` names another issuer.
    AuthorizationResponseWrongIss,
    /// L08: `loa`, `ial` and `aal` say Low whatever the login achieved.
    LoaLow,
    /// S04: the broker session ends 65 seconds after the login, and `session_expiry` says so.
    ShortSessionExpiry,
    /// A signed userinfo response (`userinfo_signed_response_alg`) with a broken signature.
    UserinfoBadSignature,
}

/// Which response a fault waits for: each kind waits in its own line, so a fault never
/// breaks a response of another kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    IdToken,
    Userinfo,
    /// The redirect with the code, built when a login (or an SSO pass) finishes.
    AuthorizationResponse,
}

impl TokenFault {
    pub const ALL: [TokenFault; 20] = [
        TokenFault::WrongNonce,
        TokenFault::MissingNonce,
        TokenFault::WrongIss,
        TokenFault::WrongAud,
        TokenFault::MissingAud,
        TokenFault::ExtraAud,
        TokenFault::Expired,
        TokenFault::IatInFuture,
        TokenFault::MissingIat,
        TokenFault::AlgNone,
        TokenFault::BadSignature,
        TokenFault::Hs256WithPublicKey,
        TokenFault::UnknownKid,
        TokenFault::MissingSub,
        TokenFault::UserinfoOtherSub,
        TokenFault::StaleAuthTime,
        TokenFault::AuthorizationResponseWrongIss,
        TokenFault::LoaLow,
        TokenFault::ShortSessionExpiry,
        TokenFault::UserinfoBadSignature,
    ];

    pub fn target(self) -> FaultTarget {
        match self {
            TokenFault::UserinfoOtherSub | TokenFault::UserinfoBadSignature => {
                FaultTarget::Userinfo
            }
            TokenFault::AuthorizationResponseWrongIss | TokenFault::ShortSessionExpiry => {
                FaultTarget::AuthorizationResponse
            }
            _ => FaultTarget::IdToken,
        }
    }

    /// Why the fault cannot break anything the client receives, if it cannot: a client
    /// answered with JSON userinfo has no userinfo signature to break.
    pub fn unusable_for(self, client: &super::Client) -> Option<String> {
        (self == TokenFault::UserinfoBadSignature && client.userinfo_signed_response_alg.is_none())
            .then(|| {
                format!(
                    "client `{}` gets userinfo as JSON: {} needs userinfo_signed_response_alg",
                    client.client_id,
                    self.name()
                )
            })
    }

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// Faults queued per client, one line per [`FaultTarget`].
#[derive(Debug, Default)]
pub struct Faults {
    id_token: DashMap<String, VecDeque<TokenFault>>,
    userinfo: DashMap<String, VecDeque<TokenFault>>,
    authorization_response: DashMap<String, VecDeque<TokenFault>>,
}

impl Faults {
    fn line(&self, target: FaultTarget) -> &DashMap<String, VecDeque<TokenFault>> {
        match target {
            FaultTarget::IdToken => &self.id_token,
            FaultTarget::Userinfo => &self.userinfo,
            FaultTarget::AuthorizationResponse => &self.authorization_response,
        }
    }

    pub fn push(&self, client_id: &str, fault: TokenFault, count: usize) {
        let mut queue = self
            .line(fault.target())
            .entry(client_id.to_string())
            .or_default();
        queue.extend(std::iter::repeat_n(fault, count));
    }

    fn next(&self, target: FaultTarget, client_id: &str) -> Option<TokenFault> {
        self.line(target).get_mut(client_id)?.pop_front()
    }

    pub fn next_id_token(&self, client_id: &str) -> Option<TokenFault> {
        self.next(FaultTarget::IdToken, client_id)
    }

    pub fn next_userinfo(&self, client_id: &str) -> Option<TokenFault> {
        self.next(FaultTarget::Userinfo, client_id)
    }

    pub fn next_authorization_response(&self, client_id: &str) -> Option<TokenFault> {
        self.next(FaultTarget::AuthorizationResponse, client_id)
    }

    pub fn pending(&self, client_id: &str) -> Vec<TokenFault> {
        let mut all: Vec<TokenFault> = Vec::new();
        for line in [&self.id_token, &self.userinfo, &self.authorization_response] {
            if let Some(queue) = line.get(client_id) {
                all.extend(queue.iter().copied());
            }
        }
        all
    }

    pub fn clear(&self, client_id: &str) {
        self.id_token.remove(client_id);
        self.userinfo.remove(client_id);
        self.authorization_response.remove(client_id);
    }
}

/// Changes the claims as the fault says (faults of the signature change nothing here).
pub fn alter_claims(fault: TokenFault, claims: &mut Map<String, Value>, now: i64) {
    match fault {
        TokenFault::WrongNonce => {
            claims.insert(
                "nonce".into(),
                format!("not-your-nonce-{}", crate::random::short_id()).into(),
            );
        }
        TokenFault::MissingNonce => {
            claims.remove("nonce");
        }
        TokenFault::WrongIss => {
            claims.insert("iss".into(), FOREIGN_ISSUER.into());
        }
        TokenFault::WrongAud => {
            claims.insert("aud".into(), FOREIGN_AUDIENCE.into());
        }
        TokenFault::MissingAud => {
            claims.remove("aud");
        }
        TokenFault::ExtraAud => {
            let own = claims.get("aud").cloned().unwrap_or(Value::Null);
            claims.insert(
                "aud".into(),
                Value::Array(vec![own.clone(), "untrusted-client".into()]),
            );
            claims.insert("azp".into(), own);
        }
        TokenFault::Expired => {
            claims.insert("iat".into(), (now - 900).into());
            claims.insert("nbf".into(), (now - 900).into());
            claims.insert("exp".into(), (now - 600).into());
        }
        TokenFault::IatInFuture => {
            claims.insert("iat".into(), (now + 3600).into());
            claims.insert("nbf".into(), (now + 3600).into());
            claims.insert("exp".into(), (now + 3900).into());
        }
        TokenFault::MissingIat => {
            claims.remove("iat");
        }
        TokenFault::MissingSub => {
            claims.remove("sub");
        }
        TokenFault::StaleAuthTime => {
            claims.insert("auth_time".into(), (now - 86_400).into());
        }
        TokenFault::LoaLow => {
            for claim in ["loa", "ial", "aal"] {
                claims.insert(claim.into(), Loa::Low.uri().into());
            }
        }
        TokenFault::AlgNone
        | TokenFault::BadSignature
        | TokenFault::Hs256WithPublicKey
        | TokenFault::UnknownKid
        | TokenFault::UserinfoOtherSub
        | TokenFault::AuthorizationResponseWrongIss
        | TokenFault::ShortSessionExpiry
        | TokenFault::UserinfoBadSignature => {}
    }
}

/// A broken logout token the admin API sends to a client's back-channel logout URI
/// (OIDC Back-Channel Logout 1.0 §2.6: each is one the RP must refuse).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogoutTokenFault {
    AlgNone,
    BadSignature,
    WrongIss,
    WrongAud,
    /// Issued 10 minutes ago, expired 5 minutes ago.
    Expired,
    NoEvents,
    /// An `events` claim without the back-channel logout event.
    WrongEvents,
    /// A `nonce`, which logout tokens are forbidden to carry.
    Nonce,
    NoSubNoSid,
    /// An id_token for the same citizen instead: signed by the broker, but no logout token.
    IdToken,
}

impl LogoutTokenFault {
    pub const ALL: [LogoutTokenFault; 10] = [
        LogoutTokenFault::AlgNone,
        LogoutTokenFault::BadSignature,
        LogoutTokenFault::WrongIss,
        LogoutTokenFault::WrongAud,
        LogoutTokenFault::Expired,
        LogoutTokenFault::NoEvents,
        LogoutTokenFault::WrongEvents,
        LogoutTokenFault::Nonce,
        LogoutTokenFault::NoSubNoSid,
        LogoutTokenFault::IdToken,
    ];

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The id_token fault that breaks the signature the same way, for [`sign_with_fault`].
    pub fn signature_fault(self) -> Option<TokenFault> {
        match self {
            LogoutTokenFault::AlgNone => Some(TokenFault::AlgNone),
            LogoutTokenFault::BadSignature => Some(TokenFault::BadSignature),
            _ => None,
        }
    }
}

/// Changes a logout token's claims as the fault says (signature faults and `id_token`,
/// which replaces the claims altogether, change nothing here).
pub fn alter_logout_claims(fault: LogoutTokenFault, claims: &mut Map<String, Value>, now: i64) {
    match fault {
        LogoutTokenFault::WrongIss => {
            claims.insert("iss".into(), FOREIGN_ISSUER.into());
        }
        LogoutTokenFault::WrongAud => {
            claims.insert("aud".into(), FOREIGN_AUDIENCE.into());
        }
        LogoutTokenFault::Expired => {
            claims.insert("iat".into(), (now - 600).into());
            claims.insert("exp".into(), (now - 300).into());
        }
        LogoutTokenFault::NoEvents => {
            claims.remove("events");
        }
        LogoutTokenFault::WrongEvents => {
            claims.insert(
                "events".into(),
                serde_json::json!({ "http://schemas.openid.net/event/other": {} }),
            );
        }
        LogoutTokenFault::Nonce => {
            claims.insert(
                "nonce".into(),
                format!("nonce-{}", crate::random::short_id()).into(),
            );
        }
        LogoutTokenFault::NoSubNoSid => {
            claims.remove("sub");
            claims.remove("sid");
        }
        LogoutTokenFault::AlgNone | LogoutTokenFault::BadSignature | LogoutTokenFault::IdToken => {}
    }
}

/// Signs the (possibly altered) claims as a JWT of type `typ` (`JWT` for id_tokens,
/// `logout+jwt` for logout tokens), breaking the signature as the fault says.
pub async fn sign_with_fault(
    keys: &KeySet,
    alg: SigningAlg,
    typ: &str,
    fault: TokenFault,
    claims: Map<String, Value>,
) -> Result<String, KeyError> {
    match fault {
        TokenFault::AlgNone => {
            let mut header = JwsHeader::new();
            header.set_token_type(typ);
            let payload = JwtPayload::from_map(claims)?;
            Ok(jwt::encode_unsecured(&payload, &header)?)
        }
        TokenFault::BadSignature => {
            let token = keys.sign(alg, typ, claims).await?;
            let (signed, signature) = token.rsplit_once('.').unwrap_or((&token, ""));
            let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
            if let Some(first) = bytes.first_mut() {
                *first ^= 0x5a;
            }
            Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes)))
        }
        TokenFault::Hs256WithPublicKey => {
            // The classic key-confusion attack: HMAC keyed with the RSA public key's PEM.
            let public = keys.public_pem(SigningAlg::RS256).await?;
            let mut header = JwsHeader::new();
            header.set_token_type(typ);
            header.set_key_id(keys.kid(SigningAlg::RS256).await?);
            let signer = HS256.signer_from_bytes(&public)?;
            Ok(jwt::encode_with_signer(
                &JwtPayload::from_map(claims)?,
                &header,
                &signer,
            )?)
        }
        TokenFault::UnknownKid => {
            let stranger = ES256.generate_key_pair()?;
            let signer = ES256.signer_from_pem(stranger.to_pem_private_key())?;
            let mut header = JwsHeader::new();
            header.set_token_type(typ);
            header.set_key_id(format!("unknown-{}", crate::random::short_id()));
            Ok(jwt::encode_with_signer(
                &JwtPayload::from_map(claims)?,
                &header,
                &signer,
            )?)
        }
        _ => keys.sign(alg, typ, claims).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_fault_waits_for_its_own_response() {
        let faults = Faults::default();
        faults.push("rp", TokenFault::AuthorizationResponseWrongIss, 1);
        faults.push("rp", TokenFault::LoaLow, 1);
        faults.push("rp", TokenFault::ShortSessionExpiry, 1);
        assert_eq!(faults.pending("rp").len(), 3);
        assert_eq!(faults.next_id_token("rp"), Some(TokenFault::LoaLow));
        assert_eq!(
            faults.next_id_token("rp"),
            None,
            "never a code-redirect fault"
        );
        assert_eq!(faults.next_userinfo("rp"), None);
        assert_eq!(
            faults.next_authorization_response("rp"),
            Some(TokenFault::AuthorizationResponseWrongIss)
        );
        assert_eq!(
            faults.pending("rp"),
            [TokenFault::ShortSessionExpiry],
            "in the order queued"
        );
        faults.clear("rp");
        assert!(faults.pending("rp").is_empty());
    }

    #[test]
    fn every_fault_has_its_serde_name() {
        for fault in TokenFault::ALL {
            let parsed: TokenFault = serde_json::from_value(fault.name().into()).unwrap();
            assert_eq!(parsed, fault);
        }
        for fault in LogoutTokenFault::ALL {
            let parsed: LogoutTokenFault = serde_json::from_value(fault.name().into()).unwrap();
            assert_eq!(parsed, fault);
        }
        assert_eq!(
            TokenFault::AuthorizationResponseWrongIss.name(),
            "authorization_response_wrong_iss"
        );
        assert_eq!(LogoutTokenFault::NoSubNoSid.name(), "no_sub_no_sid");
    }
}

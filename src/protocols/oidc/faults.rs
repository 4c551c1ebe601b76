//! Deliberately broken tokens for the conformance catalogue (DESIGN §6, T01–T10): QA
//! queues a fault for a client's next token responses and watches whether the RP notices.

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

/// A fault in the id_token (or, for `userinfo_other_sub`, in the userinfo response).
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
}

impl TokenFault {
    pub const ALL: [TokenFault; 16] = [
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
    ];

    pub fn for_userinfo(self) -> bool {
        self == TokenFault::UserinfoOtherSub
    }

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// Faults queued per client: id_token faults and userinfo faults wait in separate lines.
#[derive(Debug, Default)]
pub struct Faults {
    id_token: DashMap<String, VecDeque<TokenFault>>,
    userinfo: DashMap<String, VecDeque<TokenFault>>,
}

impl Faults {
    fn line(&self, fault: TokenFault) -> &DashMap<String, VecDeque<TokenFault>> {
        if fault.for_userinfo() {
            &self.userinfo
        } else {
            &self.id_token
        }
    }

    pub fn push(&self, client_id: &str, fault: TokenFault, count: usize) {
        let mut queue = self.line(fault).entry(client_id.to_string()).or_default();
        queue.extend(std::iter::repeat_n(fault, count));
    }

    pub fn next_id_token(&self, client_id: &str) -> Option<TokenFault> {
        self.id_token.get_mut(client_id)?.pop_front()
    }

    pub fn next_userinfo(&self, client_id: &str) -> Option<TokenFault> {
        self.userinfo.get_mut(client_id)?.pop_front()
    }

    pub fn pending(&self, client_id: &str) -> Vec<TokenFault> {
        let mut all: Vec<TokenFault> = Vec::new();
        for line in [&self.id_token, &self.userinfo] {
            if let Some(queue) = line.get(client_id) {
                all.extend(queue.iter().copied());
            }
        }
        all
    }

    pub fn clear(&self, client_id: &str) {
        self.id_token.remove(client_id);
        self.userinfo.remove(client_id);
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
            claims.insert("iss".into(), "https://evil.example/op".into());
        }
        TokenFault::WrongAud => {
            claims.insert("aud".into(), "another-client".into());
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
        TokenFault::AlgNone
        | TokenFault::BadSignature
        | TokenFault::Hs256WithPublicKey
        | TokenFault::UnknownKid
        | TokenFault::UserinfoOtherSub => {}
    }
}

/// Signs the (possibly altered) claims, breaking the signature as the fault says.
pub async fn sign_with_fault(
    keys: &KeySet,
    alg: SigningAlg,
    fault: TokenFault,
    claims: Map<String, Value>,
) -> Result<String, KeyError> {
    match fault {
        TokenFault::AlgNone => {
            let mut header = JwsHeader::new();
            header.set_token_type("JWT");
            let payload = JwtPayload::from_map(claims)?;
            Ok(jwt::encode_unsecured(&payload, &header)?)
        }
        TokenFault::BadSignature => {
            let token = keys.sign(alg, "JWT", claims).await?;
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
            header.set_token_type("JWT");
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
            header.set_token_type("JWT");
            header.set_key_id(format!("unknown-{}", crate::random::short_id()));
            Ok(jwt::encode_with_signer(
                &JwtPayload::from_map(claims)?,
                &header,
                &signer,
            )?)
        }
        _ => keys.sign(alg, "JWT", claims).await,
    }
}

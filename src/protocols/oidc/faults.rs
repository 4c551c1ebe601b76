//! Deliberately broken tokens for the conformance catalogue (DESIGN §6, T01–T10, L05, L08,
//! S04): QA queues a fault for a client's next responses and watches whether the RP notices.

use std::collections::VecDeque;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dashmap::DashMap;
use josekit::jws::{JwsHeader, HS256};
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
/// How far ahead of the login `short_session_expiry` puts `session_expiry`: DESIGN §6 asks
/// for at least 60 s (RP libraries refuse sessions that end sooner after `iat`), and a
/// conformance run waits it out for real, so no more than that.
pub const SHORT_SESSION: time::Duration = time::Duration::seconds(60);

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
    /// S04: `session_expiry` (id_token and userinfo) says the broker session ends 60 s after
    /// the login, while the session itself lives on: only an RP that honours the claim
    /// notices (its check of the broker session cannot decide instead).
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
        // Ten minutes past: beyond any RP library's clock tolerance. Only `exp` moves.
        TokenFault::Expired => {
            claims.insert("exp".into(), (now - 600).into());
        }
        // An hour ahead, with `nbf` and `exp` still valid, so only an `iat` check refuses it.
        TokenFault::IatInFuture => {
            claims.insert("iat".into(), (now + 3600).into());
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

/// Changes a userinfo response as the fault says: `userinfo_other_sub` names another
/// subject than the id_token did; nothing else changes.
pub fn alter_userinfo(fault: TokenFault, claims: &mut Map<String, Value>) {
    if fault == TokenFault::UserinfoOtherSub {
        claims.insert("sub".into(), uuid::Uuid::new_v4().to_string().into());
    }
}

/// The `iss` of an authorization response (RFC 9207) under `fault`.
pub fn response_issuer(fault: Option<TokenFault>, issuer: &str) -> String {
    match fault {
        Some(TokenFault::AuthorizationResponseWrongIss) => FOREIGN_ISSUER.to_string(),
        _ => issuer.to_string(),
    }
}

/// The `session_expiry` a login's tokens announce under `fault`: the session's real end,
/// or, for `short_session_expiry`, [`SHORT_SESSION`] after `now` (the session itself
/// is left alone).
pub fn session_expiry(
    fault: Option<TokenFault>,
    real: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> time::OffsetDateTime {
    match fault {
        Some(TokenFault::ShortSessionExpiry) => now + SHORT_SESSION,
        _ => real,
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
    /// Expired 5 minutes ago (only `exp` differs from a valid token).
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
            // Unsigned, but otherwise the header of a valid token (its kid included).
            let mut header = JwsHeader::new();
            header.set_token_type(typ);
            header.set_key_id(keys.kid(alg).await?);
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
            // The classic key-confusion attack: HMAC keyed with the PEM of the public key
            // the client is registered for, under that key's kid.
            let public = keys.public_pem(alg).await?;
            let mut header = JwsHeader::new();
            header.set_token_type(typ);
            header.set_key_id(keys.kid(alg).await?);
            let signer = HS256.signer_from_bytes(&public)?;
            Ok(jwt::encode_with_signer(
                &JwtPayload::from_map(claims)?,
                &header,
                &signer,
            )?)
        }
        TokenFault::UnknownKid => {
            // A stranger's key of the algorithm the client expects: only the key differs.
            let stranger = tokio::task::spawn_blocking(KeySet::generate)
                .await
                .map_err(|_| KeyError::RsaUnavailable)??;
            stranger.sign(alg, typ, claims).await
        }
        _ => keys.sign(alg, typ, claims).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    use crate::broker::keys::KeySet;

    const NOW: i64 = 1_750_000_000;

    /// An id_token as the broker issues it (the claims of `claims::id_token`).
    fn valid_id_token_claims() -> Map<String, Value> {
        serde_json::json!({
            "iss": "http://127.0.0.1:8088/op",
            "aud": "rp",
            "sub": "0b6e8a0c-3b6f-4a62-9b0a-7f1f3c1e2d4a",
            "iat": NOW,
            "nbf": NOW,
            "exp": NOW + 300,
            "auth_time": NOW - 5,
            "nonce": "n-0S6_WzA2Mj",
            "amr": ["code_app"],
            "idp": "mitid",
            "identity_type": "private",
            "loa": Loa::Substantial.uri(),
            "ial": Loa::Substantial.uri(),
            "aal": Loa::Substantial.uri(),
            "neb_sid": "5d0b7b8e-1b1a-4c1e-9e0a-0f0e0d0c0b0a",
            "sid": "9a8b7c6d-1b1a-4c1e-9e0a-0f0e0d0c0b0a",
            "transaction_id": "1d2c3b4a-1b1a-4c1e-9e0a-0f0e0d0c0b0a",
            "session_expiry": (NOW + 28_800).to_string(),
            "at_hash": "x4Q8HQk6R5yb6D5bUqk9Xg",
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn logout_token_claims() -> Map<String, Value> {
        serde_json::json!({
            "iss": "http://127.0.0.1:8088/op",
            "aud": "rp",
            "iat": NOW,
            "exp": NOW + 120,
            "jti": "3f1e2d4c",
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            "sid": "9a8b7c6d-1b1a-4c1e-9e0a-0f0e0d0c0b0a",
            "sub": "0b6e8a0c-3b6f-4a62-9b0a-7f1f3c1e2d4a",
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn part(token: &str, index: usize) -> Map<String, Value> {
        let segment = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    /// What tells `broken` from `valid`: `header.<name>` and `claim.<name>` for each member
    /// that differs, and `signature` when the broker's published keys do not verify it.
    async fn differences(keys: &KeySet, valid: &str, broken: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for (index, prefix) in [(0, "header"), (1, "claim")] {
            let (a, b) = (part(valid, index), part(broken, index));
            for name in a.keys().chain(b.keys()) {
                if a.get(name) != b.get(name) {
                    found.insert(format!("{prefix}.{name}"));
                }
            }
        }
        assert!(keys.verify(valid).await.is_ok(), "the valid token verifies");
        if keys.verify(broken).await.is_err() {
            found.insert("signature".into());
        }
        found
    }

    /// The single property each id_token fault changes. Two faults name more than one
    /// member for that one property: `extra_aud` (OIDC Core §2 asks for `azp` beside
    /// several audiences) and `loa_low` (a Low login has Low in `loa`, `ial` and `aal`).
    fn expected(fault: TokenFault) -> &'static [&'static str] {
        match fault {
            TokenFault::WrongNonce | TokenFault::MissingNonce => &["claim.nonce"],
            TokenFault::WrongIss => &["claim.iss"],
            TokenFault::WrongAud | TokenFault::MissingAud => &["claim.aud"],
            TokenFault::ExtraAud => &["claim.aud", "claim.azp"],
            TokenFault::Expired => &["claim.exp"],
            TokenFault::IatInFuture | TokenFault::MissingIat => &["claim.iat"],
            TokenFault::AlgNone => &["header.alg", "signature"],
            TokenFault::BadSignature => &["signature"],
            TokenFault::Hs256WithPublicKey => &["header.alg", "signature"],
            TokenFault::UnknownKid => &["header.kid", "signature"],
            TokenFault::MissingSub => &["claim.sub"],
            TokenFault::StaleAuthTime => &["claim.auth_time"],
            TokenFault::LoaLow => &["claim.aal", "claim.ial", "claim.loa"],
            // Not id_token faults: see their own tests.
            TokenFault::UserinfoOtherSub
            | TokenFault::UserinfoBadSignature
            | TokenFault::AuthorizationResponseWrongIss
            | TokenFault::ShortSessionExpiry => &[],
        }
    }

    #[tokio::test]
    async fn every_id_token_fault_differs_from_a_valid_token_in_its_one_property() {
        let keys = KeySet::generate().unwrap();
        for alg in SigningAlg::ALL {
            for fault in TokenFault::ALL {
                let claims = valid_id_token_claims();
                let valid = keys.sign(alg, "JWT", claims.clone()).await.unwrap();
                let mut altered = claims;
                alter_claims(fault, &mut altered, NOW);
                let broken = sign_with_fault(&keys, alg, "JWT", fault, altered)
                    .await
                    .unwrap();
                let found = differences(&keys, &valid, &broken).await;
                let want: BTreeSet<String> =
                    expected(fault).iter().map(|s| s.to_string()).collect();
                assert_eq!(found, want, "{} with {}", fault.name(), alg.name());
            }
        }
    }

    #[tokio::test]
    async fn time_faults_keep_the_other_times_valid() {
        let mut claims = valid_id_token_claims();
        alter_claims(TokenFault::IatInFuture, &mut claims, NOW);
        assert!(
            claims["iat"].as_i64().unwrap() > NOW + 600,
            "beyond any leeway"
        );
        assert!(claims["nbf"].as_i64().unwrap() <= NOW);
        assert!(claims["exp"].as_i64().unwrap() > NOW);
        let mut claims = valid_id_token_claims();
        alter_claims(TokenFault::Expired, &mut claims, NOW);
        assert!(
            claims["exp"].as_i64().unwrap() < NOW - 300,
            "beyond any leeway"
        );
        assert_eq!(claims["iat"], NOW);
    }

    #[tokio::test]
    async fn signature_faults_keep_the_clients_algorithm_or_key() {
        let keys = KeySet::generate().unwrap();
        for alg in SigningAlg::ALL {
            let claims = valid_id_token_claims();
            let unknown =
                sign_with_fault(&keys, alg, "JWT", TokenFault::UnknownKid, claims.clone())
                    .await
                    .unwrap();
            assert_eq!(
                part(&unknown, 0)["alg"],
                alg.name(),
                "the client's algorithm"
            );
            let confused =
                sign_with_fault(&keys, alg, "JWT", TokenFault::Hs256WithPublicKey, claims)
                    .await
                    .unwrap();
            let header = part(&confused, 0);
            assert_eq!(header["alg"], "HS256");
            assert_eq!(
                header["kid"],
                keys.kid(alg).await.unwrap(),
                "the key it abuses"
            );
        }
    }

    #[test]
    fn the_userinfo_fault_changes_only_sub() {
        let valid = valid_id_token_claims();
        let mut broken = valid.clone();
        alter_userinfo(TokenFault::UserinfoOtherSub, &mut broken);
        let changed: Vec<&String> = valid.keys().filter(|k| valid[*k] != broken[*k]).collect();
        assert_eq!(changed, ["sub"]);
        assert_eq!(valid.len(), broken.len());
    }

    #[test]
    fn code_redirect_faults_change_only_their_parameter() {
        let issuer = "http://127.0.0.1:8088/op";
        assert_eq!(response_issuer(None, issuer), issuer);
        assert_eq!(
            response_issuer(Some(TokenFault::AuthorizationResponseWrongIss), issuer),
            FOREIGN_ISSUER
        );
        assert_eq!(
            response_issuer(Some(TokenFault::ShortSessionExpiry), issuer),
            issuer
        );
        let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap();
        let real = now + time::Duration::hours(8);
        assert_eq!(session_expiry(None, real, now), real);
        assert_eq!(
            session_expiry(Some(TokenFault::AuthorizationResponseWrongIss), real, now),
            real
        );
        let short = session_expiry(Some(TokenFault::ShortSessionExpiry), real, now);
        assert_eq!(short - now, SHORT_SESSION);
        assert!(SHORT_SESSION >= time::Duration::seconds(60), "DESIGN §6");
    }

    #[tokio::test]
    async fn every_logout_token_fault_differs_from_a_valid_token_in_its_one_property() {
        let keys = KeySet::generate().unwrap();
        let alg = SigningAlg::ES256;
        for fault in LogoutTokenFault::ALL {
            if fault == LogoutTokenFault::IdToken {
                continue; // a different kind of token altogether: tests/api/admin.rs
            }
            let claims = logout_token_claims();
            let valid = keys.sign(alg, "logout+jwt", claims.clone()).await.unwrap();
            let mut altered = claims;
            alter_logout_claims(fault, &mut altered, NOW);
            let broken = match fault.signature_fault() {
                Some(broken) => sign_with_fault(&keys, alg, "logout+jwt", broken, altered)
                    .await
                    .unwrap(),
                None => keys.sign(alg, "logout+jwt", altered).await.unwrap(),
            };
            let want: &[&str] = match fault {
                LogoutTokenFault::AlgNone => &["header.alg", "signature"],
                LogoutTokenFault::BadSignature => &["signature"],
                LogoutTokenFault::WrongIss => &["claim.iss"],
                LogoutTokenFault::WrongAud => &["claim.aud"],
                LogoutTokenFault::Expired => &["claim.exp"],
                LogoutTokenFault::NoEvents | LogoutTokenFault::WrongEvents => &["claim.events"],
                LogoutTokenFault::Nonce => &["claim.nonce"],
                // One property: whom to log out.
                LogoutTokenFault::NoSubNoSid => &["claim.sid", "claim.sub"],
                LogoutTokenFault::IdToken => unreachable!(),
            };
            let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                differences(&keys, &valid, &broken).await,
                want,
                "{}",
                fault.name()
            );
        }
    }

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

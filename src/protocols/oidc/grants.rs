//! Codes and tokens. Everything one authorization code leads to (access tokens, refresh
//! tokens and their rotations) is one *family*: a replayed code or a reused refresh
//! token revokes the whole family (RFC 6749 §4.1.2, RFC 9700 §4.14).

use dashmap::DashMap;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::protocols::claims::LoginRecord;

pub type Family = Uuid;

/// How a code or token is found: a digest, not the token itself. An access token is a
/// signed JWT of several hundred bytes, held (with its family's list) for its three
/// hours; its digest is 16 bytes. 128 bits of SHA-256 leave no room to forge a match.
type Key = [u8; 16];

fn key(token: &str) -> Key {
    let digest = openssl::sha::sha256(token.as_bytes());
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub scopes: Vec<String>,
    pub record: LoginRecord,
    pub expires: OffsetDateTime,
    pub family: Family,
}

/// A code as the broker keeps it: the grant until it is redeemed, then only what a
/// replay needs (whose it was, what it issued, until when to remember it).
#[derive(Debug)]
enum CodeEntry {
    /// Boxed, so a redeemed code's small entry does not take the grant's room.
    Fresh(Box<CodeGrant>),
    Redeemed {
        client_id: String,
        family: Family,
        expires: OffsetDateTime,
    },
}

impl CodeEntry {
    fn client_id(&self) -> &str {
        match self {
            CodeEntry::Fresh(grant) => &grant.client_id,
            CodeEntry::Redeemed { client_id, .. } => client_id,
        }
    }

    fn expires(&self) -> OffsetDateTime {
        match self {
            CodeEntry::Fresh(grant) => grant.expires,
            CodeEntry::Redeemed { expires, .. } => *expires,
        }
    }
}

impl CodeGrant {
    pub fn new(
        client_id: String,
        redirect_uri: String,
        nonce: Option<String>,
        code_challenge: Option<String>,
        scopes: Vec<String>,
        record: LoginRecord,
        expires: OffsetDateTime,
    ) -> Self {
        Self {
            client_id,
            redirect_uri,
            nonce,
            code_challenge,
            scopes,
            record,
            expires,
            family: Uuid::new_v4(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Redemption {
    Unknown,
    /// Presented by another client: refused, and the code stays as it was.
    OtherClient,
    Expired,
    /// The code was used before: everything it issued is now revoked.
    Replayed,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    Unknown,
    /// Presented by another client: refused, and the family stays as it was.
    OtherClient,
    Expired,
    /// A refresh token already exchanged was presented again: the family is revoked.
    Reused,
    /// RFC 9449 §5: the token is bound to a DPoP key the request did not prove; it
    /// stays usable with the right proof.
    OtherKey,
    /// The broker session the token belonged to has ended.
    SessionEnded,
}

/// What an access or refresh token stands for.
#[derive(Clone, Debug)]
pub struct TokenGrant {
    pub client_id: String,
    pub citizen: Uuid,
    pub subject: String,
    pub scopes: Vec<String>,
    pub record: LoginRecord,
    pub issued: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub family: Family,
    /// RFC 9449: the thumbprint of the DPoP key the token is bound to (`cnf.jkt`).
    pub jkt: Option<String>,
}

/// What a service token (client_credentials grant) stands for: a client, no citizen.
#[derive(Clone, Debug)]
pub struct ServiceGrant {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub issued: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub jkt: Option<String>,
}

/// A refresh token as the broker keeps it: the grant while it can be exchanged, then
/// only what refusing it needs.
#[derive(Clone, Debug)]
enum RefreshEntry {
    /// Boxed, so the small entries do not take the grant's room.
    Live(Box<TokenGrant>),
    /// Exchanged once: presenting it again revokes its family.
    Used {
        client_id: String,
        family: Family,
        expires: OffsetDateTime,
    },
    /// Its broker session ended: refused as such until it would have expired.
    SessionEnded {
        client_id: String,
        expires: OffsetDateTime,
    },
}

impl RefreshEntry {
    fn client_id(&self) -> &str {
        match self {
            RefreshEntry::Live(grant) => &grant.client_id,
            RefreshEntry::Used { client_id, .. } | RefreshEntry::SessionEnded { client_id, .. } => {
                client_id
            }
        }
    }

    fn expires(&self) -> OffsetDateTime {
        match self {
            RefreshEntry::Live(grant) => grant.expires,
            RefreshEntry::Used { expires, .. } | RefreshEntry::SessionEnded { expires, .. } => {
                *expires
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
}

pub struct Grants {
    codes: DashMap<Key, CodeEntry>,
    access_tokens: DashMap<Key, TokenGrant>,
    refresh_tokens: DashMap<Key, RefreshEntry>,
    service_tokens: DashMap<Key, ServiceGrant>,
    families: DashMap<Family, Vec<Key>>,
    /// The broker time of the last sweep, to date revocations without a clock here.
    swept: std::sync::Mutex<OffsetDateTime>,
    /// When each family was revoked; kept as long as one of its tokens could come back.
    revoked_families: DashMap<Family, OffsetDateTime>,
    /// The families with refresh tokens, by broker session: refresh is worthless once
    /// the session ends, so they are let go then.
    refreshable: DashMap<Uuid, Vec<Family>>,
}

impl Default for Grants {
    fn default() -> Self {
        Self {
            codes: DashMap::new(),
            access_tokens: DashMap::new(),
            refresh_tokens: DashMap::new(),
            service_tokens: DashMap::new(),
            families: DashMap::new(),
            swept: std::sync::Mutex::new(OffsetDateTime::UNIX_EPOCH),
            revoked_families: DashMap::new(),
            refreshable: DashMap::new(),
        }
    }
}

impl Grants {
    pub fn issue_code(&self, grant: CodeGrant) -> String {
        let code = crate::random::secret_token();
        self.codes
            .insert(key(&code), CodeEntry::Fresh(Box::new(grant)));
        code
    }

    /// Marks the code used and returns its grant. The shard lock makes two racing
    /// redemptions see the code once.
    pub fn redeem_code(
        &self,
        code: &str,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Result<CodeGrant, Redemption> {
        let code = key(code);
        let mut entry = self.codes.get_mut(&code).ok_or(Redemption::Unknown)?;
        // Checked first, so one client cannot burn another's code (RFC 6749 §4.1.3).
        if entry.client_id() != client_id {
            return Err(Redemption::OtherClient);
        }
        if let CodeEntry::Redeemed { family, .. } = *entry {
            drop(entry);
            self.revoke_family(family);
            return Err(Redemption::Replayed);
        }
        if entry.expires() <= now {
            drop(entry);
            self.codes.remove(&code);
            return Err(Redemption::Expired);
        }
        let redeemed = CodeEntry::Redeemed {
            client_id: client_id.to_string(),
            family: match &*entry {
                CodeEntry::Fresh(grant) => grant.family,
                CodeEntry::Redeemed { family, .. } => *family,
            },
            expires: entry.expires(),
        };
        match std::mem::replace(&mut *entry, redeemed) {
            CodeEntry::Fresh(grant) => Ok(*grant),
            CodeEntry::Redeemed { .. } => Err(Redemption::Replayed),
        }
    }

    pub fn issue_access_token(&self, token: &str, grant: TokenGrant) {
        let family = grant.family;
        let token = key(token);
        self.access_tokens.insert(token, grant);
        self.join_family(family, token);
    }

    pub fn issue_refresh_token(&self, grant: TokenGrant) -> String {
        let token = crate::random::secret_token();
        let family = grant.family;
        let mut families = self.refreshable.entry(grant.record.neb_sid).or_default();
        if !families.contains(&family) {
            families.push(family);
        }
        drop(families);
        self.refresh_tokens
            .insert(key(&token), RefreshEntry::Live(Box::new(grant)));
        self.join_family(family, key(&token));
        token
    }

    /// A token joins its family, unless the family was revoked meanwhile (a replay raced
    /// the issue): then it is revoked at once.
    fn join_family(&self, family: Family, token: Key) {
        // Checked while holding the family's entry: `revoke_family` marks the family
        // revoked before it takes the entry, so a token is either seen and revoked by it,
        // or sees the mark here.
        let mut members = self.families.entry(family).or_default();
        if self.revoked_families.contains_key(&family) {
            drop(members);
            self.families
                .remove_if(&family, |_, tokens| tokens.is_empty());
            self.access_tokens.remove(&token);
            self.refresh_tokens.remove(&token);
            return;
        }
        members.push(token);
    }

    pub fn revoke_family(&self, family: Family) {
        self.revoked_families.insert(family, self.last_sweep());
        if let Some((_, tokens)) = self.families.remove(&family) {
            for token in tokens {
                self.access_tokens.remove(&token);
                self.refresh_tokens.remove(&token);
            }
        }
    }

    pub fn access_token(&self, token: &str, now: OffsetDateTime) -> Option<TokenGrant> {
        self.access_tokens
            .get(&key(token))
            .filter(|g| g.expires > now)
            .map(|g| g.clone())
    }

    pub fn issue_service_token(&self, token: &str, grant: ServiceGrant) {
        self.service_tokens.insert(key(token), grant);
    }

    /// A live service token.
    pub fn service_token(&self, token: &str, now: OffsetDateTime) -> Option<ServiceGrant> {
        self.service_tokens
            .get(&key(token))
            .filter(|g| g.expires > now)
            .map(|g| g.clone())
    }

    /// Exchanges a refresh token once (rotation). Presenting it again revokes the family.
    /// `proof_jkt`: the DPoP key the request proved, which a bound token must be bound to.
    pub fn rotate_refresh_token(
        &self,
        token: &str,
        client_id: &str,
        proof_jkt: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<TokenGrant, Rotation> {
        let mut entry = self
            .refresh_tokens
            .get_mut(&key(token))
            .ok_or(Rotation::Unknown)?;
        if entry.client_id() != client_id {
            return Err(Rotation::OtherClient);
        }
        match &*entry {
            RefreshEntry::Used { family, .. } => {
                let family = *family;
                drop(entry);
                self.revoke_family(family);
                Err(Rotation::Reused)
            }
            RefreshEntry::SessionEnded { .. } => Err(Rotation::SessionEnded),
            RefreshEntry::Live(grant) if grant.expires <= now => Err(Rotation::Expired),
            RefreshEntry::Live(grant)
                if grant
                    .jkt
                    .as_deref()
                    .is_some_and(|bound| Some(bound) != proof_jkt) =>
            {
                Err(Rotation::OtherKey)
            }
            RefreshEntry::Live(grant) => {
                let used = RefreshEntry::Used {
                    client_id: grant.client_id.clone(),
                    family: grant.family,
                    expires: grant.expires,
                };
                match std::mem::replace(&mut *entry, used) {
                    RefreshEntry::Live(grant) => Ok(*grant),
                    _ => Err(Rotation::Unknown),
                }
            }
        }
    }

    /// RFC 7662 view of a token, if it is live and belongs to `client_id`.
    pub fn inspect(
        &self,
        token: &str,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Option<(TokenKind, TokenGrant)> {
        let token = key(token);
        let found = self
            .access_tokens
            .get(&token)
            .map(|g| (TokenKind::AccessToken, g.clone()))
            .or_else(|| {
                self.refresh_tokens
                    .get(&token)
                    .and_then(|e| match &*e {
                        RefreshEntry::Live(grant) => Some((**grant).clone()),
                        _ => None,
                    })
                    .map(|grant| (TokenKind::RefreshToken, grant))
            })?;
        (found.1.client_id == client_id && found.1.expires > now).then_some(found)
    }

    /// RFC 7009: revoking a refresh token revokes its family; an access token goes alone.
    /// Tokens of other clients and unknown tokens are ignored, as the RFC asks.
    pub fn revoke(&self, token: &str, client_id: &str) {
        let token = key(token);
        let refresh = self.refresh_tokens.get(&token).map(|e| {
            let family = match &*e {
                RefreshEntry::Live(grant) => Some(grant.family),
                RefreshEntry::Used { family, .. } => Some(*family),
                RefreshEntry::SessionEnded { .. } => None,
            };
            (e.client_id() == client_id, family)
        });
        if let Some((own, family)) = refresh {
            if own {
                match family {
                    Some(family) => self.revoke_family(family),
                    None => {
                        self.refresh_tokens.remove(&token);
                    }
                }
            }
            return;
        }
        self.access_tokens
            .remove_if(&token, |_, g| g.client_id == client_id);
        self.service_tokens
            .remove_if(&token, |_, g| g.client_id == client_id);
    }

    /// Forgets expired tokens and codes; redeemed codes are kept for a while after they
    /// expire, so replays are still recognised.
    fn last_sweep(&self) -> OffsetDateTime {
        *self.swept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A broker session ended: its refresh tokens shrink to what refusing them needs.
    /// Its access tokens stay until they expire (userinfo then says `session_is_active`
    /// false, as NEB's does).
    pub fn forget_session(&self, neb_sid: Uuid) {
        let Some((_, families)) = self.refreshable.remove(&neb_sid) else {
            return;
        };
        for family in families {
            let members = self
                .families
                .get(&family)
                .map(|tokens| tokens.clone())
                .unwrap_or_default();
            for token in members {
                if let Some(mut entry) = self.refresh_tokens.get_mut(&token) {
                    if !matches!(*entry, RefreshEntry::SessionEnded { .. }) {
                        *entry = RefreshEntry::SessionEnded {
                            client_id: entry.client_id().to_string(),
                            expires: entry.expires(),
                        };
                    }
                }
            }
        }
    }

    /// [`Grants::forget_session`] for every session `ended` says has ended (a safety net
    /// behind the call made when a session ends).
    pub fn forget_sessions(&self, ended: impl Fn(uuid::Uuid) -> bool) {
        let dead: Vec<Uuid> = self
            .refreshable
            .iter()
            .map(|entry| *entry.key())
            .filter(|sid| ended(*sid))
            .collect();
        for sid in dead {
            self.forget_session(sid);
        }
    }

    pub fn sweep(&self, now: OffsetDateTime) {
        *self.swept.lock().unwrap_or_else(|p| p.into_inner()) = now;
        // A revoked family's tokens are gone; remembering it past a code's replay window
        // and a refresh token's life serves nothing.
        let memory = time::Duration::days(31);
        self.revoked_families.retain(|_, at| *at + memory > now);
        let replay_memory = time::Duration::minutes(10);
        self.codes.retain(|_, entry| match entry {
            CodeEntry::Fresh(grant) => grant.expires > now,
            CodeEntry::Redeemed { expires, .. } => *expires + replay_memory > now,
        });
        self.access_tokens.retain(|_, g| g.expires > now);
        self.refresh_tokens.retain(|_, e| e.expires() > now);
        self.service_tokens.retain(|_, g| g.expires > now);
        self.families.retain(|_, tokens| {
            tokens.retain(|t| {
                self.access_tokens.contains_key(t) || self.refresh_tokens.contains_key(t)
            });
            !tokens.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authenticators::{Method, Proof};
    use crate::flow::{Authentication, Idp};
    use crate::identity::Loa;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00:00 UTC);

    fn record(neb_sid: Uuid) -> LoginRecord {
        LoginRecord {
            authentication: Authentication {
                citizen: Uuid::new_v4(),
                idp: Idp::MitId,
                proof: Proof::of(Method::App, Loa::Substantial),
                loa: Loa::Substantial,
                ial: Loa::Substantial,
                auth_time: NOW,
                cpr_verified: false,
                psd2: false,
                idp_transaction_id: Uuid::new_v4(),
                professional: None,
            },
            transaction_id: Uuid::new_v4(),
            neb_sid,
            session_expiry: NOW + time::Duration::hours(8),
            idp_transaction: None,
        }
    }

    fn code(grants: &Grants, neb_sid: Uuid) -> (String, CodeGrant) {
        let grant = CodeGrant::new(
            "rp".into(),
            "https://rp.example/cb".into(),
            Some("n".repeat(500)),
            None,
            vec!["openid".into()],
            record(neb_sid),
            NOW + time::Duration::seconds(60),
        );
        (grants.issue_code(grant.clone()), grant)
    }

    fn token_grant(code: &CodeGrant) -> TokenGrant {
        TokenGrant {
            client_id: code.client_id.clone(),
            citizen: code.record.authentication.citizen,
            subject: "sub".into(),
            scopes: code.scopes.clone(),
            record: code.record.clone(),
            issued: NOW,
            expires: NOW + time::Duration::hours(3),
            family: code.family,
            jkt: None,
        }
    }

    #[test]
    fn a_redeemed_code_keeps_only_what_a_replay_needs() {
        let grants = Grants::default();
        let (code, grant) = code(&grants, Uuid::new_v4());
        assert_eq!(
            grants.redeem_code(&code, "other", NOW).unwrap_err(),
            Redemption::OtherClient
        );
        let redeemed = grants.redeem_code(&code, "rp", NOW).unwrap();
        assert_eq!(redeemed.nonce, grant.nonce);
        let kept = grants.codes.get(&key(&code)).unwrap();
        assert!(
            matches!(&*kept, CodeEntry::Redeemed { family, .. } if *family == grant.family),
            "{kept:?}"
        );
        drop(kept);
        let access = "header.payload.signature-of-a-long-jwt";
        grants.issue_access_token(access, token_grant(&grant));
        assert!(grants.access_token(access, NOW).is_some());
        assert_eq!(
            grants.redeem_code(&code, "rp", NOW).unwrap_err(),
            Redemption::Replayed
        );
        assert!(grants.access_token(access, NOW).is_none(), "replay revokes");
        grants.sweep(NOW + time::Duration::minutes(12));
        assert!(grants.codes.is_empty(), "forgotten after the replay window");
    }

    #[test]
    fn refresh_tokens_go_when_their_session_ends_and_access_tokens_of_others_stay() {
        let grants = Grants::default();
        let (ended, alive) = (Uuid::new_v4(), Uuid::new_v4());
        let (_, of_ended) = code(&grants, ended);
        let (_, of_alive) = code(&grants, alive);
        let refresh = grants.issue_refresh_token(token_grant(&of_ended));
        let other = grants.issue_refresh_token(token_grant(&of_alive));
        grants.issue_access_token("at-alive", token_grant(&of_alive));
        grants.forget_session(ended);
        assert_eq!(
            grants
                .rotate_refresh_token(&refresh, "rp", None, NOW)
                .unwrap_err(),
            Rotation::SessionEnded
        );
        assert!(grants.inspect(&refresh, "rp", NOW).is_none());
        assert!(grants.rotate_refresh_token(&other, "rp", None, NOW).is_ok());
        assert!(grants.access_token("at-alive", NOW).is_some());
        assert!(grants.refreshable.get(&ended).is_none());
    }
}

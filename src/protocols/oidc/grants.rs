//! Codes and tokens. Everything one authorization code leads to (access tokens, refresh
//! tokens and their rotations) is one *family*: a replayed code or a reused refresh
//! token revokes the whole family (RFC 6749 §4.1.2, RFC 9700 §4.14).

use dashmap::DashMap;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::protocols::claims::LoginRecord;

pub type Family = Uuid;

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
    redeemed: bool,
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
            redeemed: false,
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

#[derive(Clone, Debug)]
struct RefreshEntry {
    grant: TokenGrant,
    used: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
}

pub struct Grants {
    codes: DashMap<String, CodeGrant>,
    access_tokens: DashMap<String, TokenGrant>,
    refresh_tokens: DashMap<String, RefreshEntry>,
    service_tokens: DashMap<String, ServiceGrant>,
    families: DashMap<Family, Vec<String>>,
    /// The broker time of the last sweep, to date revocations without a clock here.
    swept: std::sync::Mutex<OffsetDateTime>,
    /// When each family was revoked; kept as long as one of its tokens could come back.
    revoked_families: DashMap<Family, OffsetDateTime>,
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
        }
    }
}

impl Grants {
    pub fn issue_code(&self, grant: CodeGrant) -> String {
        let code = crate::random::secret_token();
        self.codes.insert(code.clone(), grant);
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
        let mut grant = self.codes.get_mut(code).ok_or(Redemption::Unknown)?;
        // Checked first, so one client cannot burn another's code (RFC 6749 §4.1.3).
        if grant.client_id != client_id {
            return Err(Redemption::OtherClient);
        }
        if grant.redeemed {
            let family = grant.family;
            drop(grant);
            self.revoke_family(family);
            return Err(Redemption::Replayed);
        }
        if grant.expires <= now {
            drop(grant);
            self.codes.remove(code);
            return Err(Redemption::Expired);
        }
        grant.redeemed = true;
        Ok(grant.clone())
    }

    pub fn issue_access_token(&self, token: String, grant: TokenGrant) {
        let family = grant.family;
        self.access_tokens.insert(token.clone(), grant);
        self.join_family(family, token);
    }

    pub fn issue_refresh_token(&self, grant: TokenGrant) -> String {
        let token = crate::random::secret_token();
        let family = grant.family;
        self.refresh_tokens
            .insert(token.clone(), RefreshEntry { grant, used: false });
        self.join_family(family, token.clone());
        token
    }

    /// A token joins its family, unless the family was revoked meanwhile (a replay raced
    /// the issue): then it is revoked at once.
    fn join_family(&self, family: Family, token: String) {
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
            .get(token)
            .filter(|g| g.expires > now)
            .map(|g| g.clone())
    }

    pub fn issue_service_token(&self, token: String, grant: ServiceGrant) {
        self.service_tokens.insert(token, grant);
    }

    /// A live service token.
    pub fn service_token(&self, token: &str, now: OffsetDateTime) -> Option<ServiceGrant> {
        self.service_tokens
            .get(token)
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
            .get_mut(token)
            .ok_or(Rotation::Unknown)?;
        if entry.grant.client_id != client_id {
            return Err(Rotation::OtherClient);
        }
        if entry.used {
            let family = entry.grant.family;
            drop(entry);
            self.revoke_family(family);
            return Err(Rotation::Reused);
        }
        if entry.grant.expires <= now {
            return Err(Rotation::Expired);
        }
        if entry
            .grant
            .jkt
            .as_deref()
            .is_some_and(|bound| Some(bound) != proof_jkt)
        {
            return Err(Rotation::OtherKey);
        }
        entry.used = true;
        Ok(entry.grant.clone())
    }

    /// RFC 7662 view of a token, if it is live and belongs to `client_id`.
    pub fn inspect(
        &self,
        token: &str,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Option<(TokenKind, TokenGrant)> {
        let found = self
            .access_tokens
            .get(token)
            .map(|g| (TokenKind::AccessToken, g.clone()))
            .or_else(|| {
                self.refresh_tokens
                    .get(token)
                    .filter(|e| !e.used)
                    .map(|e| (TokenKind::RefreshToken, e.grant.clone()))
            })?;
        (found.1.client_id == client_id && found.1.expires > now).then_some(found)
    }

    /// RFC 7009: revoking a refresh token revokes its family; an access token goes alone.
    /// Tokens of other clients and unknown tokens are ignored, as the RFC asks.
    pub fn revoke(&self, token: &str, client_id: &str) {
        if let Some(entry) = self.refresh_tokens.get(token).map(|e| e.grant.clone()) {
            if entry.client_id == client_id {
                self.revoke_family(entry.family);
            }
            return;
        }
        self.access_tokens
            .remove_if(token, |_, g| g.client_id == client_id);
        self.service_tokens
            .remove_if(token, |_, g| g.client_id == client_id);
    }

    /// Forgets expired tokens and codes; redeemed codes are kept for a while after they
    /// expire, so replays are still recognised.
    fn last_sweep(&self) -> OffsetDateTime {
        *self.swept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Revokes the families of refresh tokens whose broker session has ended.
    pub fn forget_sessions(&self, ended: impl Fn(uuid::Uuid) -> bool) {
        let dead: Vec<Family> = self
            .refresh_tokens
            .iter()
            .filter(|e| ended(e.grant.record.neb_sid))
            .map(|e| e.grant.family)
            .collect();
        for family in dead {
            self.revoke_family(family);
        }
    }

    pub fn sweep(&self, now: OffsetDateTime) {
        *self.swept.lock().unwrap_or_else(|p| p.into_inner()) = now;
        // A revoked family's tokens are gone; remembering it past a code's replay window
        // and a refresh token's life serves nothing.
        let memory = time::Duration::days(31);
        self.revoked_families.retain(|_, at| *at + memory > now);
        let replay_memory = time::Duration::minutes(10);
        self.codes
            .retain(|_, g| g.expires > now || (g.redeemed && g.expires + replay_memory > now));
        self.access_tokens.retain(|_, g| g.expires > now);
        self.refresh_tokens.retain(|_, e| e.grant.expires > now);
        self.service_tokens.retain(|_, g| g.expires > now);
        self.families.retain(|_, tokens| {
            tokens.retain(|t| {
                self.access_tokens.contains_key(t) || self.refresh_tokens.contains_key(t)
            });
            !tokens.is_empty()
        });
    }
}

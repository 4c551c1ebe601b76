//! Authorization codes and access tokens: single-use codes whose replay revokes what
//! they issued (RFC 6749 §4.1.2), and bearer tokens the userinfo endpoint accepts.

use dashmap::DashMap;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::protocols::claims::LoginRecord;

#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub scopes: Vec<String>,
    pub record: LoginRecord,
    pub expires: OffsetDateTime,
    redeemed: bool,
    replay_seen: bool,
    /// Access tokens issued for this code, revoked if it is ever replayed.
    issued: Vec<String>,
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
            redeemed: false,
            replay_seen: false,
            issued: Vec::new(),
        }
    }
}

impl CodeGrant {
    fn replayed(&self) -> bool {
        self.replay_seen
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Redemption {
    Unknown,
    Expired,
    /// The code was used before: everything it issued is now revoked.
    Replayed,
}

#[derive(Clone, Debug)]
pub struct AccessGrant {
    pub client_id: String,
    pub citizen: Uuid,
    pub subject: String,
    pub scopes: Vec<String>,
    pub record: LoginRecord,
    pub expires: OffsetDateTime,
}

#[derive(Default)]
pub struct Grants {
    codes: DashMap<String, CodeGrant>,
    access_tokens: DashMap<String, AccessGrant>,
}

impl Grants {
    pub fn issue_code(&self, grant: CodeGrant) -> String {
        let code = crate::random::secret_token();
        self.codes.insert(code.clone(), grant);
        code
    }

    /// Marks the code used and returns its grant. The shard lock makes two racing
    /// redemptions see the code once.
    pub fn redeem_code(&self, code: &str, now: OffsetDateTime) -> Result<CodeGrant, Redemption> {
        let mut grant = self.codes.get_mut(code).ok_or(Redemption::Unknown)?;
        if grant.redeemed {
            grant.replay_seen = true;
            let issued = std::mem::take(&mut grant.issued);
            drop(grant);
            for token in issued {
                self.access_tokens.remove(&token);
            }
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

    /// Remembers what a redeemed code issued, so a replay can revoke it.
    pub fn record_issued(&self, code: &str, access_token: &str) {
        match self.codes.get_mut(code) {
            // Unless a replay came in while we were signing: then revoke at once.
            Some(mut grant) if grant.redeemed && !grant.replayed() => {
                grant.issued.push(access_token.to_string())
            }
            _ => {
                self.access_tokens.remove(access_token);
            }
        }
    }

    pub fn issue_access_token(&self, token: String, grant: AccessGrant) {
        self.access_tokens.insert(token, grant);
    }

    pub fn access_token(&self, token: &str, now: OffsetDateTime) -> Option<AccessGrant> {
        self.access_tokens
            .get(token)
            .filter(|g| g.expires > now)
            .map(|g| g.clone())
    }

    /// Forgets expired access tokens and codes; redeemed codes are kept until they
    /// expire, so replays are still recognised.
    pub fn sweep(&self, now: OffsetDateTime) {
        let replay_memory = time::Duration::minutes(10);
        self.codes
            .retain(|_, g| g.expires > now || (g.redeemed && g.expires + replay_memory > now));
        self.access_tokens.retain(|_, g| g.expires > now);
    }
}

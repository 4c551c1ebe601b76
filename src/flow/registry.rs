//! The logins in progress.

use dashmap::DashMap;
use time::OffsetDateTime;

use super::{Login, LoginId};

/// Logins in progress, sharded so concurrent logins never wait on one lock.
pub struct Logins<P> {
    logins: DashMap<LoginId, Login<P>>,
}

impl<P> Default for Logins<P> {
    fn default() -> Self {
        Self {
            logins: DashMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginLookupError {
    #[error("this login does not exist or has ended")]
    Unknown,
    #[error("this login was started in another browser")]
    OtherBrowser,
    #[error("this login took too long and has expired")]
    Expired,
}

impl<P> Logins<P> {
    pub fn insert(&self, login: Login<P>) {
        self.logins.insert(login.id.clone(), login);
    }

    /// Runs `work` on the login `id`, if `binding` (the browser's cookie) owns it.
    pub fn with<R>(
        &self,
        id: &str,
        binding: Option<&str>,
        now: OffsetDateTime,
        work: impl FnOnce(&mut Login<P>) -> R,
    ) -> Result<R, LoginLookupError> {
        let mut login = self.logins.get_mut(id).ok_or(LoginLookupError::Unknown)?;
        let owns = binding.is_some_and(|b| {
            b.len() == login.browser_binding.len()
                && openssl::memcmp::eq(b.as_bytes(), login.browser_binding.as_bytes())
        });
        if !owns {
            return Err(LoginLookupError::OtherBrowser);
        }
        if login.expires <= now {
            drop(login);
            self.logins.remove(id);
            return Err(LoginLookupError::Expired);
        }
        Ok(work(&mut login))
    }

    /// Whether login `id` is here (in progress, or ended but not yet taken out).
    pub fn contains(&self, id: &str) -> bool {
        self.logins.contains_key(id)
    }

    /// Takes a finished login out, so its result is delivered exactly once.
    pub fn take(&self, id: &str) -> Option<Login<P>> {
        self.logins.remove(id).map(|(_, login)| login)
    }

    pub fn sweep(&self, now: OffsetDateTime) {
        self.logins.retain(|_, login| login.expires > now);
    }

    pub fn len(&self) -> usize {
        self.logins.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
    }
}

//! The logins in progress: created by unauthenticated authorization requests, so their
//! number is capped and the oldest gives way first (a flood of authorize requests must not
//! grow the broker without limit).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;

use super::{Login, LoginId};

/// Shards, so concurrent logins rarely wait on the same lock.
const SHARDS: usize = 64;

/// The default of [`crate::broker::Settings::max_pending_logins`].
pub const DEFAULT_MAX_PENDING_LOGINS: usize = 10_000;

struct Entry<P> {
    /// When it was started, in start order across all shards.
    sequence: u64,
    login: Login<P>,
}

struct Shard<P> {
    by_id: HashMap<LoginId, Entry<P>>,
    /// The same logins oldest first, so the oldest of all is the least front of the shards.
    by_age: BTreeMap<u64, LoginId>,
}

impl<P> Shard<P> {
    fn remove(&mut self, id: &str) -> Option<Login<P>> {
        let entry = self.by_id.remove(id)?;
        self.by_age.remove(&entry.sequence);
        Some(entry.login)
    }
}

/// Logins in progress, at most `capacity` of them.
pub struct Logins<P> {
    shards: Vec<Mutex<Shard<P>>>,
    hasher: RandomState,
    next_sequence: AtomicU64,
    len: AtomicUsize,
    capacity: usize,
    evicted: AtomicU64,
}

impl<P> Default for Logins<P> {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_MAX_PENDING_LOGINS)
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
    /// A registry that keeps at most `capacity` logins (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        by_id: HashMap::new(),
                        by_age: BTreeMap::new(),
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            next_sequence: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            capacity: capacity.max(1),
            evicted: AtomicU64::new(0),
        }
    }

    fn shard(&self, id: &str) -> MutexGuard<'_, Shard<P>> {
        let index = self.hasher.hash_one(id) as usize % SHARDS;
        // A panic while a shard was held leaves consistent maps: keep serving.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a login; when that makes one too many, the oldest login in progress ends.
    pub fn insert(&self, login: Login<P>) {
        let sequence = self.next_sequence.fetch_add(1, Ordering::Relaxed);
        let id = login.id.clone();
        let replaced = {
            let mut shard = self.shard(&id);
            let replaced = shard.remove(&id);
            shard.by_age.insert(sequence, id.clone());
            shard.by_id.insert(id, Entry { sequence, login });
            replaced
        };
        if replaced.is_none() && self.len.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.evict_oldest();
        }
    }

    /// Ends the login started first of all those in progress.
    fn evict_oldest(&self) {
        loop {
            // Each shard's front is its oldest; the least of the fronts is the oldest of all.
            let oldest = self
                .shards
                .iter()
                .enumerate()
                .filter_map(|(index, shard)| {
                    let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
                    shard
                        .by_age
                        .keys()
                        .next()
                        .map(|sequence| (*sequence, index))
                })
                .min();
            let Some((sequence, index)) = oldest else {
                return;
            };
            let mut shard = self.shards[index].lock().unwrap_or_else(|p| p.into_inner());
            // Another thread may have taken it meanwhile: then look again.
            if let Some(id) = shard.by_age.get(&sequence).cloned() {
                shard.remove(&id);
                drop(shard);
                self.len.fetch_sub(1, Ordering::AcqRel);
                self.evicted.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }

    /// Runs `work` on the login `id`, if `binding` (the browser's cookie) owns it.
    pub fn with<R>(
        &self,
        id: &str,
        binding: Option<&str>,
        now: OffsetDateTime,
        work: impl FnOnce(&mut Login<P>) -> R,
    ) -> Result<R, LoginLookupError> {
        let mut shard = self.shard(id);
        let entry = shard.by_id.get_mut(id).ok_or(LoginLookupError::Unknown)?;
        let login = &mut entry.login;
        let owns = binding.is_some_and(|b| {
            b.len() == login.browser_binding.len()
                && openssl::memcmp::eq(b.as_bytes(), login.browser_binding.as_bytes())
        });
        if !owns {
            return Err(LoginLookupError::OtherBrowser);
        }
        if login.expires <= now {
            shard.remove(id);
            drop(shard);
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(LoginLookupError::Expired);
        }
        Ok(work(login))
    }

    /// Whether login `id` is here (in progress, or ended but not yet taken out).
    pub fn contains(&self, id: &str) -> bool {
        self.shard(id).by_id.contains_key(id)
    }

    /// Takes a finished login out, so its result is delivered exactly once.
    pub fn take(&self, id: &str) -> Option<Login<P>> {
        let login = self.shard(id).remove(id)?;
        self.len.fetch_sub(1, Ordering::AcqRel);
        Some(login)
    }

    pub fn sweep(&self, now: OffsetDateTime) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let expired: Vec<LoginId> = shard
                .by_id
                .iter()
                .filter(|(_, entry)| entry.login.expires <= now)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                shard.remove(&id);
                self.len.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most logins kept at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many logins ended early to make room since the start.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{Broker, Clock, KeySet, Settings};
    use crate::flow::{Idp, Requirements};

    fn broker() -> std::sync::Arc<Broker> {
        Broker::new(
            Settings::default(),
            Clock::default(),
            KeySet::generate().unwrap(),
            Default::default(),
        )
    }

    fn login(broker: &Broker, n: usize) -> Login<usize> {
        let requirements = Requirements {
            client_name: "rp".into(),
            level: Default::default(),
            idp: Idp::MitId,
            idp_choices: vec![Idp::MitId],
            cpr_entry: Default::default(),
            texts: Default::default(),
            require_psd2: false,
            mitid_refusal: None,
            erhverv: Default::default(),
        };
        Login::new(n, requirements, broker)
    }

    #[test]
    fn beyond_the_cap_the_oldest_logins_give_way_first() {
        let broker = broker();
        let logins = Logins::with_capacity(100);
        let ids: Vec<(String, String)> = (0..250)
            .map(|n| {
                let login = login(&broker, n);
                let ids = (login.id.clone(), login.browser_binding.clone());
                logins.insert(login);
                ids
            })
            .collect();
        assert_eq!(logins.len(), 100);
        assert_eq!(logins.evicted(), 150);
        let now = broker.clock.now();
        for (n, (id, binding)) in ids.iter().enumerate() {
            let found = logins.with(id, Some(binding), now, |l| l.request);
            if n < 150 {
                assert_eq!(found, Err(LoginLookupError::Unknown), "login {n}");
            } else {
                assert_eq!(found, Ok(n), "login {n}");
            }
        }
    }

    #[test]
    fn finished_and_expired_logins_free_their_place() {
        let broker = broker();
        let logins = Logins::with_capacity(10);
        let first = login(&broker, 0);
        let first_id = first.id.clone();
        logins.insert(first);
        for n in 1..10 {
            let login = login(&broker, n);
            let id = login.id.clone();
            logins.insert(login);
            assert!(logins.take(&id).is_some());
        }
        assert_eq!(logins.len(), 1);
        assert_eq!(logins.evicted(), 0, "nothing was crowded out");
        assert!(logins.take(&first_id).is_some());
        logins.insert(login(&broker, 11));
        logins.sweep(broker.clock.now() + broker.settings.login_lifetime);
        assert!(logins.is_empty());
    }

    #[test]
    fn concurrent_starts_never_exceed_the_cap() {
        let broker = broker();
        let logins = std::sync::Arc::new(Logins::with_capacity(64));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (logins, broker) = (logins.clone(), broker.clone());
                scope.spawn(move || {
                    for n in 0..2_000 {
                        logins.insert(login(&broker, n));
                    }
                });
            }
        });
        assert_eq!(logins.len(), 64);
        let kept: usize = logins
            .shards
            .iter()
            .map(|s| s.lock().unwrap().by_id.len())
            .sum();
        assert_eq!(kept, 64);
    }
}

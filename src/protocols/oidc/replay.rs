//! Single-use identifiers (`jti`) of client assertions (RFC 7523 §3 item 7) and DPoP proofs
//! (RFC 9449 §11.1): each is remembered until the JWT carrying it can no longer be
//! accepted, so a copy presented again is recognised, and forgotten after that.

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

/// Why an identifier was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Seen before, while it could still be accepted.
    Replayed,
    /// The memory is full of identifiers still live: a flood, not a client.
    Full,
}

/// Identifiers seen, each with the Unix time after which it is forgotten.
#[derive(Debug)]
pub struct ReplayCache {
    seen: DashMap<String, i64>,
    capacity: usize,
}

impl ReplayCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: DashMap::new(),
            capacity,
        }
    }

    /// Accepts `id` once until `until`. Identifiers are scoped by the caller (e.g. per
    /// client), so two clients' `jti` values never collide.
    pub fn accept_once(&self, id: String, until: i64, now: i64) -> Result<(), Refusal> {
        if self.seen.len() >= self.capacity {
            self.sweep(now);
            if self.seen.len() >= self.capacity {
                return Err(Refusal::Full);
            }
        }
        match self.seen.entry(id) {
            Entry::Occupied(mut seen) if *seen.get() < now => {
                seen.insert(until);
                Ok(())
            }
            Entry::Occupied(_) => Err(Refusal::Replayed),
            Entry::Vacant(fresh) => {
                fresh.insert(until);
                Ok(())
            }
        }
    }

    pub fn sweep(&self, now: i64) {
        self.seen.retain(|_, until| *until >= now);
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identifier_is_accepted_once_while_it_lives_and_forgotten_after() {
        let cache = ReplayCache::new(10);
        assert_eq!(cache.accept_once("a".into(), 100, 50), Ok(()));
        assert_eq!(
            cache.accept_once("a".into(), 100, 60),
            Err(Refusal::Replayed)
        );
        assert_eq!(cache.accept_once("b".into(), 100, 60), Ok(()));
        cache.sweep(101);
        assert!(cache.is_empty());
        assert_eq!(cache.accept_once("a".into(), 200, 150), Ok(()));
    }

    #[test]
    fn a_full_cache_refuses_new_identifiers_until_old_ones_expire() {
        let cache = ReplayCache::new(2);
        cache.accept_once("a".into(), 100, 0).unwrap();
        cache.accept_once("b".into(), 100, 0).unwrap();
        assert_eq!(cache.accept_once("c".into(), 100, 0), Err(Refusal::Full));
        assert_eq!(cache.accept_once("c".into(), 300, 200), Ok(()));
        assert_eq!(cache.len(), 1);
    }
}

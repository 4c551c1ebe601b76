//! AuthnRequest IDs already received, so a replayed request (the same signed message sent
//! again) is refused. An ID is kept for longer than a request can be valid (its
//! `IssueInstant` within the clock skew and lifetime); the number kept is capped.

use dashmap::DashMap;
use time::{Duration, OffsetDateTime};

use super::vocabulary::{CLOCK_SKEW, MESSAGE_LIFETIME};

/// How long an ID is remembered: past the longest an AuthnRequest is acceptable.
const REMEMBERED: Duration = Duration::minutes(15);
/// Most IDs kept; beyond it the oldest are forgotten (they are also the first to expire).
const MOST: usize = 100_000;

pub struct SeenRequests {
    /// (entity ID, request ID) → when it may be forgotten.
    seen: DashMap<(String, String), OffsetDateTime>,
    most: usize,
}

impl Default for SeenRequests {
    fn default() -> Self {
        Self::with_capacity(MOST)
    }
}

impl SeenRequests {
    pub fn with_capacity(most: usize) -> Self {
        const _: () = assert!(
            REMEMBERED.whole_seconds()
                > (CLOCK_SKEW.whole_seconds() * 2 + MESSAGE_LIFETIME.whole_seconds())
        );
        Self {
            seen: DashMap::new(),
            most: most.max(1),
        }
    }

    /// Notes request `id` of SP `entity_id`; false when it was seen before.
    pub fn first_time(&self, entity_id: &str, id: &str, now: OffsetDateTime) -> bool {
        if self.seen.len() >= self.most {
            self.make_room(now);
        }
        let key = (entity_id.to_string(), id.to_string());
        match self.seen.entry(key) {
            dashmap::mapref::entry::Entry::Occupied(mut seen) if *seen.get() > now => {
                seen.insert(now + REMEMBERED);
                false
            }
            dashmap::mapref::entry::Entry::Occupied(mut expired) => {
                expired.insert(now + REMEMBERED);
                true
            }
            dashmap::mapref::entry::Entry::Vacant(slot) => {
                slot.insert(now + REMEMBERED);
                true
            }
        }
    }

    pub fn sweep(&self, now: OffsetDateTime) {
        self.seen.retain(|_, until| *until > now);
    }

    /// Forgets the expired IDs, then the oldest tenth if that was not enough.
    fn make_room(&self, now: OffsetDateTime) {
        self.sweep(now);
        if self.seen.len() < self.most {
            return;
        }
        let mut ages: Vec<(OffsetDateTime, (String, String))> = self
            .seen
            .iter()
            .map(|e| (*e.value(), e.key().clone()))
            .collect();
        ages.sort();
        for (_, key) in ages.into_iter().take(self.most / 10 + 1) {
            self.seen.remove(&key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-29 10:00:00 UTC);

    #[test]
    fn a_request_id_is_accepted_once_per_sp_and_the_memory_is_bounded() {
        let seen = SeenRequests::with_capacity(100);
        assert!(seen.first_time("sp-a", "_r1", NOW));
        assert!(!seen.first_time("sp-a", "_r1", NOW + Duration::minutes(10)));
        assert!(seen.first_time("sp-b", "_r1", NOW), "IDs are per SP");
        assert!(
            seen.first_time("sp-a", "_r1", NOW + Duration::minutes(40)),
            "long past any valid IssueInstant"
        );
        for n in 0..1_000 {
            seen.first_time("sp-a", &format!("_n{n}"), NOW + Duration::seconds(n));
        }
        assert!(seen.len() <= 100, "{}", seen.len());
        assert!(!seen.first_time("sp-a", "_n999", NOW + Duration::seconds(1000)));
    }
}

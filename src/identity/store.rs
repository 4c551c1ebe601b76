//! The citizens the broker knows, looked up by user ID, UUID or CPR without a global lock.

use std::sync::Arc;

use dashmap::DashMap;
use uuid::Uuid;

use super::{Cpr, Identity};

#[derive(Debug, Default)]
pub struct IdentityStore {
    by_uuid: DashMap<Uuid, Arc<Identity>>,
    uuid_by_user_id: DashMap<String, Uuid>,
    uuid_by_cpr: DashMap<Cpr, Uuid>,
    /// Fixture order, so listings read like the file.
    order: DashMap<Uuid, usize>,
}

impl IdentityStore {
    pub fn new(identities: impl IntoIterator<Item = Identity>) -> Self {
        let store = Self::default();
        for identity in identities {
            store.insert(identity);
        }
        store
    }

    pub fn insert(&self, identity: Identity) {
        let position = self.order.len();
        self.uuid_by_user_id
            .insert(identity.user_id.key(), identity.uuid);
        if let Some(cpr) = identity.cpr {
            self.uuid_by_cpr.insert(cpr, identity.uuid);
        }
        self.order.entry(identity.uuid).or_insert(position);
        self.by_uuid.insert(identity.uuid, Arc::new(identity));
    }

    /// Removes a citizen; returns it if it existed.
    pub fn remove(&self, uuid: Uuid) -> Option<Arc<Identity>> {
        let (_, identity) = self.by_uuid.remove(&uuid)?;
        self.uuid_by_user_id.remove(&identity.user_id.key());
        if let Some(cpr) = identity.cpr {
            self.uuid_by_cpr.remove_if(&cpr, |_, owner| *owner == uuid);
        }
        self.order.remove(&uuid);
        Some(identity)
    }

    /// Replaces every citizen (the admin API's reset to fixtures).
    pub fn replace_all(&self, identities: impl IntoIterator<Item = Identity>) {
        self.by_uuid.clear();
        self.uuid_by_user_id.clear();
        self.uuid_by_cpr.clear();
        self.order.clear();
        for identity in identities {
            self.insert(identity);
        }
    }

    pub fn by_uuid(&self, uuid: Uuid) -> Option<Arc<Identity>> {
        self.by_uuid.get(&uuid).map(|i| Arc::clone(&i))
    }

    pub fn by_user_id(&self, user_id: &str) -> Option<Arc<Identity>> {
        let uuid = *self.uuid_by_user_id.get(&user_id.trim().to_lowercase())?;
        self.by_uuid(uuid)
    }

    pub fn by_cpr(&self, cpr: &Cpr) -> Option<Arc<Identity>> {
        let uuid = *self.uuid_by_cpr.get(cpr)?;
        self.by_uuid(uuid)
    }

    pub fn all(&self) -> Vec<Arc<Identity>> {
        let mut all: Vec<_> = self
            .by_uuid
            .iter()
            .map(|entry| {
                let position = self.order.get(entry.key()).map_or(usize::MAX, |p| *p);
                (position, Arc::clone(entry.value()))
            })
            .collect();
        all.sort_by_key(|(position, _)| *position);
        all.into_iter().map(|(_, identity)| identity).collect()
    }

    pub fn len(&self) -> usize {
        self.by_uuid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_uuid.is_empty()
    }
}

//! Who the broker knows, looked up without a global lock: the MitID eIDs (citizens' private
//! MitID and dedicated MitID Erhverv eIDs) by user ID, UUID or CPR; the organisations by
//! CVR; the professional identities by persistent ID, by RID, by person and by eID.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use uuid::Uuid;

use super::{Cpr, Cvr, Identity, Organisation, ProfessionalIdentity, Rid, UserId, Workforce};

#[derive(Debug, Default)]
pub struct IdentityStore {
    by_uuid: DashMap<Uuid, Arc<Identity>>,
    uuid_by_user_id: DashMap<String, Uuid>,
    uuid_by_cpr: DashMap<Cpr, Uuid>,
    /// Fixture order, so listings read like the file.
    order: DashMap<Uuid, usize>,
    workforce: WorkforceIndex,
}

/// Organisations and professional identities, with the indexes their lookups use.
#[derive(Debug, Default)]
struct WorkforceIndex {
    organisations: DashMap<Cvr, (usize, Arc<Organisation>)>,
    professionals: DashMap<Uuid, (usize, Arc<ProfessionalIdentity>)>,
    by_rid: DashMap<(Cvr, Rid), Uuid>,
    by_cpr: DashMap<Cpr, Vec<Uuid>>,
    /// Keyed by the dedicated eID's user ID (lower case).
    by_dedicated_eid: DashMap<String, Vec<Uuid>>,
    /// The listing position the next new entry gets (after deletions too).
    next_position: AtomicUsize,
}

impl WorkforceIndex {
    fn next_position(&self) -> usize {
        self.next_position.fetch_add(1, Ordering::Relaxed)
    }
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

    // ---- MitID Erhverv: organisations and professional identities ----

    /// Replaces every organisation and professional identity (start-up, restore, reset).
    /// The caller has checked the workforce against the citizens (`Workforce::check`).
    pub fn replace_workforce(&self, workforce: Workforce) {
        let index = &self.workforce;
        index.organisations.clear();
        index.professionals.clear();
        index.by_rid.clear();
        index.by_cpr.clear();
        index.by_dedicated_eid.clear();
        index.next_position.store(0, Ordering::Relaxed);
        for organisation in workforce.organisations {
            self.insert_organisation(organisation);
        }
        for professional in workforce.professionals {
            self.insert_professional(professional);
        }
    }

    /// Adds an organisation, or replaces the one with the same CVR number.
    pub fn insert_organisation(&self, organisation: Organisation) {
        let organisations = &self.workforce.organisations;
        let position = organisations
            .get(&organisation.cvr)
            .map(|entry| entry.0)
            .unwrap_or_else(|| self.workforce.next_position());
        organisations.insert(organisation.cvr, (position, Arc::new(organisation)));
    }

    /// Adds a professional identity, or replaces the one with the same persistent ID.
    pub fn insert_professional(&self, professional: ProfessionalIdentity) {
        let index = &self.workforce;
        let previous = self.remove_professional(professional.uuid);
        let position = previous
            .map(|(position, _)| position)
            .unwrap_or_else(|| index.next_position());
        let uuid = professional.uuid;
        index
            .by_rid
            .insert((professional.cvr, professional.rid.clone()), uuid);
        if let Some(cpr) = professional.person.cpr() {
            index.by_cpr.entry(cpr).or_default().push(uuid);
        }
        if let Some(id) = professional.person.dedicated_user_id() {
            index
                .by_dedicated_eid
                .entry(id.key())
                .or_default()
                .push(uuid);
        }
        index
            .professionals
            .insert(uuid, (position, Arc::new(professional)));
    }

    /// Removes a professional identity; returns it if it existed.
    pub fn delete_professional(&self, uuid: Uuid) -> Option<Arc<ProfessionalIdentity>> {
        self.remove_professional(uuid)
            .map(|(_, professional)| professional)
    }

    /// Removes an organisation (its professional identities are the caller's concern).
    pub fn delete_organisation(&self, cvr: Cvr) -> Option<Arc<Organisation>> {
        self.workforce
            .organisations
            .remove(&cvr)
            .map(|(_, (_, organisation))| organisation)
    }

    /// Removes a professional identity; returns its listing position and itself.
    fn remove_professional(&self, uuid: Uuid) -> Option<(usize, Arc<ProfessionalIdentity>)> {
        let index = &self.workforce;
        let (_, (position, professional)) = index.professionals.remove(&uuid)?;
        index
            .by_rid
            .remove_if(&(professional.cvr, professional.rid.clone()), |_, owner| {
                *owner == uuid
            });
        let forget = |list: &mut Vec<Uuid>| list.retain(|id| *id != uuid);
        if let Some(cpr) = professional.person.cpr() {
            index.by_cpr.entry(cpr).and_modify(forget);
            index.by_cpr.remove_if(&cpr, |_, list| list.is_empty());
        }
        if let Some(id) = professional.person.dedicated_user_id() {
            let key = id.key();
            index.by_dedicated_eid.entry(key.clone()).and_modify(forget);
            index
                .by_dedicated_eid
                .remove_if(&key, |_, list| list.is_empty());
        }
        Some((position, professional))
    }

    pub fn organisation(&self, cvr: Cvr) -> Option<Arc<Organisation>> {
        let entry = self.workforce.organisations.get(&cvr)?;
        Some(Arc::clone(&entry.1))
    }

    /// Every organisation, in fixture order.
    pub fn organisations(&self) -> Vec<Arc<Organisation>> {
        in_fixture_order(
            self.workforce
                .organisations
                .iter()
                .map(|e| e.value().clone()),
        )
    }

    /// A professional identity by its persistent professional ID (`mitid_erhverv_uuid:`).
    pub fn professional(&self, uuid: Uuid) -> Option<Arc<ProfessionalIdentity>> {
        let entry = self.workforce.professionals.get(&uuid)?;
        Some(Arc::clone(&entry.1))
    }

    /// A professional identity by its RID, which is unique within its organisation.
    pub fn professional_by_rid(&self, cvr: Cvr, rid: &Rid) -> Option<Arc<ProfessionalIdentity>> {
        let uuid = *self.workforce.by_rid.get(&(cvr, rid.clone()))?;
        self.professional(uuid)
    }

    /// Every professional identity, in fixture order.
    pub fn professionals(&self) -> Vec<Arc<ProfessionalIdentity>> {
        in_fixture_order(
            self.workforce
                .professionals
                .iter()
                .map(|e| e.value().clone()),
        )
    }

    /// The professional identities of the person with this CPR number, however they log in.
    pub fn professionals_of_person(&self, cpr: &Cpr) -> Vec<Arc<ProfessionalIdentity>> {
        let uuids = self
            .workforce
            .by_cpr
            .get(cpr)
            .map(|list| list.clone())
            .unwrap_or_default();
        self.in_order(uuids)
    }

    /// The professional identities this MitID eID logs in as: a private MitID reaches the
    /// identities of its CPR number that allow the private MitID; a dedicated eID reaches
    /// the identities that name it. In fixture order.
    pub fn professionals_for(&self, eid: &Identity) -> Vec<Arc<ProfessionalIdentity>> {
        let mut uuids = self
            .workforce
            .by_dedicated_eid
            .get(&eid.user_id.key())
            .map(|list| list.clone())
            .unwrap_or_default();
        if let Some(cpr) = eid.cpr {
            if let Some(list) = self.workforce.by_cpr.get(&cpr) {
                uuids.extend(list.iter().copied());
            }
        }
        let mut found = self.in_order(uuids);
        found.retain(|p| p.logs_in_with(eid));
        found.dedup_by_key(|p| p.uuid);
        found
    }

    /// The professional identities of the eID with this user ID (what the person types).
    pub fn professionals_by_user_id(&self, user_id: &UserId) -> Vec<Arc<ProfessionalIdentity>> {
        self.by_user_id(user_id.as_str())
            .map(|eid| self.professionals_for(&eid))
            .unwrap_or_default()
    }

    /// The organisations and professional identities as they are now (for the state file).
    pub fn workforce(&self) -> Workforce {
        Workforce {
            organisations: self.organisations().iter().map(|o| (**o).clone()).collect(),
            professionals: self.professionals().iter().map(|p| (**p).clone()).collect(),
        }
    }

    fn in_order(&self, uuids: Vec<Uuid>) -> Vec<Arc<ProfessionalIdentity>> {
        in_fixture_order(
            uuids
                .into_iter()
                .filter_map(|uuid| self.workforce.professionals.get(&uuid).map(|e| e.clone())),
        )
    }
}

/// Entries kept with their position in the fixtures, sorted back into that order.
fn in_fixture_order<T>(entries: impl Iterator<Item = (usize, Arc<T>)>) -> Vec<Arc<T>> {
    let mut all: Vec<_> = entries.collect();
    all.sort_by_key(|(position, _)| *position);
    all.into_iter().map(|(_, entry)| entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{built_in_population, Population, ProfessionalStatus};

    fn store() -> (IdentityStore, Population) {
        let population = built_in_population().unwrap();
        let store = IdentityStore::new(population.citizens.clone());
        store.replace_workforce(population.workforce.clone());
        (store, population)
    }

    fn names(found: &[Arc<ProfessionalIdentity>]) -> Vec<String> {
        found
            .iter()
            .map(|p| format!("{} @ {}", p.name(), p.cvr))
            .collect()
    }

    #[test]
    fn a_professional_is_found_by_persistent_id_and_by_rid_in_its_organisation() {
        let (store, population) = store();
        let anna = &population.workforce.professionals[0];
        assert_eq!(*store.professional(anna.uuid).unwrap(), *anna);
        let found = store.professional_by_rid(anna.cvr, &anna.rid).unwrap();
        assert_eq!(found.uuid, anna.uuid);
        let elsewhere = Cvr::parse("98765433").unwrap();
        assert!(store.professional_by_rid(elsewhere, &anna.rid).is_none());
        assert!(store.professional(Uuid::nil()).is_none());
        assert_eq!(store.organisations().len(), 2);
        assert_eq!(store.organisation(anna.cvr).unwrap().name, "Testfirma ApS");
    }

    #[test]
    fn a_private_mitid_reaches_the_persons_identities_in_fixture_order() {
        let (store, _) = store();
        let bjorn = store.by_user_id("to.firmaer").unwrap();
        assert_eq!(
            names(&store.professionals_for(&bjorn)),
            ["Bjørn Tobæk @ 91234564", "Bjørn Tobæk @ 98765433"]
        );
        let by_id = store.professionals_by_user_id(&UserId::parse("TO.FIRMAER").unwrap());
        assert_eq!(by_id.len(), 2);
        assert_eq!(store.professionals_of_person(&bjorn.cpr.unwrap()).len(), 2);
        // A private citizen without professional identities reaches none.
        let kodeviser = store.by_user_id("kodeviser").unwrap();
        assert!(store.professionals_for(&kodeviser).is_empty());
    }

    #[test]
    fn a_dedicated_eid_reaches_only_the_identities_that_name_it() {
        let (store, _) = store();
        let sarah = store.by_user_id("erhverv.udlaending").unwrap();
        assert_eq!(
            names(&store.professionals_for(&sarah)),
            ["Sarah Miller @ 98765433"]
        );
        // Bent has a CPR number but no private MitID: only the dedicated eID reaches him,
        // and a private MitID with his CPR number would not.
        let bent_eid = store.by_user_id("erhverv.dedikeret").unwrap();
        let bent = store.professionals_for(&bent_eid);
        assert_eq!(names(&bent), ["Bent Dedikeret @ 91234564"]);
        let cpr = bent[0].person.cpr().unwrap();
        let impostor = Identity {
            cpr: Some(cpr),
            ..(*store.by_user_id("kodeviser").unwrap()).clone()
        };
        assert!(store.professionals_for(&impostor).is_empty());
        assert_eq!(store.professionals_of_person(&cpr).len(), 1);
    }

    #[test]
    fn replacing_an_identity_keeps_its_place_and_moves_its_indexes() {
        let (store, population) = store();
        let mut anna = population.workforce.professionals[0].clone();
        let old_rid = anna.rid.clone();
        anna.rid = Rid::parse("555").unwrap();
        anna.status = ProfessionalStatus::Revoked;
        store.insert_professional(anna.clone());
        assert!(store.professional_by_rid(anna.cvr, &old_rid).is_none());
        assert_eq!(
            store
                .professional_by_rid(anna.cvr, &anna.rid)
                .unwrap()
                .status,
            ProfessionalStatus::Revoked
        );
        assert_eq!(
            store.professionals()[0].uuid,
            anna.uuid,
            "first, as in the file"
        );
        assert_eq!(
            store.workforce().professionals.len(),
            population.workforce.professionals.len()
        );
        let eid = store.by_user_id("anna.jensen").unwrap();
        assert_eq!(
            store.professionals_for(&eid).len(),
            1,
            "no duplicate index entry"
        );
    }

    #[test]
    fn the_workforce_round_trips_through_the_store() {
        let (store, population) = store();
        assert_eq!(store.workforce(), population.workforce);
        store.replace_workforce(Workforce::default());
        assert!(store.professionals().is_empty() && store.organisations().is_empty());
        let anna = store.by_user_id("anna.jensen").unwrap();
        assert!(store.professionals_for(&anna).is_empty());
    }
}

//! The organisations and professional identities the broker knows, and the rules that tie
//! them to each other and to the citizens' MitID eIDs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Cvr, EidKind, Identity, Organisation, Person, ProfessionalIdentity};

/// Organisations and their professional identities (MitID Erhverv).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workforce {
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    #[serde(default)]
    pub professionals: Vec<ProfessionalIdentity>,
}

/// Which entry a problem is about (an index into the list it names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Citizen(usize),
    Organisation(usize),
    Professional(usize),
}

/// A rule a workforce breaks, and the entry that breaks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkforceProblem {
    pub entry: Entry,
    pub message: String,
}

impl Workforce {
    pub fn is_empty(&self) -> bool {
        self.organisations.is_empty() && self.professionals.is_empty()
    }

    pub fn organisation(&self, cvr: Cvr) -> Option<&Organisation> {
        self.organisations.iter().find(|o| o.cvr == cvr)
    }

    /// The first rule broken, checked against the citizens' MitID eIDs: every organisation
    /// is declared once; every professional identity names a declared organisation and its
    /// units, a RID unique in the organisation, and a person who can log in (a private
    /// citizen with the CPR number, or a dedicated eID); one person has at most one identity
    /// per organisation; a dedicated eID serves one person and is used.
    pub fn check(&self, citizens: &[Identity]) -> Result<(), WorkforceProblem> {
        let problem = |entry, message: String| Err(WorkforceProblem { entry, message });
        let mut organisations: HashMap<Cvr, &Organisation> = HashMap::new();
        for (i, organisation) in self.organisations.iter().enumerate() {
            if let Some(message) = organisation.problems().into_iter().next() {
                return problem(Entry::Organisation(i), message);
            }
            if organisations
                .insert(organisation.cvr, organisation)
                .is_some()
            {
                return problem(
                    Entry::Organisation(i),
                    format!("organisation {} is declared twice", organisation.cvr),
                );
            }
        }
        let private_by_cpr: HashMap<_, _> = citizens
            .iter()
            .filter(|c| c.kind == EidKind::Private)
            .filter_map(|c| c.cpr.map(|cpr| (cpr, c)))
            .collect();
        let eids_by_key: HashMap<_, _> = citizens.iter().map(|c| (c.user_id.key(), c)).collect();

        let mut uuids = HashMap::new();
        let mut rids = HashMap::new();
        let mut person_in_organisation = HashMap::new();
        let mut eid_owner = HashMap::new();
        for (i, professional) in self.professionals.iter().enumerate() {
            let at = Entry::Professional(i);
            let who = format!("professional identity {}", professional.uuid);
            if uuids.insert(professional.uuid, ()).is_some() {
                return problem(at, format!("{who} is declared twice"));
            }
            let Some(organisation) = organisations.get(&professional.cvr) else {
                return problem(
                    at,
                    format!(
                        "{who} works for CVR {}, which no [[organisation]] declares",
                        professional.cvr
                    ),
                );
            };
            if let Some(p) = professional.p_number {
                if !organisation.p_numbers.contains(&p) {
                    return problem(
                        at,
                        format!(
                            "{who}: P number {p} is not one of organisation {}'s",
                            organisation.cvr
                        ),
                    );
                }
            }
            if let Some(se) = professional.se_number {
                if !organisation.se_numbers.contains(&se) {
                    return problem(
                        at,
                        format!(
                            "{who}: SE number {se} is not one of organisation {}'s",
                            organisation.cvr
                        ),
                    );
                }
            }
            if rids
                .insert((professional.cvr, professional.rid.clone()), ())
                .is_some()
            {
                return problem(
                    at,
                    format!(
                        "{who}: RID {} is used twice in organisation {}",
                        professional.rid, professional.cvr
                    ),
                );
            }
            let cpr = professional.person.cpr();
            if let Some(cpr) = cpr.filter(|_| professional.person.uses_private_mitid()) {
                if !private_by_cpr.contains_key(&cpr) {
                    return problem(
                        at,
                        format!(
                            "{who}: no citizen has CPR {cpr} to log in with their private MitID; \
                             add the [[user]], or set `private_mitid = false` and give `erhverv_user_id`"
                        ),
                    );
                }
            }
            if let Some(id) = professional.person.dedicated_user_id() {
                match eids_by_key.get(&id.key()) {
                    None => {
                        return problem(
                            at,
                            format!(
                                "{who}: no [[user]] has user ID `{id}`; add it with kind = \"erhverv\""
                            ),
                        )
                    }
                    Some(eid) if eid.kind != EidKind::Erhverv => {
                        return problem(
                            at,
                            format!(
                                "{who}: `{id}` is a private MitID; a dedicated eID has kind = \"erhverv\""
                            ),
                        )
                    }
                    Some(_) => {}
                }
                if let Some(owner) = eid_owner.insert(id.key(), cpr) {
                    if owner != cpr {
                        return problem(
                            at,
                            format!(
                                "{who}: the dedicated eID `{id}` belongs to another person \
                                 (professional identities that share an eID share the CPR number)"
                            ),
                        );
                    }
                }
            }
            let person = match &professional.person {
                Person::Cpr { cpr, .. } => cpr.compact(),
                Person::NoCpr {
                    erhverv_user_id, ..
                } => erhverv_user_id.key(),
            };
            if person_in_organisation
                .insert((professional.cvr, person), ())
                .is_some()
            {
                return problem(
                    at,
                    format!(
                        "{who}: the person already has a professional identity in organisation {}",
                        professional.cvr
                    ),
                );
            }
        }
        for (i, citizen) in citizens.iter().enumerate() {
            if citizen.kind == EidKind::Erhverv && !eid_owner.contains_key(&citizen.user_id.key()) {
                return problem(
                    Entry::Citizen(i),
                    format!(
                        "dedicated MitID Erhverv eID `{}` is not named by any [[professional]] \
                         (`erhverv_user_id`)",
                        citizen.user_id
                    ),
                );
            }
        }
        Ok(())
    }
}

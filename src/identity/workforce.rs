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

    /// The first rule broken, checked against the citizens' MitID eIDs: the rules of
    /// [`Self::check_links`], and every dedicated eID is used (an unused one in a fixture is
    /// most likely a typo in an `erhverv_user_id`).
    pub fn check(&self, citizens: &[Identity]) -> Result<(), WorkforceProblem> {
        self.check_links(citizens)?;
        let named: std::collections::HashSet<String> = self
            .professionals
            .iter()
            .filter_map(|p| p.person.dedicated_user_id().map(|id| id.key()))
            .collect();
        for (i, citizen) in citizens.iter().enumerate() {
            if citizen.kind == EidKind::Erhverv && !named.contains(&citizen.user_id.key()) {
                return Err(WorkforceProblem {
                    entry: Entry::Citizen(i),
                    message: format!(
                        "dedicated MitID Erhverv eID `{}` is not named by any [[professional]] \
                         (`erhverv_user_id`)",
                        citizen.user_id
                    ),
                });
            }
        }
        Ok(())
    }

    /// The rules that tie the workforce together and to the citizens' MitID eIDs: every
    /// organisation is declared once; every professional identity names a declared
    /// organisation and its units, a RID unique in the organisation, and a person who can
    /// log in (a private citizen with the CPR number, or a dedicated eID); one person has at
    /// most one identity per organisation; a dedicated eID serves one person. The admin API
    /// keeps these at run time, where a dedicated eID may exist before its identity does.
    pub fn check_links(&self, citizens: &[Identity]) -> Result<(), WorkforceProblem> {
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::identity::{built_in_population, parse_population, ProfessionalStatus};

    /// A private citizen, a dedicated eID, an organisation and two professional identities;
    /// `{…}` markers are replaced by the tests.
    const BASE: &str = r#"[[user]]
user_id = "anna"
purpose = "private"
uuid = "6f3c0b9e-2f43-4a8b-9d8f-0a1b2c3d4e5f"
cpr = "120385-1234"
name = "Anna Jensen"
[user.app]
answer = "approve"

[[user]]
user_id = "john.erhverv"
purpose = "dedicated"
kind = "erhverv"
uuid = "6f3c0b9e-2f43-4a8b-9d8f-0a1b2c3d4e60"
name = "John Smith"
[user.app]
answer = "approve"

[[organisation]]
cvr = "91234564"
name = "Testfirma ApS"
p_numbers = ["1012345678"]

[[professional]]
uuid = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01"
cvr = "91234564"
cpr = "120385-1234"
given_name = "Anna"
family_name = "Jensen"
rid = "1001"

[[professional]]
uuid = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f02"
cvr = "91234564"
erhverv_user_id = "john.erhverv"
given_name = "John"
family_name = "Smith"
rid = "1002"
"#;

    /// Line of the second `[[professional]]` header in BASE.
    const SECOND_PROFESSIONAL: usize = 32;

    fn error_of(text: &str) -> crate::fixtures::FixtureError {
        parse_population(text).expect_err("the fixture is refused")
    }

    #[test]
    fn a_valid_workforce_loads_with_its_citizens() {
        let population = parse_population(BASE).unwrap();
        assert_eq!(population.citizens.len(), 2);
        assert_eq!(population.workforce.organisations.len(), 1);
        assert_eq!(population.workforce.professionals.len(), 2);
        assert_eq!(
            BASE.lines().nth(SECOND_PROFESSIONAL - 1),
            Some("[[professional]]")
        );
    }

    #[test]
    fn an_unknown_organisation_is_reported_at_the_professional() {
        let err = error_of(&BASE.replace(
            "cvr = \"91234564\"\nerhverv_user_id",
            "cvr = \"99999998\"\nerhverv_user_id",
        ));
        assert!(
            err.message
                .contains("CVR 99999998, which no [[organisation]] declares"),
            "{err}"
        );
        assert_eq!(err.line, Some(SECOND_PROFESSIONAL), "{err}");
        assert!(err.to_string().starts_with("<inline>:"), "{err}");
    }

    #[test]
    fn a_bad_cvr_points_at_its_line_and_column() {
        let err = error_of(&BASE.replace("cvr = \"91234564\"\nname", "cvr = \"12345678\"\nname"));
        assert!(err.message.contains("start with 9"), "{err}");
        assert_eq!((err.line, err.column), (Some(20), Some(7)), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_new_sections_are_refused() {
        let err = error_of(&BASE.replace("p_numbers", "p_nummers"));
        assert!(err.message.contains("unknown field `p_nummers`"), "{err}");
        assert_eq!(err.line, Some(22), "{err}");
        let err = error_of(&BASE.replace("rid = \"1002\"", "rid = \"1002\"\nboss = true"));
        assert!(err.message.contains("unknown field `boss`"), "{err}");
    }

    #[test]
    fn cross_references_must_hold() {
        let cases = [
            (
                BASE.replace(
                    "erhverv_user_id = \"john.erhverv\"",
                    "erhverv_user_id = \"nobody\"",
                ),
                "no [[user]] has user ID `nobody`",
            ),
            (
                BASE.replace("kind = \"erhverv\"\n", ""),
                "`john.erhverv` is a private MitID",
            ),
            (
                BASE.replace(
                    "erhverv_user_id = \"john.erhverv\"",
                    "cpr = \"010203-1234\"",
                ),
                "no citizen has CPR 010203-1234",
            ),
            (
                BASE.replace("rid = \"1002\"", "rid = \"1001\""),
                "RID 1001 is used twice in organisation 91234564",
            ),
            (
                BASE.replace(
                    "rid = \"1002\"",
                    "rid = \"1002\"\np_number = \"1012345670\"",
                ),
                "P number 1012345670 is not one of organisation 91234564's",
            ),
            (
                BASE.replace("rid = \"1002\"", "rid = \"1002\"\nse_number = \"92345688\""),
                "SE number 92345688 is not one of",
            ),
            (
                BASE.replace("f02\"", "f01\""),
                "professional identity 0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01 is declared twice",
            ),
        ];
        for (text, expected) in cases {
            let err = error_of(&text);
            assert!(err.message.contains(expected), "{expected}: {err}");
            let header = text
                .lines()
                .enumerate()
                .filter(|(_, line)| *line == "[[professional]]")
                .nth(1)
                .map(|(i, _)| i + 1);
            assert_eq!(err.line, header, "{expected}: {err}");
        }
    }

    #[test]
    fn one_person_has_one_identity_per_organisation_and_a_dedicated_eid_one_owner() {
        let twice = BASE.replace(
            "erhverv_user_id = \"john.erhverv\"",
            "cpr = \"120385-1234\"\nprivate_mitid = false\nerhverv_user_id = \"john.erhverv\"",
        );
        let err = error_of(&twice);
        assert!(
            err.message.contains("already has a professional identity"),
            "{err}"
        );

        let shared = format!(
            "{BASE}\n[[organisation]]\ncvr = \"98765433\"\nname = \"Andet\"\n\n[[professional]]\n\
             uuid = \"0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f03\"\ncvr = \"98765433\"\n\
             cpr = \"120385-1234\"\nerhverv_user_id = \"john.erhverv\"\n\
             given_name = \"A\"\nfamily_name = \"J\"\nrid = \"1\"\n"
        );
        let err = error_of(&shared);
        assert!(err.message.contains("belongs to another person"), "{err}");
    }

    #[test]
    fn an_unused_dedicated_eid_or_one_with_private_data_is_refused() {
        let lonely = format!(
            "{BASE}\n[[user]]\nuser_id = \"spare.erhverv\"\npurpose = \"x\"\nkind = \"erhverv\"\n\
             uuid = \"6f3c0b9e-2f43-4a8b-9d8f-0a1b2c3d4e61\"\nname = \"Spare\"\n[user.app]\nanswer = \"approve\"\n"
        );
        let err = error_of(&lonely);
        assert!(
            err.message.contains("`spare.erhverv` is not named by any"),
            "{err}"
        );
        assert_eq!(err.line, Some(BASE.lines().count() + 2), "{err}");

        let with_cpr = BASE.replace(
            "kind = \"erhverv\"\n",
            "kind = \"erhverv\"\ncpr = \"010101-1234\"\n",
        );
        let err = error_of(&with_cpr);
        assert!(err.message.contains("cannot have `cpr`"), "{err}");
        assert_eq!(err.line, Some(10), "{err}");
    }

    #[test]
    fn the_built_in_workforce_has_the_promised_personas() {
        let population = built_in_population().unwrap();
        let workforce = &population.workforce;
        assert!(workforce
            .organisations
            .iter()
            .all(|o| o.cvr.satisfies_modulus_11()));
        let long = workforce
            .organisations
            .iter()
            .find(|o| o.name.chars().count() > 80)
            .expect("an organisation with a long name");
        for letter in ['æ', 'ø', 'å', 'Æ', 'Ø'] {
            assert!(long.name.contains(letter), "{letter} in {}", long.name);
        }
        let professionals = &workforce.professionals;
        assert!(professionals.iter().any(|p| p.auth_to_repr().is_some()));
        assert!(professionals
            .iter()
            .any(|p| p.role == crate::identity::ProfessionalRole::Employee
                && p.person.uses_private_mitid()));
        assert!(professionals.iter().any(|p| p.person.cpr().is_none()));
        assert!(professionals
            .iter()
            .any(|p| p.status == ProfessionalStatus::Locked));
        assert!(professionals.iter().any(|p| p.name_protected));
        let mut per_person = std::collections::HashMap::new();
        for p in professionals {
            if let Some(cpr) = p.person.cpr() {
                *per_person.entry(cpr).or_insert(0) += 1;
            }
        }
        assert!(
            per_person.values().any(|n| *n >= 2),
            "a person with two organisations"
        );
    }
}

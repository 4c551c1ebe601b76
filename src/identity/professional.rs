//! Professional identities (MitID Erhverv): a person acting for a test organisation.
//!
//! A professional identity belongs to one organisation (CVR) and to one person: someone in
//! the CPR register, who logs in with their private MitID, with a dedicated MitID Erhverv
//! eID the organisation issued, or with either; or someone without a CPR number, who has
//! only a dedicated eID. The persistent professional ID (the UUID NemLog-in's EIA keeps)
//! is what RPs store; NEB releases it as `nemlogin.persistent_professional_id`.

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::{Cpr, Cvr, EidKind, Identity, Loa, PNumber, PrivilegeGroup, SeNumber, UserId};

text_newtype!(
    /// The RID number (from the NemID employee certificate, or assigned by NemLog-in):
    /// `nemlogin.nemid.rid`. Digits only; unique within its organisation.
    Rid
);

impl Rid {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{text}` is not a RID number: 1 to 20 digits"));
        }
        Ok(Self(text.to_string()))
    }
}

text_newtype!(
    /// A work e-mail address (`nemlogin.email`): one `@`, a dotted domain, no spaces.
    Email
);

impl Email {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let well_formed = text.len() <= 254
            && !text.chars().any(char::is_whitespace)
            && text.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.split('.').count() >= 2
                    && domain.split('.').all(|label| !label.is_empty())
            });
        if !well_formed {
            return Err(format!(
                "`{text}` is not an e-mail address (name@domain.tld, no spaces)"
            ));
        }
        Ok(Self(text.to_string()))
    }
}

/// The two business roles of MitID Erhverv.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfessionalRole {
    /// Anyone the organisation registered in MitID Erhverv.
    #[default]
    Employee,
    /// May act on behalf of the organisation itself (ledelsesrepræsentant, e.g. the CEO):
    /// authorised to represent it, `nemlogin.auth_to_repr`.
    CompanySignatory,
}

impl ProfessionalRole {
    pub fn name(self) -> &'static str {
        match self {
            Self::Employee => "employee",
            Self::CompanySignatory => "company signatory",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfessionalStatus {
    #[default]
    Active,
    /// Created by the organisation's administrator, not yet activated by the person.
    Pending,
    /// Temporarily locked.
    Locked,
    Suspended,
    /// Withdrawn for good (the person left the organisation).
    Revoked,
}

impl ProfessionalStatus {
    pub fn can_log_in(self) -> bool {
        self == Self::Active
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Locked => "locked",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }
}

/// Level of identity proofing, NEB's id_token `loip` for MitID Erhverv.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loip {
    #[default]
    Baseline,
    Extended,
}

impl Loip {
    pub fn name(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Extended => "extended",
        }
    }
}

/// Which MitID a person registered with a CPR number logs in with as this identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginRoute {
    /// Their private MitID: the citizen with the same CPR number.
    PrivateMitId,
    /// A dedicated MitID Erhverv eID (a `[[user]]` with `kind = "erhverv"`).
    Dedicated(UserId),
    /// Either of the two.
    PrivateOrDedicated(UserId),
}

/// The person behind a professional identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Person {
    /// In the CPR register (`nemlogin.cpr`, `nemlogin.cpr_uuid`).
    Cpr { cpr: Cpr, login: LoginRoute },
    /// No CPR number (e.g. a foreign employee): logs in only with a dedicated eID.
    NoCpr {
        erhverv_user_id: UserId,
        date_of_birth: Option<Date>,
    },
}

impl Person {
    pub fn cpr(&self) -> Option<Cpr> {
        match self {
            Self::Cpr { cpr, .. } => Some(*cpr),
            Self::NoCpr { .. } => None,
        }
    }

    /// Whether the person's private MitID logs in as this identity.
    pub fn uses_private_mitid(&self) -> bool {
        matches!(
            self,
            Self::Cpr {
                login: LoginRoute::PrivateMitId | LoginRoute::PrivateOrDedicated(_),
                ..
            }
        )
    }

    /// The user ID of the dedicated MitID Erhverv eID, if the person has one.
    pub fn dedicated_user_id(&self) -> Option<&UserId> {
        match self {
            Self::Cpr {
                login: LoginRoute::Dedicated(id) | LoginRoute::PrivateOrDedicated(id),
                ..
            }
            | Self::NoCpr {
                erhverv_user_id: id,
                ..
            } => Some(id),
            Self::Cpr { .. } => None,
        }
    }

    pub fn date_of_birth(&self) -> Option<Date> {
        match self {
            Self::Cpr { cpr, .. } => Some(cpr.birth_date()),
            Self::NoCpr { date_of_birth, .. } => *date_of_birth,
        }
    }
}

/// One professional identity: a person acting for an organisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ProfessionalEntry", into = "ProfessionalEntry")]
pub struct ProfessionalIdentity {
    /// The persistent professional ID (EIA UUID): `nemlogin.persistent_professional_id`,
    /// and what `simulation=… mitid_erhverv_uuid:<uuid>` names.
    pub uuid: Uuid,
    /// What this persona is for, shown in listings.
    pub purpose: String,
    /// The organisation (`nemlogin.cvr`); it must be a declared `[[organisation]]`.
    pub cvr: Cvr,
    pub person: Person,
    pub given_name: String,
    pub family_name: String,
    /// Name protection of this professional identity (not of the private person): the
    /// name claims are left out and `nemlogin.alias` is `Pseudonym`.
    pub name_protected: bool,
    pub email: Option<Email>,
    pub rid: Rid,
    pub role: ProfessionalRole,
    /// The production unit the person works at; one of the organisation's.
    pub p_number: Option<PNumber>,
    /// One of the organisation's SE numbers.
    pub se_number: Option<SeNumber>,
    pub privileges: Vec<PrivilegeGroup>,
    pub status: ProfessionalStatus,
    /// Identity assurance of the professional identity as NemLog-in registered it.
    pub ial: Loa,
    pub loip: Loip,
}

/// What `nemlogin.alias` holds for a name-protected professional identity.
pub const PSEUDONYM_ALIAS: &str = "Pseudonym";

impl ProfessionalIdentity {
    /// `nemlogin.name`: given name and family name.
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }

    /// `nemlogin.auth_to_repr`: the CVR number the identity is authorised to represent,
    /// which a company signatory has for its own organisation.
    pub fn auth_to_repr(&self) -> Option<Cvr> {
        (self.role == ProfessionalRole::CompanySignatory).then_some(self.cvr)
    }

    /// `nemlogin.alias`: `Pseudonym` when the identity is name protected.
    pub fn alias(&self) -> Option<&'static str> {
        self.name_protected.then_some(PSEUDONYM_ALIAS)
    }

    pub fn date_of_birth(&self) -> Option<Date> {
        self.person.date_of_birth()
    }

    pub fn can_log_in(&self) -> bool {
        self.status.can_log_in()
    }

    /// Whether this MitID eID (private or dedicated) may log in as this identity.
    pub fn logs_in_with(&self, eid: &Identity) -> bool {
        match eid.kind {
            EidKind::Private => {
                self.person.uses_private_mitid()
                    && eid.cpr.is_some()
                    && eid.cpr == self.person.cpr()
            }
            EidKind::Erhverv => self
                .person
                .dedicated_user_id()
                .is_some_and(|id| id.key() == eid.user_id.key()),
        }
    }
}

/// The flat shape of a professional identity in fixtures, state files and the admin API.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfessionalEntry {
    uuid: Uuid,
    #[serde(default)]
    purpose: String,
    cvr: Cvr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cpr: Option<Cpr>,
    /// With a CPR number: may the private MitID log in (default true)?
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_mitid: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    erhverv_user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date_of_birth: Option<Date>,
    given_name: String,
    family_name: String,
    #[serde(default)]
    name_protected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<Email>,
    rid: Rid,
    #[serde(default)]
    role: ProfessionalRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p_number: Option<PNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    se_number: Option<SeNumber>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    privileges: Vec<PrivilegeGroup>,
    #[serde(default)]
    status: ProfessionalStatus,
    #[serde(default = "default_ial")]
    ial: Loa,
    #[serde(default)]
    loip: Loip,
}

fn default_ial() -> Loa {
    Loa::Substantial
}

impl TryFrom<ProfessionalEntry> for ProfessionalIdentity {
    type Error = String;

    fn try_from(entry: ProfessionalEntry) -> Result<Self, Self::Error> {
        let who = format!("professional identity {}", entry.uuid);
        let person = match (entry.cpr, entry.private_mitid, entry.erhverv_user_id) {
            (Some(cpr), private, dedicated) => {
                if entry.date_of_birth.is_some() {
                    return Err(format!(
                        "{who} has both `cpr` and `date_of_birth`; the birth date comes from the CPR number"
                    ));
                }
                let login = match (private.unwrap_or(true), dedicated) {
                    (true, None) => LoginRoute::PrivateMitId,
                    (true, Some(id)) => LoginRoute::PrivateOrDedicated(id),
                    (false, Some(id)) => LoginRoute::Dedicated(id),
                    (false, None) => {
                        return Err(format!(
                            "{who} cannot log in: `private_mitid = false` needs `erhverv_user_id`, \
                             a dedicated MitID Erhverv eID"
                        ))
                    }
                };
                Person::Cpr { cpr, login }
            }
            (None, Some(_), _) => {
                return Err(format!(
                "{who} has `private_mitid` but no `cpr`: the private MitID is found by CPR number"
            ))
            }
            (None, None, Some(erhverv_user_id)) => Person::NoCpr {
                erhverv_user_id,
                date_of_birth: entry.date_of_birth,
            },
            (None, None, None) => {
                return Err(format!(
                    "{who} names no person: give `cpr` (the person logs in with their private \
                     MitID) or `erhverv_user_id` (a dedicated MitID Erhverv eID), or both"
                ))
            }
        };
        for (key, value) in [
            ("given_name", &entry.given_name),
            ("family_name", &entry.family_name),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{who} has an empty `{key}`"));
            }
            if value.chars().count() > super::organisation::MAX_NAME_CHARS {
                return Err(format!(
                    "{who} has a `{key}` longer than {} characters",
                    super::organisation::MAX_NAME_CHARS
                ));
            }
        }
        for group in &entry.privileges {
            if let Some(problem) = group.problems().into_iter().next() {
                return Err(format!("{who}: {problem}"));
            }
        }
        if let Some(scope) = super::organisation::first_repeated(
            &entry.privileges.iter().map(|g| g.scope).collect::<Vec<_>>(),
        ) {
            return Err(format!(
                "{who} has two privilege groups for {scope}: put the privileges in one"
            ));
        }
        Ok(Self {
            uuid: entry.uuid,
            purpose: entry.purpose,
            cvr: entry.cvr,
            person,
            given_name: entry.given_name,
            family_name: entry.family_name,
            name_protected: entry.name_protected,
            email: entry.email,
            rid: entry.rid,
            role: entry.role,
            p_number: entry.p_number,
            se_number: entry.se_number,
            privileges: entry.privileges,
            status: entry.status,
            ial: entry.ial,
            loip: entry.loip,
        })
    }
}

impl From<ProfessionalIdentity> for ProfessionalEntry {
    fn from(identity: ProfessionalIdentity) -> Self {
        let (cpr, private_mitid, erhverv_user_id, date_of_birth) = match identity.person {
            Person::Cpr { cpr, login } => match login {
                LoginRoute::PrivateMitId => (Some(cpr), None, None, None),
                LoginRoute::PrivateOrDedicated(id) => (Some(cpr), None, Some(id), None),
                LoginRoute::Dedicated(id) => (Some(cpr), Some(false), Some(id), None),
            },
            Person::NoCpr {
                erhverv_user_id,
                date_of_birth,
            } => (None, None, Some(erhverv_user_id), date_of_birth),
        };
        Self {
            uuid: identity.uuid,
            purpose: identity.purpose,
            cvr: identity.cvr,
            cpr,
            private_mitid,
            erhverv_user_id,
            date_of_birth,
            given_name: identity.given_name,
            family_name: identity.family_name,
            name_protected: identity.name_protected,
            email: identity.email,
            rid: identity.rid,
            role: identity.role,
            p_number: identity.p_number,
            se_number: identity.se_number,
            privileges: identity.privileges,
            status: identity.status,
            ial: identity.ial,
            loip: identity.loip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extra: &str) -> Result<ProfessionalIdentity, String> {
        let text = format!(
            "uuid = \"7b10ffa7-d26f-40a2-b7a9-ae3f3231cdcc\"\ncvr = \"91234564\"\n\
             given_name = \"Anna\"\nfamily_name = \"Jensen\"\nrid = \"40211397\"\n{extra}"
        );
        toml::from_str::<ProfessionalIdentity>(&text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn the_person_decides_how_the_identity_logs_in() {
        let private = entry("cpr = \"120385-1234\"").unwrap();
        assert_eq!(
            private.person,
            Person::Cpr {
                cpr: Cpr::parse("1203851234").unwrap(),
                login: LoginRoute::PrivateMitId
            }
        );
        let either = entry("cpr = \"120385-1234\"\nerhverv_user_id = \"anna.erhverv\"").unwrap();
        assert!(either.person.uses_private_mitid());
        assert_eq!(
            either.person.dedicated_user_id().unwrap().as_str(),
            "anna.erhverv"
        );
        let dedicated =
            entry("cpr = \"120385-1234\"\nprivate_mitid = false\nerhverv_user_id = \"a.e\"")
                .unwrap();
        assert!(!dedicated.person.uses_private_mitid());
        let foreign =
            entry("erhverv_user_id = \"john.erhverv\"\ndate_of_birth = \"1979-05-17\"").unwrap();
        assert_eq!(foreign.person.cpr(), None);
        assert_eq!(foreign.date_of_birth().unwrap().year(), 1979);
    }

    #[test]
    fn an_identity_nobody_can_log_in_as_is_refused() {
        let err = entry("").unwrap_err();
        assert!(err.contains("names no person"), "{err}");
        let err = entry("cpr = \"120385-1234\"\nprivate_mitid = false").unwrap_err();
        assert!(err.contains("needs `erhverv_user_id`"), "{err}");
        let err = entry("private_mitid = true\nerhverv_user_id = \"x\"").unwrap_err();
        assert!(err.contains("no `cpr`"), "{err}");
        let err = entry("cpr = \"120385-1234\"\ndate_of_birth = \"1985-03-12\"").unwrap_err();
        assert!(err.contains("both `cpr` and `date_of_birth`"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_when_read() {
        let err = entry("cpr = \"120385-1234\"\nemail = \"anna at firma\"").unwrap_err();
        assert!(err.contains("not an e-mail address"), "{err}");
        let err = entry("cpr = \"120385-1234\"\nrole = \"ceo\"").unwrap_err();
        assert!(err.contains("unknown variant `ceo`"), "{err}");
        let err = entry("cpr = \"120385-1234\"\nfavourite = 1").unwrap_err();
        assert!(err.contains("unknown field `favourite`"), "{err}");
        let blank = "uuid = \"7b10ffa7-d26f-40a2-b7a9-ae3f3231cdcc\"\ncvr = \"91234564\"\n\
                     given_name = \" \"\nfamily_name = \"Jensen\"\nrid = \"1\"\ncpr = \"120385-1234\"";
        let err = toml::from_str::<ProfessionalIdentity>(blank).unwrap_err();
        assert!(err.message().contains("empty `given_name`"), "{err}");
        assert!(Rid::parse("12a4").is_err() && Rid::parse("").is_err());
        assert!(Rid::parse(&"1".repeat(21)).is_err());
    }

    #[test]
    fn a_company_signatory_is_authorised_to_represent_its_organisation() {
        let employee = entry("cpr = \"120385-1234\"").unwrap();
        assert_eq!(employee.role, ProfessionalRole::Employee);
        assert_eq!(employee.auth_to_repr(), None);
        let signatory = entry("cpr = \"120385-1234\"\nrole = \"company_signatory\"").unwrap();
        assert_eq!(
            signatory.auth_to_repr(),
            Some(Cvr::parse("91234564").unwrap())
        );
    }

    #[test]
    fn name_protection_gives_the_pseudonym_alias() {
        let open = entry("cpr = \"120385-1234\"").unwrap();
        assert_eq!(open.alias(), None);
        assert_eq!(open.name(), "Anna Jensen");
        let protected = entry("cpr = \"120385-1234\"\nname_protected = true").unwrap();
        assert_eq!(protected.alias(), Some("Pseudonym"));
    }

    #[test]
    fn privileges_are_grouped_by_scope_once() {
        let group = "[[privileges]]\nscope = \"urn:dk:gov:saml:cvrNumberIdentifier:91234564\"\n\
                     privileges = [\"urn:dk:x:read\"]\n";
        let one = entry(&format!("cpr = \"120385-1234\"\n{group}")).unwrap();
        assert_eq!(one.privileges.len(), 1);
        let err = entry(&format!("cpr = \"120385-1234\"\n{group}{group}")).unwrap_err();
        assert!(err.contains("two privilege groups"), "{err}");
    }

    #[test]
    fn the_flat_shape_round_trips() {
        for extra in [
            "cpr = \"120385-1234\"\nemail = \"anna@firma.dk\"\np_number = \"1012345678\"",
            "cpr = \"120385-1234\"\nprivate_mitid = false\nerhverv_user_id = \"a.e\"",
            "cpr = \"120385-1234\"\nerhverv_user_id = \"a.e\"\nstatus = \"locked\"",
            "erhverv_user_id = \"john.erhverv\"\ndate_of_birth = \"1979-05-17\"\nloip = \"extended\"",
        ] {
            let identity = entry(extra).unwrap();
            let json = serde_json::to_string(&identity).unwrap();
            let back: ProfessionalIdentity = serde_json::from_str(&json).unwrap();
            assert_eq!(back, identity, "{json}");
        }
    }
}

//! Who logged in, as the SAML personality needs it: filled by the login wiring from the
//! domain's `Authentication` and `Identity`; no SAML type goes the other way.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::authenticators::code_card::PidStatus;
use crate::flow::Authentication;
use crate::identity::{Cvr, Identity, IdentityStore, Loa, PNumber, PrivilegeGroup, SeNumber};

/// A person authenticated by MitID (or NemID), with the optional professional part of a
/// MitID Erhverv login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// The person's UUID: the persistent NameID
    /// `https://data.gov.dk/model/core/eid/person/uuid/<uuid>`.
    pub uuid: Uuid,
    /// Ten digits, no dash. Absent for people without a CPR number.
    pub cpr_number: Option<String>,
    /// The CPR UUID (the person's UUID in the CPR register).
    pub cpr_uuid: Option<Uuid>,
    /// Empty names are left out (a name-protected professional identity).
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub alias: Option<String>,
    pub email: Option<String>,
    pub date_of_birth: Option<Date>,
    pub age: Option<u32>,
    /// Legacy NemID PID (`PID:9208-2002-2-…`), when the person has one.
    pub pid: Option<String>,
    pub loa: Loa,
    pub ial: Loa,
    pub aal: Loa,
    pub authn_instant: OffsetDateTime,
    /// Present for a professional (MitID Erhverv) login.
    pub professional: Option<Professional>,
}

/// The employee part of a professional login (from the domain's `ProfessionalIdentity`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Professional {
    /// The persistent professional UUID: the NameID
    /// `https://data.gov.dk/model/core/eid/professional/uuid/<uuid>` and the
    /// `…/professional/uuid/persistent` attribute.
    pub uuid: Uuid,
    pub cvr: Cvr,
    pub organisation_name: String,
    /// Legacy NemID employee RID, when the employee has one.
    pub rid: Option<String>,
    pub production_unit: Option<PNumber>,
    pub se_number: Option<SeNumber>,
    /// The CVR number this employee may represent (a company signatory's own).
    pub authorized_to_represent: Option<Cvr>,
    /// Rights granted in the organisation, released as an OIO Basic Privilege Profile.
    pub privileges: Vec<PrivilegeGroup>,
}

impl Subject {
    /// The persistent NameID of this login's profile.
    pub fn name_id(&self) -> String {
        match &self.professional {
            Some(professional) => format!(
                "https://data.gov.dk/model/core/eid/professional/uuid/{}",
                professional.uuid
            ),
            None => format!(
                "https://data.gov.dk/model/core/eid/person/uuid/{}",
                self.uuid
            ),
        }
    }
}

impl Subject {
    /// Who the finished login `auth` authenticated, as NemLog-in describes them: the
    /// person, and in a professional login the professional identity they act as. `today`
    /// gives the age.
    pub fn of(
        identities: &IdentityStore,
        eid: &Identity,
        auth: &Authentication,
        today: Date,
    ) -> Subject {
        let professional = auth
            .professional
            .and_then(|uuid| identities.professional(uuid));
        let cpr = eid
            .cpr
            .or_else(|| professional.as_ref().and_then(|p| p.person.cpr()));
        let date_of_birth = match &professional {
            Some(p) => p.date_of_birth(),
            None => eid.date_of_birth(),
        };
        let (first_name, last_name, full_name) = match &professional {
            Some(p) if p.name_protected => (String::new(), String::new(), String::new()),
            Some(p) => (p.given_name.clone(), p.family_name.clone(), p.name()),
            None => {
                let name = eid.name.trim();
                let (first, last) = name.rsplit_once(' ').unwrap_or(("", name));
                (first.trim().to_string(), last.to_string(), name.to_string())
            }
        };
        let pid = eid
            .nemid
            .as_ref()
            .filter(|n| professional.is_none() && n.pid_status == PidStatus::Success)
            .map(|n| n.pid.to_string());
        Subject {
            uuid: eid.uuid,
            cpr_number: cpr.map(|c| c.compact()),
            cpr_uuid: cpr.map(|c| c.person_uuid()),
            first_name,
            last_name,
            full_name,
            alias: professional
                .as_ref()
                .and_then(|p| p.alias())
                .map(str::to_string),
            email: professional
                .as_ref()
                .and_then(|p| p.email.as_ref())
                .map(|e| e.to_string()),
            age: date_of_birth.map(|born| age_on(born, today)),
            date_of_birth,
            pid,
            loa: auth.loa,
            ial: auth.ial,
            aal: auth.proof.aal,
            authn_instant: auth.auth_time,
            professional: professional.map(|p| Professional {
                uuid: p.uuid,
                cvr: p.cvr,
                organisation_name: identities
                    .organisation(p.cvr)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                rid: Some(p.rid.to_string()),
                production_unit: p.p_number,
                se_number: p.se_number,
                authorized_to_represent: p.auth_to_repr(),
                privileges: p.privileges.clone(),
            }),
        }
    }
}

fn age_on(born: Date, today: Date) -> u32 {
    let mut age = today.year() - born.year();
    if (u8::from(today.month()), today.day()) < (u8::from(born.month()), born.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

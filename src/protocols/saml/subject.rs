//! Who logged in, as the SAML personality needs it: filled by the login wiring from the
//! domain's `Authentication` and `Identity`; no SAML type goes the other way.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::identity::{Cvr, Loa, PNumber, PrivilegeGroup, SeNumber};

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

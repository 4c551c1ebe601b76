//! MitID Erhverv's claims at NEB: the `nemlogin` scope's userinfo claims and what the
//! id_token says of a professional login (idps/mitid-erhverv.md, mitid-erhverv-testing.md).

use crate::flow::Authentication;
use crate::identity::{Organisation, ProfessionalIdentity};

/// The professional identity a MitID Erhverv login acts as, as the claims need it.
#[derive(Clone, Copy, Debug)]
pub struct Professional<'a> {
    pub identity: &'a ProfessionalIdentity,
    pub organisation: &'a Organisation,
}

/// NEB's MitID Erhverv `amr` values carry the `mitid:` prefix (`mitid:code_app`); private
/// MitID logins have the bare value.
pub fn amr(auth: &Authentication) -> String {
    match auth.professional {
        Some(_) => format!("mitid:{}", auth.proof.amr),
        None => auth.proof.amr.to_string(),
    }
}

/// `identity_type`.
pub fn identity_type(auth: &Authentication) -> &'static str {
    match auth.professional {
        Some(_) => "professional",
        None => "private",
    }
}

/// The `nemlogin` scope's claims, every value a string, in the documented order. Absent
/// rather than empty when the identity has no such value ("may be empty"); with name
/// protection `nemlogin.alias` is `Pseudonym` and every name claim is missing. The CPR
/// number goes to public service providers, its UUID to private ones.
pub fn scope_claims(
    put: &mut impl FnMut(&str, String),
    professional: Professional<'_>,
    public_service_provider: bool,
) {
    let identity = professional.identity;
    let cpr = identity.person.cpr();
    if let Some(born) = identity.date_of_birth() {
        put("nemlogin.date_of_birth", born.to_string());
    }
    if let Some(email) = &identity.email {
        put("nemlogin.email", email.to_string());
    }
    if !identity.name_protected {
        put("nemlogin.name", identity.name());
        put("nemlogin.family_name", identity.family_name.clone());
        put("nemlogin.given_name", identity.given_name.clone());
    }
    put("nemlogin.nemid.rid", identity.rid.to_string());
    put("nemlogin.org_name", professional.organisation.name.clone());
    put(
        "nemlogin.persistent_professional_id",
        identity.uuid.to_string(),
    );
    put("nemlogin.cvr", identity.cvr.to_string());
    if let Some(se) = identity.se_number {
        put("nemlogin.se_number", se.to_string());
    }
    if let Some(p) = identity.p_number {
        put("nemlogin.p_number", p.to_string());
    }
    match cpr {
        Some(cpr) if public_service_provider => put("nemlogin.cpr", cpr.compact()),
        Some(cpr) => put("nemlogin.cpr_uuid", cpr.person_uuid().to_string()),
        None => {}
    }
    if let Some(cvr) = identity.auth_to_repr() {
        put("nemlogin.auth_to_repr", cvr.to_string());
    }
    if let Some(alias) = identity.alias() {
        put("nemlogin.alias", alias.to_string());
    }
}

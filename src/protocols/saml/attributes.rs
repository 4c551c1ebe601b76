//! The OIOSAML 3.0 attribute statement of an assertion: the person profile, plus the
//! professional attributes when the login is a MitID Erhverv one.

use base64::Engine;

use super::subject::Subject;
use super::vocabulary::{attribute as a, loa_value, ATTRNAME_URI};
use super::xml::escape;
use crate::identity::PrivilegeGroup;

/// Namespace of the OIO Basic Privilege Profile (`privilegesIntermediate`).
pub const BASIC_PRIVILEGE_PROFILE_NS: &str = "http://itst.dk/oiosaml/basic_privilege_profile";

/// `(name, friendly name, value)` in the order NemLog-in's metadata lists them.
pub fn attributes(subject: &Subject) -> Vec<(&'static str, &'static str, String)> {
    let mut out = vec![
        (
            a::SPEC_VERSION,
            "SpecVer",
            a::SPEC_VERSION_VALUE.to_string(),
        ),
        (
            a::LOA,
            "NsisLevelOfAssurance",
            loa_value(subject.loa).into(),
        ),
        (
            a::IAL,
            "IdentityAssuranceLevel",
            loa_value(subject.ial).into(),
        ),
        (
            a::AAL,
            "AuthenticationAssuranceLevel",
            loa_value(subject.aal).into(),
        ),
    ];
    let mut optional = |name, friendly, value: Option<String>| {
        if let Some(value) = value {
            out.push((name, friendly, value));
        }
    };
    // A name-protected professional identity has no names, only the alias.
    let name = |text: &str| Some(text.to_string()).filter(|t| !t.is_empty());
    optional(a::FULL_NAME, "FullName", name(&subject.full_name));
    optional(a::FIRST_NAME, "FirstName", name(&subject.first_name));
    optional(a::LAST_NAME, "LastName", name(&subject.last_name));
    optional(a::ALIAS, "Alias", subject.alias.clone());
    optional(a::EMAIL, "Email", subject.email.clone());
    optional(a::CPR_NUMBER, "Cpr", subject.cpr_number.clone());
    optional(a::AGE, "Age", subject.age.map(|age| age.to_string()));
    optional(
        a::CPR_UUID,
        "CprUUID",
        subject.cpr_uuid.map(|u| u.to_string()),
    );
    optional(
        a::DATE_OF_BIRTH,
        "DateOfBirth",
        subject
            .date_of_birth
            .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())),
    );
    optional(a::PID, "Pid", subject.pid.clone());
    if let Some(professional) = &subject.professional {
        optional(
            a::PROFESSIONAL_UUID,
            "ProfessionalPersistentUUID",
            Some(professional.uuid.to_string()),
        );
        optional(a::RID, "Rid", professional.rid.clone());
        optional(a::CVR, "Cvr", Some(professional.cvr.to_string()));
        optional(
            a::ORG_NAME,
            "OrganizationName",
            Some(professional.organisation_name.clone()),
        );
        optional(
            a::PRODUCTION_UNIT,
            "ProductionUnit",
            professional.production_unit.map(|p| p.to_string()),
        );
        optional(
            a::SE_NUMBER,
            "SeNumber",
            professional.se_number.map(|se| se.to_string()),
        );
        optional(
            a::AUTHORIZED_TO_REPRESENT,
            "AuthorizedToRepresent",
            professional
                .authorized_to_represent
                .map(|cvr| cvr.to_string()),
        );
        if !professional.privileges.is_empty() {
            optional(
                a::PRIVILEGES,
                "Privileges",
                Some(privileges_intermediate(&professional.privileges)),
            );
        }
    }
    out
}

/// The `saml:AttributeStatement` element.
pub fn attribute_statement(subject: &Subject) -> String {
    let mut xml = String::from("<saml:AttributeStatement>");
    for (name, friendly, value) in attributes(subject) {
        xml.push_str(&format!(
            "<saml:Attribute Name=\"{name}\" NameFormat=\"{ATTRNAME_URI}\" FriendlyName=\"{friendly}\">\
             <saml:AttributeValue xsi:type=\"xs:string\">{}</saml:AttributeValue></saml:Attribute>",
            escape(&value)
        ));
    }
    xml.push_str("</saml:AttributeStatement>");
    xml
}

/// The OIO Basic Privilege Profile document, base64-encoded as the
/// `privilegesIntermediate` attribute carries it.
pub fn privileges_intermediate(groups: &[PrivilegeGroup]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><bpp:PrivilegeList xmlns:bpp=\"{BASIC_PRIVILEGE_PROFILE_NS}\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
    );
    for group in groups {
        xml.push_str(&format!(
            "<PrivilegeGroup Scope=\"{}\">",
            escape(&group.scope.urn())
        ));
        for (name, value) in &group.constraints {
            xml.push_str(&format!(
                "<Constraint Name=\"{}\">{}</Constraint>",
                escape(name.as_str()),
                escape(value)
            ));
        }
        for privilege in &group.privileges {
            xml.push_str(&format!(
                "<Privilege>{}</Privilege>",
                escape(privilege.as_str())
            ));
        }
        xml.push_str("</PrivilegeGroup>");
    }
    xml.push_str("</bpp:PrivilegeList>");
    base64::engine::general_purpose::STANDARD.encode(xml)
}

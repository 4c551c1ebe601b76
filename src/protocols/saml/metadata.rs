//! The IdP metadata document SPs download and pin, shaped as NemLog-in's own
//! (devtest4): signing and encryption certificates, one endpoint for SSO and SLO, the
//! NameID formats and the attributes it can release.

use super::credential::Credential;
use super::idp::IdentityProvider;
use super::vocabulary::{
    attribute as a, Binding, ASSERTION_NS, ATTRNAME_URI, METADATA_NS, NAMEID_PERSISTENT,
    NAMEID_TRANSIENT, PROTOCOL_NS,
};
use super::xml::escape;
use super::xmlsec::{self, SigningCredentials, XmlSecError, DSIG_NS};

/// Attributes advertised in the IdP metadata, with NemLog-in's friendly names.
pub const ADVERTISED_ATTRIBUTES: [(&str, &str); 22] = [
    (a::SPEC_VERSION, "SpecVer"),
    (a::PRIVILEGES, "Privileges"),
    (a::LOA, "NsisLevelOfAssurance"),
    (a::IAL, "IdentityAssuranceLevel"),
    (a::AAL, "AuthenticationAssuranceLevel"),
    (a::FULL_NAME, "FullName"),
    (a::FIRST_NAME, "FirstName"),
    (a::LAST_NAME, "LastName"),
    (a::ALIAS, "Alias"),
    (a::EMAIL, "Email"),
    (a::CPR_NUMBER, "Cpr"),
    (a::AGE, "Age"),
    (a::CPR_UUID, "CprUUID"),
    (a::DATE_OF_BIRTH, "DateOfBirth"),
    (a::PID, "Pid"),
    (a::PROFESSIONAL_UUID, "ProfessionalPersistentUUID"),
    (a::RID, "Rid"),
    (a::CVR, "Cvr"),
    (a::ORG_NAME, "OrganizationName"),
    (a::PRODUCTION_UNIT, "ProductionUnit"),
    (a::SE_NUMBER, "SeNumber"),
    (a::AUTHORIZED_TO_REPRESENT, "AuthorizedToRepresent"),
];

fn key_descriptor(usage: &str, credential: &Credential) -> String {
    format!(
        "<md:KeyDescriptor use=\"{usage}\"><ds:KeyInfo xmlns:ds=\"{DSIG_NS}\"><ds:X509Data>\
         <ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
        credential.certificate().base64()
    )
}

/// The signed metadata document of `idp`.
pub fn idp_metadata(idp: &IdentityProvider) -> Result<String, XmlSecError> {
    let endpoint = escape(&idp.endpoint);
    let mut xml = format!(
        "<md:EntityDescriptor xmlns:md=\"{METADATA_NS}\" xmlns:saml=\"{ASSERTION_NS}\" \
         ID=\"{}\" entityID=\"{}\">\
         <md:IDPSSODescriptor WantAuthnRequestsSigned=\"true\" protocolSupportEnumeration=\"{PROTOCOL_NS}\">",
        super::xml::new_id(),
        escape(&idp.entity_id),
    );
    xml.push_str(&key_descriptor("signing", &idp.keys.signing));
    xml.push_str(&key_descriptor("encryption", &idp.keys.encryption));
    for binding in [Binding::HttpRedirect, Binding::HttpPost, Binding::Soap] {
        xml.push_str(&format!(
            "<md:SingleLogoutService Binding=\"{}\" Location=\"{endpoint}\"/>",
            binding.uri()
        ));
    }
    xml.push_str(&format!(
        "<md:NameIDFormat>{NAMEID_TRANSIENT}</md:NameIDFormat>\
         <md:NameIDFormat>{NAMEID_PERSISTENT}</md:NameIDFormat>"
    ));
    for binding in [Binding::HttpRedirect, Binding::HttpPost] {
        xml.push_str(&format!(
            "<md:SingleSignOnService Binding=\"{}\" Location=\"{endpoint}\"/>",
            binding.uri()
        ));
    }
    for (name, friendly) in ADVERTISED_ATTRIBUTES {
        xml.push_str(&format!(
            "<saml:Attribute Name=\"{name}\" FriendlyName=\"{friendly}\" NameFormat=\"{ATTRNAME_URI}\"/>"
        ));
    }
    xml.push_str("</md:IDPSSODescriptor></md:EntityDescriptor>");
    xmlsec::sign_root(
        &xml,
        &SigningCredentials {
            private_key_pem: idp.keys.signing.private_key_pem(),
            certificate_pem: idp.keys.signing.certificate().pem(),
        },
    )
}

#[cfg(test)]
mod tests;

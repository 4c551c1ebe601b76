//! Test-only helpers: credentials generated once per test binary, SP metadata documents.

use std::sync::OnceLock;

use super::credential::Credential;
use super::vocabulary::{METADATA_NS, PROTOCOL_NS};
use super::xmlsec::DSIG_NS;

pub fn idp_signing() -> &'static Credential {
    static KEY: OnceLock<Credential> = OnceLock::new();
    KEY.get_or_init(|| Credential::generate("test idp signing").unwrap())
}

pub fn idp_encryption() -> &'static Credential {
    static KEY: OnceLock<Credential> = OnceLock::new();
    KEY.get_or_init(|| Credential::generate("test idp encryption").unwrap())
}

pub fn sp_key() -> &'static Credential {
    static KEY: OnceLock<Credential> = OnceLock::new();
    KEY.get_or_init(|| Credential::generate("test sp").unwrap())
}

pub fn other_key() -> &'static Credential {
    static KEY: OnceLock<Credential> = OnceLock::new();
    KEY.get_or_init(|| Credential::generate("someone else").unwrap())
}

pub const SP_ENTITY_ID: &str = "https://sp.example.dk/saml";
pub const SP_ACS: &str = "https://sp.example.dk/saml/acs";
pub const SP_SLO: &str = "https://sp.example.dk/saml/slo";

/// The metadata of the test SP, as an SP library would publish it.
pub fn sp_metadata() -> String {
    let cert = sp_key().certificate().base64();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{METADATA_NS}" entityID="{SP_ENTITY_ID}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="{PROTOCOL_NS}">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="{DSIG_NS}"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="{DSIG_NS}"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
      <md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{SP_SLO}"/>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="{SP_SLO}/soap"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{SP_ACS}" index="0" isDefault="true"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{SP_ACS}/2" index="1"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#
    )
}

pub fn idp() -> super::idp::IdentityProvider {
    super::idp::IdentityProvider::new(
        "http://127.0.0.1:8080",
        super::idp::IdpKeys {
            signing: idp_signing().clone(),
            encryption: idp_encryption().clone(),
        },
    )
}

pub fn sp() -> super::sp::ServiceProvider {
    super::sp::ServiceProvider::from_metadata(&sp_metadata(), "sp.xml").unwrap()
}

pub fn person() -> super::subject::Subject {
    use time::macros::{date, datetime};
    super::subject::Subject {
        uuid: uuid::uuid!("6c5e9f7a-3c1b-4d8e-9a2f-1b2c3d4e5f60"),
        cpr_number: Some("0101901234".into()),
        cpr_uuid: Some(uuid::uuid!("0e3f1c2d-4b5a-4c6d-8e7f-9a0b1c2d3e4f")),
        first_name: "Søren".into(),
        last_name: "Æbelø".into(),
        full_name: "Søren Æbelø".into(),
        alias: None,
        email: Some("soren@example.dk".into()),
        date_of_birth: Some(date!(1990 - 01 - 01)),
        age: Some(36),
        pid: Some("PID:9208-2002-2-123456789012".into()),
        loa: crate::identity::Loa::Substantial,
        ial: crate::identity::Loa::Substantial,
        aal: crate::identity::Loa::Substantial,
        authn_instant: datetime!(2026-11-29 10:00:00 UTC),
        professional: None,
    }
}

pub fn employee() -> super::subject::Subject {
    let mut subject = person();
    subject.professional = Some(super::subject::Professional {
        uuid: uuid::uuid!("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"),
        cvr: crate::identity::Cvr::parse("98765432").unwrap(),
        organisation_name: "Testfirma ApS".into(),
        rid: Some("12345678".into()),
        production_unit: Some(crate::identity::PNumber::parse("1012345678").unwrap()),
        se_number: None,
        authorized_to_represent: Some(crate::identity::Cvr::parse("98765432").unwrap()),
        privileges: vec![crate::identity::PrivilegeGroup {
            scope: crate::identity::PrivilegeScope::parse(
                "urn:dk:gov:saml:cvrNumberIdentifier:98765432",
            )
            .unwrap(),
            privileges: vec![crate::identity::PrivilegeUri::parse(
                "urn:dk:some_domain:myPrivilege1A",
            )
            .unwrap()],
            constraints: [(
                crate::identity::PrivilegeUri::parse("urn:dk:kombit:KLE").unwrap(),
                "25.*".to_string(),
            )]
            .into(),
        }],
    });
    subject
}

/// The assertion of a response, decrypted with the test SP's key (or as is when it
/// travels in clear).
pub fn assertion_of(response_xml: &str) -> String {
    let doc = roxmltree::Document::parse(response_xml).unwrap();
    let root = doc.root_element();
    let node = root
        .children()
        .find(|n| matches!(n.tag_name().name(), "EncryptedAssertion" | "Assertion"))
        .expect("an assertion");
    if node.tag_name().name() == "Assertion" {
        return response_xml[node.range()].to_string();
    }
    let data = node.first_element_child().unwrap();
    super::xmlsec::decrypt_root(&response_xml[data.range()], sp_key().private_key_pem()).unwrap()
}

/// An AuthnRequest from the test SP to the test IdP, issued at 10:00:00; `inner` goes
/// after the Issuer, `attributes` on the root.
pub fn authn_request(attributes: &str, inner: &str) -> String {
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_req1" Version="2.0" IssueInstant="2026-11-29T10:00:00Z" Destination="{}" AssertionConsumerServiceURL="{SP_ACS}" {attributes}><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer>{inner}</samlp:AuthnRequest>"#,
        idp().endpoint
    )
}

pub fn registry() -> super::sp::SpRegistry {
    let registry = super::sp::SpRegistry::new();
    registry.register(sp()).unwrap();
    registry
}

/// Signs `xml` as the test SP (enveloped), or with another key.
pub fn sp_signed(xml: &str, key: &Credential) -> String {
    super::xmlsec::sign_root(
        xml,
        &super::xmlsec::SigningCredentials {
            private_key_pem: key.private_key_pem(),
            certificate_pem: key.certificate().pem(),
        },
    )
    .unwrap()
}

/// The raw query string of a Redirect-binding URL.
pub fn query_of(url: &str) -> &str {
    url.split_once('?').unwrap().1
}

/// Replaces the values that change on every run (IDs, signature and digest values, the
/// certificate) so the snapshot shows the structure and the attributes.
pub fn redact(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let mut out = xml.to_string();
    let mut volatile: Vec<String> = Vec::new();
    for node in doc.descendants() {
        if let Some(id) = node.attribute("ID") {
            volatile.push(id.to_string());
        }
        if matches!(
            node.tag_name().name(),
            "SignatureValue" | "DigestValue" | "X509Certificate"
        ) {
            if let Some(text) = node.text() {
                volatile.push(text.to_string());
            }
        }
    }
    for value in volatile {
        out = out.replace(&value, "[redacted]");
    }
    // One element per line, so a change shows as a readable diff.
    out.replace("><", ">\n<")
}

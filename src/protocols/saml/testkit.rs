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

use super::*;
use crate::protocols::saml::testkit::*;
use crate::protocols::saml::vocabulary::METADATA_NS;
use crate::protocols::saml::xmlsec::verify_root;

#[test]
fn the_metadata_is_signed_and_names_both_keys_and_every_endpoint() {
    let idp = idp();
    let xml = idp_metadata(&idp).unwrap();
    assert!(verify_root(&xml, idp_signing().certificate().der()).unwrap());
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(
        root.attribute("entityID"),
        Some("http://127.0.0.1:8080/nemlogin")
    );
    let descriptor = root
        .children()
        .find(|n| n.tag_name().name() == "IDPSSODescriptor")
        .unwrap();
    assert_eq!(
        descriptor.attribute("WantAuthnRequestsSigned"),
        Some("true")
    );
    let certificate = |usage: &str| {
        descriptor
            .children()
            .find(|n| n.tag_name().name() == "KeyDescriptor" && n.attribute("use") == Some(usage))
            .and_then(|n| {
                n.descendants()
                    .find(|d| d.tag_name().name() == "X509Certificate")
            })
            .and_then(|n| n.text())
            .unwrap()
            .to_string()
    };
    assert_eq!(certificate("signing"), idp_signing().certificate().base64());
    assert_eq!(
        certificate("encryption"),
        idp_encryption().certificate().base64()
    );
    let endpoints: Vec<(&str, &str, &str)> = descriptor
        .children()
        .filter(|n| n.tag_name().namespace() == Some(METADATA_NS) && n.has_attribute("Binding"))
        .map(|n| {
            (
                n.tag_name().name(),
                n.attribute("Binding").unwrap().rsplit(':').next().unwrap(),
                n.attribute("Location").unwrap(),
            )
        })
        .collect();
    let endpoint = "http://127.0.0.1:8080/nemlogin/idp/saml/3.0/";
    assert_eq!(
        endpoints,
        vec![
            ("SingleLogoutService", "HTTP-Redirect", endpoint),
            ("SingleLogoutService", "HTTP-POST", endpoint),
            ("SingleLogoutService", "SOAP", endpoint),
            ("SingleSignOnService", "HTTP-Redirect", endpoint),
            ("SingleSignOnService", "HTTP-POST", endpoint),
        ]
    );
    insta::assert_snapshot!("idp_metadata", redact(&xml));
}

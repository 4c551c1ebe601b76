use super::*;
use crate::protocols::saml::testkit::*;

#[test]
fn sp_metadata_gives_endpoints_certificates_and_cipher_preference() {
    let sp = ServiceProvider::from_metadata(&sp_metadata(), "sp.xml").unwrap();
    assert_eq!(sp.entity_id, SP_ENTITY_ID);
    assert_eq!(
        sp.signing_certificates,
        vec![sp_key().certificate().clone()]
    );
    assert_eq!(&sp.encryption_certificate, sp_key().certificate());
    assert_eq!(sp.data_encryption(), DataEncryption::Aes256Gcm);
    assert_eq!(
        sp.assertion_consumer_service(None, None).unwrap().location,
        SP_ACS
    );
    assert_eq!(
        sp.assertion_consumer_service(None, Some(1))
            .unwrap()
            .location,
        format!("{SP_ACS}/2")
    );
    assert!(sp
        .assertion_consumer_service(Some("https://evil.example/acs"), None)
        .is_none());
    assert_eq!(
        sp.single_logout_service(Binding::Soap).unwrap().location,
        format!("{SP_SLO}/soap")
    );
    assert!(sp.authn_requests_signed && sp.want_assertions_signed);
}

#[test]
fn metadata_errors_name_the_file_and_line() {
    let without_encryption = sp_metadata().replace("use=\"encryption\"", "use=\"signing\"");
    let err = ServiceProvider::from_metadata(&without_encryption, "sp.xml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "sp.xml:3: no encryption certificate: NemLog-in always encrypts assertions"
    );
    let bad_binding = sp_metadata().replace("bindings:SOAP", "bindings:CARRIER-PIGEON");
    let err = ServiceProvider::from_metadata(&bad_binding, "sp.xml").unwrap_err();
    assert!(
        err.to_string().starts_with("sp.xml:8: unknown binding"),
        "{err}"
    );
    let broken_cert =
        sp_metadata().replacen("<ds:X509Certificate>MII", "<ds:X509Certificate>XXX", 1);
    let err = ServiceProvider::from_metadata(&broken_cert, "sp.xml").unwrap_err();
    assert!(
        err.to_string().starts_with("sp.xml:4: bad certificate"),
        "{err}"
    );
    let err = ServiceProvider::from_metadata("<md:EntityDescriptor", "sp.xml").unwrap_err();
    assert!(
        err.to_string().starts_with("sp.xml: not well-formed XML"),
        "{err}"
    );
    let no_post = sp_metadata().replace("bindings:HTTP-POST", "bindings:HTTP-Artifact");
    let err = ServiceProvider::from_metadata(&no_post, "sp.xml").unwrap_err();
    assert!(
        err.to_string().contains("NemLog-in answers by POST"),
        "{err}"
    );
}

#[test]
fn a_toml_fixture_registers_an_sp_inline_or_by_metadata_file() {
    let dir = std::env::temp_dir().join(format!("mitid-sim-sp-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sp.xml"), sp_metadata()).unwrap();
    std::fs::write(dir.join("sp.crt"), sp_key().certificate().pem()).unwrap();
    let toml = r#"
[[service_provider]]
metadata = "sp.xml"

[[service_provider]]
entity_id = "https://other.example.dk"
signing_certificate = ["sp.crt"]
encryption_certificate = "sp.crt"
assertion_consumer_service = [{ binding = "post", location = "https://other.example.dk/acs", index = 0 }]
single_logout_service = [{ binding = "redirect", location = "https://other.example.dk/slo" }]
"#;
    let sps = from_toml(toml, "sps.toml", Some(&dir)).unwrap();
    assert_eq!(sps[0].entity_id, SP_ENTITY_ID);
    assert_eq!(sps[1].entity_id, "https://other.example.dk");
    assert_eq!(sps[1].data_encryption(), DataEncryption::Aes256Cbc);
    let registry = SpRegistry::new();
    for sp in sps {
        registry.register(sp).unwrap();
    }
    assert!(registry.get(SP_ENTITY_ID).is_some());
    let again = ServiceProvider::from_metadata(&sp_metadata(), "sp.xml").unwrap();
    assert!(matches!(
        registry.register(again),
        Err(SpError::Duplicate(_))
    ));

    let missing =
        "\n\n[[service_provider]]\nentity_id = \"x\"\nsigning_certificate = [\"sp.crt\"]\n";
    let err = from_toml(missing, "sps.toml", Some(&dir)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sps.toml:3: encryption_certificate is missing: assertions are always encrypted"
    );
    let unknown = "[[service_provider]]\nentity = \"x\"\n";
    let err = from_toml(unknown, "sps.toml", None).unwrap_err();
    assert!(err.to_string().contains("unknown field `entity`"), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

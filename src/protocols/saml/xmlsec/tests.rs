use std::sync::OnceLock;

use super::*;
use crate::protocols::saml::credential::Credential;

fn idp() -> &'static Credential {
    static KEY: OnceLock<Credential> = OnceLock::new();
    KEY.get_or_init(|| Credential::generate("test idp").unwrap())
}

fn sp() -> &'static Credential {
    static KEY: OnceLock<Credential> = OnceLock::new();
    KEY.get_or_init(|| Credential::generate("test sp").unwrap())
}

fn credentials(c: &Credential) -> SigningCredentials<'_> {
    SigningCredentials {
        private_key_pem: c.private_key_pem(),
        certificate_pem: c.certificate().pem(),
    }
}

const MESSAGE: &str = r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_abc" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://sp.example</saml:Issuer><saml:NameID>x</saml:NameID></samlp:LogoutRequest>"#;

#[test]
fn a_signed_root_verifies_with_the_signers_certificate_and_not_with_another() {
    let signed = sign_root(MESSAGE, &credentials(idp())).unwrap();
    let issuer_end = signed.find("</saml:Issuer>").unwrap();
    let signature_at = signed.find("<ds:Signature").unwrap();
    assert!(
        signature_at > issuer_end,
        "the signature follows the Issuer: {signed}"
    );
    assert!(signed.contains(RSA_SHA256) && signed.contains(EXCLUSIVE_C14N));
    assert!(signed.contains("<ds:X509Certificate>"));
    assert!(verify_root(&signed, idp().certificate().der()).unwrap());
    let err = verify_root(&signed, sp().certificate().der()).unwrap_err();
    assert!(matches!(err, XmlSecError::Verify(_)), "{err}");
}

#[test]
fn an_unsigned_message_is_reported_as_unsigned() {
    assert!(!verify_root(MESSAGE, idp().certificate().der()).unwrap());
}

#[test]
fn a_changed_signed_message_does_not_verify() {
    let signed = sign_root(MESSAGE, &credentials(idp())).unwrap();
    let tampered = signed.replace(">x<", ">y<");
    let err = verify_root(&tampered, idp().certificate().der()).unwrap_err();
    assert!(matches!(err, XmlSecError::Verify(_)), "{err}");
}

#[test]
fn a_signature_over_another_element_is_refused() {
    let signed = sign_root(MESSAGE, &credentials(idp())).unwrap();
    let moved = signed.replace("URI=\"#_abc\"", "URI=\"#_other\"");
    let err = verify_root(&moved, idp().certificate().der()).unwrap_err();
    assert!(err.to_string().contains("not the message itself"), "{err}");
}

#[test]
fn a_document_with_a_dtd_is_refused_before_the_library_sees_it() {
    let xml = format!("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{MESSAGE}");
    assert!(matches!(
        verify_root(&xml, idp().certificate().der()),
        Err(XmlSecError::Parse(_))
    ));
}

#[test]
fn an_encrypted_element_decrypts_with_the_recipients_key_in_every_cipher() {
    let signed = sign_root(MESSAGE, &credentials(idp())).unwrap();
    for alg in DataEncryption::ALL {
        let encrypted = encrypt_root(&signed, sp().certificate().der(), alg).unwrap();
        assert!(encrypted.contains(alg.uri()), "{encrypted}");
        assert!(encrypted.contains(KEY_TRANSPORT_RSA_OAEP));
        assert!(!encrypted.contains("https://sp.example"));
        let decrypted = decrypt_root(&encrypted, sp().private_key_pem()).unwrap();
        assert!(
            verify_root(&decrypted, idp().certificate().der()).unwrap(),
            "the signature survives encryption with {alg:?}"
        );
        let wrong = decrypt_root(&encrypted, idp().private_key_pem());
        assert!(matches!(wrong, Err(XmlSecError::Decrypt(_))), "{alg:?}");
    }
}

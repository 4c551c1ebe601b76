use time::macros::datetime;

use super::*;
use crate::protocols::saml::testkit::*;
use crate::protocols::saml::xmlsec::verify_root;

const REQUEST_ID: &str = "_request1";

fn delivery(sp: &ServiceProvider, sign_response: bool) -> Delivery<'_> {
    Delivery {
        sp,
        acs_url: SP_ACS,
        in_response_to: REQUEST_ID,
        now: datetime!(2026-11-29 10:00:05 UTC),
        sign_response,
    }
}

fn build(faults: &[ResponseFault], subject: &Subject, sign_response: bool) -> BuiltResponse {
    let sp = sp();
    build_response(
        &idp(),
        &delivery(&sp, sign_response),
        subject,
        "_session1",
        faults,
    )
    .unwrap()
}

fn idp_cert() -> Vec<u8> {
    idp_signing().certificate().der().to_vec()
}

#[test]
fn a_response_carries_a_signed_assertion_encrypted_to_the_sp() {
    let built = build(&[], &person(), false);
    assert!(built.xml.contains("<saml:EncryptedAssertion>"));
    assert!(
        built
            .xml
            .contains("http://www.w3.org/2009/xmlenc11#aes256-gcm"),
        "the SP's preference"
    );
    assert!(
        !built.xml.contains("0101901234"),
        "nothing personal in clear text"
    );
    assert!(
        !verify_root(&built.xml, &idp_cert()).unwrap(),
        "OIOSAML 3: response not signed"
    );
    let assertion = assertion_of(&built.xml);
    assert!(verify_root(&assertion, &idp_cert()).unwrap());
    assert!(assertion.contains(&format!("ID=\"{}\"", built.assertion_id)));
    assert!(assertion.contains("InResponseTo=\"_request1\""));
    assert!(assertion.contains(&format!("Recipient=\"{SP_ACS}\"")));
    assert!(assertion.contains("NotOnOrAfter=\"2026-11-29T10:05:05Z\""));
    assert!(assertion.contains(&format!("<saml:Audience>{SP_ENTITY_ID}</saml:Audience>")));
    assert!(assertion.contains("SessionIndex=\"_session1\""));
    assert!(assertion.contains(
        "https://data.gov.dk/model/core/eid/person/uuid/6c5e9f7a-3c1b-4d8e-9a2f-1b2c3d4e5f60"
    ));
}

#[test]
fn sign_response_signs_the_response_too() {
    let built = build(&[], &person(), true);
    assert!(verify_root(&built.xml, &idp_cert()).unwrap());
    let unsigned = build(&[ResponseFault::UnsignedResponse], &person(), true);
    assert!(!verify_root(&unsigned.xml, &idp_cert()).unwrap());
}

#[test]
fn each_fault_changes_exactly_what_it_names() {
    let unsigned = build(&[ResponseFault::UnsignedAssertion], &person(), false);
    assert!(!verify_root(&assertion_of(&unsigned.xml), &idp_cert()).unwrap());

    let clear = build(&[ResponseFault::AssertionNotEncrypted], &person(), false);
    assert!(clear.xml.contains("<saml:Assertion ") && !clear.xml.contains("EncryptedAssertion"));
    assert!(verify_root(&assertion_of(&clear.xml), &idp_cert()).unwrap());

    let audience = assertion_of(&build(&[ResponseFault::WrongAudience], &person(), false).xml);
    assert!(audience.contains("<saml:Audience>https://not-this-sp.invalid/saml</saml:Audience>"));

    let recipient = assertion_of(&build(&[ResponseFault::WrongRecipient], &person(), false).xml);
    assert!(recipient.contains("Recipient=\"https://not-this-sp.invalid/saml\""));

    let expired = assertion_of(&build(&[ResponseFault::ExpiredNotOnOrAfter], &person(), false).xml);
    assert!(
        expired.contains("NotOnOrAfter=\"2026-11-29T09:45:05Z\""),
        "{expired}"
    );

    let wrong = build(&[ResponseFault::WrongInResponseTo], &person(), false);
    assert!(!wrong.xml.contains(REQUEST_ID) && !assertion_of(&wrong.xml).contains(REQUEST_ID));

    let replay = ResponseFault::ReplayedAssertion {
        assertion_id: "_seen_before".into(),
    };
    let replayed = build(&[replay], &person(), false);
    assert_eq!(replayed.assertion_id, "_seen_before");
    assert!(verify_root(&assertion_of(&replayed.xml), &idp_cert()).unwrap());
}

#[test]
fn the_wrapped_response_keeps_a_valid_signature_over_the_hidden_genuine_one() {
    let wrapped = build(&[ResponseFault::SignatureWrapping], &person(), false).xml;
    let err = verify_root(&wrapped, &idp_cert()).unwrap_err();
    assert!(err.to_string().contains("not the message itself"), "{err}");
    // The genuine response, put back together, verifies: the signature itself is intact.
    let doc = roxmltree::Document::parse(&wrapped).unwrap();
    let root = doc.root_element();
    let signature = root
        .children()
        .find(|n| n.tag_name().name() == "Signature")
        .unwrap();
    let hidden = root
        .children()
        .find(|n| n.tag_name().name() == "Extensions")
        .unwrap()
        .first_element_child()
        .unwrap();
    let hidden_xml = &wrapped[hidden.range()];
    let issuer_end = hidden_xml.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
    let restored = format!(
        "{}{}{}",
        &hidden_xml[..issuer_end],
        &wrapped[signature.range()],
        &hidden_xml[issuer_end..]
    );
    assert!(verify_root(&restored, &idp_cert()).unwrap());
    assert!(
        assertion_of(&wrapped).contains("Forged Identity"),
        "the forged one is in front"
    );
}

#[test]
fn a_status_response_is_signed_and_carries_the_codes() {
    let sp = sp();
    let delivery = delivery(&sp, false);
    let status = Status::responder(super::super::vocabulary::status::NO_PASSIVE, "no session");
    let xml = build_status_response(&idp(), &delivery, &status, &[]).unwrap();
    assert!(verify_root(&xml, &idp_cert()).unwrap());
    assert!(xml.contains("urn:oasis:names:tc:SAML:2.0:status:Responder"));
    assert!(xml.contains("urn:oasis:names:tc:SAML:2.0:status:NoPassive"));
    assert!(!xml.contains("Assertion"));
    let unsigned = build_status_response(
        &idp(),
        &delivery,
        &status,
        &[ResponseFault::UnsignedResponse],
    )
    .unwrap();
    assert!(!verify_root(&unsigned, &idp_cert()).unwrap());
}

#[test]
fn the_decrypted_assertion_matches_the_oiosaml_3_attribute_profile() {
    for (name, subject) in [("person", person()), ("professional", employee())] {
        let assertion = assertion_of(&build(&[], &subject, false).xml);
        let redacted = redact(&assertion);
        insta::assert_snapshot!(format!("assertion_{name}"), redacted);
    }
}

#[test]
fn privileges_travel_as_a_base64_oio_basic_privilege_profile() {
    use base64::Engine;
    let professional = employee().professional.unwrap();
    let encoded =
        crate::protocols::saml::attributes::privileges_intermediate(&professional.privileges);
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    roxmltree::Document::parse(&xml).expect("well-formed");
    insta::assert_snapshot!("privileges_intermediate", xml.replace("><", ">\n<"));
}

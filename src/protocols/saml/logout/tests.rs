use time::macros::datetime;

use super::*;
use crate::protocols::saml::credential::Credential;
use crate::protocols::saml::testkit::*;
use crate::protocols::saml::xmlsec::verify_root;

const NOW: OffsetDateTime = datetime!(2026-11-29 10:00:30 UTC);

fn sp_logout_request() -> String {
    format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lo1" Version="2.0" IssueInstant="2026-11-29T10:00:00Z" Destination="{}"><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">https://data.gov.dk/model/core/eid/person/uuid/6c5e9f7a-3c1b-4d8e-9a2f-1b2c3d4e5f60</saml:NameID><samlp:SessionIndex>_session1</samlp:SessionIndex></samlp:LogoutRequest>"#,
        idp().endpoint
    )
}

fn over_redirect(xml: &str, key: Option<&Credential>) -> Received {
    let url =
        binding::redirect_url(&idp().endpoint, Field::SamlRequest, xml, Some("rs"), key).unwrap();
    binding::from_redirect(query_of(&url), Field::SamlRequest).unwrap()
}

#[test]
fn an_sp_logout_request_is_read_over_every_binding() {
    let xml = sp_logout_request();
    let signed = sp_signed(&xml, sp_key());
    let form = binding::post_form(&idp().endpoint, Field::SamlRequest, &signed, Some("rs"));
    let soap = binding::soap_envelope(&signed);
    let received = [
        over_redirect(&xml, Some(sp_key())),
        binding::from_post(Some(&form.fields[0].1), Some("rs"), Field::SamlRequest).unwrap(),
        binding::from_soap(&soap).unwrap(),
    ];
    for message in received {
        let request = parse_request(&message, &idp(), &registry(), NOW).unwrap();
        assert_eq!(request.id, "_lo1");
        assert_eq!(request.sp.entity_id, SP_ENTITY_ID);
        assert!(request
            .name_id
            .ends_with("6c5e9f7a-3c1b-4d8e-9a2f-1b2c3d4e5f60"));
        assert_eq!(request.session_indexes, vec!["_session1".to_string()]);
        assert_eq!(request.binding, message.binding);
    }
}

fn refusal(received: &Received, now: OffsetDateTime) -> LogoutError {
    parse_request(received, &idp(), &registry(), now).unwrap_err()
}

#[test]
fn unsigned_badly_signed_and_stale_logout_requests_are_refused() {
    let xml = sp_logout_request();
    let unsigned = refusal(&over_redirect(&xml, None), NOW);
    assert!(
        matches!(unsigned, LogoutError::Problem(RequestProblem::Unsigned)),
        "{unsigned}"
    );
    let soap = binding::soap_envelope(&sp_signed(&xml, other_key()));
    for forged in [
        over_redirect(&xml, Some(other_key())),
        binding::from_soap(&soap).unwrap(),
    ] {
        let err = refusal(&forged, NOW);
        assert!(
            matches!(err, LogoutError::Problem(RequestProblem::BadSignature(_))),
            "{err}"
        );
    }
    let stale = refusal(
        &over_redirect(&xml, Some(sp_key())),
        datetime!(2026-11-29 10:30:00 UTC),
    );
    assert!(stale.to_string().contains("clock skew"), "{stale}");
}

#[test]
fn the_idp_logout_request_and_response_are_signed_for_every_binding() {
    let sp = sp();
    let slo = sp.single_logout_service(Binding::HttpRedirect).unwrap();
    let out = request_to_sp(&idp(), slo, "nameid-1", "_session1", NOW);
    assert!(out
        .xml
        .contains("<samlp:SessionIndex>_session1</samlp:SessionIndex>"));
    let url = out.redirect(&idp(), Field::SamlRequest, Some("r")).unwrap();
    assert!(url.starts_with(&format!("{SP_SLO}?SAMLRequest=")));
    let received = binding::from_redirect(query_of(&url), Field::SamlRequest).unwrap();
    received
        .query_signature
        .unwrap()
        .verify(std::slice::from_ref(idp_signing().certificate()))
        .unwrap();
    let form = out.post(&idp(), Field::SamlRequest, None).unwrap();
    let posted = binding::from_post(Some(&form.fields[0].1), None, Field::SamlRequest).unwrap();
    assert!(verify_root(&posted.xml, idp_signing().certificate().der()).unwrap());
    let soap = binding::from_soap(&out.soap(&idp()).unwrap()).unwrap();
    assert!(verify_root(&soap.xml, idp_signing().certificate().der()).unwrap());

    let request = parse_request(
        &over_redirect(&sp_logout_request(), Some(sp_key())),
        &idp(),
        &registry(),
        NOW,
    )
    .unwrap();
    let partial = Status::responder(status::PARTIAL_LOGOUT, "one SP did not answer");
    let response = response_to_sp(&idp(), &request, &partial, NOW).unwrap();
    assert_eq!(response.destination, SP_SLO);
    assert!(response.xml.contains("InResponseTo=\"_lo1\""));
    assert!(response.xml.contains(status::PARTIAL_LOGOUT));
}

#[test]
fn an_sp_logout_response_must_answer_the_request_and_be_signed() {
    let response = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr1" Version="2.0" IssueInstant="2026-11-29T10:00:10Z" Destination="{}" InResponseTo="_idp_req"><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
        idp().endpoint
    );
    let signed = binding::soap_envelope(&sp_signed(&response, sp_key()));
    let received = binding::from_soap(&signed).unwrap();
    let parsed = parse_response(&received, &idp(), &registry(), "_idp_req", NOW).unwrap();
    assert!(parsed.is_success());
    let err = parse_response(&received, &idp(), &registry(), "_other", NOW).unwrap_err();
    assert!(err.to_string().contains("does not answer"), "{err}");
    let unsigned = binding::from_soap(&binding::soap_envelope(&response)).unwrap();
    let err = parse_response(&unsigned, &idp(), &registry(), "_idp_req", NOW).unwrap_err();
    assert!(
        matches!(err, LogoutError::Problem(RequestProblem::Unsigned)),
        "{err}"
    );
}

#[test]
fn a_soap_answer_may_leave_out_its_destination_and_a_browser_one_may_not() {
    let response = |destination: &str| {
        format!(
            r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr2" Version="2.0" IssueInstant="2026-11-29T10:00:10Z" {destination} InResponseTo="_idp_req"><saml:Issuer>{SP_ENTITY_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#
        )
    };
    for destination in ["", "Destination=\"\""] {
        let signed = sp_signed(&response(destination), sp_key());
        let soap = binding::from_soap(&binding::soap_envelope(&signed)).unwrap();
        assert!(
            parse_response(&soap, &idp(), &registry(), "_idp_req", NOW).is_ok(),
            "SOAP with {destination:?}"
        );
        let posted = binding::from_post(
            Some(&base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &signed,
            )),
            None,
            binding::Field::SamlResponse,
        )
        .unwrap();
        let err = parse_response(&posted, &idp(), &registry(), "_idp_req", NOW).unwrap_err();
        assert!(
            matches!(
                err,
                LogoutError::Problem(RequestProblem::WrongDestination { .. })
            ),
            "POST with {destination:?}: {err}"
        );
    }
}

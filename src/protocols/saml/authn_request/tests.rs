use time::macros::datetime;

use super::*;
use crate::protocols::saml::binding::{self, BindingError, Field};
use crate::protocols::saml::testkit::*;

const NOW: OffsetDateTime = datetime!(2026-11-29 10:00:30 UTC);

fn redirect(xml: &str, relay_state: Option<&str>, key: Option<&Credential>) -> Received {
    let url =
        binding::redirect_url(&idp().endpoint, Field::SamlRequest, xml, relay_state, key).unwrap();
    binding::from_redirect(query_of(&url), Field::SamlRequest).unwrap()
}

use crate::protocols::saml::credential::Credential;

fn post(xml: &str) -> Received {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
    binding::from_post(Some(&b64), Some("state-1"), Field::SamlRequest).unwrap()
}

fn page(result: Result<AuthnRequest, AuthnRequestError>) -> RequestProblem {
    match result {
        Err(AuthnRequestError::Page(problem)) => problem,
        other => panic!("expected an error page, got {other:?}"),
    }
}

fn answer(result: Result<AuthnRequest, AuthnRequestError>) -> Refusal {
    match result {
        Err(AuthnRequestError::Answer(refusal)) => *refusal,
        other => panic!("expected a status answer, got {other:?}"),
    }
}

const FULL_CONTEXT: &str = r#"<samlp:Extensions><nl:AppSwitch xmlns:nl="https://data.gov.dk/eid/saml/extensions"><nl:Platform>iOS</nl:Platform><nl:ReturnURL>https://app.example.dk/return</nl:ReturnURL></nl:AppSwitch></samlp:Extensions><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"/><samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>https://data.gov.dk/concept/core/nsis/loa/High</saml:AuthnContextClassRef><saml:AuthnContextClassRef>https://data.gov.dk/eid/Professional</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>"#;

#[test]
fn a_signed_redirect_request_is_read_whole() {
    let xml = authn_request("ForceAuthn=\"true\" IsPassive=\"false\"", FULL_CONTEXT);
    let received = redirect(&xml, Some("state 1/ø"), Some(sp_key()));
    let request = parse(&received, &idp(), &registry(), NOW).unwrap();
    assert_eq!(request.id, "_req1");
    assert_eq!(request.sp.entity_id, SP_ENTITY_ID);
    assert_eq!(request.acs_url, SP_ACS);
    assert_eq!(request.relay_state.as_deref(), Some("state 1/ø"));
    assert!(request.force_authn && !request.is_passive);
    assert_eq!(request.minimum_loa(), Loa::High);
    assert_eq!(request.profiles, vec![Profile::Professional]);
    assert_eq!(request.name_id_format.as_deref(), Some(NAMEID_PERSISTENT));
    assert_eq!(
        request.app_switch,
        Some(AppSwitch {
            platform: AppSwitchPlatform::Ios,
            return_url: "https://app.example.dk/return".into()
        })
    );
}

#[test]
fn defaults_are_substantial_and_either_profile_and_the_default_acs() {
    let xml =
        authn_request("", "").replace(&format!("AssertionConsumerServiceURL=\"{SP_ACS}\""), "");
    let request = parse(&post(&sp_signed(&xml, sp_key())), &idp(), &registry(), NOW).unwrap();
    assert_eq!(request.minimum_loa(), Loa::Substantial);
    assert_eq!(request.requested_loa, None);
    assert_eq!(
        request.profiles,
        vec![Profile::Person, Profile::Professional]
    );
    assert_eq!(request.acs_url, SP_ACS);
    assert_eq!(request.relay_state.as_deref(), Some("state-1"));
    let by_index = authn_request("AssertionConsumerServiceIndex=\"1\"", "")
        .replace(&format!("AssertionConsumerServiceURL=\"{SP_ACS}\""), "");
    let request = parse(
        &post(&sp_signed(&by_index, sp_key())),
        &idp(),
        &registry(),
        NOW,
    )
    .unwrap();
    assert_eq!(request.acs_url, format!("{SP_ACS}/2"));
}

#[test]
fn unsigned_or_wrongly_signed_requests_get_an_error_page() {
    let xml = authn_request("", "");
    assert_eq!(
        page(parse(&redirect(&xml, None, None), &idp(), &registry(), NOW)),
        RequestProblem::Unsigned
    );
    assert_eq!(
        page(parse(&post(&xml), &idp(), &registry(), NOW)),
        RequestProblem::Unsigned
    );
    assert!(matches!(
        page(parse(
            &redirect(&xml, None, Some(other_key())),
            &idp(),
            &registry(),
            NOW
        )),
        RequestProblem::BadSignature(_)
    ));
    assert!(matches!(
        page(parse(
            &post(&sp_signed(&xml, other_key())),
            &idp(),
            &registry(),
            NOW
        )),
        RequestProblem::BadSignature(_)
    ));
    // RelayState is covered by the query signature.
    let url = binding::redirect_url(
        &idp().endpoint,
        Field::SamlRequest,
        &xml,
        Some("a"),
        Some(sp_key()),
    )
    .unwrap();
    let tampered = query_of(&url).replace("RelayState=a", "RelayState=b");
    let received = binding::from_redirect(&tampered, Field::SamlRequest).unwrap();
    assert!(matches!(
        page(parse(&received, &idp(), &registry(), NOW)),
        RequestProblem::BadSignature(_)
    ));
}

#[test]
fn unknown_sps_foreign_acs_urls_and_misdirected_requests_get_an_error_page() {
    let stranger = authn_request("", "").replace(SP_ENTITY_ID, "https://stranger.example");
    assert_eq!(
        page(parse(
            &redirect(&stranger, None, Some(sp_key())),
            &idp(),
            &registry(),
            NOW
        )),
        RequestProblem::UnknownIssuer("https://stranger.example".into())
    );
    let foreign = authn_request("", "").replace(SP_ACS, "https://evil.example/acs");
    assert_eq!(
        page(parse(
            &redirect(&foreign, None, Some(sp_key())),
            &idp(),
            &registry(),
            NOW
        )),
        RequestProblem::UnregisteredAcs("https://evil.example/acs".into())
    );
    let elsewhere = authn_request("", "").replace(&idp().endpoint, "https://other-idp.example/sso");
    assert!(matches!(
        page(parse(
            &redirect(&elsewhere, None, Some(sp_key())),
            &idp(),
            &registry(),
            NOW
        )),
        RequestProblem::WrongDestination { .. }
    ));
    let email_issuer = authn_request("", "").replace(
        "<saml:Issuer>",
        "<saml:Issuer Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">",
    );
    assert!(matches!(
        page(parse(
            &redirect(&email_issuer, None, Some(sp_key())),
            &idp(),
            &registry(),
            NOW
        )),
        RequestProblem::IssuerFormat(_)
    ));
    let logout = authn_request("", "").replace("AuthnRequest", "LogoutRequest");
    assert!(matches!(
        page(parse(
            &redirect(&logout, None, Some(sp_key())),
            &idp(),
            &registry(),
            NOW
        )),
        RequestProblem::WrongMessage { .. }
    ));
}

#[test]
fn a_trusted_request_nemlogin_cannot_serve_is_answered_with_a_status() {
    let cases = [
        (
            authn_request(
                "",
                r#"<samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>https://data.gov.dk/concept/core/nsis/loa/Low</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>"#,
            ),
            status::NO_AUTHN_CONTEXT,
        ),
        (
            authn_request(
                "",
                r#"<samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>"#,
            ),
            status::NO_AUTHN_CONTEXT,
        ),
        (
            authn_request(
                "ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact\"",
                "",
            ),
            status::UNSUPPORTED_BINDING,
        ),
        (
            authn_request(
                "",
                r#"<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"/>"#,
            ),
            status::INVALID_NAMEID_POLICY,
        ),
        (
            authn_request("", "").replace("2026-11-29T10:00:00Z", "2026-11-29T09:40:00Z"),
            status::REQUEST_DENIED,
        ),
    ];
    for (xml, expected) in cases {
        let refusal = answer(parse(
            &redirect(&xml, Some("rs"), Some(sp_key())),
            &idp(),
            &registry(),
            NOW,
        ));
        assert_eq!(refusal.status.sub_code, Some(expected), "{xml}");
        assert_eq!(refusal.status.code, status::REQUESTER);
        assert_eq!(refusal.acs_url, SP_ACS);
        assert_eq!(refusal.in_response_to, "_req1");
        assert_eq!(refusal.relay_state.as_deref(), Some("rs"));
    }
}

#[test]
fn the_redirect_binding_refuses_broken_encodings() {
    assert_eq!(
        binding::from_redirect("RelayState=x", Field::SamlRequest),
        Err(BindingError::Missing("SAMLRequest"))
    );
    assert_eq!(
        binding::from_redirect("SAMLRequest=%%%", Field::SamlRequest),
        Err(BindingError::Base64("SAMLRequest"))
    );
    assert_eq!(
        binding::from_redirect("SAMLRequest=aGVsbG8%3D", Field::SamlRequest),
        Err(BindingError::Deflate("SAMLRequest"))
    );
    let url = binding::redirect_url(
        &idp().endpoint,
        Field::SamlRequest,
        "<x/>",
        None,
        Some(sp_key()),
    )
    .unwrap();
    let without_alg =
        query_of(&url).split("&SigAlg").next().unwrap().to_string() + "&Signature=AAAA";
    assert_eq!(
        binding::from_redirect(&without_alg, Field::SamlRequest),
        Err(BindingError::HalfSigned)
    );
    let bomb = "<a>".to_string() + &"x".repeat(300 * 1024) + "</a>";
    let url =
        binding::redirect_url(&idp().endpoint, Field::SamlRequest, &bomb, None, None).unwrap();
    assert_eq!(
        binding::from_redirect(query_of(&url), Field::SamlRequest),
        Err(BindingError::TooLarge)
    );
}

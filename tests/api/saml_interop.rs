//! NemLog-in against an independent SAML SP library: pysaml2 (Python), which signs,
//! verifies, encrypts and decrypts through the xmlsec1 program.
//!
//! The building blocks first: pysaml2 registers from our metadata, sends signed
//! AuthnRequests and LogoutRequests our parser must accept, and validates and decrypts our
//! responses: the genuine one accepted, each fault refused. Then full HTTP flows against a
//! broker on port 0 (`saml_flows`): the SP driven by Python, the browser by the test.

use base64::Engine;
use serde_json::{json, Value};
use time::OffsetDateTime;

use mitid_sim::identity::Loa;
use mitid_sim::identity::{Cvr, PrivilegeGroup, PrivilegeScope, PrivilegeUri};
use mitid_sim::protocols::saml::authn_request::{self, AuthnRequest};
use mitid_sim::protocols::saml::binding::{self, Field};
use mitid_sim::protocols::saml::credential::Credential;
use mitid_sim::protocols::saml::idp::{IdentityProvider, IdpKeys};
use mitid_sim::protocols::saml::logout;
use mitid_sim::protocols::saml::metadata::idp_metadata;
use mitid_sim::protocols::saml::response::{build_response, Delivery, ResponseFault};
use mitid_sim::protocols::saml::sp::{ServiceProvider, SpRegistry};
use mitid_sim::protocols::saml::subject::{Professional, Subject};
use mitid_sim::protocols::saml::vocabulary::{status, Profile, Status};
use mitid_sim::protocols::saml::xmlsec::DataEncryption;

use crate::pysaml2::{PythonSp, TempDir};

const SP_ENTITY: &str = "https://pysaml2-sp.example.dk/metadata";
const SP_ACS: &str = "https://pysaml2-sp.example.dk/acs";
const SP_SLO: &str = "https://pysaml2-sp.example.dk/slo";

struct World {
    idp: IdentityProvider,
    registry: SpRegistry,
    sp: PythonSp,
    _dir: TempDir,
}

/// An IdP with keys in a fresh state folder, and a pysaml2 SP registered from the metadata
/// pysaml2 itself wrote.
fn world(want_response_signed: bool, cipher: Option<DataEncryption>) -> World {
    let dir = TempDir::new("mitid-sim-saml");
    let keys = IdpKeys::load_or_create(&IdpKeys::folder(Some(&dir.0)).unwrap()).unwrap();
    let idp = IdentityProvider::new("http://127.0.0.1:9", keys);
    let sp_key = Credential::generate("pysaml2 test SP").unwrap();
    let key_file = dir.0.join("sp.key");
    let cert_file = dir.0.join("sp.crt");
    std::fs::write(&key_file, sp_key.private_key_pem()).unwrap();
    std::fs::write(&cert_file, sp_key.certificate().pem()).unwrap();
    let mut sp = PythonSp::start();
    let configured = sp.call(json!({
        "op": "configure",
        "entity_id": SP_ENTITY,
        "acs": SP_ACS,
        "slo": SP_SLO,
        "key_file": key_file,
        "cert_file": cert_file,
        "idp_metadata": idp_metadata(&idp).unwrap(),
        "want_response_signed": want_response_signed,
    }));
    let metadata = configured["metadata"].as_str().expect("SP metadata");
    let mut registered = ServiceProvider::from_metadata(metadata, "pysaml2 metadata").unwrap();
    if let Some(cipher) = cipher {
        registered.encryption_methods = vec![cipher];
    }
    let registry = SpRegistry::new();
    registry.register(registered).unwrap();
    World {
        idp,
        registry,
        sp,
        _dir: dir,
    }
}

fn person(loa: Loa) -> Subject {
    Subject {
        uuid: uuid::uuid!("6c5e9f7a-3c1b-4d8e-9a2f-1b2c3d4e5f60"),
        cpr_number: Some("0101901234".into()),
        cpr_uuid: Some(uuid::uuid!("0e3f1c2d-4b5a-4c6d-8e7f-9a0b1c2d3e4f")),
        first_name: "Søren".into(),
        last_name: "Æbelø".into(),
        full_name: "Søren Æbelø".into(),
        alias: None,
        email: Some("soren@example.dk".into()),
        date_of_birth: Some(time::macros::date!(1990 - 01 - 01)),
        age: Some(36),
        pid: None,
        loa,
        ial: loa,
        aal: loa,
        authn_instant: now(),
        professional: None,
    }
}

impl World {
    /// pysaml2 sends a signed AuthnRequest over `binding`; our parser reads it.
    fn request(&mut self, binding_name: &str, command: Value) -> AuthnRequest {
        let mut command = command;
        command["op"] = json!("authn_request");
        command["binding"] = json!(binding_name);
        let sent = self.sp.call(command);
        let received = match binding_name {
            "redirect" => {
                let url = sent["url"].as_str().unwrap_or_else(|| panic!("{sent}"));
                assert!(url.starts_with(&self.idp.endpoint), "{url}");
                binding::from_redirect(url.split_once('?').unwrap().1, Field::SamlRequest).unwrap()
            }
            _ => binding::from_post(
                sent["fields"]["SAMLRequest"].as_str(),
                sent["fields"]["RelayState"].as_str(),
                Field::SamlRequest,
            )
            .unwrap(),
        };
        let request = authn_request::parse(&received, &self.idp, &self.registry, now())
            .unwrap_or_else(|err| panic!("our parser refused pysaml2's request: {err:?}"));
        assert_eq!(request.id, sent["request_id"].as_str().unwrap());
        request
    }

    /// Our response to `request`, posted to pysaml2's ACS.
    fn respond(
        &mut self,
        request: &AuthnRequest,
        subject: &Subject,
        faults: &[ResponseFault],
        sign_response: bool,
    ) -> (Value, String) {
        let delivery = Delivery {
            sp: &request.sp,
            acs_url: &request.acs_url,
            in_response_to: &request.id,
            now: now(),
            sign_response,
        };
        let built = build_response(&self.idp, &delivery, subject, "_session-1", faults).unwrap();
        let posted = base64::engine::general_purpose::STANDARD.encode(&built.xml);
        let answer = self
            .sp
            .call(json!({"op": "acs_post", "saml_response": posted}));
        (answer, built.assertion_id)
    }
}

/// The real time: pysaml2 checks our times against its own clock.
fn now() -> OffsetDateTime {
    mitid_sim::broker::clock::Clock::with_offset(time::Duration::ZERO).now()
}

fn attribute<'a>(answer: &'a Value, name: &str) -> &'a str {
    answer["attributes"][name][0]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {answer}"))
}

#[test]
fn pysaml2_logs_a_person_in_over_both_bindings_at_each_level() {
    let mut world = world(false, None);
    for (binding_name, loa) in [
        ("redirect", Loa::Low),
        ("post", Loa::Substantial),
        ("redirect", Loa::High),
    ] {
        let class = format!(
            "https://data.gov.dk/concept/core/nsis/loa/{}",
            loa_name(loa)
        );
        let request = world.request(
            binding_name,
            json!({"class_refs": [class, "https://data.gov.dk/eid/Person"], "force_authn": true, "relay_state": "rs-1"}),
        );
        assert_eq!(request.minimum_loa(), loa);
        assert_eq!(request.profiles, vec![Profile::Person]);
        assert!(request.force_authn && !request.is_passive);
        assert_eq!(request.relay_state.as_deref(), Some("rs-1"));
        assert_eq!(request.acs_url, SP_ACS);
        let (answer, assertion_id) = world.respond(&request, &person(loa), &[], false);
        assert_eq!(answer["ok"], json!(true), "{answer}");
        assert_eq!(answer["assertion_id"], json!(assertion_id));
        assert_eq!(answer["encrypted"], json!(true));
        assert_eq!(answer["assertion_signed"], json!(true));
        assert_eq!(
            answer["response_signed"],
            json!(false),
            "OIOSAML 3: not directly signed"
        );
        assert_eq!(
            answer["name_id"],
            json!("https://data.gov.dk/model/core/eid/person/uuid/6c5e9f7a-3c1b-4d8e-9a2f-1b2c3d4e5f60")
        );
        assert_eq!(
            answer["name_id_format"],
            json!("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
        );
        assert_eq!(answer["session_index"], json!("_session-1"));
        assert_eq!(answer["authn_context"], json!(class));
        assert_eq!(
            attribute(&answer, "https://data.gov.dk/model/core/specVersion"),
            "OIO-SAML-3.0"
        );
        assert_eq!(
            attribute(&answer, "https://data.gov.dk/concept/core/nsis/loa"),
            loa_name(loa)
        );
        assert_eq!(
            attribute(&answer, "https://data.gov.dk/model/core/eid/cprNumber"),
            "0101901234"
        );
        assert_eq!(
            attribute(&answer, "https://data.gov.dk/model/core/eid/fullName"),
            "Søren Æbelø"
        );
    }
}

fn loa_name(loa: Loa) -> &'static str {
    match loa {
        Loa::Low => "Low",
        Loa::Substantial => "Substantial",
        Loa::High => "High",
    }
}

#[test]
fn pysaml2_logs_an_employee_in_with_the_professional_attributes_and_decrypts_aes_gcm() {
    let mut world = world(false, Some(DataEncryption::Aes256Gcm));
    let request = world.request(
        "post",
        json!({"class_refs": ["https://data.gov.dk/eid/Professional"], "is_passive": true}),
    );
    assert_eq!(request.profiles, vec![Profile::Professional]);
    assert!(request.is_passive);
    let mut employee = person(Loa::Substantial);
    employee.professional = Some(Professional {
        uuid: uuid::uuid!("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"),
        cvr: Cvr::parse("98765432").unwrap(),
        organisation_name: "Testfirma ApS".into(),
        rid: None,
        production_unit: None,
        se_number: None,
        authorized_to_represent: None,
        privileges: vec![PrivilegeGroup {
            scope: PrivilegeScope::parse("urn:dk:gov:saml:cvrNumberIdentifier:98765432").unwrap(),
            privileges: vec![PrivilegeUri::parse("urn:dk:example:privilege:read").unwrap()],
            constraints: Default::default(),
        }],
    });
    let (answer, _) = world.respond(&request, &employee, &[], false);
    assert_eq!(answer["ok"], json!(true), "{answer}");
    assert_eq!(
        answer["name_id"],
        json!("https://data.gov.dk/model/core/eid/professional/uuid/a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
    );
    assert_eq!(
        attribute(
            &answer,
            "https://data.gov.dk/model/core/eid/professional/cvr"
        ),
        "98765432"
    );
    assert_eq!(
        attribute(
            &answer,
            "https://data.gov.dk/model/core/eid/professional/orgName"
        ),
        "Testfirma ApS"
    );
    let privileges = base64::engine::general_purpose::STANDARD
        .decode(attribute(
            &answer,
            "https://data.gov.dk/model/core/eid/privilegesIntermediate",
        ))
        .unwrap();
    assert!(String::from_utf8(privileges)
        .unwrap()
        .contains("urn:dk:example:privilege:read"));
}

#[test]
fn pysaml2_refuses_each_response_fault() {
    let mut world = world(false, None);
    // Each fault, and the words of pysaml2's refusal that show it refused for that reason.
    let faults = [
        (
            ResponseFault::UnsignedAssertion,
            "Signature missing for assertion",
        ),
        (
            ResponseFault::SignatureWrapping,
            "Signature verification failed",
        ),
        (
            ResponseFault::WrongAudience,
            "AudienceRestrictions conditions not satisfied",
        ),
        (ResponseFault::ExpiredNotOnOrAfter, "too old"),
        (ResponseFault::WrongInResponseTo, "Unsolicited response"),
        (ResponseFault::WrongRecipient, "No valid recipient"),
        (
            ResponseFault::AssertionNotEncrypted,
            "exactly one EncryptedAssertion",
        ),
    ];
    for (fault, reason) in faults {
        let request = world.request("redirect", json!({}));
        let (answer, _) = world.respond(
            &request,
            &person(Loa::Substantial),
            std::slice::from_ref(&fault),
            false,
        );
        assert_eq!(
            answer["ok"],
            json!(false),
            "{} was accepted: {answer}",
            fault.name()
        );
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.contains(reason),
            "{}: refused for another reason: {error}",
            fault.name()
        );
        // The same request answered properly still logs in: the refusal was the fault's.
        let (answer, _) = world.respond(&request, &person(Loa::Substantial), &[], false);
        assert_eq!(
            answer["ok"],
            json!(true),
            "after {}: {answer}",
            fault.name()
        );
    }
    // A replay: an assertion ID the SP has seen before, in an otherwise valid response.
    let request = world.request("post", json!({}));
    let (answer, first_assertion) = world.respond(&request, &person(Loa::Substantial), &[], false);
    assert_eq!(answer["ok"], json!(true), "{answer}");
    let request = world.request("post", json!({}));
    let replay = ResponseFault::ReplayedAssertion {
        assertion_id: first_assertion,
    };
    let (answer, _) = world.respond(&request, &person(Loa::Substantial), &[replay], false);
    assert_eq!(
        answer["ok"],
        json!(false),
        "a replayed assertion was accepted: {answer}"
    );
    assert!(
        answer["error"].as_str().unwrap().contains("replay"),
        "{answer}"
    );
}

#[test]
fn an_sp_that_wants_signed_responses_refuses_an_unsigned_one() {
    let mut world = world(true, None);
    let request = world.request("redirect", json!({}));
    let (answer, _) = world.respond(
        &request,
        &person(Loa::Substantial),
        &[ResponseFault::UnsignedResponse],
        true,
    );
    assert_eq!(answer["ok"], json!(false), "{answer}");
    let (answer, _) = world.respond(&request, &person(Loa::Substantial), &[], true);
    assert_eq!(answer["ok"], json!(true), "{answer}");
    assert_eq!(answer["response_signed"], json!(true));
}

#[test]
fn pysaml2_logout_requests_are_accepted_and_our_answers_verified_over_each_binding() {
    let mut world = world(false, None);
    let name_id =
        "https://data.gov.dk/model/core/eid/person/uuid/6c5e9f7a-3c1b-4d8e-9a2f-1b2c3d4e5f60";
    for binding_name in ["redirect", "post", "soap"] {
        let sent = world.sp.call(json!({
            "op": "logout_request",
            "binding": binding_name,
            "destination": world.idp.endpoint,
            "idp_entity_id": world.idp.entity_id,
            "name_id": name_id,
            "session_index": "_session-1",
            "relay_state": "bye",
        }));
        let received = match binding_name {
            "redirect" => binding::from_redirect(
                sent["url"].as_str().unwrap().split_once('?').unwrap().1,
                Field::SamlRequest,
            ),
            "post" => binding::from_post(
                sent["fields"]["SAMLRequest"].as_str(),
                Some("bye"),
                Field::SamlRequest,
            ),
            _ => binding::from_soap(sent["soap"].as_str().unwrap()),
        }
        .unwrap();
        let request = logout::parse_request(&received, &world.idp, &world.registry, now())
            .unwrap_or_else(|err| panic!("{binding_name}: {err}"));
        assert_eq!(request.name_id, name_id);
        assert_eq!(request.session_indexes, vec!["_session-1".to_string()]);
        assert_eq!(request.id, sent["request_id"].as_str().unwrap());
        let answer =
            logout::response_to_sp(&world.idp, &request, &Status::success(), now()).unwrap();
        // Our LogoutResponse goes back by POST, signed inside; pysaml2 verifies it.
        let form = answer
            .post(&world.idp, Field::SamlResponse, Some("bye"))
            .unwrap();
        let verdict = world.sp.call(json!({
            "op": "logout_response",
            "binding": "post",
            "message": form.fields[0].1,
        }));
        assert_eq!(verdict["ok"], json!(true), "{binding_name}: {verdict}");
        let mut forged = world.idp.clone();
        forged.keys.signing = Credential::generate("forger").unwrap();
        let form = answer
            .post(&forged, Field::SamlResponse, Some("bye"))
            .unwrap();
        let refused = world.sp.call(json!({
            "op": "logout_response",
            "binding": "post",
            "message": form.fields[0].1,
        }));
        assert_eq!(
            refused["ok"],
            json!(false),
            "a forged LogoutResponse was accepted: {refused}"
        );
        assert_eq!(verdict["status"], json!(status::SUCCESS));
    }
}

#[test]
fn an_idp_initiated_logout_is_verified_by_pysaml2_and_its_signed_answer_by_us() {
    let mut world = world(false, None);
    let sp = world.registry.get(SP_ENTITY).unwrap();
    for binding_name in ["post", "soap"] {
        let endpoint = sp
            .single_logout_service(match binding_name {
                "post" => mitid_sim::protocols::saml::vocabulary::Binding::HttpPost,
                _ => mitid_sim::protocols::saml::vocabulary::Binding::Soap,
            })
            .unwrap();
        let outgoing = logout::request_to_sp(&world.idp, endpoint, "nameid-7", "_session-7", now());
        let message = match binding_name {
            "post" => outgoing
                .post(&world.idp, Field::SamlRequest, None)
                .unwrap()
                .fields[0]
                .1
                .clone(),
            _ => outgoing.soap(&world.idp).unwrap(),
        };
        let answer = world.sp.call(json!({
            "op": "idp_logout_request",
            "binding": binding_name,
            "message": message,
            "destination": world.idp.endpoint,
        }));
        assert_eq!(answer["ok"], json!(true), "{binding_name}: {answer}");
        assert_eq!(answer["request_id"], json!(outgoing.id));
        assert_eq!(answer["session_indexes"], json!(["_session-7"]));
        let url = answer["url"].as_str().unwrap();
        let received =
            binding::from_redirect(url.split_once('?').unwrap().1, Field::SamlResponse).unwrap();
        let response =
            logout::parse_response(&received, &world.idp, &world.registry, &outgoing.id, now())
                .unwrap_or_else(|err| panic!("{binding_name}: {err}"));
        assert!(response.is_success(), "{response:?}");
    }
    // A LogoutRequest signed by someone else is refused by pysaml2.
    let mut forged = world.idp.clone();
    forged.keys.signing = Credential::generate("forger").unwrap();
    let endpoint = sp
        .single_logout_service(mitid_sim::protocols::saml::vocabulary::Binding::HttpPost)
        .unwrap();
    let outgoing = logout::request_to_sp(&forged, endpoint, "nameid-7", "_session-7", now());
    let message = outgoing
        .post(&forged, Field::SamlRequest, None)
        .unwrap()
        .fields[0]
        .1
        .clone();
    let answer = world.sp.call(json!({
        "op": "idp_logout_request", "binding": "post", "message": message, "destination": world.idp.endpoint,
    }));
    assert_eq!(answer["ok"], json!(false), "{answer}");
}

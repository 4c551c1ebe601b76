//! NemLog-in end to end, against a broker on port 0 and an independent SP library: pysaml2
//! (Python) makes the AuthnRequests and LogoutRequests, verifies our signatures, decrypts
//! the assertions and refuses what is wrong; the test is the browser in between, through
//! the MitID pages or headless.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{browser, spawn_app, TestApp};
use crate::pysaml2::{Seen, Sp, SpSetup};
use crate::sessions::{backchannel_ok, spawn_rps, wait_for_logout_tokens, RP_A};

const LOA: &str = "https://data.gov.dk/concept/core/nsis/loa/";
const PERSON: &str = "https://data.gov.dk/eid/Person";
const PROFESSIONAL: &str = "https://data.gov.dk/eid/Professional";
const PERSON_NAME_ID: &str = "https://data.gov.dk/model/core/eid/person/uuid/";
/// Carl Automatisk (`app.approve`) as company signatory of Testfirma ApS.
const CARL_AT_TESTFIRMA: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f02";
const ANNA_AT_TESTFIRMA: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01";
/// Bjørn (`to.firmaer`, two professional identities) as company signatory of the second
/// organisation.
const BJORN_AS_SIGNATORY: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f04";

fn attribute<'a>(answer: &'a Value, name: &str) -> &'a str {
    answer["attributes"][name][0]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {answer}"))
}

fn request(level: &str, profile: &str) -> Value {
    json!({ "class_refs": [format!("{LOA}{level}"), profile] })
}

/// The broker session the SP's `SessionIndex` names, as the admin API shows it.
async fn session_of(app: &TestApp, answer: &Value) -> Value {
    let index = answer["session_index"].as_str().unwrap();
    app.sessions_json()
        .await
        .into_iter()
        .find(|s| s["id"] == index)
        .unwrap_or_else(|| panic!("SessionIndex {index} is no broker session"))
}

/// What a full login shows of the profile, with the values that change with the date
/// (age) redacted, for the snapshot.
fn profile_view(answer: &Value) -> Value {
    let mut attributes = answer["attributes"].clone();
    if let Some(age) = attributes.get_mut("https://data.gov.dk/model/core/eid/age") {
        *age = json!(["[age]"]);
    }
    json!({
        "name_id": answer["name_id"],
        "name_id_format": answer["name_id_format"],
        "authn_context": answer["authn_context"],
        "encrypted": answer["encrypted"],
        "assertion_signed": answer["assertion_signed"],
        "attributes": attributes,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_logs_in_through_the_mitid_pages_at_each_level_over_both_bindings() {
    let app = spawn_app().await;
    let mut sp = Sp::registered(&app, "niveauer", SpSetup::default()).await;
    for (binding, level, user_id) in [
        ("redirect", "Low", "kun.kode"),
        ("post", "Substantial", "app.approve"),
        ("redirect", "High", "app.high"),
    ] {
        let mut login = request(level, PERSON);
        login["relay_state"] = json!(format!("tilbage-til-{level}"));
        let (request_id, seen) = sp.start_login(&app, binding, login, &[]).await;
        let page = seen.pages();
        assert!(
            page.html.contains("Tjeneste niveauer"),
            "the pages name the SP"
        );
        let form = app.finish_at_pages(Seen::Pages(page), user_id).await;
        assert_eq!(
            form.fields["RelayState"],
            format!("tilbage-til-{level}"),
            "RelayState comes back"
        );
        let answer = sp.acs(&form);
        assert_eq!(answer["ok"], json!(true), "{level}: {answer}");
        assert_eq!(answer["in_response_to"], json!(request_id));
        assert_eq!(answer["encrypted"], json!(true));
        assert_eq!(answer["assertion_signed"], json!(true));
        assert_eq!(answer["authn_context"], json!(format!("{LOA}{level}")));
        assert_eq!(
            attribute(&answer, "https://data.gov.dk/concept/core/nsis/loa"),
            level
        );
        let citizen = app.citizen(user_id);
        assert_eq!(
            answer["name_id"],
            json!(format!("{PERSON_NAME_ID}{}", citizen.uuid))
        );
        assert_eq!(
            attribute(&answer, "https://data.gov.dk/model/core/eid/cprNumber"),
            citizen.cpr.unwrap().compact()
        );
        assert_eq!(
            attribute(&answer, "https://data.gov.dk/model/core/eid/fullName"),
            citizen.name
        );
        let session = session_of(&app, &answer).await;
        assert_eq!(session["scope"], "group:nemlogin");
        assert_eq!(
            session["service_providers"][&sp.entity_id]["subject"], answer["name_id"],
            "the SP takes part in the broker session with its NameID"
        );
        if level == "Substantial" {
            insta::assert_json_snapshot!("nemlogin_person_full_login", profile_view(&answer));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_logs_in_with_the_professional_profile_through_the_pages_and_headless() {
    let app = spawn_app().await;
    let mut sp = Sp::registered(&app, "erhverv", SpSetup::default()).await;
    let answer = sp
        .log_in(
            &app,
            "redirect",
            request("Substantial", PROFESSIONAL),
            "app.approve",
        )
        .await;
    assert_eq!(
        answer["name_id"],
        json!(format!(
            "https://data.gov.dk/model/core/eid/professional/uuid/{CARL_AT_TESTFIRMA}"
        ))
    );
    assert_eq!(
        attribute(
            &answer,
            "https://data.gov.dk/model/core/eid/professional/cvr"
        ),
        "91234564"
    );
    assert_eq!(
        attribute(
            &answer,
            "https://data.gov.dk/model/core/eid/professional/authorizedToRepresent"
        ),
        "91234564",
        "a company signatory represents the company"
    );
    insta::assert_json_snapshot!("nemlogin_professional_full_login", profile_view(&answer));

    // Headless: the professional identity named by mitid-sim's simulation parameter.
    let mut app = app;
    app.browser = browser();
    let simulation = format!("no-ui mitid_erhverv_uuid:{ANNA_AT_TESTFIRMA}");
    let (_, seen) = sp
        .start_login(
            &app,
            "post",
            request("Substantial", PROFESSIONAL),
            &[("simulation", &simulation)],
        )
        .await;
    let answer = sp.acs(&seen.form());
    assert_eq!(answer["ok"], json!(true), "{answer}");
    assert!(answer["name_id"]
        .as_str()
        .unwrap()
        .ends_with(ANNA_AT_TESTFIRMA));
    assert_eq!(
        attribute(
            &answer,
            "https://data.gov.dk/model/core/eid/professional/orgName"
        ),
        "Testfirma ApS"
    );
    // A request for either profile: a person with no professional identity goes on as
    // themselves.
    app.browser = browser();
    let (_, seen) = sp
        .start_login(
            &app,
            "redirect",
            json!({ "class_refs": [format!("{LOA}Substantial")] }),
            &[("simulation", "no-ui username:kodeviser")],
        )
        .await;
    let answer = sp.acs(&seen.form());
    assert_eq!(answer["ok"], json!(true), "{answer}");
    assert!(answer["name_id"]
        .as_str()
        .unwrap()
        .starts_with(PERSON_NAME_ID));

    // `ui mitid_erhverv_uuid:`: the pages start at the authenticator of the MitID behind the
    // identity, and of the person's two identities the named one is chosen for them (the
    // driver knows no choice page).
    app.browser = browser();
    let simulation = format!("ui mitid_erhverv_uuid:{BJORN_AS_SIGNATORY}");
    let (_, seen) = sp
        .start_login(
            &app,
            "redirect",
            request("Substantial", PROFESSIONAL),
            &[("simulation", &simulation)],
        )
        .await;
    let Seen::Pages(page) = seen else {
        panic!("ui shows the pages: {seen:?}");
    };
    assert_eq!(crate::helpers::step_of(&page), "app", "no user ID to type");
    let form = app.finish_at_pages(Seen::Pages(page), "to.firmaer").await;
    let answer = sp.acs(&form);
    assert_eq!(answer["ok"], json!(true), "{answer}");
    assert!(answer["name_id"]
        .as_str()
        .unwrap()
        .ends_with(BJORN_AS_SIGNATORY));
    assert_eq!(
        attribute(
            &answer,
            "https://data.gov.dk/model/core/eid/professional/cvr"
        ),
        "98765433"
    );
    // Naming an identity for a Person-only request is refused at the ACS.
    app.browser = browser();
    let (_, seen) = sp
        .start_login(
            &app,
            "redirect",
            request("Substantial", PERSON),
            &[("simulation", &simulation)],
        )
        .await;
    let form = seen.form();
    let status = sp
        .python
        .call(json!({"op": "status_of", "saml_response": form.fields["SAMLResponse"]}));
    assert_eq!(
        status["status_codes"],
        json!([
            "urn:oasis:names:tc:SAML:2.0:status:Requester",
            "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported",
        ]),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_logins_by_simulation_and_by_a_scripted_app_need_no_page() {
    let mut app = spawn_app().await;
    let mut sp = Sp::registered(&app, "ci", SpSetup::default()).await;
    // anna.jensen's app waits for a swipe, but no-ui needs none.
    let (_, seen) = sp
        .start_login(
            &app,
            "redirect",
            request("Substantial", PERSON),
            &[("simulation", "no-ui username:anna.jensen")],
        )
        .await;
    let answer = sp.acs(&seen.form());
    assert_eq!(answer["ok"], json!(true), "{answer}");
    assert_eq!(
        attribute(&answer, "https://data.gov.dk/model/core/eid/fullName"),
        "Anna Jensen"
    );
    // A scripted app (app.instant approves at once): the user ID, then the answer.
    app.browser = browser();
    let answer = sp
        .log_in(&app, "post", request("Substantial", PERSON), "app.instant")
        .await;
    assert_eq!(
        attribute(&answer, "https://data.gov.dk/model/core/eid/fullName"),
        "Hanne Hurtig"
    );
    // Simulation errors are SAML statuses at the ACS, verified by pysaml2.
    for (simulation, codes) in [
        (
            "no-ui username:nobody",
            [
                "urn:oasis:names:tc:SAML:2.0:status:Responder",
                "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal",
            ],
        ),
        (
            "no-ui nonsense:1",
            [
                "urn:oasis:names:tc:SAML:2.0:status:Requester",
                "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported",
            ],
        ),
    ] {
        app.browser = browser();
        let (_, seen) = sp
            .start_login(
                &app,
                "redirect",
                request("Substantial", PERSON),
                &[("simulation", simulation)],
            )
            .await;
        let form = seen.form();
        let status = sp
            .python
            .call(json!({"op": "status_of", "saml_response": form.fields["SAMLResponse"]}));
        assert_eq!(
            status["status_codes"],
            json!(codes),
            "{simulation}: {status}"
        );
    }
    // An SP registered without simulation shows the pages, whatever the parameter says.
    // (Its record as the admin API shows it registers it again.)
    let path = format!("/nemlogin/service-providers/{}", url_segment(&sp.entity_id));
    let (_, mut record) = app.admin(Method::GET, &path, None).await;
    record.as_object_mut().unwrap().remove("pending_faults");
    record["allow_simulation"] = json!(false);
    let (status, replaced) = app
        .admin(Method::POST, "/nemlogin/service-providers", Some(record))
        .await;
    assert_eq!(status, StatusCode::OK, "replaced: {replaced}");
    assert_eq!(replaced["allow_simulation"], json!(false));
    app.browser = browser();
    let (_, seen) = sp
        .start_login(
            &app,
            "redirect",
            request("Substantial", PERSON),
            &[("simulation", "no-ui username:anna.jensen")],
        )
        .await;
    assert!(matches!(seen, Seen::Pages(_)), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_authn_is_passive_and_the_minimum_level_decide_whether_the_pages_show() {
    let mut app = spawn_app().await;
    let mut sp = Sp::registered(&app, "sso", SpSetup::default()).await;
    let first = sp
        .log_in(
            &app,
            "redirect",
            request("Substantial", PERSON),
            "app.approve",
        )
        .await;
    // The session answers a plain request and an IsPassive one without pages.
    for passive in [false, true] {
        let mut login = request("Low", PERSON);
        login["is_passive"] = json!(passive);
        let (_, seen) = sp.start_login(&app, "redirect", login, &[]).await;
        let answer = sp.acs(&seen.form());
        assert_eq!(answer["ok"], json!(true), "{answer}");
        assert_eq!(answer["session_index"], first["session_index"]);
        assert_eq!(answer["name_id"], first["name_id"]);
    }
    // ForceAuthn: the citizen authenticates again, in the same session.
    let mut login = request("Substantial", PERSON);
    login["force_authn"] = json!(true);
    let (_, seen) = sp.start_login(&app, "post", login, &[]).await;
    let form = app
        .finish_at_pages(Seen::Pages(seen.pages()), "app.approve")
        .await;
    let again = sp.acs(&form);
    assert_eq!(again["ok"], json!(true), "{again}");
    assert_eq!(again["session_index"], first["session_index"]);
    // A higher minimum than the session's: the pages, where app.approve cannot reach High.
    let (_, seen) = sp
        .start_login(&app, "redirect", request("High", PERSON), &[])
        .await;
    let form = app
        .finish_at_pages(Seen::Pages(seen.pages()), "app.approve")
        .await;
    let status = sp
        .python
        .call(json!({"op": "status_of", "saml_response": form.fields["SAMLResponse"]}));
    assert_eq!(
        status["status_codes"],
        json!([
            "urn:oasis:names:tc:SAML:2.0:status:Responder",
            "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
        ]),
        "{status}"
    );
    // A browser without a session: IsPassive gets NoPassive, never a page.
    app.browser = browser();
    let mut login = request("Substantial", PERSON);
    login["is_passive"] = json!(true);
    let (_, seen) = sp.start_login(&app, "redirect", login, &[]).await;
    let form = seen.form();
    let status = sp
        .python
        .call(json!({"op": "status_of", "saml_response": form.fields["SAMLResponse"]}));
    assert_eq!(
        status["status_codes"],
        json!([
            "urn:oasis:names:tc:SAML:2.0:status:Responder",
            "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
        ]),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_authn_request_is_refused_on_a_page() {
    let app = spawn_app().await;
    let mut sp = Sp::registered(&app, "gentaget", SpSetup::default()).await;
    let sent = sp.python.call(json!({
        "op": "authn_request", "binding": "redirect", "class_refs": [format!("{LOA}Substantial")],
    }));
    let url = sent["url"].as_str().unwrap();
    assert!(matches!(app.saml_get(url).await, Seen::Pages(_)));
    match app.saml_get(url).await {
        Seen::Other(status, html) => {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(html.contains("was received before"), "{html}");
        }
        other => panic!("a replayed request was served: {other:?}"),
    }
}

/// Logs `user_id` in at `sp` without pages and returns pysaml2's view of the assertion.
async fn headless(app: &TestApp, sp: &mut Sp, user_id: &str) -> Value {
    let simulation = format!("no-ui username:{user_id}");
    let (_, seen) = sp
        .start_login(
            app,
            "redirect",
            request("Substantial", PERSON),
            &[("simulation", &simulation)],
        )
        .await;
    let answer = sp.acs(&seen.form());
    assert_eq!(answer["ok"], json!(true), "{answer}");
    answer
}

/// The SP's LogoutRequest for the session it got `answer` in.
fn logout_request(app: &TestApp, sp: &mut Sp, binding: &str, answer: &Value) -> Value {
    sp.python.call(json!({
        "op": "logout_request",
        "binding": binding,
        "destination": format!("{}/nemlogin/idp/saml/3.0/", app.sim.base_url()),
        "idp_entity_id": format!("{}/nemlogin", app.sim.base_url()),
        "name_id": answer["name_id"],
        "session_index": answer["session_index"],
        "relay_state": "farvel",
    }))
}

async fn soap_post(app: &TestApp, body: &str) -> (StatusCode, String) {
    let response = app
        .browser
        .post(app.url("/nemlogin/idp/saml/3.0/"))
        .header("content-type", "text/xml; charset=utf-8")
        .header(
            "soapaction",
            "http://www.oasis-open.org/committees/security",
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sp_logs_out_over_each_binding_and_pysaml2_verifies_the_answer() {
    let mut app = spawn_app().await;
    let mut sp = Sp::registered(&app, "logaf", SpSetup::default()).await;
    for binding in ["redirect", "post", "soap"] {
        app.browser = browser();
        let answer = headless(&app, &mut sp, "app.approve").await;
        let sent = logout_request(&app, &mut sp, binding, &answer);
        let verdict = match binding {
            "redirect" => {
                let to = app.saml_get(sent["url"].as_str().unwrap()).await.redirect();
                assert!(to.starts_with("https://logaf.example.dk/saml/slo?"), "{to}");
                assert!(to.contains("RelayState=farvel"), "{to}");
                sp.python
                    .call(json!({"op": "logout_response", "binding": "redirect", "url": to}))
            }
            "post" => {
                let fields: Vec<(String, String)> = sent["fields"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                let form = app
                    .saml_post(sent["url"].as_str().unwrap(), &fields)
                    .await
                    .form();
                assert_eq!(form.action, "https://logaf.example.dk/saml/slo");
                assert_eq!(form.fields["RelayState"], "farvel");
                sp.python.call(json!({
                    "op": "logout_response", "binding": "post", "message": form.fields["SAMLResponse"],
                }))
            }
            _ => {
                let (status, body) = soap_post(&app, sent["soap"].as_str().unwrap()).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                sp.python
                    .call(json!({"op": "logout_response", "binding": "soap", "message": body}))
            }
        };
        assert_eq!(verdict["ok"], json!(true), "{binding}: {verdict}");
        assert_eq!(
            verdict["status"],
            json!("urn:oasis:names:tc:SAML:2.0:status:Success")
        );
        assert_eq!(verdict["in_response_to"], sent["request_id"]);
        let index = answer["session_index"].as_str().unwrap();
        assert!(
            app.sessions_json().await.iter().all(|s| s["id"] != index),
            "{binding}: the broker session ended"
        );
        if binding != "soap" {
            // The browser's SSO cookie is gone: IsPassive finds no session.
            let mut login = request("Substantial", PERSON);
            login["is_passive"] = json!(true);
            let (_, seen) = sp.start_login(&app, "redirect", login, &[]).await;
            let status = sp.python.call(
                json!({"op": "status_of", "saml_response": seen.form().fields["SAMLResponse"]}),
            );
            assert_eq!(
                status["status_codes"][1],
                "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
            );
        }
    }
}

async fn nemlogin_logouts(app: &TestApp) -> Vec<Value> {
    let (status, logouts) = app.admin(Method::GET, "/nemlogin/logouts", None).await;
    assert_eq!(status, StatusCode::OK);
    logouts.as_array().unwrap().clone()
}

/// Waits until the SP's SOAP endpoint has received `count` LogoutRequests.
async fn soap_logouts(sp: &mut Sp, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let received = sp.python.call(json!({"op": "received_logouts"}))["received"]
            .as_array()
            .unwrap()
            .clone();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the SP's SOAP endpoint never received {count} LogoutRequest(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_logout_reaches_every_sp_of_the_session_through_the_browser_and_over_soap() {
    let mut app = spawn_app().await;
    let mut starter = Sp::registered(&app, "start", SpSetup::default()).await;
    let mut browser_only = Sp::registered(
        &app,
        "browser",
        SpSetup {
            slo_bindings: &["redirect"],
            ..SpSetup::default()
        },
    )
    .await;
    let mut back_channel = Sp::registered(
        &app,
        "soap",
        SpSetup {
            serve_soap: true,
            ..SpSetup::default()
        },
    )
    .await;
    let answer = headless(&app, &mut starter, "app.approve").await;
    // The other two log in through the NemLog-in session: one broker session for all.
    for sp in [&mut browser_only, &mut back_channel] {
        let (_, seen) = sp
            .start_login(&app, "redirect", request("Substantial", PERSON), &[])
            .await;
        let other = sp.acs(&seen.form());
        assert_eq!(other["session_index"], answer["session_index"]);
    }
    let session = answer["session_index"].as_str().unwrap().to_string();

    // The first SP logs out: the SOAP one hears over SOAP, the other through the browser.
    let sent = logout_request(&app, &mut starter, "redirect", &answer);
    let to_other = app.saml_get(sent["url"].as_str().unwrap()).await.redirect();
    assert!(
        to_other.starts_with("https://browser.example.dk/saml/slo?SAMLRequest="),
        "{to_other}"
    );
    let heard = soap_logouts(&mut back_channel, 1).await;
    assert_eq!(heard[0]["ok"], json!(true), "{heard:?}");
    assert_eq!(heard[0]["session_indexes"], json!([session]));
    let verified = browser_only.python.call(json!({
        "op": "idp_logout_request", "binding": "redirect", "url": to_other,
        "destination": format!("{}/nemlogin/idp/saml/3.0/", app.sim.base_url()),
    }));
    assert_eq!(verified["ok"], json!(true), "{verified}");
    assert_eq!(verified["session_indexes"], json!([session]));
    // The SP's signed LogoutResponse goes back through the browser; the chain ends at the
    // SP that asked, with Success.
    let to_starter = app
        .saml_get(verified["url"].as_str().unwrap())
        .await
        .redirect();
    assert!(to_starter.starts_with("https://start.example.dk/saml/slo?SAMLResponse="));
    let verdict = starter
        .python
        .call(json!({"op": "logout_response", "binding": "redirect", "url": to_starter}));
    assert_eq!(
        verdict["ok"],
        json!(true),
        "{verdict}\n{:#?}",
        nemlogin_logouts(&app).await
    );
    assert_eq!(
        verdict["status"],
        json!("urn:oasis:names:tc:SAML:2.0:status:Success")
    );
    let logouts = nemlogin_logouts(&app).await;
    for (entity, binding) in [
        (&back_channel.entity_id, "soap"),
        (&browser_only.entity_id, "redirect"),
    ] {
        assert!(
            logouts.iter().any(|d| d["entity_id"] == *entity
                && d["binding"] == binding
                && d["state"] == "logged_out"),
            "{entity}: {logouts:?}"
        );
    }

    // Started by the IdP (the admin API ends the session): SOAP reaches the SP that has a
    // SOAP endpoint; the record says the browser-only one could not be reached.
    app.browser = browser();
    let answer = headless(&app, &mut back_channel, "app.approve").await;
    let (_, seen) = browser_only
        .start_login(&app, "redirect", request("Substantial", PERSON), &[])
        .await;
    browser_only.acs(&seen.form());
    let session = answer["session_index"].as_str().unwrap();
    let (status, _) = app
        .admin(Method::DELETE, &format!("/sessions/{session}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let heard = soap_logouts(&mut back_channel, 2).await;
    assert_eq!(heard[1]["ok"], json!(true), "{heard:?}");
    assert_eq!(heard[1]["session_indexes"], json!([session]));
    let logouts = nemlogin_logouts(&app).await;
    assert!(
        logouts
            .iter()
            .any(|d| d["entity_id"] == browser_only.entity_id
                && d["session"] == session
                && d["state"] == "not_reachable"),
        "{logouts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_logout_reaches_oidc_clients_and_saml_sps_that_share_the_nemlogin_session() {
    let rp = backchannel_ok().await;
    let other_rp = backchannel_ok().await;
    let app = spawn_rps(&rp, &other_rp, Some("nemlogin")).await;
    let mut sp = Sp::registered(
        &app,
        "blandet",
        SpSetup {
            serve_soap: true,
            ..SpSetup::default()
        },
    )
    .await;
    // SAML first, then the OIDC client of the nemlogin SSO group gets in without pages.
    let answer = sp
        .log_in(
            &app,
            "redirect",
            request("Substantial", PERSON),
            "app.approve",
        )
        .await;
    let response = app.get(&app.rp_authorize_url("rp-a", RP_A, &[])).await;
    let callback = crate::helpers::assert_is_redirect_to(&response, RP_A);
    let tokens = app.rp_tokens("rp-a", "secret-a", RP_A, &callback).await;
    let claims = crate::helpers::decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        claims["neb_sid"], answer["session_index"],
        "one broker session"
    );
    // The SP logs out over SOAP: the OIDC client gets its back-channel logout token.
    let sent = logout_request(&app, &mut sp, "soap", &answer);
    let (status, body) = soap_post(&app, sent["soap"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tokens = wait_for_logout_tokens(&rp, 1).await;
    let logout = crate::helpers::decode_claims(&tokens[0]);
    assert_eq!(logout["sid"], answer["session_index"]);

    // OIDC first this time; its RP-initiated logout reaches the SP over SOAP.
    let callback = app
        .drive_login(
            "app.approve",
            &[("client_id", "rp-a"), ("redirect_uri", RP_A)],
        )
        .await;
    let tokens = app.rp_tokens("rp-a", "secret-a", RP_A, &callback).await;
    let (_, seen) = sp
        .start_login(&app, "post", request("Substantial", PERSON), &[])
        .await;
    let answer = sp.acs(&seen.form());
    assert_eq!(answer["ok"], json!(true), "{answer}");
    let claims = crate::helpers::decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["neb_sid"], answer["session_index"]);
    let end = app
        .get(&app.url(&format!(
            "/op/connect/endsession?id_token_hint={}",
            tokens["id_token"].as_str().unwrap()
        )))
        .await;
    assert!(end.status().is_success() || end.status().is_redirection());
    let heard = soap_logouts(&mut sp, 1).await;
    assert_eq!(heard[0]["ok"], json!(true), "{heard:?}");
    assert_eq!(
        heard[0]["session_indexes"],
        json!([answer["session_index"]])
    );
    assert_eq!(heard[0]["name_id"], answer["name_id"]);
    // The SP's signed answer was verified and recorded.
    for _ in 0..100 {
        let logouts = nemlogin_logouts(&app).await;
        if logouts
            .iter()
            .any(|d| d["session"] == answer["session_index"] && d["state"] == "logged_out")
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{:#?}", nemlogin_logouts(&app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysaml2_refuses_each_fault_the_admin_api_injects() {
    let mut app = spawn_app().await;
    let mut sp = Sp::registered(
        &app,
        "fejl",
        SpSetup {
            want_response_signed: true,
            ..SpSetup::default()
        },
    )
    .await;
    let entity = url_segment(&sp.entity_id);
    let faults = [
        ("unsigned_response", "Signature missing for response"),
        ("unsigned_assertion", "Signature missing for assertion"),
        ("signature_wrapping", "Signature verification failed"),
        (
            "wrong_audience",
            "AudienceRestrictions conditions not satisfied",
        ),
        ("expired_not_on_or_after", "too old"),
        ("wrong_in_response_to", "Unsolicited response"),
        ("wrong_recipient", "No valid recipient"),
        ("assertion_not_encrypted", "exactly one EncryptedAssertion"),
        ("replayed_assertion", "replay"),
    ];
    for (fault, reason) in faults {
        app.browser = browser();
        // A clean response first (replayed_assertion repeats its ID)…
        headless(&app, &mut sp, "app.approve").await;
        let (status, pending) = app
            .admin(
                Method::POST,
                &format!("/nemlogin/service-providers/{entity}/faults"),
                Some(json!({ "fault": fault })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{pending}");
        assert_eq!(pending["pending_faults"], json!([fault]));
        // …then the faulty one, which pysaml2 must refuse for the fault's reason.
        app.browser = browser();
        let (_, seen) = sp
            .start_login(
                &app,
                "redirect",
                request("Substantial", PERSON),
                &[("simulation", "no-ui username:app.approve")],
            )
            .await;
        let answer = sp.acs(&seen.form());
        assert_eq!(answer["ok"], json!(false), "{fault} was accepted: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.contains(reason),
            "{fault}: refused for another reason: {error}"
        );
        let (_, shown) = app
            .admin(
                Method::GET,
                &format!("/nemlogin/service-providers/{entity}"),
                None,
            )
            .await;
        assert_eq!(shown["pending_faults"], json!([]), "{fault} is used up");
    }
}

/// An entity ID as one path segment.
fn url_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

//! MitID Erhverv through the NEB personality: `idp_values=mitid_erhverv`, the page that
//! picks a professional identity, the `nemlogin` claims, simulation, SSO and QA controls.

use mitid_sim::broker::scripts::ScriptedLogin;
use mitid_sim::protocols::oidc::faults::TokenFault;
use serde_json::Value;

use crate::helpers::{
    assert_is_redirect_to, decode_claims, element_text, location, query_of, spawn_app, step_of,
    TestApp, REDIRECT_URI,
};

pub const ANNA: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01";
pub const CARL: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f02";
pub const BJORN_EMPLOYEE: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f03";
pub const BJORN_SIGNATORY: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f04";
pub const SARAH: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f05";
pub const BENT: &str = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f06";

/// NEB's basic MitID Erhverv configuration (mitid-erhverv-testing.md).
pub const ERHVERV: [(&str, &str); 2] = [
    ("idp_values", "mitid_erhverv"),
    ("scope", "openid nemlogin"),
];

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = base.to_vec();
    all.extend_from_slice(extra);
    all
}

async fn claims_of(app: &TestApp, callback: &str) -> (Value, Value) {
    let params = query_of(callback);
    assert!(params.contains_key("code"), "no code: {callback}");
    let tokens = app.tokens_for(callback).await;
    let id_claims = decode_claims(tokens["id_token"].as_str().unwrap());
    let userinfo = app.userinfo_of(&tokens).await.json().await.unwrap();
    (id_claims, userinfo)
}

fn error_of(callback: &str) -> (String, String) {
    let params = query_of(callback);
    (
        params.get("error").cloned().unwrap_or_default(),
        params.get("error_description").cloned().unwrap_or_default(),
    )
}

/// Volatile id_token values (times, ids, the pairwise sub), redacted for snapshots.
macro_rules! id_token_snapshot {
    ($name:expr, $claims:expr) => {
        insta::assert_json_snapshot!($name, $claims, {
            ".iss" => "[issuer]",
            ".sub" => "[pairwise sub]",
            ".iat" => "[time]",
            ".nbf" => "[time]",
            ".exp" => "[time]",
            ".auth_time" => "[time]",
            ".nonce" => "[nonce]",
            ".at_hash" => "[at_hash]",
            ".neb_sid" => "[uuid]",
            ".sid" => "[uuid]",
            ".transaction_id" => "[uuid]",
            ".idp_transaction_id" => "[uuid]",
            ".session_expiry" => "[time]",
        })
    };
}

macro_rules! userinfo_snapshot {
    ($name:expr, $claims:expr) => {
        insta::assert_json_snapshot!($name, $claims, {
            ".sub" => "[pairwise sub]",
            ".session_expiry" => "[time]",
        })
    };
}

#[tokio::test]
async fn an_employee_logs_in_through_the_pages_with_the_nemlogin_claims() {
    let app = spawn_app().await;
    // Anna swipes in her private MitID app; her one professional identity goes straight on.
    let callback = app.drive_login("anna.jensen", &ERHVERV).await;
    let (id_claims, userinfo) = claims_of(&app, &callback).await;
    id_token_snapshot!("erhverv_employee_id_token", &id_claims);
    userinfo_snapshot!("erhverv_employee_userinfo", &userinfo);
    assert_eq!(userinfo["sub"], id_claims["sub"]);
    assert!(
        userinfo.get("nemlogin.auth_to_repr").is_none(),
        "employees do not represent"
    );
    assert_eq!(
        userinfo["nemlogin.cpr_uuid"],
        mitid_sim::identity::Cpr::parse("120385-1234")
            .unwrap()
            .person_uuid()
            .to_string()
    );
}

#[tokio::test]
async fn a_company_signatory_logs_in_headless_and_is_authorised_to_represent() {
    let app = spawn_app().await;
    // Carl's private app approves by itself: no swipe, no choice (one identity).
    let page = app.start_login(&ERHVERV).await;
    assert_eq!(step_of(&page), "user_id");
    assert!(
        page.html.contains("MitID Erhverv"),
        "the pages say MitID Erhverv"
    );
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.approve")])
        .await;
    assert_eq!(step_of(&page), "app");
    let callback = app.poll_until_redirect(&page).await;
    let (id_claims, userinfo) = claims_of(&app, &callback).await;
    id_token_snapshot!("erhverv_signatory_id_token", &id_claims);
    userinfo_snapshot!("erhverv_signatory_userinfo", &userinfo);
    assert_eq!(userinfo["nemlogin.auth_to_repr"], "91234564");
}

#[tokio::test]
async fn a_person_with_two_organisations_picks_one_on_the_page() {
    let app = spawn_app().await;
    for (language, heading, employee, signatory) in [
        (
            "da",
            "Vælg hvilken identitet du vil logge på med",
            "Medarbejder",
            "Ledelsesrepræsentant",
        ),
        (
            "en",
            "Choose the identity to log in with",
            "Employee",
            "Company signatory",
        ),
    ] {
        let page = app
            .start_login(&with(
                &ERHVERV,
                &[("language", language), ("prompt", "login")],
            ))
            .await;
        let page = app
            .submit(&page, "user-id", &[("user_id", "to.firmaer")])
            .await;
        let response = loop {
            let response = app.get(&page.url).await;
            let html = response.text().await.unwrap();
            if !html.contains("data-step=\"app\"") {
                break crate::helpers::Page {
                    url: page.url.clone(),
                    status: reqwest::StatusCode::OK,
                    html,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let choice = response;
        assert_eq!(step_of(&choice), "choose_professional", "{language}");
        assert_eq!(element_text(&choice.html, "heading").unwrap(), heading);
        for text in [
            "Testfirma ApS",
            "91234564",
            "Ærøskøbing Økologiske Æble- og Pæremosteri",
            "98765433",
            employee,
            signatory,
            "Bjørn Tobæk",
        ] {
            assert!(choice.html.contains(text), "{language}: {text}");
        }
        assert!(
            !choice.html.contains("continue-privately"),
            "not offered without allow_private"
        );
        assert!(!choice.html.contains("<script"), "no inline script");
        // Another person's identity cannot be picked (the page stays at the choice).
        let refused = app
            .post_form(&choice, "professional", &[("uuid", ANNA)])
            .await;
        assert_eq!(location(&refused), choice.login_path());
        let response = app
            .post_form(&choice, "professional", &[("uuid", BJORN_SIGNATORY)])
            .await;
        let done = app.get(&app.url(&location(&response))).await;
        let callback = assert_is_redirect_to(&done, REDIRECT_URI);
        let (_, userinfo) = claims_of(&app, &callback).await;
        assert_eq!(
            userinfo["nemlogin.persistent_professional_id"],
            BJORN_SIGNATORY
        );
        assert_eq!(userinfo["nemlogin.cvr"], "98765433");
        assert_eq!(userinfo["nemlogin.auth_to_repr"], "98765433");
        assert_eq!(userinfo["nemlogin.p_number"], "1098765432");
    }
}

#[tokio::test]
async fn each_identity_and_the_private_person_have_their_own_sub() {
    let app = spawn_app().await;
    let mut subjects = Vec::new();
    for choice in [BJORN_EMPLOYEE, BJORN_SIGNATORY] {
        let callback = app
            .drive_login_choosing(
                "to.firmaer",
                Some(choice),
                &with(&ERHVERV, &[("prompt", "login")]),
            )
            .await;
        let (id_claims, userinfo) = claims_of(&app, &callback).await;
        assert_eq!(userinfo["nemlogin.persistent_professional_id"], choice);
        subjects.push(id_claims["sub"].clone());
    }
    let private = app.drive_login("to.firmaer", &[("prompt", "login")]).await;
    let (id_claims, _) = claims_of(&app, &private).await;
    assert_eq!(id_claims["identity_type"], "private");
    subjects.push(id_claims["sub"].clone());
    let mut unique = subjects.clone();
    unique.dedup();
    assert_eq!(unique.len(), 3, "{subjects:?}");
    // The same identity again: the same sub.
    let again = app
        .drive_login_choosing(
            "to.firmaer",
            Some(BJORN_EMPLOYEE),
            &with(&ERHVERV, &[("prompt", "login")]),
        )
        .await;
    assert_eq!(claims_of(&app, &again).await.0["sub"], subjects[0]);
}

#[tokio::test]
async fn allow_private_offers_the_private_identity_with_the_mitid_claims() {
    let app = spawn_app().await;
    // NEB's configuration "allowing also private MitID users".
    let allow = [
        ("idp_values", "mitid_erhverv"),
        ("scope", "openid mitid nemlogin"),
        ("idp_params", r#"{"mitid_erhverv":{"allow_private":true}}"#),
    ];
    let callback = app
        .drive_login_choosing("app.approve", Some("private"), &allow)
        .await;
    let (id_claims, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(id_claims["idp"], "mitid");
    assert_eq!(id_claims["identity_type"], "private");
    assert_eq!(id_claims["amr"], serde_json::json!(["code_app"]));
    assert_eq!(userinfo["mitid.identity_name"], "Carl Automatisk");
    assert!(userinfo.get("nemlogin.cvr").is_none());

    // The same person choosing the professional identity instead.
    let callback = app
        .drive_login_choosing(
            "app.approve",
            Some(CARL),
            &with(&allow, &[("prompt", "login")]),
        )
        .await;
    let (id_claims, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(id_claims["identity_type"], "professional");
    assert_eq!(userinfo["nemlogin.persistent_professional_id"], CARL);
    assert!(userinfo.get("mitid.uuid").is_none(), "no mitid.* claims");

    // Someone with no professional identity goes on privately at once (no choice page).
    let callback = app
        .drive_login("uden.cpr", &with(&allow, &[("prompt", "login")]))
        .await;
    let (id_claims, _) = claims_of(&app, &callback).await;
    assert_eq!(id_claims["identity_type"], "private");
}

#[tokio::test]
async fn the_chooser_offers_mitid_erhverv_beside_mitid() {
    let app = spawn_app().await;
    let page = app
        .start_login(&[
            ("idp_values", "mitid mitid_erhverv"),
            ("scope", "openid mitid nemlogin"),
        ])
        .await;
    assert_eq!(step_of(&page), "choose_idp");
    assert!(page.html.contains("id=\"choose-mitid\""));
    assert!(page.html.contains("id=\"choose-mitid_erhverv\""));
    assert!(
        !page.html.contains("choose-nemid"),
        "only what the RP offered"
    );
    let page = app.submit(&page, "idp", &[("idp", "mitid_erhverv")]).await;
    assert_eq!(step_of(&page), "user_id");
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.approve")])
        .await;
    let callback = app.poll_until_redirect(&page).await;
    let (id_claims, _) = claims_of(&app, &callback).await;
    assert_eq!(id_claims["idp"], "mitid_erhverv");
}

#[tokio::test]
async fn refusals_end_with_a_readable_page_and_an_error_for_the_rp() {
    let app = spawn_app().await;
    // A locked professional identity: after MitID, the page says so.
    let callback = app.drive_login("erhverv.spaerret", &ERHVERV).await;
    assert_eq!(
        error_of(&callback),
        (
            "access_denied".into(),
            "mitid_erhverv_identity_locked".into()
        )
    );

    // No professional identity at all.
    let callback = app
        .drive_login("uden.cpr", &with(&ERHVERV, &[("prompt", "login")]))
        .await;
    assert_eq!(
        error_of(&callback).1,
        "mitid_erhverv_no_professional_identity"
    );

    // NEB cannot issue more than Substantial for MitID Erhverv.
    let callback = app
        .drive_login(
            "app.approve",
            &with(
                &ERHVERV,
                &[("idp_params", r#"{"mitid":{"loa_value":"high"}}"#)],
            ),
        )
        .await;
    assert_eq!(error_of(&callback).1, "mitid_loa_not_reachable");

    // idp_params of the wrong JSON type: NEB's error page.
    let response = app
        .get(&app.authorize_url(&with(
            &ERHVERV,
            &[("idp_params", r#"{"mitid_erhverv":{"allow_private":"yes"}}"#)],
        )))
        .await;
    let page = app.follow_to_error_page(response).await;
    assert!(page.html.contains("allow_private") || page.html.contains("idp_params"));
}

#[tokio::test]
async fn the_failure_page_explains_a_locked_professional_identity() {
    let app = spawn_app().await;
    let page = app.start_login(&ERHVERV).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "erhverv.spaerret")])
        .await;
    let failed = loop {
        let shown = app.page(&page.url).await;
        if step_of(&shown) != "app" {
            break shown;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(step_of(&failed), "failed");
    assert!(failed.html.contains("Din erhvervsidentitet er spærret"));
    let response = app.post_form(&failed, "return", &[]).await;
    assert_eq!(
        error_of(&location(&response)).1,
        "mitid_erhverv_identity_locked"
    );
}

#[tokio::test]
async fn dedicated_eids_name_protection_and_people_without_cpr() {
    let app = spawn_app().await;
    // Bent logs in with his dedicated eID; his identity is name protected.
    let callback = app.drive_login("erhverv.dedikeret", &ERHVERV).await;
    let (_, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(userinfo["nemlogin.persistent_professional_id"], BENT);
    assert_eq!(userinfo["nemlogin.alias"], "Pseudonym");
    for name in [
        "nemlogin.name",
        "nemlogin.given_name",
        "nemlogin.family_name",
    ] {
        assert!(userinfo.get(name).is_none(), "{name} is left out");
    }
    assert!(
        userinfo.get("nemlogin.cpr_uuid").is_some(),
        "he has a CPR number"
    );

    // Sarah has no CPR number: her birth date comes from the fixture, no CPR claims.
    let callback = app
        .drive_login(
            "erhverv.udlaending",
            &with(&ERHVERV, &[("prompt", "login")]),
        )
        .await;
    let (id_claims, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(userinfo["nemlogin.persistent_professional_id"], SARAH);
    assert_eq!(userinfo["nemlogin.date_of_birth"], "1988-09-30");
    assert_eq!(userinfo["nemlogin.name"], "Sarah Miller");
    assert!(userinfo.get("nemlogin.cpr_uuid").is_none());
    assert!(userinfo.get("nemlogin.cpr").is_none());
    assert!(userinfo.get("nemlogin.alias").is_none());
    assert_eq!(userinfo["idp_identity_id"], SARAH);
    assert_eq!(id_claims["amr"], serde_json::json!(["mitid:code_app"]));
}

#[tokio::test]
async fn public_service_providers_get_the_cpr_number_instead_of_its_uuid() {
    let app = spawn_app().await;
    let mut client = (*app.sim.provider().clients.get("demo-rp").unwrap()).clone();
    client.public_service_provider = true;
    app.sim.register_client(client).await.unwrap();
    let callback = app.drive_login("anna.jensen", &ERHVERV).await;
    let (_, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(userinfo["nemlogin.cpr"], "1203851234");
    assert!(userinfo.get("nemlogin.cpr_uuid").is_none());
}

#[tokio::test]
async fn simulation_no_ui_logs_in_as_the_professional_identity_named() {
    let app = spawn_app().await;
    // By persistent professional ID alone: the private MitID where the identity allows it.
    let callback = app
        .no_ui_login(&format!("mitid_erhverv_uuid:{ANNA}"), &ERHVERV)
        .await;
    let (id_claims, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(id_claims["identity_type"], "professional");
    assert_eq!(userinfo["nemlogin.persistent_professional_id"], ANNA);

    // NEB's own example: the MitID and the professional identity together.
    let callback = app
        .no_ui_login(
            &format!(
                "uuid:5b7f3a52-3c1e-4f6a-9a43-1f0a6d2b9c29 mitid_erhverv_uuid:{BJORN_SIGNATORY}"
            ),
            &ERHVERV,
        )
        .await;
    let (_, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(
        userinfo["nemlogin.persistent_professional_id"],
        BJORN_SIGNATORY
    );

    // The dedicated eID of someone without CPR.
    let callback = app
        .no_ui_login(&format!("mitid_erhverv_uuid:{SARAH}"), &ERHVERV)
        .await;
    assert_eq!(
        claims_of(&app, &callback).await.1["nemlogin.cvr"],
        "98765433"
    );

    // A MitID with a single identity needs no mitid_erhverv_uuid.
    let callback = app.no_ui_login("username:app.approve", &ERHVERV).await;
    assert_eq!(
        claims_of(&app, &callback).await.1["nemlogin.persistent_professional_id"],
        CARL
    );

    // The chooser: a professional identity named picks MitID Erhverv.
    let callback = app
        .no_ui_login(
            &format!("mitid_erhverv_uuid:{CARL}"),
            &[
                ("idp_values", "mitid mitid_erhverv"),
                ("scope", "openid nemlogin"),
            ],
        )
        .await;
    assert_eq!(claims_of(&app, &callback).await.0["idp"], "mitid_erhverv");
}

#[tokio::test]
async fn simulation_errors_for_professional_identities_are_nebs_codes() {
    let app = spawn_app().await;
    let cases = [
        // Nobody has this persistent professional ID.
        (
            "mitid_erhverv_uuid:00000000-0000-4000-8000-000000000000".to_string(),
            ERHVERV.to_vec(),
            ("access_denied", "mitid_simulation_unknown_user"),
        ),
        // The MitID named does not log in as the identity named.
        (
            format!("username:anna.jensen mitid_erhverv_uuid:{CARL}"),
            ERHVERV.to_vec(),
            ("invalid_request", "mitid_simulation_error_parameter"),
        ),
        // Two identities and none named: without a page nobody can choose.
        (
            "username:to.firmaer".to_string(),
            ERHVERV.to_vec(),
            ("invalid_request", "mitid_simulation_error_parameter"),
        ),
        // A professional identity for a request that does not offer MitID Erhverv.
        (
            format!("mitid_erhverv_uuid:{CARL}"),
            vec![("scope", "openid mitid")],
            ("invalid_request", "mitid_simulation_error_parameter"),
        ),
        // The locked identity fails as it would with pages.
        (
            "username:erhverv.spaerret".to_string(),
            ERHVERV.to_vec(),
            ("access_denied", "mitid_erhverv_identity_locked"),
        ),
    ];
    for (simulation, extra, (error, description)) in cases {
        let callback = app.no_ui_login(&simulation, &extra).await;
        assert_eq!(
            error_of(&callback),
            (error.to_string(), description.to_string()),
            "{simulation}"
        );
        assert_eq!(query_of(&callback)["state"], "state-123");
    }
    // With allow_private, a private identity named alone logs in privately.
    let callback = app
        .no_ui_login(
            "username:to.firmaer",
            &with(
                &ERHVERV,
                &[("idp_params", r#"{"mitid_erhverv":{"allow_private":true}}"#)],
            ),
        )
        .await;
    assert_eq!(
        claims_of(&app, &callback).await.0["identity_type"],
        "private"
    );
}

#[tokio::test]
async fn simulation_ui_starts_at_the_authenticators_and_picks_the_identity() {
    let app = spawn_app().await;
    let simulation = format!("ui mitid_erhverv_uuid:{BJORN_EMPLOYEE}");
    let page = app
        .start_login(&with(&ERHVERV, &[("simulation", &simulation)]))
        .await;
    assert_eq!(step_of(&page), "app", "no user ID page");
    let callback = app.poll_until_redirect(&page).await;
    let (_, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(
        userinfo["nemlogin.persistent_professional_id"],
        BJORN_EMPLOYEE
    );
}

#[tokio::test]
async fn sso_keeps_private_and_professional_sessions_apart() {
    let app = spawn_app().await;
    // A professional session answers the next MitID Erhverv request of the same client…
    let first = app.drive_login("app.approve", &ERHVERV).await;
    let (first_claims, _) = claims_of(&app, &first).await;
    let sso = app
        .get(&app.authorize_url(&with(&ERHVERV, &[("prompt", "none")])))
        .await;
    let again = assert_is_redirect_to(&sso, REDIRECT_URI);
    let (again_claims, _) = claims_of(&app, &again).await;
    assert_eq!(again_claims["sub"], first_claims["sub"]);
    assert_eq!(again_claims["identity_type"], "professional");

    // …but never a private request: that needs a login of its own.
    let private = app.get(&app.authorize_url(&[("prompt", "none")])).await;
    let to = assert_is_redirect_to(&private, REDIRECT_URI);
    assert_eq!(error_of(&to).0, "login_required");

    // A private session does not answer MitID Erhverv either.
    let app = spawn_app().await;
    let _ = claims_of(&app, &app.drive_login("app.approve", &[]).await).await;
    let erhverv = app
        .get(&app.authorize_url(&with(&ERHVERV, &[("prompt", "none")])))
        .await;
    let to = assert_is_redirect_to(&erhverv, REDIRECT_URI);
    assert_eq!(error_of(&to).0, "login_required");

    // A session for one professional identity does not answer for another one.
    let app = spawn_app().await;
    let callback = app
        .drive_login_choosing("to.firmaer", Some(BJORN_EMPLOYEE), &ERHVERV)
        .await;
    let _ = claims_of(&app, &callback).await;
    let other = format!("ui mitid_erhverv_uuid:{BJORN_SIGNATORY}");
    let response = app
        .get(&app.authorize_url(&with(&ERHVERV, &[("simulation", &other)])))
        .await;
    assert!(
        location(&response).starts_with("/login/"),
        "a login, not the session's identity"
    );
    let same = format!("ui mitid_erhverv_uuid:{BJORN_EMPLOYEE}");
    let response = app
        .get(&app.authorize_url(&with(&ERHVERV, &[("simulation", &same)])))
        .await;
    assert_is_redirect_to(&response, REDIRECT_URI);

    // Once the identity is locked, its session answers no more.
    let mut locked = (*app
        .sim
        .provider()
        .broker
        .identities
        .professional(BJORN_EMPLOYEE.parse().unwrap())
        .unwrap())
    .clone();
    locked.status = mitid_sim::identity::ProfessionalStatus::Locked;
    app.sim
        .provider()
        .broker
        .identities
        .insert_professional(locked);
    let response = app
        .get(&app.authorize_url(&with(&ERHVERV, &[("prompt", "none")])))
        .await;
    assert_eq!(error_of(&location(&response)).0, "login_required");
}

#[tokio::test]
async fn scripted_outcomes_and_token_faults_apply_to_professional_logins() {
    let app = spawn_app().await;
    // The eID's script decides, whichever identity it then acts as.
    app.sim
        .script_logins("app.approve", ScriptedLogin::Reject, 1)
        .unwrap();
    let callback = app.drive_login("app.approve", &ERHVERV).await;
    assert_eq!(
        error_of(&callback),
        ("access_denied".into(), "mitid_user_aborted".into())
    );
    app.sim
        .script_logins("to.firmaer", ScriptedLogin::Abort, 1)
        .unwrap();
    let callback = app
        .no_ui_login(&format!("mitid_erhverv_uuid:{BJORN_SIGNATORY}"), &ERHVERV)
        .await;
    assert_eq!(error_of(&callback).1, "mitid_user_aborted");

    // Token faults alter a professional id_token as any other.
    app.sim
        .inject_fault("demo-rp", TokenFault::WrongNonce, 1)
        .unwrap();
    let callback = app
        .no_ui_login(&format!("mitid_erhverv_uuid:{CARL}"), &ERHVERV)
        .await;
    let (id_claims, _) = claims_of(&app, &callback).await;
    assert_ne!(id_claims["nonce"], "nonce-456");
    assert_eq!(id_claims["identity_type"], "professional");
    app.sim
        .inject_fault("demo-rp", TokenFault::LoaLow, 1)
        .unwrap();
    let callback = app
        .no_ui_login(&format!("mitid_erhverv_uuid:{CARL}"), &ERHVERV)
        .await;
    let (id_claims, _) = claims_of(&app, &callback).await;
    assert_eq!(
        id_claims["loa"],
        "https://data.gov.dk/concept/core/nsis/Low"
    );
    assert_eq!(id_claims["amr"], serde_json::json!(["mitid:code_app"]));
}

const STEP_UP_PEOPLE: &str = r#"
[[user]]
user_id = "trappe"
purpose = "step-up"
uuid = "6f3c0b9e-2f43-4a8b-9d8f-0a1b2c3d4e5f"
cpr = "120385-1234"
name = "Trine Trappe"
password = "Trappe2024"
password_login = true
[user.app]
answer = "approve"
after_ms = 200

[[organisation]]
cvr = "91234564"
name = "Testfirma ApS"

[[organisation]]
cvr = "98765433"
name = "Andet Firma A/S"

[[professional]]
uuid = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f11"
cvr = "91234564"
cpr = "120385-1234"
given_name = "Trine"
family_name = "Trappe"
rid = "1"

[[professional]]
uuid = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f12"
cvr = "98765433"
cpr = "120385-1234"
given_name = "Trine"
family_name = "Trappe"
rid = "2"
"#;

#[tokio::test]
async fn step_up_authenticates_the_same_mitid_again_and_keeps_the_identity() {
    let population = mitid_sim::identity::parse_population(STEP_UP_PEOPLE).unwrap();
    let app =
        crate::helpers::spawn_with(mitid_sim::Simulator::builder().population(population)).await;
    let second = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f12";
    // A Low login with the password alone, as the second identity.
    let page = app
        .start_login(&with(
            &ERHVERV,
            &[("idp_params", r#"{"mitid":{"loa_value":"low"}}"#)],
        ))
        .await;
    let page = app.submit(&page, "user-id", &[("user_id", "trappe")]).await;
    let page = app.submit(&page, "choose", &[("method", "password")]).await;
    let page = app
        .submit(&page, "password", &[("password", "Trappe2024")])
        .await;
    assert_eq!(step_of(&page), "choose_professional");
    let response = app
        .post_form(&page, "professional", &[("uuid", second)])
        .await;
    let done = app.get(&app.url(&location(&response))).await;
    let (low, _) = claims_of(&app, &assert_is_redirect_to(&done, REDIRECT_URI)).await;
    assert_eq!(low["loa"], "https://data.gov.dk/concept/core/nsis/Low");
    assert_eq!(low["amr"], serde_json::json!(["mitid:password"]));

    // Step-up to Substantial: straight to the app of the same MitID, no user ID and no
    // choice page, and the login goes on as the same identity.
    let page = app
        .start_login(&with(
            &ERHVERV,
            &[
                ("prompt", "login"),
                (
                    "idp_params",
                    r#"{"mitid":{"loa_value":"substantial","enable_step_up":true}}"#,
                ),
            ],
        ))
        .await;
    assert_eq!(step_of(&page), "app");
    let callback = app.poll_until_redirect(&page).await;
    let (stepped, userinfo) = claims_of(&app, &callback).await;
    assert_eq!(
        stepped["loa"],
        "https://data.gov.dk/concept/core/nsis/Substantial"
    );
    assert_eq!(stepped["sub"], low["sub"]);
    assert_eq!(
        stepped["neb_sid"], low["neb_sid"],
        "the same session, stepped up"
    );
    assert_eq!(userinfo["nemlogin.persistent_professional_id"], second);
}

#[tokio::test]
async fn the_front_page_lists_the_professional_identities_and_how_they_log_in() {
    let app = spawn_app().await;
    let danish = app.page("/").await;
    assert!(danish
        .html
        .contains("MitID Erhverv: professionelle identiteter"));
    let page = app.page("/?lang=en").await;
    assert_eq!(page.status, 200);
    for text in [
        "MitID Erhverv: professional identities",
        ANNA,
        "Ærøskøbing Økologiske",
        "company signatory",
        "<code>erhverv.udlaending</code>",
        "<code>to.firmaer</code>",
        "locked",
    ] {
        assert!(page.html.contains(text), "{text}");
    }
}

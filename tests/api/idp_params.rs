//! `idp_params.mitid` as NEB reads it: the default level, `aal_value`, the texts the MitID
//! client shows, the identity hints, PSD2, and values MitID refuses inside the flow.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_is_redirect_to, decode_claims, element_text, location, query_of, spawn_app, step_of,
    Page, TestApp, REDIRECT_URI,
};

fn params(mitid: Value) -> String {
    json!({ "mitid": mitid }).to_string()
}

/// The page an authorization request leads to (the broker accepted the request).
async fn first_page(app: &TestApp, idp_params: &str) -> Page {
    app.start_login(&[("idp_params", idp_params)]).await
}

fn phone_url(app: &TestApp, page: &Page) -> String {
    let start = page
        .html
        .find("/sim/app/")
        .expect("the app step links the phone");
    let end = page.html[start..].find('"').unwrap() + start;
    app.url(&page.html[start..end])
}

#[tokio::test]
async fn action_text_and_reference_text_show_on_the_phone_and_with_the_authenticators() {
    let app = spawn_app().await;
    let reference = "Overfør 1.000 kr. til Ærø Æbler ApS";
    let idp_params = params(json!({
        "action_text": "SIGN",
        "reference_text": STANDARD.encode(reference),
    }));
    let page = first_page(&app, &idp_params).await;
    assert_eq!(step_of(&page), "user_id");
    assert_eq!(
        element_text(&page.html, "action").as_deref(),
        Some("Underskriv hos Demo-tjeneste")
    );
    assert!(
        !page.html.contains("Ærø Æbler"),
        "the reference text comes with the authenticator, not the user ID"
    );
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    assert_eq!(step_of(&page), "app");
    assert_eq!(
        element_text(&page.html, "reference-text").as_deref(),
        Some(reference)
    );

    let phone = app.page(&phone_url(&app, &page)).await;
    assert_eq!(
        element_text(&phone.html, "action").as_deref(),
        Some("Underskriv hos Demo-tjeneste")
    );
    assert_eq!(
        element_text(&phone.html, "reference-text").as_deref(),
        Some(reference)
    );
    let pending: Value = app
        .get(&app.url("/admin/app-requests"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending[0]["action_text"], "SIGN");
    assert_eq!(pending[0]["reference_text"], reference);

    // The code display's pages show them too; English headers with language=en.
    let page = app
        .start_login(&[("idp_params", &idp_params), ("language", "en")])
        .await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    assert_eq!(step_of(&page), "code");
    assert_eq!(
        element_text(&page.html, "action").as_deref(),
        Some("Sign at Demo-tjeneste")
    );
    assert_eq!(
        element_text(&page.html, "reference-text").as_deref(),
        Some(reference)
    );
    let code = app.code_now("kodeviser");
    let page = app.submit(&page, "code", &[("code", &code)]).await;
    assert_eq!(step_of(&page), "password");
    assert_eq!(
        element_text(&page.html, "reference-text").as_deref(),
        Some(reference)
    );

    // Without action_text the header is the plain log-on one.
    let page = first_page(&app, &params(json!({}))).await;
    assert_eq!(
        element_text(&page.html, "action").as_deref(),
        Some("Log på hos Demo-tjeneste")
    );
}

#[tokio::test]
async fn a_value_mitid_cannot_use_is_accepted_with_the_request_and_refused_in_the_flow() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "action_text": "FOO" }), "action_text"),
        // CAP-010: a uuid_hint that is not a UUID passes the authorize endpoint.
        (json!({ "uuid_hint": "not-a-uuid" }), "uuid_hint"),
        (
            json!({ "reference_text": STANDARD.encode("x".repeat(131)) }),
            "reference_text",
        ),
        (
            json!({ "reference_text": "not base64 at all!" }),
            "reference_text",
        ),
        (json!({ "loa_value": "medium" }), "loa_value"),
        (json!({ "aal_value": "max" }), "aal_value"),
        (json!({ "cpr_hint": "12345" }), "cpr_hint"),
        (
            json!({ "enable_app_switch": true, "app_switch_os": "ios" }),
            "app_switch_url",
        ),
        (json!({ "app_switch_os": "windows" }), "app_switch_os"),
        (
            json!({ "transfer_token_exchange_code": "x" }),
            "transfer_token_text",
        ),
        (
            json!({ "uuid_hint": "00000000-0000-4000-8000-000000000000" }),
            "uuid_hint: no MitID identity",
        ),
    ];
    for (mitid, key) in cases {
        let page = first_page(&app, &params(mitid.clone())).await;
        assert_eq!(step_of(&page), "failed", "{mitid}");
        let detail = element_text(&page.html, "failure-detail").unwrap_or_default();
        assert!(detail.contains(key), "{mitid}: {detail}");
        let back = app.post_form(&page, "return", &[]).await;
        let to = assert_is_redirect_to(&back, REDIRECT_URI);
        let query = query_of(&to);
        assert_eq!(query["error"], "invalid_request", "{mitid}");
        assert_eq!(query["error_description"], "mitid_invalid_idp_params");
        assert_eq!(query["state"], "state-123");
    }

    // Without pages, the RP hears it at once.
    let refused = app
        .no_ui_login(
            "username:anna.jensen",
            &[("idp_params", &params(json!({ "action_text": "sign" })))],
        )
        .await;
    assert_eq!(
        query_of(&refused)["error_description"],
        "mitid_invalid_idp_params"
    );
}

#[tokio::test]
async fn uuid_hint_and_cpr_hint_start_the_mitid_flow_for_that_identity() {
    let app = spawn_app().await;
    let kodeviser = app.citizen("kodeviser");
    let by_uuid = first_page(
        &app,
        &params(json!({ "uuid_hint": kodeviser.uuid.to_string() })),
    )
    .await;
    assert_eq!(step_of(&by_uuid), "code", "no user ID page");
    assert!(by_uuid.html.contains("/sim/code-display/kodeviser"));

    let cpr = kodeviser.cpr.unwrap().compact();
    let by_cpr = first_page(&app, &params(json!({ "cpr_hint": cpr }))).await;
    assert_eq!(step_of(&by_cpr), "code");

    let disagree = first_page(
        &app,
        &params(json!({
            "uuid_hint": kodeviser.uuid.to_string(),
            "cpr_hint": app.citizen("anna.jensen").cpr.unwrap().compact(),
        })),
    )
    .await;
    assert_eq!(step_of(&disagree), "failed");

    // The whole login through the hint.
    let callback = app
        .drive_login(
            "app.approve",
            &[(
                "idp_params",
                &params(json!({ "uuid_hint": app.citizen("app.approve").uuid.to_string() })),
            )],
        )
        .await;
    let claims = decode_claims(
        app.tokens_for(&callback).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(claims["amr"], json!(["code_app"]));
}

#[tokio::test]
async fn aal_value_lets_an_identity_below_the_level_log_in_at_loa_low() {
    let app = spawn_app().await;
    let (status, created) = app
        .admin(
            reqwest::Method::POST,
            "/citizens",
            Some(json!({
                "user_id": "lav.ial",
                "purpose": "identity assurance Low, app at Substantial",
                "uuid": "11111111-2222-4333-8444-777777777777",
                "cpr": "101010-1012",
                "name": "Lav Identitetssikring",
                "ial": "low",
                "app": { "answer": "approve", "after_ms": 0 }
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    for refused in [
        params(json!({})),
        params(json!({ "loa_value": "substantial", "aal_value": "substantial" })),
    ] {
        let callback = app
            .no_ui_login("username:lav.ial", &[("idp_params", &refused)])
            .await;
        assert_eq!(
            query_of(&callback)["error_description"],
            "mitid_loa_not_reachable",
            "{refused}"
        );
    }
    let callback = app
        .no_ui_login(
            "username:lav.ial",
            &[("idp_params", &params(json!({ "aal_value": "substantial" })))],
        )
        .await;
    let claims = decode_claims(
        app.tokens_for(&callback).await["id_token"]
            .as_str()
            .unwrap(),
    );
    let nsis = |level: &str| format!("https://data.gov.dk/concept/core/nsis/{level}");
    assert_eq!(claims["ial"], nsis("Low"));
    assert_eq!(claims["aal"], nsis("Substantial"));
    assert_eq!(
        claims["loa"],
        nsis("Low"),
        "ial=low, aal=substantial ⇒ loa=low"
    );

    // aal_value=high refuses an authenticator below High even at IAL Low.
    let callback = app
        .no_ui_login(
            "username:lav.ial",
            &[("idp_params", &params(json!({ "aal_value": "high" })))],
        )
        .await;
    assert_eq!(
        query_of(&callback)["error_description"],
        "mitid_loa_not_reachable"
    );
}

#[tokio::test]
async fn require_psd2_gives_mitid_psd2_and_app_switch_and_transfer_keys_do_not_stop_a_login() {
    let app = spawn_app().await;
    let psd2 = params(json!({ "require_psd2": true }));
    let callback = app
        .no_ui_login("username:anna.jensen", &[("idp_params", &psd2)])
        .await;
    let claims = decode_claims(
        app.tokens_for(&callback).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(claims["mitid.psd2"], "true");

    let callback = app.no_ui_login("username:anna.jensen", &[]).await;
    let claims = decode_claims(
        app.tokens_for(&callback).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert!(claims.get("mitid.psd2").is_none(), "only when asked for");

    // A password alone is no strong customer authentication.
    let low_psd2 = params(json!({ "require_psd2": true, "loa_value": "low" }));
    let callback = app
        .drive_login(
            "kun.kode",
            &[("idp_params", &low_psd2), ("prompt", "login")],
        )
        .await;
    let claims = decode_claims(
        app.tokens_for(&callback).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(claims["amr"], json!(["password"]));
    assert!(claims.get("mitid.psd2").is_none());

    let not_emulated = params(json!({
        "enable_app_switch": true,
        "app_switch_os": "android",
        "app_switch_url": "https://rp.example/return",
        "transfer_token_exchange_code": "38e195d6-14ad-4ed9-9f0b-d72a26c8ed95",
        "transfer_token_text": "Fra Bank A",
    }));
    let callback = app
        .drive_login(
            "app.approve",
            &[("idp_params", &not_emulated), ("prompt", "login")],
        )
        .await;
    assert!(query_of(&callback).contains_key("code"), "{callback}");
}

#[tokio::test]
async fn idp_params_that_are_not_json_of_the_documented_types_refuse_the_request() {
    let app = spawn_app().await;
    for bad in [
        "{not json",
        r#"{"mitid":{"require_psd2":"yes"}}"#,
        r#"{"mitid":{"uuid_hint":5}}"#,
        r#"{"mitid":"substantial"}"#,
    ] {
        let response = app.get(&app.authorize_url(&[("idp_params", bad)])).await;
        let to = location(&response);
        assert!(!to.starts_with("/login/"), "{bad} was accepted");
        assert!(!to.contains("code="), "{bad}");
    }
}

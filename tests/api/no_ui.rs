//! NEB's simulation mode: `simulation=<mode> <key>:<value>` for entitled clients.

use crate::helpers::{assert_is_redirect_to, decode_claims, query_of, spawn_app, step_of};

#[tokio::test]
async fn simulation_no_ui_logs_in_by_uuid_username_or_cpr_without_pages() {
    let app = spawn_app().await;
    for identity in [
        "uuid:5b7f3a52-3c1e-4f6a-9a43-1f0a6d2b9c01",
        "username:anna.jensen",
        "cpr:120385-1234",
        "cpr:1203851234",
    ] {
        let callback = app.no_ui_login(identity, &[]).await;
        let tokens = app.tokens_for(&callback).await;
        let claims = decode_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(claims["amr"], serde_json::json!(["code_app"]), "{identity}");
    }
    // NEB's own example: a MitID Erhverv identity beside the private one.
    let callback = app
        .no_ui_login(
            "uuid:5b7f3a52-3c1e-4f6a-9a43-1f0a6d2b9c01 \
             mitid_erhverv_uuid:0b1f3c6e-7d9a-4e2b-8c5f-6a4d3e2f1a0b",
            &[],
        )
        .await;
    assert!(query_of(&callback).contains_key("code"), "{callback}");
}

#[tokio::test]
async fn login_hint_names_the_citizen_as_a_documented_extension() {
    let app = spawn_app().await;
    let response = app
        .get(&app.authorize_url(&[
            ("simulation", "no-ui"),
            ("login_hint", "username:anna.jensen"),
        ]))
        .await;
    let to = assert_is_redirect_to(&response, crate::helpers::REDIRECT_URI);
    assert!(query_of(&to).contains_key("code"), "{to}");
}

#[tokio::test]
async fn simulation_errors_are_nebs_codes_and_identity_state_still_counts() {
    let app = spawn_app().await;
    let locked = query_of(&app.no_ui_login("username:spaerret", &[]).await);
    assert_eq!(locked["error"], "access_denied");
    assert_eq!(locked["error_description"], "mitid_identity_locked");

    for unknown in [
        "username:nobody",
        "uuid:00000000-0000-4000-8000-000000000000",
        "cpr:0101011111",
    ] {
        let params = query_of(&app.no_ui_login(unknown, &[]).await);
        assert_eq!(params["error"], "access_denied", "{unknown}");
        assert_eq!(params["error_description"], "mitid_simulation_unknown_user");
        assert_eq!(params["state"], "state-123");
    }
    for value in [
        "no-ui email:x@y",
        "no-ui uuid:not-a-guid",
        "no-ui",
        "totally-invalid-mode",
        "no-ui username:anna.jensen cpr:1203851234 uuid:5b7f3a52-3c1e-4f6a-9a43-1f0a6d2b9c02",
    ] {
        let response = app.get(&app.authorize_url(&[("simulation", value)])).await;
        let params = query_of(&assert_is_redirect_to(
            &response,
            crate::helpers::REDIRECT_URI,
        ));
        assert_eq!(params["error"], "invalid_request", "{value}");
        assert_eq!(
            params["error_description"], "mitid_simulation_error_parameter",
            "{value}"
        );
    }
}

#[tokio::test]
async fn simulation_ui_starts_the_pages_for_the_named_citizen() {
    let app = spawn_app().await;
    let page = app
        .start_login(&[("simulation", "ui username:kodeviser")])
        .await;
    assert_eq!(step_of(&page), "code", "the user ID page is skipped");
    assert!(page.html.contains("/sim/code-display/kodeviser"));
    let page = app.start_login(&[("simulation", "ui")]).await;
    assert_eq!(step_of(&page), "user_id");
    let response = app
        .get(&app.authorize_url(&[("simulation", "ui username:nobody")]))
        .await;
    let params = query_of(&assert_is_redirect_to(
        &response,
        crate::helpers::REDIRECT_URI,
    ));
    assert_eq!(params["error_description"], "mitid_simulation_unknown_user");
}

#[tokio::test]
async fn the_simulation_parameter_is_ignored_for_clients_not_entitled_to_it() {
    let app = spawn_app().await;
    // As recorded at NEB (CAP-013): not refused, not read; the login pages show.
    for value in ["no-ui username:anna.jensen", "totally-invalid-mode"] {
        let page = app
            .start_login(&[
                ("client_id", "demo-spa"),
                ("redirect_uri", "http://localhost:5173/callback"),
                ("simulation", value),
            ])
            .await;
        assert_eq!(step_of(&page), "user_id", "{value}");
    }
}

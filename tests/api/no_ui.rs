use crate::helpers::{assert_is_redirect_to, decode_claims, query_of, spawn_app};

#[tokio::test]
async fn simulation_no_ui_logs_in_by_uuid_username_or_cpr_without_pages() {
    let app = spawn_app().await;
    for hint in [
        "uuid:5b7f3a52-3c1e-4f6a-9a43-1f0a6d2b9c01",
        "username:anna.jensen",
        "cpr:120385-1234",
    ] {
        let callback = app.no_ui_login(hint, &[]).await;
        let tokens = app.tokens_for(&callback).await;
        let claims = decode_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(claims["amr"], serde_json::json!(["code_app"]), "{hint}");
    }
}

#[tokio::test]
async fn simulation_no_ui_respects_identity_state_and_unknown_hints() {
    let app = spawn_app().await;
    let locked = app.no_ui_login("username:spaerret", &[]).await;
    assert_eq!(query_of(&locked)["error"], "access_denied");
    let unknown = app.no_ui_login("username:nobody", &[]).await;
    assert_eq!(query_of(&unknown)["error"], "invalid_request");
    let malformed = app.no_ui_login("email:x@y", &[]).await;
    assert_eq!(query_of(&malformed)["error"], "invalid_request");
}

#[tokio::test]
async fn simulation_no_ui_is_refused_to_clients_not_registered_for_it() {
    let app = spawn_app().await;
    let response = app
        .get(&app.authorize_url(&[
            ("client_id", "demo-spa"),
            ("redirect_uri", "http://localhost:5173/callback"),
            ("simulation", "no-ui"),
            ("login_hint", "username:anna.jensen"),
        ]))
        .await;
    let to = assert_is_redirect_to(&response, "http://localhost:5173/callback");
    assert_eq!(query_of(&to)["error"], "unauthorized_client");
}

use reqwest::StatusCode;
use time::Duration;

use crate::helpers::{decode_claims, query_of, spawn_app, REDIRECT_URI};

#[tokio::test]
async fn code_then_password_logs_the_citizen_in() {
    let app = spawn_app().await;
    let callback = app.login_with_code("kodeviser", "Kode2024", &[]).await;
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    let tokens = app.tokens_for(&callback).await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["code_token"]));
    assert_eq!(claims["nonce"], "nonce-456");
}

#[tokio::test]
async fn user_ids_are_not_case_sensitive() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "KODEVISER")])
        .await;
    assert!(page.html.contains("name=\"code\""));
}

#[tokio::test]
async fn an_unknown_user_id_is_told_and_can_be_retyped() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app.submit(&page, "user-id", &[("user_id", "nobody")]).await;
    assert!(page.html.contains("Vi kan ikke finde et MitID"));
    let page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    assert!(page.html.contains("name=\"code\""));
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    let code = app.code_now("kodeviser");
    let page = app.submit(&page, "code", &[("code", &code)]).await;
    let page = app
        .submit(&page, "password", &[("password", "wrong")])
        .await;
    assert!(page.html.contains("Forkert adgangskode"));
}

#[tokio::test]
async fn three_wrong_codes_block_the_code_display_until_the_block_expires() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    let page = app.submit(&page, "code", &[("code", "000000")]).await;
    assert!(page.html.contains("2 forsøg tilbage"), "{}", page.html);
    let page = app.submit(&page, "code", &[("code", "000001")]).await;
    assert!(page.html.contains("1 forsøg tilbage"));
    let page = app.submit(&page, "code", &[("code", "000002")]).await;
    assert!(page.html.contains("Midlertidigt spærret"), "{}", page.html);
    assert!(
        !page.html.contains("name=\"code\""),
        "no code field while blocked"
    );

    // A new login 14 minutes later is still blocked, and a correct code does not help.
    app.sim.clock().advance(Duration::minutes(14));
    let again = app.start_login(&[]).await;
    let again = app
        .submit(&again, "user-id", &[("user_id", "kodeviser")])
        .await;
    assert!(again.html.contains("Midlertidigt spærret"));

    app.sim.clock().advance(Duration::minutes(2));
    let callback = app.login_with_code("kodeviser", "Kode2024", &[]).await;
    assert!(query_of(&callback).contains_key("code"), "{callback}");
}

#[tokio::test]
async fn a_code_cannot_be_used_twice() {
    let app = spawn_app().await;
    // Taken before the first login: if the 30 s window rolls over meanwhile, this code is
    // from an older step than the one accepted, which counts as used as well.
    let code = app.code_now("kodeviser");
    let first = app.login_with_code("kodeviser", "Kode2024", &[]).await;
    assert!(query_of(&first).contains_key("code"));
    // prompt=login: the SSO session would otherwise answer without any code.
    let page = app.start_login(&[("prompt", "login")]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    let page = app.submit(&page, "code", &[("code", &code)]).await;
    assert!(page.html.contains("allerede brugt"), "{}", page.html);
}

#[tokio::test]
async fn the_simulated_code_display_shows_the_current_code() {
    let app = spawn_app().await;
    let (page, current) = app
        .codes_around("kodeviser", app.page("/sim/code-display/kodeviser"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        current.iter().any(|code| page.html.contains(code)),
        "{current:?}"
    );
    let missing = app.page("/sim/code-display/app.only").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_same_login_continues_once_the_block_has_passed() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let mut page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    for wrong in ["000000", "000001", "000002"] {
        page = app.submit(&page, "code", &[("code", wrong)]).await;
    }
    assert_eq!(crate::helpers::step_of(&page), "blocked");
    app.sim.clock().advance(Duration::minutes(16));
    let page = app.page(&page.url).await;
    assert_eq!(
        crate::helpers::step_of(&page),
        "code",
        "back to the code, without a new login"
    );
}

#[tokio::test]
async fn three_wrong_passwords_block_the_password_too() {
    let app = spawn_app().await;
    let page = app
        .start_login(&[("idp_params", r#"{"mitid":{"loa_value":"low"}}"#)])
        .await;
    let mut page = app
        .submit(&page, "user-id", &[("user_id", "kun.kode")])
        .await;
    for _ in 0..3 {
        page = app
            .submit(&page, "password", &[("password", "wrong")])
            .await;
    }
    assert_eq!(crate::helpers::step_of(&page), "blocked");
    let again = app
        .submit(&page, "password", &[("password", "Kode1234")])
        .await;
    assert_eq!(
        crate::helpers::step_of(&again),
        "blocked",
        "the right password does not help now"
    );
}

#[tokio::test]
async fn the_block_ends_at_a_danish_clock_time() {
    let app = spawn_app().await;
    // A summer noon in UTC: Copenhagen is on CEST (UTC+2), so the 15-minute block ends
    // at 14:15 there, not at 12:15.
    let noon = time::macros::datetime!(2026-07-15 12:00 UTC);
    let clock = app.sim.clock();
    clock.set_offset(clock.offset() + (noon - clock.now()));
    let page = app.start_login(&[]).await;
    let mut page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    for wrong in ["000000", "000001", "000002"] {
        page = app.submit(&page, "code", &[("code", wrong)]).await;
    }
    assert_eq!(crate::helpers::step_of(&page), "blocked");
    assert!(page.html.contains("14:15"), "{}", page.html);
    assert!(!page.html.contains("12:15"), "not in UTC");
}

use reqwest::StatusCode;

use crate::helpers::{decode_claims, query_of, spawn_app, step_of};

const HIGH: &str = r#"{"mitid":{"loa_value":"high"}}"#;
const SUBSTANTIAL: &str = r#"{"mitid":{"loa_value":"substantial"}}"#;
const LOW: &str = r#"{"mitid":{"loa_value":"low"}}"#;

async fn id_claims(app: &crate::helpers::TestApp, callback: &str) -> serde_json::Value {
    let tokens = app.tokens_for(callback).await;
    decode_claims(tokens["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn the_audio_code_reader_logs_in_with_amr_code_reader() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "kodeoplaeser")])
        .await;
    assert_eq!(step_of(&page), "code");
    assert!(
        page.html.contains("/sim/audio-reader/kodeoplaeser"),
        "links the audio device"
    );
    let callback = app.drive_login("kodeoplaeser", &[]).await;
    let claims = id_claims(&app, &callback).await;
    assert_eq!(claims["amr"], serde_json::json!(["code_reader"]));
    assert_eq!(
        claims["aal"],
        "https://data.gov.dk/concept/core/nsis/Substantial"
    );
}

#[tokio::test]
async fn the_audio_device_speaks_the_current_code_as_wav_in_danish_and_english() {
    let app = spawn_app().await;
    let page = app.page("/sim/audio-reader/kodeoplaeser").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("<audio"));
    let mut bodies = Vec::new();
    for lang in ["da", "en"] {
        let response = app
            .get(&app.url(&format!(
                "/sim/audio-reader/kodeoplaeser/code.wav?lang={lang}"
            )))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "audio/wav");
        let body = response.bytes().await.unwrap();
        assert_eq!(&body[..4], b"RIFF");
        assert!(body.len() > 16_000 * 2, "several seconds of speech");
        bodies.push(body);
    }
    assert_ne!(bodies[0], bodies[1]);
    let missing = app
        .get(&app.url("/sim/audio-reader/app.only/code.wav"))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn password_and_chip_give_high_with_amr_u2f_token() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "chip.bruger")])
        .await;
    assert_eq!(
        step_of(&page),
        "password",
        "the chip asks for the password first"
    );
    let page = app
        .submit(&page, "password", &[("password", "Chip2024")])
        .await;
    assert_eq!(step_of(&page), "chip");
    let callback = app
        .drive_login("chip.bruger", &[("idp_params", HIGH)])
        .await;
    let claims = id_claims(&app, &callback).await;
    assert_eq!(claims["amr"], serde_json::json!(["u2f_token"]));
    assert_eq!(claims["loa"], "https://data.gov.dk/concept/core/nsis/High");
}

#[tokio::test]
async fn a_password_alone_gives_low_and_is_refused_where_substantial_is_required() {
    let app = spawn_app().await;
    let callback = app.drive_login("kun.kode", &[("idp_params", LOW)]).await;
    let claims = id_claims(&app, &callback).await;
    assert_eq!(claims["amr"], serde_json::json!(["password"]));
    assert_eq!(claims["loa"], "https://data.gov.dk/concept/core/nsis/Low");

    // Substantial asked for, or nothing asked for (NEB's default is Substantial).
    for extra in [&[("idp_params", SUBSTANTIAL)][..], &[]] {
        let refused = app.drive_login("kun.kode", extra).await;
        let params = query_of(&refused);
        assert_eq!(params["error"], "access_denied", "{extra:?}");
        assert_eq!(params["error_description"], "mitid_loa_not_reachable");
    }
}

#[tokio::test]
async fn only_authenticators_that_reach_the_requested_level_are_offered() {
    let app = spawn_app().await;
    let page = app.start_login(&[("idp_params", LOW)]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "alle.metoder")])
        .await;
    let choices = app.submit(&page, "choose", &[]).await;
    for label in [
        "MitID app",
        "Kodeviser",
        "Kodeoplæser",
        "MitID chip",
        "Kun adgangskode",
    ] {
        assert!(choices.html.contains(label), "{label} is offered at Low");
    }

    // Nothing asked: NEB's default, Substantial, leaves the password alone out.
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "alle.metoder")])
        .await;
    let choices = app.submit(&page, "choose", &[]).await;
    assert!(choices.html.contains("Kodeviser") && !choices.html.contains("Kun adgangskode"));

    let page = app.start_login(&[("idp_params", HIGH)]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "alle.metoder")])
        .await;
    let choices = app.submit(&page, "choose", &[]).await;
    assert!(choices.html.contains("MitID app") && choices.html.contains("MitID chip"));
    assert!(!choices.html.contains("Kodeviser") && !choices.html.contains("Kun adgangskode"));
    // Choosing a method below the level by hand is refused too.
    let forced = app
        .submit(&choices, "choose", &[("method", "password")])
        .await;
    assert!(forced.html.contains("kan ikke bruges"), "{}", forced.html);
}

#[tokio::test]
async fn an_app_enrolled_at_high_gives_code_app_enchanced() {
    let app = spawn_app().await;
    let callback = app.drive_login("app.high", &[("idp_params", HIGH)]).await;
    let claims = id_claims(&app, &callback).await;
    assert_eq!(claims["amr"], serde_json::json!(["code_app_enchanced"]));
    assert_eq!(claims["ial"], "https://data.gov.dk/concept/core/nsis/High");
}

#[tokio::test]
async fn loa_is_the_lower_of_ial_and_aal() {
    let app = spawn_app().await;
    // A High identity with a Substantial device: loa is Substantial.
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "alle.metoder")])
        .await;
    let page = app
        .submit(&page, "choose", &[("method", "code-display")])
        .await;
    let code = app
        .citizen("alle.metoder")
        .code_display
        .as_ref()
        .unwrap()
        .secret
        .code_at(app.sim.clock().now());
    let page = app.submit(&page, "code", &[("code", &code)]).await;
    let response = app
        .post_form(&page, "password", &[("password", "Alle1234")])
        .await;
    let done = app
        .get(&app.url(&crate::helpers::location(&response)))
        .await;
    let claims = id_claims(&app, &crate::helpers::location(&done)).await;
    assert_eq!(claims["ial"], "https://data.gov.dk/concept/core/nsis/High");
    assert_eq!(
        claims["aal"],
        "https://data.gov.dk/concept/core/nsis/Substantial"
    );
    assert_eq!(
        claims["loa"],
        "https://data.gov.dk/concept/core/nsis/Substantial"
    );
    // A substantial identity with an ordinary app: High cannot be reached.
    let refused = app
        .drive_login("app.approve", &[("idp_params", HIGH)])
        .await;
    assert_eq!(
        query_of(&refused)["error_description"],
        "mitid_loa_not_reachable"
    );
}

#[tokio::test]
async fn a_blocked_code_display_is_unlocked_through_the_admin_api() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let mut page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    for wrong in ["000000", "000001", "000002"] {
        page = app.submit(&page, "code", &[("code", wrong)]).await;
    }
    assert_eq!(step_of(&page), "blocked");
    let report: serde_json::Value = app
        .get(&app.url("/admin/citizens/kodeviser"))
        .await
        .json()
        .await
        .unwrap();
    assert!(report["code_display"]["blocked_until"].is_number());

    let unlocked = app
        .browser
        .post(app.url("/admin/citizens/kodeviser/unlock"))
        .send()
        .await
        .unwrap();
    assert_eq!(unlocked.status(), StatusCode::OK);
    let callback = app.drive_login("kodeviser", &[]).await;
    assert!(query_of(&callback).contains_key("code"), "{callback}");
}

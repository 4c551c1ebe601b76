use mitid_sim::authenticators::AppRequestState;
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::{
    assert_is_redirect_to, browser, decode_claims, location, query_of, spawn_app, REDIRECT_URI,
};

#[tokio::test]
async fn a_citizen_approves_on_the_simulated_phone_and_the_rp_gets_a_code() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    assert!(page.html.contains("Bruger-ID"), "Danish by default");
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    assert!(page.html.contains("Åbn MitID app"), "the app step is shown");
    assert!(page.html.contains("<svg"), "a QR code is drawn");

    // The phone is another device: it has none of the browser's cookies.
    let phone_url = app.app_request_url(&page);
    let phone = browser();
    let phone_page = phone
        .get(&phone_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        phone_page.contains("Demo-tjeneste"),
        "the phone names the service"
    );
    let swipe = phone
        .post(&phone_url)
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(swipe.status(), StatusCode::SEE_OTHER, "post, redirect, get");
    let shown = location(&swipe);
    assert!(phone_url.ends_with(&shown), "{shown} is the request's page");
    let answer = phone
        .get(&phone_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        answer.contains("Godkendt"),
        "the phone shows the answer: {answer}"
    );
    assert!(
        !answer.contains("data-poll-url"),
        "the answer stays until the citizen closes it"
    );

    let callback = app.poll_until_redirect(&page).await;
    assert!(callback.starts_with(REDIRECT_URI));
    let params = query_of(&callback);
    assert_eq!(params["state"], "state-123");
    assert_eq!(params["iss"], app.sim.issuer());
    let tokens = app.tokens_for(&callback).await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["code_app"]));
    assert_eq!(
        claims["loa"],
        "https://data.gov.dk/concept/core/nsis/Substantial"
    );
}

#[tokio::test]
async fn the_waiting_page_reports_progress_for_its_script() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    let status: serde_json::Value = app
        .get(&app.url(&format!("{}/status", page.login_path())))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["step"], "app");
}

#[tokio::test]
async fn a_scripted_app_lets_a_plain_http_client_finish_by_polling() {
    let app = spawn_app().await;
    let page = app.start_login(&[("language", "en")]).await;
    assert!(page.html.contains("User ID"), "English with language=en");
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.approve")])
        .await;
    let callback = app.poll_until_redirect(&page).await;
    let tokens = app.tokens_for(&callback).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn rejecting_in_the_app_ends_the_login_with_access_denied() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.reject")])
        .await;
    let callback = app.poll_until_redirect(&page).await;
    let params = query_of(&callback);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "mitid_user_aborted");
    assert_eq!(params["state"], "state-123");
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn an_unanswered_app_request_times_out_on_the_broker_clock() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.silent")])
        .await;
    let still_waiting = app.get(&page.url).await;
    assert_eq!(still_waiting.status(), StatusCode::OK);

    app.sim.clock().advance(Duration::minutes(3));
    let response = app.get(&page.url).await;
    let callback = assert_is_redirect_to(&response, REDIRECT_URI);
    let params = query_of(&callback);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "mitid_timeout");
}

#[tokio::test]
async fn a_second_parallel_request_for_the_same_citizen_is_refused() {
    let app = spawn_app().await;
    let first = app.start_login(&[]).await;
    let first = app
        .submit(&first, "user-id", &[("user_id", "app.only")])
        .await;
    assert!(first.html.contains("<svg"));

    // A second login in another tab of the same broker, for the same citizen.
    let second = app.start_login(&[]).await;
    let second = app
        .submit(&second, "user-id", &[("user_id", "app.only")])
        .await;
    assert!(
        second.html.contains("parallel_sessions_detected"),
        "{}",
        second.html
    );
    assert!(!second.html.contains("<svg"), "no second QR code");

    // Cancelling the first frees the app for the second.
    let cancelled = app.post_form(&first, "cancel", &[]).await;
    let _ = app.get(&app.url(&location(&cancelled))).await;
    let retry = app.submit(&second, "choose", &[("method", "app")]).await;
    assert!(retry.html.contains("<svg"), "the app can be asked again");
    let citizen = app
        .sim
        .provider()
        .broker
        .identities
        .by_user_id("app.only")
        .unwrap();
    let pending = app
        .sim
        .provider()
        .broker
        .apps
        .pending_for(citizen.uuid, app.sim.clock().now())
        .unwrap();
    assert_eq!(
        pending.state_at(app.sim.clock().now()),
        AppRequestState::Pending
    );
}

#[tokio::test]
async fn a_citizen_can_choose_another_authenticator() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "anna.jensen")])
        .await;
    assert!(page.html.contains("<svg"), "the app is offered first");
    assert!(page.html.contains("Vælg en anden metode"));
    let choices = app.submit(&page, "choose", &[]).await;
    assert!(choices.html.contains("Kodeviser") && choices.html.contains("MitID app"));
    let code_step = app
        .submit(&choices, "choose", &[("method", "code-display")])
        .await;
    assert!(code_step.html.contains("name=\"code\""));
}

#[tokio::test]
async fn a_timed_out_app_request_stays_timed_out_after_the_clock_is_reset() {
    let app = spawn_app().await;
    let first = app.start_login(&[]).await;
    let first = app
        .submit(&first, "user-id", &[("user_id", "app.only")])
        .await;
    assert!(first.html.contains("<svg"));
    let shift =
        |body: serde_json::Value| app.browser.post(app.url("/admin/clock")).json(&body).send();
    assert!(shift(serde_json::json!({ "advance": "5m" }))
        .await
        .unwrap()
        .status()
        .is_success());
    let reset = app
        .browser
        .delete(app.url("/admin/clock"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());

    // The first login's app request timed out while the clock stood 5 minutes ahead…
    let timed_out = app.get(&first.url).await;
    let callback = location(&timed_out);
    assert_eq!(query_of(&callback)["error_description"], "mitid_timeout");
    // …and the citizen's next login may ask the app again.
    let second = app.start_login(&[]).await;
    let second = app
        .submit(&second, "user-id", &[("user_id", "app.only")])
        .await;
    assert!(
        !second.html.contains("parallel_sessions_detected"),
        "{}",
        second.html
    );
    assert!(second.html.contains("<svg"), "a new QR code");
}

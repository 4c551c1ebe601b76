//! What unauthenticated requests can make the broker keep: a capped number of logins in
//! progress, each with bounded parameters.

use reqwest::StatusCode;

use crate::helpers::{
    assert_is_redirect_to, browser, query_of, spawn_app, spawn_with, REDIRECT_URI,
};

#[tokio::test]
async fn beyond_the_pending_login_cap_the_oldest_logins_end_first() {
    let app = spawn_with(mitid_sim::Simulator::builder().max_pending_logins(5)).await;
    // Eight browsers each start a login and walk away.
    let mut started = Vec::new();
    for _ in 0..8 {
        let browser = browser();
        let response = browser.get(app.authorize_url(&[])).send().await.unwrap();
        let login = assert_is_redirect_to(&response, "/login/");
        started.push((browser, app.url(&login)));
    }
    assert_eq!(app.sim.provider().logins.len(), 5);
    for (n, (browser, login)) in started.iter().enumerate() {
        let status = browser.get(login).send().await.unwrap().status();
        let expected = if n < 3 {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "login {n}");
    }
    // A login that finishes frees its place at once (it crowded out one more to start).
    let callback = app.drive_login("app.instant", &[]).await;
    assert!(query_of(&callback).contains_key("code"), "{callback}");
    assert_eq!(app.sim.provider().logins.len(), 4);
    assert_eq!(app.sim.provider().logins.evicted(), 4);
}

#[tokio::test]
async fn oversized_authorization_parameters_are_an_invalid_request() {
    let app = spawn_app().await;
    let long = "a".repeat(4097);
    let response = app.get(&app.authorize_url(&[("nonce", &long)])).await;
    let error = query_of(&assert_is_redirect_to(&response, REDIRECT_URI));
    assert_eq!(error["error"], "invalid_request");
    assert_eq!(
        error["error_description"],
        "parameter `nonce` is 4097 bytes long; at most 4096 are accepted"
    );
    assert_eq!(error["state"], "state-123", "a short state comes back");

    let response = app.get(&app.authorize_url(&[("state", &long)])).await;
    let error = query_of(&assert_is_redirect_to(&response, REDIRECT_URI));
    assert_eq!(error["error"], "invalid_request");
    assert!(
        !error.contains_key("state"),
        "an oversized state is not echoed"
    );

    let response = app.get(&app.authorize_url(&[("client_id", &long)])).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "an error page");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("parameter `client_id` is 4097 bytes long"),
        "{page}"
    );
    assert!(!page.contains(&long), "the page does not repeat it");

    let fine = "s".repeat(4096);
    let response = app.get(&app.authorize_url(&[("state", &fine)])).await;
    assert_is_redirect_to(&response, "/login/");
    assert!(
        app.sim.provider().logins.len() == 1,
        "no login was kept for the refusals"
    );
}

//! What unauthenticated requests can make the broker keep: a capped number of logins in
//! progress, each with bounded parameters.

use reqwest::StatusCode;

use crate::helpers::{assert_is_redirect_to, browser, query_of, spawn_app, spawn_with};

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
    // An invalid request like any other: NEB's error page, never the RP.
    for name in ["nonce", "state", "client_id", "login_hint"] {
        let response = app.get(&app.authorize_url(&[(name, &long)])).await;
        let page = app.follow_to_error_page(response).await;
        let described = format!("parameter `{name}` is 4097 bytes long; at most 4096 are accepted");
        assert!(
            page.html.contains("invalid_request"),
            "{name}: {}",
            page.html
        );
        assert!(page.html.contains(&described), "{name}: {}", page.html);
        assert!(!page.html.contains(&long), "the page does not repeat it");
        let recorded = app.last_exchange("authorize");
        assert_eq!(recorded.error.as_deref(), Some("invalid_request"));
        assert_eq!(
            recorded.error_description.as_deref(),
            Some(described.as_str())
        );
    }

    let fine = "s".repeat(4096);
    let response = app.get(&app.authorize_url(&[("state", &fine)])).await;
    assert_is_redirect_to(&response, "/login/");
    assert_eq!(
        app.sim.provider().logins.len(),
        1,
        "no login was kept for the refusals"
    );
}

#[tokio::test]
async fn a_flood_of_authorize_and_large_token_requests_leaves_bounded_state() {
    use mitid_sim::protocols::oidc::record::{MAX_RECORD_BYTES, MAX_VALUE_BYTES};
    let app = spawn_with(mitid_sim::Simulator::builder().max_pending_logins(50)).await;
    let long = "x".repeat(4096);
    let authorize = app.authorize_url(&[("state", &long), ("nonce", &long)]);
    let flood = (0..500).map(|_| {
        let (browser, url) = (browser(), authorize.clone());
        async move { browser.get(&url).send().await.unwrap().status() }
    });
    for status in futures::future::join_all(flood).await {
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let provider = app.sim.provider();
    assert_eq!(provider.logins.len(), 50);
    assert_eq!(provider.logins.evicted(), 450);

    let body: String = (0..60)
        .map(|i| format!("p{i}={}", "y".repeat(4_000)))
        .collect::<Vec<_>>()
        .join("&");
    for _ in 0..40 {
        let response = app
            .browser
            .post(app.url("/op/connect/token"))
            .basic_auth("demo-rp", Some("demo-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=authorization_code&code=x&{body}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    assert!(provider.recorder.bytes() <= MAX_RECORD_BYTES);
    let record = provider.recorder.list(None, None);
    assert_eq!(record.len(), 540);
    let longest = record
        .iter()
        .flat_map(|e| e.params.values())
        .map(String::len)
        .max()
        .unwrap();
    assert!(longest <= MAX_VALUE_BYTES + 40, "{longest}");
    assert!(record.iter().all(|e| e.params.len() <= 41));
}

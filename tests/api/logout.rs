use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use serde_json::Value;
use time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{assert_is_redirect_to, decode_claims, query_of, step_of};
use crate::sessions::{
    backchannel_ok, logout_tokens, spawn_two_rps, verified_logout_claims, wait_for_logout_tokens,
    RP_A, RP_B,
};

fn end_session_url(app: &crate::helpers::TestApp, params: &[(&str, &str)]) -> String {
    format!(
        "{}/op/connect/endsession?{}",
        app.sim.base_url(),
        serde_urlencoded::to_string(params).unwrap()
    )
}

#[tokio::test]
async fn logging_out_of_one_rp_ends_the_broker_session_and_notifies_both_rps() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, tokens_b) = app.two_rp_logins("app.approve").await;
    let id_token_a = tokens_a["id_token"].as_str().unwrap();

    // rp-b registered no front-channel URI, rp-a did: the logout page loads rp-a's.
    let response = app
        .get(&end_session_url(
            &app,
            &[
                ("id_token_hint", id_token_a),
                ("post_logout_redirect_uri", "http://rp-a.test/logged-out"),
                ("state", "bye-1"),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("mitid_sim_sso=;"));
    assert!(cleared, "the SSO cookie is removed");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("http://rp-a.test/frontchannel?iss="),
        "{page}"
    );
    let sid_a = decode_claims(id_token_a)["sid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(page.contains(&format!("sid={sid_a}")));
    assert!(page.contains("http://rp-a.test/logged-out?state=bye-1"));

    for (server, client, tokens) in [(&a, "rp-a", &tokens_a), (&b, "rp-b", &tokens_b)] {
        let received = wait_for_logout_tokens(server, 1).await;
        assert_eq!(received.len(), 1);
        let claims = verified_logout_claims(&app, &received[0], client).await;
        let id_claims = decode_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(
            claims["sid"], id_claims["sid"],
            "{client}: sid matches the id_token's"
        );
        assert_eq!(claims["sub"], id_claims["sub"]);
    }
    // Each client gets its logout token signed with its id_token algorithm.
    assert_eq!(
        crate::helpers::decode_header(&logout_tokens(&a).await[0])["alg"],
        "ES256"
    );
    assert_eq!(
        crate::helpers::decode_header(&logout_tokens(&b).await[0])["alg"],
        "RS256"
    );

    // The broker session is gone: the next login asks for credentials again.
    let response = app.get(&app.rp_authorize_url("rp-b", RP_B, &[])).await;
    assert_is_redirect_to(&response, "/login/");
    let info: Value = app.userinfo_of(&tokens_b).await.json().await.unwrap();
    assert_eq!(info["session_is_active"], "false");

    let deliveries: Value = app
        .get(&app.url("/admin/logouts"))
        .await
        .json()
        .await
        .unwrap();
    let delivered: Vec<_> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "delivered")
        .collect();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0]["reason"], "rp_logout");
}

#[tokio::test]
async fn without_a_post_logout_redirect_uri_a_confirmation_page_is_shown() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (_, tokens_b) = app.two_rp_logins("app.approve").await;
    let response = app
        .get(&end_session_url(
            &app,
            &[("id_token_hint", tokens_b["id_token"].as_str().unwrap())],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("Du er logget af"));
    wait_for_logout_tokens(&a, 1).await;
}

#[tokio::test]
async fn the_logout_confirmation_speaks_the_requested_ui_locales() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (_, tokens_b) = app.two_rp_logins("app.approve").await;
    let page = app
        .get(&end_session_url(
            &app,
            &[
                ("id_token_hint", tokens_b["id_token"].as_str().unwrap()),
                ("ui_locales", "en-GB da"),
            ],
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<html lang="en">"#), "{page}");
    assert!(page.contains("You are logged out") && !page.contains("Du er logget af"));
}

#[tokio::test]
async fn a_registered_redirect_without_front_channel_clients_is_a_direct_redirect_with_state() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let callback = app.drive_login("app.approve", &[]).await;
    let tokens = app.tokens_for(&callback).await;
    let response = app
        .get(&end_session_url(
            &app,
            &[
                ("id_token_hint", tokens["id_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", "http://localhost:8080/"),
                ("state", "s-9"),
            ],
        ))
        .await;
    let to = assert_is_redirect_to(&response, "http://localhost:8080/");
    assert_eq!(query_of(&to)["state"], "s-9");
}

#[tokio::test]
async fn unusable_logout_requests_go_to_the_logout_page_and_leave_the_session_alive() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    let hint = tokens_a["id_token"].as_str().unwrap();
    let mut tampered = hint.to_string();
    tampered.replace_range(tampered.len() - 6.., "AAAAAA");
    let cases: [&[(&str, &str)]; 6] = [
        &[],
        &[
            ("post_logout_redirect_uri", "http://rp-a.test/logged-out"),
            ("state", "x"),
        ],
        &[("id_token_hint", "not-a-token")],
        &[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        &[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "http://rp-a.test/logged-out/x"),
        ],
        &[
            ("id_token_hint", &tampered),
            ("post_logout_redirect_uri", "http://rp-a.test/logged-out"),
        ],
    ];
    // As recorded at NEB: post_logout_redirect_uri ignored, the broker's logout page, no
    // error shown.
    let logout_page = format!("{}/op/Account/Logout", app.sim.base_url());
    for params in cases {
        let response = app.get(&end_session_url(&app, params)).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{params:?}");
        assert_eq!(crate::helpers::location(&response), logout_page);
        let cleared = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("mitid_sim_sso=;"));
        assert!(!cleared, "{params:?}");
        assert!(app.last_exchange("endsession").error_description.is_some());
    }
    let page = app.page(&logout_page).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("ingen session er afsluttet"),
        "{}",
        page.html
    );
    let english = app.page(&format!("{logout_page}?lang=en")).await;
    assert!(
        english.html.contains("no session ended"),
        "{}",
        english.html
    );
    let response = app.get(&app.rp_authorize_url("rp-b", RP_B, &[])).await;
    assert_is_redirect_to(&response, RP_B);
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    assert!(
        logout_tokens(&a).await.is_empty(),
        "no logout was announced"
    );
}

#[tokio::test]
async fn back_channel_delivery_retries_with_backoff_until_the_rp_answers() {
    let flaky = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/backchannel"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&flaky)
        .await;
    Mock::given(method("POST"))
        .and(path("/backchannel"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(&flaky)
        .await;
    let down = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&down)
        .await;
    let app = spawn_two_rps(&flaky, &down).await;
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    app.get(&end_session_url(
        &app,
        &[("id_token_hint", tokens_a["id_token"].as_str().unwrap())],
    ))
    .await;

    let tokens = wait_for_logout_tokens(&flaky, 3).await;
    assert_eq!(tokens.len(), 3, "two refusals, then success");
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "the same token is retried"
    );
    wait_for_logout_tokens(&down, 3).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(
        logout_tokens(&down).await.len(),
        3,
        "bounded: no attempt after the third"
    );

    let deliveries: Value = app
        .get(&app.url("/admin/logouts"))
        .await
        .json()
        .await
        .unwrap();
    let by_client = |id: &str| {
        deliveries
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["client_id"] == id)
            .unwrap()
            .clone()
    };
    let a = by_client("rp-a");
    assert_eq!(a["state"], "delivered");
    let statuses: Vec<_> = a["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].clone())
        .collect();
    assert_eq!(statuses, [503, 503, 204]);
    let b = by_client("rp-b");
    assert_eq!(b["state"], "failed");
    assert_eq!(b["attempts"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn an_idle_session_expires_on_the_shifted_clock_and_the_rps_are_told() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    app.sim.clock().advance(Duration::minutes(59));
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    assert!(
        logout_tokens(&a).await.is_empty(),
        "just under the idle limit: alive"
    );

    app.sim.clock().advance(Duration::minutes(2));
    // The broker's own housekeeping notices within a second.
    let received = wait_for_logout_tokens(&a, 1).await;
    verified_logout_claims(&app, &received[0], "rp-a").await;
    wait_for_logout_tokens(&b, 1).await;
    let info: Value = app.userinfo_of(&tokens_a).await.json().await.unwrap();
    assert_eq!(info["session_is_active"], "false");
    let deliveries: Value = app
        .get(&app.url("/admin/logouts"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["reason"], "idle_expiry");
}

#[tokio::test]
async fn the_absolute_lifetime_ends_a_session_despite_activity() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    app.two_rp_logins("app.approve").await;
    // Used every 50 minutes, so it never idles out: alive at 7 h 30 ...
    for _ in 0..9 {
        app.sim.clock().advance(Duration::minutes(50));
        app.sim.provider().expire_sessions();
        let response = app.get(&app.rp_authorize_url("rp-b", RP_B, &[])).await;
        assert_is_redirect_to(&response, RP_B);
    }
    assert!(logout_tokens(&a).await.is_empty());
    // ... and ended at 8 h 20 although it was in use.
    app.sim.clock().advance(Duration::minutes(50));
    app.sim.provider().expire_sessions();
    let response = app.get(&app.rp_authorize_url("rp-b", RP_B, &[])).await;
    assert_is_redirect_to(&response, "/login/");
    let received = wait_for_logout_tokens(&a, 1).await;
    assert_eq!(received.len(), 1);
    let deliveries: Value = app
        .get(&app.url("/admin/logouts"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["reason"], "absolute_expiry");
}

#[tokio::test]
async fn the_back_end_logout_api_ends_the_session_of_an_id_token() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (_, tokens_b) = app.two_rp_logins("app.approve").await;
    let response = app
        .browser
        .post(app.url("/op/api/v1/session/logout"))
        .form(&[("id_token", tokens_b["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ended"], true);
    wait_for_logout_tokens(&a, 1).await;
    let again = app
        .browser
        .post(app.url("/op/api/v1/session/logout"))
        .json(&serde_json::json!({ "id_token": tokens_b["id_token"] }))
        .send()
        .await
        .unwrap();
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["ended"], false, "already ended");
    let bad = app
        .browser
        .post(app.url("/op/api/v1/session/logout"))
        .form(&[("id_token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn another_citizen_logging_in_replaces_the_session_and_the_old_rps_are_told() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    app.two_rp_logins("app.approve").await;
    let page = app
        .start_login(&[
            ("client_id", "rp-a"),
            ("redirect_uri", RP_A),
            ("prompt", "login"),
        ])
        .await;
    assert_eq!(step_of(&page), "user_id");
    app.drive_login(
        "beskyttet",
        &[
            ("client_id", "rp-a"),
            ("redirect_uri", RP_A),
            ("prompt", "login"),
        ],
    )
    .await;
    let received = wait_for_logout_tokens(&b, 1).await;
    verified_logout_claims(&app, &received[0], "rp-b").await;
}

#[tokio::test]
async fn the_admin_api_ends_a_session_now() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    let neb_sid = decode_claims(tokens_a["id_token"].as_str().unwrap())["neb_sid"]
        .as_str()
        .unwrap()
        .to_string();
    let sessions: Value = app
        .get(&app.url("/admin/sessions"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions[0]["id"], neb_sid);
    let response = app
        .browser
        .delete(app.url(&format!("/admin/sessions/{neb_sid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    wait_for_logout_tokens(&a, 1).await;
    wait_for_logout_tokens(&b, 1).await;
}

#[tokio::test]
async fn a_code_cannot_be_exchanged_once_its_session_has_ended() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let callback = app.no_ui_login("username:kodeviser", &[]).await;
    let sessions: Value = app
        .get(&app.url("/admin/sessions"))
        .await
        .json()
        .await
        .unwrap();
    let neb_sid = sessions[0]["id"].as_str().unwrap().to_string();
    app.browser
        .delete(app.url(&format!("/admin/sessions/{neb_sid}")))
        .send()
        .await
        .unwrap();
    let response = app.exchange(&query_of(&callback)["code"]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn logout_with_an_rp_that_never_saw_this_browser_session_still_ends_it() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    // rp-a's login, then its session ends; the same citizen logs in again at rp-b only.
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    let first = decode_claims(tokens_a["id_token"].as_str().unwrap())["neb_sid"]
        .as_str()
        .unwrap()
        .to_string();
    app.browser
        .delete(app.url(&format!("/admin/sessions/{first}")))
        .send()
        .await
        .unwrap();
    let callback_b = app
        .drive_login(
            "app.approve",
            &[("client_id", "rp-b"), ("redirect_uri", RP_B)],
        )
        .await;
    app.rp_tokens("rp-b", "secret-b", RP_B, &callback_b).await;
    let response = app
        .get(&end_session_url(
            &app,
            &[("id_token_hint", tokens_a["id_token"].as_str().unwrap())],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let sessions: Value = app
        .get(&app.url("/admin/sessions"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        sessions.as_array().unwrap().is_empty(),
        "the browser's session ended too: {sessions}"
    );
}

/// Switches rp-a's back-channel withholding as `switch` says, then logs out of rp-a:
/// the switch's answer and the logout page.
async fn withhold_rp_a_and_log_out(
    app: &crate::helpers::TestApp,
    switch: Value,
    id_token: &str,
) -> (Value, String) {
    let answer: Value = app
        .browser
        .post(app.url("/admin/clients/rp-a/backchannel"))
        .json(&switch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = app
        .get(&end_session_url(app, &[("id_token_hint", id_token)]))
        .await
        .text()
        .await
        .unwrap();
    (answer, page)
}

#[tokio::test]
async fn a_withheld_client_gets_no_front_channel_iframe_either() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    let (answer, page) = withhold_rp_a_and_log_out(
        &app,
        serde_json::json!({ "withhold": true }),
        tokens_a["id_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(answer["frontchannel_withheld"], true);
    assert!(page.contains("Du er logget af"));
    assert!(!page.contains("rp-a.test/frontchannel"), "{page}");
}

#[tokio::test]
async fn withholding_the_back_channel_alone_keeps_the_front_channel_iframe() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    let (answer, page) = withhold_rp_a_and_log_out(
        &app,
        serde_json::json!({ "withhold": true, "frontchannel": false }),
        tokens_a["id_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(answer["withheld"], true);
    assert_eq!(answer["frontchannel_withheld"], false);
    assert!(
        page.contains("http://rp-a.test/frontchannel?iss="),
        "{page}"
    );
    // rp-b, not withheld, gets its logout token; rp-a's is withheld.
    wait_for_logout_tokens(&b, 1).await;
    let record: Value = app
        .get(&app.url("/admin/record?client=rp-a"))
        .await
        .json()
        .await
        .unwrap();
    let to_a = record["backchannel"].as_array().unwrap();
    assert!(
        !to_a.is_empty() && to_a.iter().all(|d| d["state"] == "withheld"),
        "{record}"
    );
}

#[tokio::test]
async fn an_id_token_from_before_a_key_rotation_still_logs_out_hours_later() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    app.browser
        .post(app.url("/admin/keys/rotate"))
        .send()
        .await
        .unwrap();
    // Kept alive by SSO logins, two hours pass; the broker's housekeeping prunes keys.
    for _ in 0..4 {
        app.sim.clock().advance(Duration::minutes(30));
        app.get(&app.rp_authorize_url("rp-b", RP_B, &[])).await;
    }
    app.sim.provider().broker.sweep();
    let response = app
        .get(&end_session_url(
            &app,
            &[("id_token_hint", tokens_a["id_token"].as_str().unwrap())],
        ))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    wait_for_logout_tokens(&b, 1).await;
}

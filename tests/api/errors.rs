use reqwest::StatusCode;

use crate::helpers::{
    assert_is_redirect_to, browser, location, query_of, spawn_app, CLIENT_ID, REDIRECT_URI, SECRET,
    VERIFIER,
};

#[tokio::test]
async fn an_unregistered_redirect_uri_goes_to_the_brokers_error_page_never_to_it() {
    let app = spawn_app().await;
    let response = app
        .get(&app.authorize_url(&[("redirect_uri", "https://evil.example/steal")]))
        .await;
    let page = app.follow_to_error_page(response).await;
    assert!(page.html.contains("Invalid redirect_uri"), "{}", page.html);
    assert!(page.html.contains("is not registered"));
    assert!(!page.html.contains("<a href=\"https://evil.example"));
}

#[tokio::test]
async fn a_near_miss_redirect_uri_is_not_accepted() {
    let app = spawn_app().await;
    for near in [
        "http://localhost:8080/callback/",
        "http://localhost:8080/callback?x=1",
        "HTTP://localhost:8080/callback",
        "http://localhost:8080/Callback",
    ] {
        let response = app.get(&app.authorize_url(&[("redirect_uri", near)])).await;
        app.follow_to_error_page(response).await;
    }
}

#[tokio::test]
async fn an_unknown_client_gets_the_error_page() {
    let app = spawn_app().await;
    let response = app.get(&app.authorize_url(&[("client_id", "who")])).await;
    let page = app.follow_to_error_page(response).await;
    assert!(page.html.contains("unauthorized_client"), "{}", page.html);
    assert!(page.html.contains("Unknown client or client not enabled"));
}

#[tokio::test]
async fn invalid_requests_go_to_the_error_page_and_never_reach_the_rp() {
    let app = spawn_app().await;
    // Each recorded at NEB as a 302 to /op/Error, or an invalid request by NEB's rule.
    /// Extra request parameters, the error code, and a word of the description.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 12] = [
        (&[("scope", "")], "invalid_scope", "openid"),
        (&[("scope", "mitid")], "invalid_scope", "openid"),
        (&[("scope", "openid unknown")], "invalid_scope", "unknown"),
        (&[("response_type", "")], "invalid_request", "response_type"),
        (
            &[("response_type", "token")],
            "unsupported_response_type",
            "token",
        ),
        (
            &[("code_challenge_method", "plain")],
            "invalid_request",
            "plain",
        ),
        (
            &[("idp_params", "{not json")],
            "invalid_request",
            "idp_params",
        ),
        (
            &[("idp_values", "nosuchidp")],
            "invalid_request",
            "nosuchidp",
        ),
        (
            &[("idp_values", "soloid")],
            "invalid_request",
            "not enabled",
        ),
        (&[("prompt", "consent")], "invalid_request", "consent"),
        (&[("max_age", "soon")], "invalid_request", "max_age"),
        (&[("request", "eyJ")], "request_not_supported", "request"),
    ];
    for (extra, code, detail) in cases {
        let response = app.get(&app.authorize_url(extra)).await;
        let page = app.follow_to_error_page(response).await;
        assert!(page.html.contains(code), "{extra:?}: {}", page.html);
        assert!(page.html.contains(detail), "{extra:?}: {}", page.html);
        let recorded = app.last_exchange("authorize");
        assert_eq!(recorded.error.as_deref(), Some(code), "{extra:?}");
        assert!(recorded.error_description.unwrap().contains(detail));
    }
    // A forged or garbled reference shows nothing of anyone's.
    let page = app.page("/op/Error?errorId=CfDJ8forged").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn errors_reach_the_rp_with_session_state_and_no_iss_and_codes_with_both() {
    let app = spawn_app().await;
    // prompt=none without a session: an error NEB returns to the service.
    let response = app.get(&app.authorize_url(&[("prompt", "none")])).await;
    let to = assert_is_redirect_to(&response, REDIRECT_URI);
    let keys: Vec<String> = url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(
        keys,
        ["error", "error_description", "state", "session_state"],
        "as recorded: no iss on an error"
    );
    assert_eq!(query_of(&to)["error"], "login_required");

    let callback = app.no_ui_login("username:anna.jensen", &[]).await;
    let keys: Vec<String> = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(
        keys,
        ["code", "state", "session_state", "iss"],
        "as recorded"
    );
    let params = query_of(&callback);
    assert_eq!(params["iss"], app.sim.issuer());
    let (hash, salt) = params["session_state"].split_once('.').unwrap();
    assert_eq!((hash.len(), salt.len()), (43, 32));
}

#[tokio::test]
async fn a_missing_pkce_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    let callback = app.login_with_code("kodeviser", "Kode2024", &[]).await;
    let code = &query_of(&callback)["code"];
    let response = app
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store, no-cache, max-age=0"
    );
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "error": "invalid_grant" }),
        "bare, as recorded"
    );
    let recorded = app.last_exchange("token");
    assert!(recorded
        .error_description
        .unwrap()
        .contains("code_verifier"));
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    let callback = app.login_with_code("kodeviser", "Kode2024", &[]).await;
    let code = &query_of(&callback)["code"];
    let wrong = VERIFIER.replace('d', "x");
    let response = app
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &wrong),
        ])
        .await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_the_tokens_it_issued() {
    let app = spawn_app().await;
    let callback = app.login_with_code("kodeviser", "Kode2024", &[]).await;
    let code = query_of(&callback)["code"].clone();
    let first = app.exchange(&code).await;
    assert_eq!(first.status(), StatusCode::OK);
    let tokens: serde_json::Value = first.json().await.unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    let userinfo = app
        .browser
        .get(app.url("/op/connect/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), StatusCode::OK);

    let replay = app.exchange(&code).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    let after = app
        .browser
        .get(app.url("/op/connect/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let challenge = after.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    // A third try stays refused.
    assert_eq!(app.exchange(&code).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn codes_expire_after_a_minute() {
    let app = spawn_app().await;
    let callback = app.login_with_code("kodeviser", "Kode2024", &[]).await;
    app.sim.clock().advance(time::Duration::seconds(61));
    let response = app.exchange(&query_of(&callback)["code"]).await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        app.last_exchange("token").error_description.as_deref(),
        Some("the code has expired")
    );
}

#[tokio::test]
async fn client_authentication_works_by_basic_and_by_post_and_refuses_a_wrong_secret() {
    let app = spawn_app().await;
    let callback = app.login_with_code("kodeviser", "Kode2024", &[]).await;
    let code = query_of(&callback)["code"].clone();
    let wrong = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth(CLIENT_ID, Some("nope"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let by_post = app
        .browser
        .post(app.url("/op/connect/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(by_post.status(), StatusCode::OK, "client_secret_post works");
    assert_eq!(
        by_post.headers()["cache-control"],
        "no-store, no-cache, max-age=0"
    );

    // A wrong secret by form post: 400 and a bare invalid_client, as recorded (CAP-014).
    let wrong_post = app
        .browser
        .post(app.url("/op/connect/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "whatever"),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_post.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = wrong_post.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "error": "invalid_client" }));
}

#[tokio::test]
async fn cancel_at_any_step_returns_mitid_user_aborted() {
    let app = spawn_app().await;
    for steps in 0..3 {
        let mut page = app.start_login(&[]).await;
        if steps >= 1 {
            page = app
                .submit(&page, "user-id", &[("user_id", "kodeviser")])
                .await;
        }
        if steps >= 2 {
            let code = app.code_now("kodeviser");
            page = app.submit(&page, "code", &[("code", &code)]).await;
            assert!(page.html.contains("name=\"password\""));
        }
        let cancelled = app.post_form(&page, "cancel", &[]).await;
        let back = app.get(&app.url(&location(&cancelled))).await;
        let to = assert_is_redirect_to(&back, REDIRECT_URI);
        let params = query_of(&to);
        assert_eq!(params["error"], "access_denied");
        assert_eq!(params["error_description"], "mitid_user_aborted");
        assert_eq!(params["state"], "state-123");
        // The login is gone: its page cannot hand out anything more.
        assert_eq!(app.get(&page.url).await.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let response = app
        .browser
        .post(app.url(&format!("{}/user-id", page.login_path())))
        .form(&[("user_id", "kodeviser"), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_login_cannot_be_continued_from_another_browser() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let stranger = browser();
    let response = stranger.get(&page.url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_locked_identity_sees_why_and_the_rp_gets_access_denied() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "spaerret")])
        .await;
    assert!(page.html.contains("midlertidigt spærret"), "{}", page.html);
    let back = app.post_form(&page, "return", &[]).await;
    let to = assert_is_redirect_to(&back, REDIRECT_URI);
    assert_eq!(query_of(&to)["error"], "access_denied");
}

#[tokio::test]
async fn a_level_no_authenticator_reaches_fails_with_a_page_and_an_error() {
    let app = spawn_app().await;
    let page = app
        .start_login(&[(
            "idp_params",
            r#"{"mitid":{"loa_value":"https://data.gov.dk/concept/core/nsis/High"}}"#,
        )])
        .await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    assert!(page.html.contains("højere sikringsniveau"), "{}", page.html);
}

#[tokio::test]
async fn userinfo_refuses_a_missing_or_bad_token_as_recorded() {
    let app = spawn_app().await;
    let without = app.get(&app.url("/op/connect/userinfo")).await;
    let bad = app
        .browser
        .get(app.url("/op/connect/userinfo"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    for response in [without, bad] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"IdentityServer\",error=\"invalid_token\""
        );
        assert_eq!(
            response.headers()["cache-control"],
            "no-store, no-cache, max-age=0"
        );
        assert!(response.text().await.unwrap().is_empty(), "an empty body");
    }
}

#[tokio::test]
async fn unknown_paths_get_a_readable_404() {
    let app = spawn_app().await;
    let page = app.page("/op/connect/nothing").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.html.contains("Siden findes ikke"), "Danish, as MitID");
    assert!(
        !page.html.contains("Page not found"),
        "one language per page"
    );
    let english = app.page("/op/connect/nothing?lang=en").await;
    assert!(english.html.contains("Page not found"));
    assert!(english.html.contains(r#"<html lang="en">"#));
}

#[tokio::test]
async fn a_locked_identity_can_log_in_once_unlocked_through_the_admin_api() {
    let app = spawn_app().await;
    let refused = app.no_ui_login("username:spaerret", &[]).await;
    assert_eq!(
        query_of(&refused)["error_description"],
        "mitid_identity_locked"
    );
    let unlocked: serde_json::Value = app
        .browser
        .post(app.url("/admin/citizens/spaerret/unlock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unlocked["status"], "active");
    let callback = app.no_ui_login("username:spaerret", &[]).await;
    assert!(query_of(&callback).contains_key("code"));
}

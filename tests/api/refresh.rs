use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::sessions::{backchannel_ok, spawn_two_rps};

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let response = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth("rp-a", Some("secret-a"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn client_post(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.browser
        .post(app.url(path))
        .basic_auth("rp-a", Some("secret-a"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_whole_family() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens, _) = app.two_rp_logins("app.approve").await;
    let first = tokens["refresh_token"]
        .as_str()
        .expect("rp-a always gets a refresh token")
        .to_string();

    let (status, rotated) = refresh(&app, &first).await;
    assert_eq!(status, StatusCode::OK);
    let second = rotated["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first, "rotation");
    assert!(rotated["id_token"].is_string() && rotated["access_token"].is_string());

    let (status, body) = refresh(&app, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = refresh(&app, &second).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the family is revoked");
    assert_eq!(
        app.userinfo_of(&rotated).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_is_refused_once_the_broker_session_has_ended() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens, _) = app.two_rp_logins("app.approve").await;
    let neb_sid = crate::helpers::decode_claims(tokens["id_token"].as_str().unwrap())["neb_sid"]
        .as_str()
        .unwrap()
        .to_string();
    app.browser
        .delete(app.url(&format!("/admin/sessions/{neb_sid}")))
        .send()
        .await
        .unwrap();
    let (status, body) = refresh(&app, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(app
        .last_exchange("token")
        .error_description
        .unwrap()
        .contains("session has ended"));
}

#[tokio::test]
async fn introspection_and_revocation_follow_rfc_7662_and_7009() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens, _) = app.two_rp_logins("app.approve").await;
    let access = tokens["access_token"].as_str().unwrap();
    let info: Value = client_post(&app, "/op/connect/introspect", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], "rp-a");
    assert_eq!(info["token_type"], "Bearer");

    let revoked = client_post(&app, "/op/connect/revocation", access).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let info: Value = client_post(&app, "/op/connect/introspect", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info, serde_json::json!({ "active": false }));
    assert_eq!(
        app.userinfo_of(&tokens).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Unknown tokens are fine to revoke (RFC 7009 §2.2); a wrong secret is not.
    assert_eq!(
        client_post(&app, "/op/connect/revocation", "nonsense")
            .await
            .status(),
        StatusCode::OK
    );
    let wrong = app
        .browser
        .post(app.url("/op/connect/revocation"))
        .basic_auth("rp-a", Some("nope"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Revoking the refresh token revokes its family.
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    client_post(&app, "/op/connect/revocation", refresh_token).await;
    let (status, _) = refresh(&app, refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_narrowed_refresh_keeps_the_refresh_tokens_full_scope() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens, _) = app.two_rp_logins("app.approve").await;
    let narrow = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth("rp-a", Some("secret-a"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    let narrowed: Value = narrow.json().await.unwrap();
    assert_eq!(narrowed["scope"], "openid");
    let wide = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth("rp-a", Some("secret-a"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", narrowed["refresh_token"].as_str().unwrap()),
            ("scope", "openid mitid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        wide.status(),
        StatusCode::OK,
        "RFC 6749 §6: the refresh token keeps its scope"
    );
}

#[tokio::test]
async fn a_refresh_token_of_an_ended_session_is_inactive() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens, _) = app.two_rp_logins("app.approve").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let info: Value = client_post(&app, "/op/connect/introspect", refresh_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["active"], true);
    let neb_sid = crate::helpers::decode_claims(tokens["id_token"].as_str().unwrap())["neb_sid"]
        .as_str()
        .unwrap()
        .to_string();
    app.browser
        .delete(app.url(&format!("/admin/sessions/{neb_sid}")))
        .send()
        .await
        .unwrap();
    let info: Value = client_post(&app, "/op/connect/introspect", refresh_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info, serde_json::json!({ "active": false }));
}

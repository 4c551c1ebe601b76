//! The simulator-only CPR register API: a service reads what the register holds about the
//! citizen its access token is for, while the broker session lives.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

async fn person(app: &crate::helpers::TestApp, token: Option<&str>) -> (StatusCode, Value, String) {
    let mut request = app.browser.get(app.url("/sim/cpr/v1/person"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, response.json().await.unwrap(), challenge)
}

async fn access_token(app: &crate::helpers::TestApp, user: &str) -> String {
    let callback = app.no_ui_login(&format!("username:{user}"), &[]).await;
    let tokens = app.tokens_for(&callback).await;
    tokens["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_service_reads_the_register_record_of_its_tokens_citizen() {
    let app = spawn_app().await;
    let token = access_token(&app, "foraelder").await;
    let (status, record, _) = person(&app, Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("register_person_parent", record);

    let token = access_token(&app, "navne.forskel").await;
    let (_, record, _) = person(&app, Some(&token)).await;
    assert_eq!(record["name"], "Jens-Peter Sørensen Kragh");
    assert_eq!(record["eid_name"], "Jens Peter Sørensen");

    let token = access_token(&app, "vaerge").await;
    let (_, record, _) = person(&app, Some(&token)).await;
    assert_eq!(record["may_act_for"][0]["basis"], "guardian");
}

#[tokio::test]
async fn no_token_a_foreign_token_an_ended_session_or_no_cpr_get_no_record() {
    let app = spawn_app().await;
    let (status, error, challenge) = person(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"], "invalid_request");
    assert!(challenge.starts_with("Bearer"), "{challenge}");

    let (status, error, challenge) = person(&app, Some("not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"], "invalid_token");
    assert!(challenge.contains("invalid_token"), "{challenge}");

    let (status, error, _) = person(&app, Some(&access_token(&app, "uden.cpr").await)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"], "not_in_register");

    let token = access_token(&app, "foraelder").await;
    for session in app.sim.sessions() {
        app.sim.end_session(session.id).unwrap();
    }
    let (status, error, _) = person(&app, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert!(error["message"].as_str().unwrap().contains("session"));
}

#[tokio::test]
async fn the_register_api_describes_itself_as_simulator_only() {
    let app = spawn_app().await;
    let document: Value = app
        .browser
        .get(app.url("/sim/cpr/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["info"]["title"]
        .as_str()
        .unwrap()
        .contains("simulator only"));
    assert!(document["paths"]["/sim/cpr/v1/person"]["get"].is_object());
}

use time::Duration;

use crate::helpers::{location, query_of, spawn_app, step_of, TestApp};

const SSN: (&str, &str) = ("scope", "openid mitid ssn");

async fn at_cpr_step(app: &TestApp, user: &str) -> crate::helpers::Page {
    at_cpr_step_for(app, user, SSN.1).await
}

/// Logs `user` in with the app, asking for `scope`, up to the CPR page.
pub(crate) async fn at_cpr_step_for(
    app: &TestApp,
    user: &str,
    scope: &str,
) -> crate::helpers::Page {
    let page = app.start_login(&[("scope", scope)]).await;
    let waiting = app.submit(&page, "user-id", &[("user_id", user)]).await;
    for _ in 0..100 {
        let page = app.page(&waiting.url).await;
        if step_of(&page) == "cpr" {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the CPR step never came")
}

async fn userinfo(app: &TestApp, callback: &str) -> serde_json::Value {
    let tokens = app.tokens_for(callback).await;
    app.browser
        .get(app.url("/op/connect/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_ssn_scope_asks_for_the_cpr_and_releases_it_once_typed() {
    let app = spawn_app().await;
    let page = at_cpr_step(&app, "app.approve").await;
    assert!(page.html.contains("Bekræft dit CPR-nummer"));
    let wrong = app.submit(&page, "cpr", &[("cpr", "010101-0101")]).await;
    assert!(wrong.html.contains("2 forsøg tilbage"), "{}", wrong.html);
    let response = app.post_form(&wrong, "cpr", &[("cpr", "3101903011")]).await;
    let done = app.get(&app.url(&location(&response))).await;
    let callback = location(&done);
    assert_eq!(userinfo(&app, &callback).await["dk.cpr"], "3101903011");
}

#[tokio::test]
async fn three_wrong_cpr_numbers_end_the_login() {
    let app = spawn_app().await;
    let mut page = at_cpr_step(&app, "app.approve").await;
    for _ in 0..2 {
        page = app.submit(&page, "cpr", &[("cpr", "not a cpr")]).await;
    }
    let response = app.post_form(&page, "cpr", &[("cpr", "010101-0101")]).await;
    let failed = app.page(&location(&response)).await;
    assert!(failed.html.contains("kunne ikke bekræftes"));
    let back = app.post_form(&failed, "return", &[]).await;
    let params = query_of(&location(&back));
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "cpr_not_matched");
}

#[tokio::test]
async fn the_cpr_must_be_typed_within_15_minutes_of_the_login() {
    let app = spawn_app().await;
    let page = at_cpr_step(&app, "app.approve").await;
    app.sim.clock().advance(Duration::minutes(16));
    let response = app.post_form(&page, "cpr", &[("cpr", "310190-3011")]).await;
    let failed = app.page(&location(&response)).await;
    let back = app.post_form(&failed, "return", &[]).await;
    assert_eq!(
        query_of(&location(&back))["error_description"],
        "cpr_entry_timeout"
    );
}

#[tokio::test]
async fn without_the_ssn_scope_or_without_a_cpr_no_cpr_is_asked_or_released() {
    let app = spawn_app().await;
    let callback = app.drive_login("app.approve", &[]).await;
    assert!(userinfo(&app, &callback).await.get("dk.cpr").is_none());
    let callback = app.drive_login("uden.cpr", &[SSN]).await;
    let claims = userinfo(&app, &callback).await;
    assert!(claims.get("dk.cpr").is_none());
    assert_eq!(claims["mitid.has_cpr"], "false");
}

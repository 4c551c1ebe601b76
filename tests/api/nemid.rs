use reqwest::StatusCode;

use crate::helpers::{decode_claims, location, query_of, spawn_app, step_of, Page, TestApp};

const NEMID: (&str, &str) = ("idp_values", "nemid");

/// Starts a NemID login and submits the user ID and password page.
async fn nemid_credentials(
    app: &TestApp,
    extra: &[(&str, &str)],
    user_id: &str,
    password: &str,
) -> Page {
    let page = app.start_login(&[&[NEMID], extra].concat()).await;
    app.submit(
        &page,
        "nemid",
        &[("user_id", user_id), ("password", password)],
    )
    .await
}

fn keys_left(app: &TestApp, user: &str) -> usize {
    let citizen = app.citizen(user);
    app.sim
        .provider()
        .broker
        .code_cards
        .state(citizen.uuid, citizen.nemid.as_ref().unwrap())
        .keys_left()
}

#[tokio::test]
async fn a_nemid_code_card_login_releases_the_pid() {
    let app = spawn_app().await;
    let page = app.start_login(&[NEMID]).await;
    assert_eq!(step_of(&page), "nemid_credentials");
    assert!(page.html.contains("NemID"));
    let wrong = app
        .submit(
            &page,
            "nemid",
            &[("user_id", "nemid.kort"), ("password", "9999")],
        )
        .await;
    assert!(wrong.html.contains("Forkert bruger-id eller adgangskode"));
    let card = app
        .submit(
            &wrong,
            "nemid",
            &[("user_id", "nemid.kort"), ("password", "1234")],
        )
        .await;
    assert_eq!(step_of(&card), "code_card");
    assert!(card.html.contains("Nøgle nr."));

    let callback = app
        .drive_login("nemid.kort", &[NEMID, ("scope", "openid nemid.pid mitid")])
        .await;
    let tokens = app.tokens_for(&callback).await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["nemid.otp"]));
    assert_eq!(claims["idp"], "nemid");
    let userinfo: serde_json::Value = app
        .browser
        .get(app.url("/op/connect/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // As the real broker sends it: without `PID:`, and its lookup vocabulary.
    assert_eq!(userinfo["nemid.pid"], "9208-2002-2-150371166201");
    assert_eq!(userinfo["nemid.pid_status"], "success");
    assert_eq!(userinfo["idp_identity_id"], "9208-2002-2-150371166201");
    assert!(
        userinfo.get("mitid.uuid").is_none(),
        "no MitID claims for a NemID login"
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_a_key_works_only_once() {
    let app = spawn_app().await;
    let before = keys_left(&app, "nemid.kort");
    let card = nemid_credentials(&app, &[], "nemid.kort", "1234").await;
    let key = app.card_key_for(&card, "nemid.kort", false);
    let wrong_key = if key == "000000" { "000001" } else { "000000" };
    let retry = app.submit(&card, "card-key", &[("key", wrong_key)]).await;
    assert!(retry.html.contains("Nøglen er forkert"));

    // Eight simultaneous posts of the right key to one login use up exactly one key (the
    // card-level race between logins is covered by the code card's unit test).
    let fields = [("key", key.as_str())];
    let posts = (0..8).map(|_| app.post_form(&retry, "card-key", &fields));
    let responses = futures::future::join_all(posts).await;
    assert!(responses
        .iter()
        .all(|r| r.status() == StatusCode::SEE_OTHER));
    let done = app.get(&app.url(&location(&responses[0]))).await;
    assert!(query_of(&location(&done)).contains_key("code"));
    assert_eq!(keys_left(&app, "nemid.kort"), before - 1);
}

#[tokio::test]
async fn at_20_keys_left_a_new_card_is_sent_and_can_be_activated() {
    let app = spawn_app().await;
    let report: serde_json::Value = app
        .get(&app.url("/admin/citizens/nemid.20"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["nemid"]["keys_left"], 20);
    assert_eq!(report["nemid"]["new_card_sent"], true);

    let card = nemid_credentials(&app, &[], "nemid.20", "2020").await;
    assert!(card.html.contains("Aktivér dit nye nøglekort"));
    let activate = app.submit(&card, "activate-card", &[]).await;
    assert_eq!(step_of(&activate), "activate_card");
    let key = app.card_key_for(&activate, "nemid.20", true);
    let response = app.post_form(&activate, "card-key", &[("key", &key)]).await;
    let done = app.get(&app.url(&location(&response))).await;
    assert!(query_of(&location(&done)).contains_key("code"));

    let report: serde_json::Value = app
        .get(&app.url("/admin/citizens/nemid.20"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        report["nemid"]["keys_left"], 147,
        "the new card, less its activation key"
    );
    assert_eq!(report["nemid"]["new_card_sent"], false);
    assert!(report["nemid"]["card_serial"]
        .as_str()
        .unwrap()
        .ends_with("-0002"));
}

#[tokio::test]
async fn a_used_up_card_refuses_with_the_real_message_until_the_new_card_is_activated() {
    let app = spawn_app().await;
    let first = app.drive_login("nemid.1", &[NEMID]).await;
    assert!(query_of(&first).contains_key("code"), "the last key works");
    assert_eq!(keys_left(&app, "nemid.1"), 0);

    let refused = nemid_credentials(&app, &[("prompt", "login")], "nemid.1", "1111").await;
    assert_eq!(step_of(&refused), "failed");
    assert!(
        refused.html.contains("Dit nøglekort er opbrugt"),
        "{}",
        refused.html
    );
    let back = app.post_form(&refused, "return", &[]).await;
    let params = query_of(&location(&back));
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "nemid_code_card_exhausted");

    // The new card that was sent makes the next login possible.
    let refused = nemid_credentials(&app, &[("prompt", "login")], "nemid.1", "1111").await;
    let activate = app.submit(&refused, "activate-card", &[]).await;
    assert_eq!(step_of(&activate), "activate_card");
    let key = app.card_key_for(&activate, "nemid.1", true);
    let response = app.post_form(&activate, "card-key", &[("key", &key)]).await;
    let done = app.get(&app.url(&location(&response))).await;
    assert!(query_of(&location(&done)).contains_key("code"));
}

#[tokio::test]
async fn the_key_app_needs_two_unused_keys_then_approves_on_the_phone() {
    let app = spawn_app().await;
    let card = nemid_credentials(&app, &[], "nemid.1", "1111").await;
    let key = app.card_key_for(&card, "nemid.1", false);
    let refused = app
        .submit(
            &card,
            "card-key",
            &[("key", &key), ("activate_key_app", "1")],
        )
        .await;
    assert!(
        refused.html.contains("mindst 2 ubrugte nøgler"),
        "{}",
        refused.html
    );

    let card = nemid_credentials(&app, &[], "nemid.kort", "1234").await;
    let key = app.card_key_for(&card, "nemid.kort", false);
    let response = app
        .post_form(
            &card,
            "card-key",
            &[("key", &key), ("activate_key_app", "1")],
        )
        .await;
    let done = app.get(&app.url(&location(&response))).await;
    assert!(query_of(&location(&done)).contains_key("code"));

    let waiting = nemid_credentials(&app, &[("prompt", "login")], "nemid.kort", "1234").await;
    assert_eq!(
        step_of(&waiting),
        "app",
        "the key app is offered first once active"
    );
    assert!(waiting.html.contains("nøgleapp"));
    assert!(
        waiting
            .html
            .contains("Venter på godkendelse i NemID nøgleapp")
            && waiting.html.contains("Åbn simuleret NemID nøgleapp")
            && !waiting.html.contains("MitID app"),
        "the key app's wait says NemID: {}",
        waiting.html
    );
    let phone = app.page("/sim/phone/nemid.kort").await;
    assert!(
        phone.html.contains(r#"<span class="logo">NemID</span>"#)
            && phone.html.contains("<title>NemID nøgleapp"),
        "the key app's phone says NemID: {}",
        phone.html
    );
    assert!(!phone.html.contains("MitID app"));
    let cancelled = app.post_form(&waiting, "cancel", &[]).await;
    let _ = app.get(&app.url(&location(&cancelled))).await;
    let callback = app
        .drive_login("nemid.kort", &[NEMID, ("prompt", "login")])
        .await;
    let claims = decode_claims(
        app.tokens_for(&callback).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(claims["amr"], serde_json::json!(["nemid.otp"]));
}

#[tokio::test]
async fn the_code_card_page_and_cli_agree_on_the_keys() {
    let app = spawn_app().await;
    let page = app.page("/sim/code-card/nemid.kort").await;
    assert_eq!(page.status, StatusCode::OK);
    let citizen = app.citizen("nemid.kort");
    let keys =
        mitid_sim::authenticators::code_card::card_keys(&citizen.nemid.as_ref().unwrap().pid, 0);
    assert!(
        page.html.contains(&keys[0].key_text()) && page.html.contains(&keys[147].number_text())
    );
    assert!(page.html.contains("138 af 148"));
    assert_eq!(
        app.page("/sim/code-card/nemid.kort?card=next").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_citizen_without_nemid_is_told_so() {
    let app = spawn_app().await;
    let page = nemid_credentials(&app, &[], "app.only", "1234").await;
    assert!(
        page.html.contains("Forkert bruger-id"),
        "no hint that the user exists"
    );
    let _ = page;
}

#[tokio::test]
async fn several_idp_values_let_the_citizen_choose_nemid() {
    let app = spawn_app().await;
    let page = app.start_login(&[("idp_values", "mitid nemid")]).await;
    assert_eq!(step_of(&page), "choose_idp");
    assert!(page.html.contains("choose-mitid") && page.html.contains("choose-nemid"));

    let nemid = app.submit(&page, "idp", &[("idp", "nemid")]).await;
    assert_eq!(step_of(&nemid), "nemid_credentials");
    let again = app.submit(&nemid, "idp", &[("idp", "mitid")]).await;
    assert_eq!(
        step_of(&again),
        "nemid_credentials",
        "the choice is made once"
    );
}

#[tokio::test]
async fn the_chooser_refuses_an_idp_the_rp_did_not_offer() {
    let app = spawn_app().await;
    let page = app.start_login(&[("idp_values", "nemid mitid")]).await;
    assert_eq!(step_of(&page), "choose_idp");
    let mitid = app.submit(&page, "idp", &[("idp", "mitid")]).await;
    assert_eq!(step_of(&mitid), "user_id");

    let page = app.start_login(&[("idp_values", "mitid nemid")]).await;
    let bogus = app.submit(&page, "idp", &[("idp", "idura")]).await;
    assert_eq!(step_of(&bogus), "choose_idp");
}

#[tokio::test]
async fn a_mitid_session_answers_a_request_offering_both_without_the_chooser() {
    let app = spawn_app().await;
    app.drive_login("app.approve", &[]).await;
    let response = app
        .get(&app.authorize_url(&[("idp_values", "nemid mitid")]))
        .await;
    let to = location(&response);
    assert!(query_of(&to).contains_key("code"), "{to}");

    let page = app.start_login(&[NEMID]).await;
    assert_eq!(
        step_of(&page),
        "nemid_credentials",
        "a NemID-only request asks again"
    );
}

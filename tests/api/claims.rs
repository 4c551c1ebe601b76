//! Claims whose values the real broker ties together: `sid` and `neb_sid`, MitID's
//! transaction id, the NemID PID of a MitID login, and userinfo once the session ended.

use serde_json::Value;

use crate::cpr_entry::at_cpr_step_for;
use crate::helpers::{decode_claims, location, spawn_app, step_of, TestApp};

async fn userinfo(app: &TestApp, tokens: &Value) -> Value {
    app.userinfo_of(tokens).await.json().await.unwrap()
}

/// Types the citizen's CPR on the CPR page and returns the tokens of the finished login.
async fn confirm_cpr(app: &TestApp, page: &crate::helpers::Page, cpr: &str) -> Value {
    let response = app.post_form(page, "cpr", &[("cpr", cpr)]).await;
    let done = app.get(&app.url(&location(&response))).await;
    app.tokens_for(&location(&done)).await
}

#[tokio::test]
async fn sid_is_neb_sid_and_mitid_transaction_id_is_idp_transaction_id() {
    let app = spawn_app().await;
    let callback = app
        .no_ui_login("username:app.approve", &[("scope", "openid mitid")])
        .await;
    let tokens = app.tokens_for(&callback).await;
    let id_claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_claims["sid"], id_claims["neb_sid"]);
    let info = userinfo(&app, &tokens).await;
    assert_eq!(
        info["mitid.transaction_id"],
        id_claims["idp_transaction_id"]
    );
    assert_ne!(info["mitid.transaction_id"], id_claims["transaction_id"]);
    let session = &app.sim.sessions()[0];
    assert_eq!(id_claims["neb_sid"], session.id.to_string().as_str());
    assert_eq!(
        session.participants["demo-rp"].sid.to_string(),
        id_claims["sid"].as_str().unwrap(),
        "logout tokens carry the same sid"
    );
}

#[tokio::test]
async fn userinfo_gives_personal_claims_only_while_the_session_is_active() {
    let app = spawn_app().await;
    let callback = app
        .no_ui_login("username:anna.jensen", &[("scope", "openid mitid ssn")])
        .await;
    let tokens = app.tokens_for(&callback).await;
    let active = userinfo(&app, &tokens).await;
    assert_eq!(active["session_is_active"], "true");
    assert!(active.get("mitid.uuid").is_some() && active.get("dk.cpr").is_some());
    let neb_sid = decode_claims(tokens["id_token"].as_str().unwrap())["neb_sid"].clone();
    app.sim
        .end_session(neb_sid.as_str().unwrap().parse().unwrap())
        .unwrap();
    let ended = userinfo(&app, &tokens).await;
    assert_eq!(
        ended,
        serde_json::json!({ "session_is_active": "false", "sub": active["sub"] }),
        "no session_expiry and no personal claims once the session has ended"
    );
}

#[tokio::test]
async fn nemid_pid_on_a_mitid_login_asks_for_the_cpr_then_gives_the_pid() {
    let app = spawn_app().await;
    // A citizen with a NemID: the CPR page, then the PID as the real broker writes it.
    let page = at_cpr_step_for(&app, "nemid.ung15", "openid nemid.pid").await;
    assert_eq!(step_of(&page), "cpr");
    let tokens = confirm_cpr(&app, &page, "020511-4996").await;
    let info = userinfo(&app, &tokens).await;
    assert_eq!(info["nemid.pid"], "9208-2002-2-020511499601");
    assert_eq!(info["nemid.pid_status"], "success");
    assert!(
        info.get("dk.cpr").is_none(),
        "the CPR itself needs scope ssn"
    );
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["idp"],
        "mitid"
    );

    // A citizen without a NemID: the lookup finds nothing.
    let app = spawn_app().await;
    let page = at_cpr_step_for(&app, "app.approve", "openid nemid.pid").await;
    let tokens = confirm_cpr(&app, &page, "310190-3011").await;
    let info = userinfo(&app, &tokens).await;
    assert!(info.get("nemid.pid").is_none());
    assert_eq!(info["nemid.pid_status"], "unable_to_lookup");

    // A citizen without a CPR number is not asked for one, and nothing can be looked up.
    let callback = app
        .drive_login("uden.cpr", &[("scope", "openid nemid.pid")])
        .await;
    let info = userinfo(&app, &app.tokens_for(&callback).await).await;
    assert_eq!(info["nemid.pid_status"], "unable_to_lookup");
}

#[tokio::test]
async fn a_nemid_login_knows_its_pid_without_the_cpr_step() {
    let app = spawn_app().await;
    let page = app
        .start_login(&[("idp_values", "nemid"), ("scope", "openid nemid.pid")])
        .await;
    let card = app
        .submit(
            &page,
            "nemid",
            &[("user_id", "nemid.kort"), ("password", "1234")],
        )
        .await;
    let key = app.card_key_for(&card, "nemid.kort", false);
    let response = app.post_form(&card, "card-key", &[("key", &key)]).await;
    let shown = app.get(&app.url(&location(&response))).await;
    assert_eq!(shown.status(), 303, "straight back to the RP, no CPR page");
    let callback = location(&shown);
    assert!(
        callback.starts_with(crate::helpers::REDIRECT_URI),
        "{callback}"
    );
    let info = userinfo(&app, &app.tokens_for(&callback).await).await;
    assert_eq!(info["nemid.pid"], "9208-2002-2-150371166201");
    assert_eq!(info["nemid.pid_status"], "success");
}

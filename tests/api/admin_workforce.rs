//! The admin API over MitID Erhverv: organisations and professional identities, checked as
//! strictly as the fixtures, and the citizen changes that would strand an identity.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::erhverv::{ANNA, ERHVERV};
use crate::helpers::{decode_claims, query_of, spawn_app, spawn_with, TestApp};

const NEW_ORG: &str = "97531864";

fn organisation() -> Value {
    json!({
        "cvr": NEW_ORG,
        "name": "Nyt Testfirma I/S",
        "purpose": "made by a test",
        "p_numbers": ["1234567890"],
    })
}

fn professional(uuid: &str, rid: &str) -> Value {
    json!({
        "uuid": uuid,
        "purpose": "made by a test",
        "cvr": NEW_ORG,
        "cpr": "050772-1457",
        "given_name": "Mads",
        "family_name": "Østergaard",
        "email": "mads@nyt.test",
        "rid": rid,
        "role": "company_signatory",
        "p_number": "1234567890",
    })
}

const MADS: &str = "2f0b8c3e-5d7a-4e1f-9b6c-3a2d1e0f9c81";

async fn message_of(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let (status, answer) = app.admin(method, path, body).await;
    if !status.is_success() {
        assert!(answer["error"].is_string(), "a JSON error: {answer}");
    }
    (
        status,
        answer["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn organisations_are_listed_created_changed_and_deleted() {
    let app = spawn_app().await;
    let (status, all) = app.admin(Method::GET, "/organisations", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["cvr"], "91234564");

    let (status, created) = app
        .admin(Method::POST, "/organisations", Some(organisation()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, message) =
        message_of(&app, Method::POST, "/organisations", Some(organisation())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{message}");

    for (body, expected) in [
        (json!({"cvr": "12345678", "name": "X"}), "start with 9"),
        (json!({"cvr": "91111111", "name": " "}), "empty name"),
        (
            json!({"cvr": "91111111", "name": "X", "p_numbers": ["1", "2"]}),
            "exactly 10 digits",
        ),
        (
            json!({"cvr": "91111111", "name": "X", "boss": 1}),
            "unknown field",
        ),
    ] {
        let (status, message) = message_of(&app, Method::POST, "/organisations", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }

    let (status, patched) = app
        .admin(
            Method::PATCH,
            &format!("/organisations/{NEW_ORG}"),
            Some(json!({"name": "Omdøbt ApS"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (_, shown) = app
        .admin(Method::GET, &format!("/organisations/{NEW_ORG}"), None)
        .await;
    assert_eq!(shown["name"], "Omdøbt ApS");
    let (status, message) = message_of(
        &app,
        Method::PUT,
        &format!("/organisations/{NEW_ORG}"),
        Some(json!({"cvr": "91111111", "name": "X"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("cannot change"), "{message}");

    // A P number a professional identity names cannot go; nor can the organisation.
    let (status, message) = message_of(
        &app,
        Method::PATCH,
        "/organisations/91234564",
        Some(json!({"p_numbers": []})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("P number 1012345678"), "{message}");
    let (status, message) = message_of(&app, Method::DELETE, "/organisations/91234564", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message.contains(ANNA), "{message}");

    let (status, _) = app
        .admin(Method::DELETE, &format!("/organisations/{NEW_ORG}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(Method::GET, &format!("/organisations/{NEW_ORG}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.admin(Method::GET, "/organisations/123", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_professional_identity_made_at_run_time_logs_in() {
    let app = spawn_app().await;
    app.admin(Method::POST, "/organisations", Some(organisation()))
        .await;
    let (status, created) = app
        .admin(
            Method::POST,
            "/professionals",
            Some(professional(MADS, "1")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Mads (app.only) now has a professional identity: a MitID Erhverv login reaches it.
    let callback = app
        .no_ui_login(&format!("mitid_erhverv_uuid:{MADS}"), &ERHVERV)
        .await;
    let tokens = app.tokens_for(&callback).await;
    let info: Value = app.userinfo_of(&tokens).await.json().await.unwrap();
    assert_eq!(info["nemlogin.org_name"], "Nyt Testfirma I/S");
    assert_eq!(info["nemlogin.auth_to_repr"], NEW_ORG);
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["identity_type"],
        "professional"
    );

    let (_, listed) = app
        .admin(Method::GET, "/professionals?user_id=app.only", None)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (_, listed) = app
        .admin(Method::GET, &format!("/professionals?cvr={NEW_ORG}"), None)
        .await;
    assert_eq!(listed[0]["uuid"], MADS);
    let (_, all) = app.admin(Method::GET, "/professionals", None).await;
    assert_eq!(all.as_array().unwrap().len(), 8);

    // Lock, unlock, revoke by PATCH: the login follows.
    let (status, locked) = app
        .admin(Method::POST, &format!("/professionals/{MADS}/lock"), None)
        .await;
    assert_eq!(
        (status, locked["status"].as_str()),
        (StatusCode::OK, Some("locked"))
    );
    let callback = app
        .no_ui_login(&format!("mitid_erhverv_uuid:{MADS}"), &ERHVERV)
        .await;
    assert_eq!(
        query_of(&callback)["error_description"],
        "mitid_erhverv_identity_locked"
    );
    let (_, unlocked) = app
        .admin(Method::POST, &format!("/professionals/{MADS}/unlock"), None)
        .await;
    assert_eq!(unlocked["status"], "active");
    let (status, revoked) = app
        .admin(
            Method::PATCH,
            &format!("/professionals/{MADS}"),
            Some(json!({"status": "revoked"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let (_, unlocked) = app
        .admin(Method::POST, &format!("/professionals/{MADS}/unlock"), None)
        .await;
    assert_eq!(unlocked["status"], "revoked", "unlock lifts a lock only");

    let (status, _) = app
        .admin(Method::DELETE, &format!("/professionals/{MADS}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let callback = app
        .no_ui_login(&format!("mitid_erhverv_uuid:{MADS}"), &ERHVERV)
        .await;
    assert_eq!(
        query_of(&callback)["error_description"],
        "mitid_simulation_unknown_user"
    );
}

#[tokio::test]
async fn professional_identities_are_checked_like_the_fixtures() {
    let app = spawn_app().await;
    app.admin(Method::POST, "/organisations", Some(organisation()))
        .await;
    app.admin(
        Method::POST,
        "/professionals",
        Some(professional(MADS, "1")),
    )
    .await;
    let other = "2f0b8c3e-5d7a-4e1f-9b6c-3a2d1e0f9c82";
    let with = |changes: Value| {
        let mut body = professional(other, "2");
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        body
    };
    for (body, status, expected) in [
        (professional(MADS, "9"), StatusCode::CONFLICT, "exists"),
        (
            with(json!({"cpr": "120385-1234", "rid": "1"})),
            StatusCode::CONFLICT,
            "RID 1 is taken",
        ),
        (
            with(json!({"cvr": "99999998"})),
            StatusCode::BAD_REQUEST,
            "no [[organisation]] declares",
        ),
        (
            with(json!({"cpr": "010203-1234"})),
            StatusCode::BAD_REQUEST,
            "no citizen has CPR",
        ),
        (
            with(json!({})),
            StatusCode::BAD_REQUEST,
            "already has a professional identity",
        ),
        (
            with(json!({"cpr": "120385-1234", "p_number": "1111111111"})),
            StatusCode::BAD_REQUEST,
            "is not one of organisation",
        ),
        (
            with(json!({"cpr": null, "erhverv_user_id": "nobody.erhverv"})),
            StatusCode::BAD_REQUEST,
            "no [[user]] has user ID `nobody.erhverv`",
        ),
        (
            with(json!({"cpr": null, "erhverv_user_id": "anna.jensen"})),
            StatusCode::BAD_REQUEST,
            "is a private MitID",
        ),
        (
            with(json!({"cpr": null})),
            StatusCode::BAD_REQUEST,
            "names no person",
        ),
        (
            with(json!({"email": "x at y"})),
            StatusCode::BAD_REQUEST,
            "not an e-mail address",
        ),
        (
            with(json!({"role": "ceo"})),
            StatusCode::BAD_REQUEST,
            "unknown variant",
        ),
    ] {
        let (got, message) = message_of(&app, Method::POST, "/professionals", Some(body)).await;
        assert_eq!(got, status, "{expected}: {message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let (status, message) = message_of(
        &app,
        Method::PUT,
        &format!("/professionals/{MADS}"),
        Some(professional(other, "1")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("cannot change"), "{message}");
    let (status, _) = app
        .admin(Method::GET, "/professionals/not-a-uuid", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .admin(Method::GET, &format!("/professionals/{other}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn citizens_that_professional_identities_use_cannot_be_taken_away() {
    let app = spawn_app().await;
    // Anna's private MitID is how her professional identity logs in.
    let (status, message) = message_of(&app, Method::DELETE, "/citizens/anna.jensen", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message.contains(ANNA), "{message}");
    let (status, message) = message_of(
        &app,
        Method::PATCH,
        "/citizens/anna.jensen",
        Some(json!({"cpr": "010101-1234"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{message}");
    let (status, message) = message_of(
        &app,
        Method::PATCH,
        "/citizens/erhverv.udlaending",
        Some(json!({"user_id": "sarah.ny"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{message}");
    // Other changes go through.
    let (status, _) = app
        .admin(
            Method::PATCH,
            "/citizens/anna.jensen",
            Some(json!({"name": "Anna Ny"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A dedicated eID may exist before the identity that uses it, and go once none does.
    let eid = json!({
        "user_id": "ny.erhverv",
        "purpose": "made by a test",
        "kind": "erhverv",
        "uuid": "2f0b8c3e-5d7a-4e1f-9b6c-3a2d1e0f9c90",
        "name": "Ny Medarbejder",
        "app": {"answer": "approve"},
    });
    let (status, created) = app.admin(Method::POST, "/citizens", Some(eid)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let identity = json!({
        "uuid": MADS,
        "cvr": "91234564",
        "erhverv_user_id": "ny.erhverv",
        "given_name": "Ny",
        "family_name": "Medarbejder",
        "rid": "555",
    });
    let (status, created) = app
        .admin(Method::POST, "/professionals", Some(identity))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let callback = app.no_ui_login("username:ny.erhverv", &ERHVERV).await;
    assert!(query_of(&callback).contains_key("code"), "{callback}");
    let (status, _) = app
        .admin(Method::DELETE, "/citizens/ny.erhverv", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.admin(Method::DELETE, &format!("/professionals/{MADS}"), None)
        .await;
    let (status, _) = app
        .admin(Method::DELETE, "/citizens/ny.erhverv", None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_reset_restores_organisations_and_professional_identities() {
    let app = spawn_app().await;
    app.admin(Method::POST, "/organisations", Some(organisation()))
        .await;
    app.admin(
        Method::POST,
        "/professionals",
        Some(professional(MADS, "1")),
    )
    .await;
    app.admin(Method::POST, &format!("/professionals/{ANNA}/lock"), None)
        .await;
    let (status, reset) = app.admin(Method::POST, "/citizens/reset", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reset["organisations"], 2);
    assert_eq!(reset["professionals"], 7);
    let (status, _) = app
        .admin(Method::GET, &format!("/professionals/{MADS}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, anna) = app
        .admin(Method::GET, &format!("/professionals/{ANNA}"), None)
        .await;
    assert_eq!(anna["status"], "active");
}

#[tokio::test]
async fn workforce_changes_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("mitid-sim-state-{}", uuid::Uuid::new_v4()));
    let app = spawn_with(mitid_sim::Simulator::builder().state_dir(&dir)).await;
    app.admin(Method::POST, "/organisations", Some(organisation()))
        .await;
    let (status, _) = app
        .admin(
            Method::POST,
            "/professionals",
            Some(professional(MADS, "1")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.sim.stop().await;
    let app = spawn_with(mitid_sim::Simulator::builder().state_dir(&dir)).await;
    let (status, mads) = app
        .admin(Method::GET, &format!("/professionals/{MADS}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mads["cvr"], NEW_ORG);
    let _ = std::fs::remove_dir_all(&dir);
}

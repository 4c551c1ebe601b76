//! Pushed authorization requests (RFC 9126) at `connect/par`, as NEB answers them: 201
//! with a single-use `urn:ietf:params:oauth:request_uri:<64 hex>` valid for 600 seconds.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{decode_claims, location, query_of, TestApp, REDIRECT_URI};
use crate::request_objects::{
    bare_authorize, jar_client, login_claims, rs256, sign, spawn_with_clients, JAR_CLIENT,
    JAR_SECRET,
};

async fn push(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.browser
        .post(app.url("/op/connect/par"))
        .basic_auth(JAR_CLIENT, Some(JAR_SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn login_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid mitid"),
        ("state", "pushed-state"),
        ("nonce", "pushed-nonce"),
        ("simulation", "no-ui username:app.approve"),
    ]
}

async fn request_uri(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store, no-cache, max-age=0"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 600, "as NEB's");
    let uri = body["request_uri"].as_str().unwrap().to_string();
    let hex = uri
        .strip_prefix("urn:ietf:params:oauth:request_uri:")
        .unwrap();
    assert_eq!(hex.len(), 64, "as NEB's: {uri}");
    uri
}

async fn refused(app: &TestApp, url: &str) -> (String, String) {
    let page = app.follow_to_error_page(app.get(url).await).await;
    let recorded = app.last_exchange("authorize");
    let error = recorded.error.unwrap();
    assert!(page.html.contains(&error));
    (error, recorded.error_description.unwrap_or_default())
}

#[tokio::test]
async fn a_pushed_request_logs_in_once_with_its_own_parameters() {
    let app = spawn_with_clients(vec![jar_client("")]).await;
    let uri = request_uri(push(&app, &login_form()).await).await;
    // Parameters beside the request_uri are ignored (RFC 9126 §4).
    let url = bare_authorize(
        &app,
        &[
            ("client_id", JAR_CLIENT),
            ("request_uri", &uri),
            ("state", "outer"),
        ],
    );
    let to = location(&app.get(&url).await);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    let params = query_of(&to);
    assert_eq!(params["state"], "pushed-state");
    let tokens: Value = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth(JAR_CLIENT, Some(JAR_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", params["code"].as_str()),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["nonce"],
        "pushed-nonce"
    );
    // Single use.
    let (error, description) = refused(&app, &url).await;
    assert_eq!(error, "invalid_request_uri");
    assert!(description.contains("already used"), "{description}");
    assert_eq!(app.last_exchange("par").status, 201);
}

#[tokio::test]
async fn a_pushed_request_expires_after_ten_minutes() {
    let app = spawn_with_clients(vec![jar_client("")]).await;
    let uri = request_uri(push(&app, &login_form()).await).await;
    app.sim.advance_clock(time::Duration::seconds(601));
    let url = bare_authorize(&app, &[("client_id", JAR_CLIENT), ("request_uri", &uri)]);
    let (error, description) = refused(&app, &url).await;
    assert_eq!(error, "invalid_request_uri");
    assert!(description.contains("expired"), "{description}");
    // Nor can another client use one, nor an unknown urn.
    let fresh = request_uri(push(&app, &login_form()).await).await;
    let (error, _) = refused(
        &app,
        &bare_authorize(&app, &[("client_id", "demo-rp"), ("request_uri", &fresh)]),
    )
    .await;
    assert_eq!(error, "invalid_request_uri");
    let (error, description) = refused(
        &app,
        &bare_authorize(
            &app,
            &[
                ("client_id", JAR_CLIENT),
                ("request_uri", "urn:ietf:params:oauth:request_uri:FFFF"),
            ],
        ),
    )
    .await;
    assert_eq!(error, "invalid_request_uri");
    assert!(description.contains("unknown"), "{description}");
}

#[tokio::test]
async fn pushes_are_validated_and_client_authenticated_like_the_token_endpoint() {
    let app = spawn_with_clients(vec![jar_client("")]).await;
    let wrong_secret = app
        .browser
        .post(app.url("/op/connect/par"))
        .basic_auth(JAR_CLIENT, Some("wrong"))
        .form(&login_form())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong_secret.headers().contains_key("www-authenticate"));
    let mut bad_scope = login_form();
    bad_scope[2] = ("scope", "openid unknown");
    let response = push(&app, &bad_scope).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("unknown"));
    let mut nested = login_form();
    nested.push(("request_uri", "urn:ietf:params:oauth:request_uri:AB"));
    let body: Value = push(&app, &nested).await.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let mut other = login_form();
    other.push(("client_id", "demo-rp"));
    let body: Value = push(&app, &other).await.json().await.unwrap();
    assert_eq!(
        body["error"], "invalid_request",
        "client_id must be the authenticated one"
    );
    // By client_secret_post as well.
    let mut posted = login_form();
    posted.extend([("client_id", JAR_CLIENT), ("client_secret", JAR_SECRET)]);
    let response = app
        .browser
        .post(app.url("/op/connect/par"))
        .form(&posted)
        .send()
        .await
        .unwrap();
    request_uri(response).await;
}

#[tokio::test]
async fn a_client_that_requires_par_is_refused_a_plain_request() {
    let app = spawn_with_clients(vec![jar_client(
        "require_pushed_authorization_requests = true",
    )])
    .await;
    let plain = app.authorize_url(&[
        ("client_id", JAR_CLIENT),
        ("simulation", "no-ui username:app.approve"),
    ]);
    let (error, description) = refused(&app, &plain).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("push"), "{description}");
    let uri = request_uri(push(&app, &login_form()).await).await;
    let to = location(
        &app.get(&bare_authorize(
            &app,
            &[("client_id", JAR_CLIENT), ("request_uri", &uri)],
        ))
        .await,
    );
    assert!(query_of(&to).contains_key("code"));
}

#[tokio::test]
async fn a_pushed_signed_request_object_keeps_its_signed_redirect_uri() {
    let app = spawn_with_clients(vec![jar_client(
        "require_pushed_authorization_requests = true\nrequire_signed_request_object = true",
    )])
    .await;
    let invite = format!("{REDIRECT_URI}?invite=7");
    let mut claims = login_claims(&app);
    claims.insert("redirect_uri".into(), json!(invite));
    let request = sign(&claims, &rs256());
    let uri = request_uri(push(&app, &[("request", &request)]).await).await;
    let to = location(
        &app.get(&bare_authorize(
            &app,
            &[("client_id", JAR_CLIENT), ("request_uri", &uri)],
        ))
        .await,
    );
    assert!(to.starts_with(&format!("{invite}&code=")), "{to}");
    // Pushed but unsigned: refused at the push already.
    let body: Value = push(&app, &login_form()).await.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("signed request object"));
}

#[tokio::test]
async fn a_private_key_jwt_client_pushes_with_an_assertion_naming_the_par_endpoint() {
    use crate::jose::{jwks, public, rsa_key};
    let app = crate::helpers::spawn_app().await;
    let key = rsa_key("par-key");
    let client = json!({
        "client_id": "par-key-rp",
        "name": "PAR with private_key_jwt",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": jwks(&[public(&key, None)]),
        "allow_simulation": true,
    });
    let (status, answer) = app
        .admin(reqwest::Method::POST, "/clients", Some(client))
        .await;
    assert!(status.is_success(), "{status}: {answer}");
    let par_url = app.url("/op/connect/par");
    let claims = app.assertion_claims("par-key-rp", &par_url);
    let assertion = crate::jose::sign("RS256", &key, json!({}), claims);
    let pushed = app
        .post_with_assertion("/op/connect/par", &assertion, &login_form())
        .await;
    let uri = request_uri(pushed).await;

    // The same assertion again: its jti is spent.
    let replayed = app
        .post_with_assertion("/op/connect/par", &assertion, &login_form())
        .await;
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    let body: Value = replayed.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("was used before"),
        "{body}"
    );
    // An audience of another endpoint is not the broker's.
    let elsewhere = app.assertion_claims("par-key-rp", &app.url("/op/connect/userinfo"));
    let elsewhere = crate::jose::sign("RS256", &key, json!({}), elsewhere);
    let refused = app
        .post_with_assertion("/op/connect/par", &elsewhere, &login_form())
        .await;
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");

    // The pushed request logs in, and the code is redeemed with a fresh assertion.
    let url = bare_authorize(&app, &[("client_id", "par-key-rp"), ("request_uri", &uri)]);
    let to = location(&app.get(&url).await);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    let code = query_of(&to)["code"].clone();
    let token_assertion = app.assertion("par-key-rp", &key, "RS256");
    let tokens: Value = app
        .post_with_assertion(
            "/op/connect/token",
            &token_assertion,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["nonce"],
        "pushed-nonce"
    );
}

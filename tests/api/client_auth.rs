//! Client authentication with private_key_jwt (RFC 7523, OIDC Core §9) at every
//! client-authenticated endpoint, and service tokens for API clients (client_credentials).

use josekit::jwk::Jwk;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{decode_claims, decode_header, spawn_app, TestApp, REDIRECT_URI, VERIFIER};
use crate::jose::{ec_key, jwks, public, rsa_key, sign};

const KEY_CLIENT: &str = "key-rp";
const API_CLIENT: &str = "api-client";

/// A client that authenticates with private_key_jwt only, with these keys.
fn key_client(client_id: &str, keys: Value) -> Value {
    json!({
        "client_id": client_id,
        "name": "Private key JWT RP",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": keys,
        "allow_simulation": true,
    })
}

async fn register(app: &TestApp, client: Value) {
    let (status, answer) = app.admin(Method::POST, "/clients", Some(client)).await;
    assert!(status.is_success(), "{status}: {answer}");
}

/// A no-ui login for `client_id`; returns the code.
async fn code_for(app: &TestApp, client_id: &str) -> String {
    let callback = app
        .no_ui_login("username:app.approve", &[("client_id", client_id)])
        .await;
    crate::helpers::query_of(&callback)["code"].clone()
}

fn code_form(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ]
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn a_client_authenticates_with_a_private_key_jwt_at_token_introspection_and_revocation() {
    let app = spawn_app().await;
    let key = rsa_key("rp-key-1");
    register(
        &app,
        key_client(KEY_CLIENT, jwks(&[public(&key, Some("sig"))])),
    )
    .await;

    let code = code_for(&app, KEY_CLIENT).await;
    let assertion = app.assertion(KEY_CLIENT, &key, "RS256");
    let response = app
        .post_with_assertion("/op/connect/token", &assertion, &code_form(&code))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["aud"],
        KEY_CLIENT
    );
    let access_token = tokens["access_token"].as_str().unwrap();

    // The introspection endpoint's own URL is an accepted audience too (RFC 7523 §3).
    let introspection = app.url("/op/connect/introspect");
    let assertion = sign(
        "RS256",
        &key,
        json!({}),
        app.assertion_claims(KEY_CLIENT, &introspection),
    );
    let answer: Value = app
        .post_with_assertion(
            "/op/connect/introspect",
            &assertion,
            &[("token", access_token)],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], KEY_CLIENT);

    // The token endpoint's URL, as many libraries address it.
    let token_endpoint = app.url("/op/connect/token");
    let assertion = sign(
        "RS256",
        &key,
        json!({}),
        app.assertion_claims(KEY_CLIENT, &token_endpoint),
    );
    let revoked = app
        .post_with_assertion(
            "/op/connect/revocation",
            &assertion,
            &[("token", access_token)],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let answer = app.userinfo_with(access_token).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "revoked");
}

#[tokio::test]
async fn bad_assertions_are_refused_with_invalid_client_and_say_why() {
    let app = spawn_app().await;
    let key = rsa_key("rp-key-1");
    let stranger = rsa_key("rp-key-1");
    let other_kid = rsa_key("rp-key-2");
    register(&app, key_client(KEY_CLIENT, jwks(&[public(&key, None)]))).await;
    let issuer = app.sim.issuer().to_string();
    let now = app.now();
    let claims = |changes: Value| {
        let mut claims = app.assertion_claims(KEY_CLIENT, &issuer);
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    };
    let replayed = sign("RS256", &key, json!({}), claims(json!({})));
    let cases: Vec<(&str, String, &str)> = vec![
        ("a valid one, first use", replayed.clone(), ""),
        ("the same jti again", replayed, "was used before"),
        (
            "another audience",
            sign(
                "RS256",
                &key,
                json!({}),
                claims(json!({ "aud": "https://rp.example/" })),
            ),
            "aud",
        ),
        (
            "expired",
            sign(
                "RS256",
                &key,
                json!({}),
                claims(json!({ "exp": now - 120, "iat": now - 180 })),
            ),
            "expired",
        ),
        (
            "no exp",
            sign("RS256", &key, json!({}), claims(json!({ "exp": null }))),
            "exp is missing",
        ),
        (
            "no jti",
            sign("RS256", &key, json!({}), claims(json!({ "jti": null }))),
            "jti is missing",
        ),
        (
            "iss is not the client",
            sign(
                "RS256",
                &key,
                json!({}),
                claims(json!({ "iss": "someone-else" })),
            ),
            "iss must be",
        ),
        (
            "signed by an unregistered key under a registered kid",
            sign("RS256", &stranger, json!({}), claims(json!({}))),
            "signature does not verify",
        ),
        (
            "a kid the client never registered",
            sign("RS256", &other_kid, json!({}), claims(json!({}))),
            "no key of the client's JWKS has kid `rp-key-2`",
        ),
        (
            "an algorithm of another key type",
            sign("ES256", &ec_key("rp-key-1"), json!({}), claims(json!({}))),
            "fits ES256",
        ),
        (
            "not valid yet",
            sign(
                "RS256",
                &key,
                json!({}),
                claims(json!({ "nbf": now + 600, "exp": now + 900 })),
            ),
            "not valid before",
        ),
    ];
    for (case, assertion, why) in cases {
        let code = code_for(&app, KEY_CLIENT).await;
        let response = app
            .post_with_assertion("/op/connect/token", &assertion, &code_form(&code))
            .await;
        if why.is_empty() {
            assert_eq!(response.status(), StatusCode::OK, "{case}");
            continue;
        }
        assert_eq!(
            error_of(response).await,
            (StatusCode::BAD_REQUEST, "invalid_client".to_string()),
            "{case}"
        );
        let recorded = app.last_exchange("token");
        let description = recorded.error_description.unwrap_or_default();
        assert!(description.contains(why), "{case}: {description}");
    }
    // alg none never authenticates.
    let unsigned = format!(
        "{}.{}.",
        base64_url(&json!({ "alg": "none" })),
        base64_url(&claims(json!({})))
    );
    let code = code_for(&app, KEY_CLIENT).await;
    let response = app
        .post_with_assertion("/op/connect/token", &unsigned, &code_form(&code))
        .await;
    assert_eq!(error_of(response).await.1, "invalid_client");
}

fn base64_url(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn each_client_uses_the_methods_its_registration_allows() {
    let app = spawn_app().await;
    let key = rsa_key("k");
    register(&app, key_client(KEY_CLIENT, jwks(&[public(&key, None)]))).await;
    // The secret client cannot send an assertion, the key client cannot send a secret.
    let assertion = app.assertion("demo-rp", &key, "RS256");
    let response = app
        .post_with_assertion(
            "/op/connect/token",
            &assertion,
            &[("grant_type", "refresh_token")],
        )
        .await;
    assert_eq!(error_of(response).await.1, "invalid_client");
    assert!(app
        .last_exchange("token")
        .error_description
        .unwrap()
        .contains("must authenticate with client_secret_basic or client_secret_post"));
    let response = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth(KEY_CLIENT, Some("guess"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Without a registered method, a client with a secret and keys may use either.
    let mut both = key_client("both-rp", jwks(&[public(&key, None)]));
    both.as_object_mut()
        .unwrap()
        .remove("token_endpoint_auth_method");
    both["client_secret"] = "both-secret".into();
    register(&app, both).await;
    for use_assertion in [true, false] {
        let code = code_for(&app, "both-rp").await;
        let response = if use_assertion {
            let assertion = app.assertion("both-rp", &key, "RS256");
            app.post_with_assertion("/op/connect/token", &assertion, &code_form(&code))
                .await
        } else {
            app.browser
                .post(app.url("/op/connect/token"))
                .basic_auth("both-rp", Some("both-secret"))
                .form(&code_form(&code))
                .send()
                .await
                .unwrap()
        };
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "assertion: {use_assertion}"
        );
    }
}

#[tokio::test]
async fn a_registered_signing_algorithm_and_hmac_assertions_keyed_with_the_secret_are_honoured() {
    let app = spawn_app().await;
    let key = rsa_key("k");
    let mut client = key_client(KEY_CLIENT, jwks(&[public(&key, None)]));
    client["token_endpoint_auth_signing_alg"] = "PS256".into();
    register(&app, client).await;
    let code = code_for(&app, KEY_CLIENT).await;
    let rs256 = app.assertion(KEY_CLIENT, &key, "RS256");
    let response = app
        .post_with_assertion("/op/connect/token", &rs256, &code_form(&code))
        .await;
    assert_eq!(error_of(response).await.1, "invalid_client");
    let ps256 = app.assertion(KEY_CLIENT, &key, "PS256");
    let response = app
        .post_with_assertion("/op/connect/token", &ps256, &code_form(&code))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "the code was not burnt");

    // HS256, keyed with the client secret (OIDC Core §10.1), as NEB's discovery lists it.
    let secret = "a-client-secret-of-at-least-thirty-two-bytes";
    register(
        &app,
        json!({
            "client_id": "hs-rp",
            "name": "HMAC assertions",
            "client_secret": secret,
            "token_endpoint_auth_method": "private_key_jwt",
            "redirect_uris": [REDIRECT_URI],
            "allow_simulation": true,
        }),
    )
    .await;
    let shared = Jwk::from_map(
        json!({ "kty": "oct", "k": base64_url_bytes(secret.as_bytes()) })
            .as_object()
            .unwrap()
            .clone(),
    )
    .unwrap();
    let code = code_for(&app, "hs-rp").await;
    let assertion = app.assertion("hs-rp", &shared, "HS256");
    let response = app
        .post_with_assertion("/op/connect/token", &assertion, &code_form(&code))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Keyed with another secret, or for a client without one: refused.
    let wrong = Jwk::from_map(
        json!({ "kty": "oct", "k": base64_url_bytes(b"another-secret-of-thirty-two-bytes!") })
            .as_object()
            .unwrap()
            .clone(),
    )
    .unwrap();
    let assertion = app.assertion("hs-rp", &wrong, "HS256");
    let response = app
        .post_with_assertion("/op/connect/token", &assertion, &code_form(&code))
        .await;
    assert_eq!(
        error_of(response).await.1,
        "invalid_client",
        "another secret"
    );
    register(&app, key_client("key-only", jwks(&[public(&key, None)]))).await;
    let assertion = app.assertion("key-only", &shared, "HS256");
    let response = app
        .post_with_assertion("/op/connect/token", &assertion, &code_form(&code))
        .await;
    assert_eq!(
        error_of(response).await.1,
        "invalid_client",
        "a client without a secret"
    );
    assert!(app
        .last_exchange("token")
        .error_description
        .unwrap()
        .contains("the client has none"));
    // A secret shorter than the hash is no HS256 key (RFC 7518 §3.2).
    register(
        &app,
        json!({
            "client_id": "hs-short",
            "name": "Short secret",
            "client_secret": "short",
            "token_endpoint_auth_method": "private_key_jwt",
            "redirect_uris": [REDIRECT_URI],
        }),
    )
    .await;
    // Signed with openssl, as josekit will not make such a weak HS256 key either.
    let signing_input = format!(
        "{}.{}",
        base64_url(&json!({ "alg": "HS256" })),
        base64_url(&app.assertion_claims("hs-short", app.sim.issuer()))
    );
    let key = openssl::pkey::PKey::hmac(b"short").unwrap();
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    let signature = signer
        .sign_oneshot_to_vec(signing_input.as_bytes())
        .unwrap();
    let weak = format!("{signing_input}.{}", base64_url_bytes(&signature));
    let response = app
        .post_with_assertion(
            "/op/connect/token",
            &weak,
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
    assert_eq!(error_of(response).await.1, "invalid_client");
    assert!(app
        .last_exchange("token")
        .error_description
        .unwrap()
        .contains("at least 32 bytes"));
}

fn base64_url_bytes(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn keys_behind_a_jwks_uri_are_fetched_and_fetched_again_when_the_client_rotates() {
    let app = spawn_app().await;
    let rp = MockServer::start().await;
    let first = rsa_key("2026-1");
    let second = ec_key("2026-2");
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[public(&first, None)])))
        .up_to_n_times(1)
        .mount(&rp)
        .await;
    let mut client = key_client(KEY_CLIENT, Value::Null);
    client.as_object_mut().unwrap().remove("jwks");
    client["jwks_uri"] = format!("{}/jwks", rp.uri()).into();
    register(&app, client).await;

    let code = code_for(&app, KEY_CLIENT).await;
    let assertion = app.assertion(KEY_CLIENT, &first, "RS256");
    let response = app
        .post_with_assertion("/op/connect/token", &assertion, &code_form(&code))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // The client rotates: its JWKS now has only the new key.
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[public(&second, None)])))
        .mount(&rp)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let code = code_for(&app, KEY_CLIENT).await;
    let assertion = app.assertion(KEY_CLIENT, &second, "ES256");
    let response = app
        .post_with_assertion("/op/connect/token", &assertion, &code_form(&code))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "the new key was fetched");
    let fetches = rp.received_requests().await.unwrap().len();
    assert_eq!(fetches, 2);

    // The retired key no longer authenticates.
    let old = app.assertion(KEY_CLIENT, &first, "RS256");
    let response = app
        .post_with_assertion("/op/connect/token", &old, &code_form(&code))
        .await;
    assert_eq!(error_of(response).await.1, "invalid_client");
}

#[tokio::test]
async fn registrations_with_unusable_keys_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let key = rsa_key("k");
    let private = Value::Object(key.as_ref().clone());
    let cases = [
        (key_client("a", jwks(&[private])), "private member"),
        (
            {
                let mut c = key_client("b", jwks(&[public(&key, None)]));
                c["jwks_uri"] = "https://rp.example/jwks".into();
                c
            },
            "both jwks and jwks_uri",
        ),
        (
            {
                let mut c = key_client("c", Value::Null);
                c.as_object_mut().unwrap().remove("jwks");
                c
            },
            "registered no keys",
        ),
        (
            {
                let mut c = key_client("d", jwks(&[public(&key, Some("sig"))]));
                c["id_token_encrypted_response_alg"] = "RSA-OAEP-256".into();
                c
            },
            "needs an RSA key",
        ),
        (
            {
                let mut c = key_client("e", jwks(&[public(&key, None)]));
                c["userinfo_encrypted_response_enc"] = "A128GCM".into();
                c
            },
            "needs userinfo_encrypted_response_alg",
        ),
    ];
    for (client, why) in cases {
        let (status, answer) = app.admin(Method::POST, "/clients", Some(client)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {answer}");
        assert!(answer.to_string().contains(why), "{why}: {answer}");
    }
}

fn api_client(extra: Value) -> Value {
    let mut client = json!({
        "client_id": API_CLIENT,
        "name": "API client",
        "client_secret": "api-secret",
        "allow_client_credentials": true,
    });
    for (name, value) in extra.as_object().unwrap() {
        client[name] = value.clone();
    }
    client
}

async fn service_token(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    let mut fields = vec![("grant_type", "client_credentials")];
    fields.extend_from_slice(form);
    app.browser
        .post(app.url("/op/connect/token"))
        .basic_auth(API_CLIENT, Some("api-secret"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_api_client_gets_a_service_token_for_an_hour() {
    let app = spawn_app().await;
    register(&app, api_client(json!({ "organisation_cvr": "91234564" }))).await;
    let response = service_token(&app, &[("scope", "signtext_api")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    let members: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(
        members,
        ["access_token", "expires_in", "token_type", "scope"],
        "as NEB documents"
    );
    assert_eq!(answer["expires_in"], 3600);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["scope"], "signtext_api");
    let token = answer["access_token"].as_str().unwrap();
    assert_eq!(decode_header(token)["typ"], "at+jwt");
    let claims = decode_claims(token);
    assert_eq!(claims["client_at_type"], "service_token");
    assert_eq!(claims["client_org_taxation_number"], "DK91234564");
    assert_eq!(claims["scope"], json!(["signtext_api"]));
    assert!(claims.get("sub").is_none(), "no citizen");

    // Introspection knows it; userinfo has nothing to say about it.
    let introspected: Value = app
        .browser
        .post(app.url("/op/connect/introspect"))
        .basic_auth(API_CLIENT, Some("api-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["client_at_type"], "service_token");
    let userinfo = app.userinfo_with(token).await;
    assert_eq!(userinfo.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        userinfo.headers()["www-authenticate"],
        "Bearer realm=\"IdentityServer\",error=\"insufficient_scope\""
    );

    // After an hour it is gone.
    app.sim.advance_clock(time::Duration::seconds(3601));
    let userinfo = app.userinfo_with(token).await;
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn service_tokens_are_only_for_api_clients_and_their_scopes() {
    let app = spawn_app().await;
    register(&app, api_client(json!({ "api_scopes": ["neb_api"] }))).await;
    let all: Value = service_token(&app, &[]).await.json().await.unwrap();
    assert_eq!(
        all["scope"], "neb_api",
        "every API scope of the client when none is asked"
    );
    let response = service_token(&app, &[("scope", "signtext_api")]).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_scope".into())
    );
    let response = service_token(&app, &[("scope", "openid")]).await;
    assert_eq!(error_of(response).await.1, "invalid_scope");
    // A browser client may not use the grant.
    let response = app
        .token_request(&[("grant_type", "client_credentials")])
        .await;
    assert_eq!(error_of(response).await.1, "unauthorized_client");

    // An API client with keys gets its service token with an assertion.
    let key = ec_key("api-1");
    register(
        &app,
        api_client(json!({
            "client_secret": null,
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks(&[public(&key, None)]),
        })),
    )
    .await;
    let assertion = app.assertion(API_CLIENT, &key, "ES256");
    let response = app
        .post_with_assertion(
            "/op/connect/token",
            &assertion,
            &[("grant_type", "client_credentials"), ("scope", "neb_api")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

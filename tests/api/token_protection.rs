//! What protects tokens on their way to the RP: signed userinfo (`application/jwt`),
//! id_tokens and userinfo encrypted to the client's key (nested JWE), the userinfo token,
//! and DPoP-bound tokens (RFC 9449).

use josekit::jwk::Jwk;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    decode_claims, decode_header, query_of, spawn_app, TestApp, REDIRECT_URI, VERIFIER,
};
use crate::jose::{
    decrypt, dpop_proof_with, ec_key, jwks, public, random_jti, rsa_key, thumbprint,
    verify_with_broker_jwks,
};

const CLIENT: &str = "protected-rp";
const SECRET: &str = "protected-secret";

async fn register(app: &TestApp, settings: Value) {
    let mut client = json!({
        "client_id": CLIENT,
        "name": "Protected RP",
        "client_secret": SECRET,
        "redirect_uris": [REDIRECT_URI],
        "allow_simulation": true,
    });
    for (name, value) in settings.as_object().unwrap() {
        client[name] = value.clone();
    }
    let (status, answer) = app.admin(Method::POST, "/clients", Some(client)).await;
    assert!(status.is_success(), "{status}: {answer}");
}

async fn code(app: &TestApp, scope: &str) -> String {
    let callback = app
        .no_ui_login(
            "username:app.approve",
            &[("client_id", CLIENT), ("scope", scope)],
        )
        .await;
    query_of(&callback)["code"].clone()
}

fn token_request(app: &TestApp, code: &str, dpop: Option<String>) -> reqwest::RequestBuilder {
    let mut request = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ]);
    if let Some(proof) = dpop {
        request = request.header("DPoP", proof);
    }
    request
}

async fn tokens(app: &TestApp, scope: &str) -> Value {
    let code = code(app, scope).await;
    let response = token_request(app, &code, None).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn signed_userinfo_is_a_jwt_the_broker_jwks_verifies() {
    let app = spawn_app().await;
    register(&app, json!({ "userinfo_signed_response_alg": "RS256" })).await;
    let tokens = tokens(&app, "openid mitid").await;
    let response = app.userinfo_of(&tokens).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/jwt");
    let jwt = response.text().await.unwrap();
    assert_eq!(decode_header(&jwt)["alg"], "RS256");
    let claims = verify_with_broker_jwks(&app, &jwt).await;
    let id_claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert_eq!(claims["iss"], app.sim.issuer(), "OIDC Core §5.3.2");
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(
        claims["mitid.uuid"],
        app.citizen("app.approve").uuid.to_string()
    );
    assert_eq!(claims["session_is_active"], "true");
}

#[tokio::test]
async fn id_tokens_are_signed_then_encrypted_to_the_clients_key() {
    let app = spawn_app().await;
    let signing = rsa_key("rp-sig");
    let encryption = rsa_key("rp-enc");
    register(
        &app,
        json!({
            "jwks": jwks(&[public(&signing, Some("sig")), public(&encryption, Some("enc"))]),
            "id_token_encrypted_response_alg": "RSA-OAEP-256",
            "id_token_encrypted_response_enc": "A256GCM",
        }),
    )
    .await;
    let tokens = tokens(&app, "openid mitid").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(id_token.split('.').count(), 5, "a compact JWE");
    let (plain, header) = decrypt(id_token, &encryption);
    assert_eq!(header["alg"], "RSA-OAEP-256");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["cty"], "JWT", "nested: signed, then encrypted");
    assert_eq!(header["kid"], "rp-enc");
    let signed = String::from_utf8(plain).unwrap();
    let claims = verify_with_broker_jwks(&app, &signed).await;
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["nonce"], "nonce-456");

    // An EC key with ECDH-ES key agreement, and the default content encryption.
    let agreement = ec_key("rp-ec");
    register(
        &app,
        json!({
            "jwks": jwks(&[public(&agreement, None)]),
            "id_token_encrypted_response_alg": "ECDH-ES+A128KW",
        }),
    )
    .await;
    let tokens = self::tokens(&app, "openid").await;
    let (plain, header) = decrypt(tokens["id_token"].as_str().unwrap(), &agreement);
    assert_eq!(
        header["enc"], "A128CBC-HS256",
        "the default of OIDC Registration §2"
    );
    verify_with_broker_jwks(&app, &String::from_utf8(plain).unwrap()).await;
    // Discovery now lists what the broker can encrypt with.
    let discovery: Value = app
        .get(&app.url("/op/.well-known/openid-configuration"))
        .await
        .json()
        .await
        .unwrap();
    let algs = discovery["id_token_encryption_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("RSA-OAEP-256")) && algs.contains(&json!("ECDH-ES+A128KW")));
    assert!(discovery["id_token_encryption_enc_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("A256GCM")));
}

#[tokio::test]
async fn userinfo_is_encrypted_alone_or_signed_then_encrypted() {
    let app = spawn_app().await;
    let key = rsa_key("rp-enc");
    register(
        &app,
        json!({
            "jwks": jwks(&[public(&key, Some("enc"))]),
            "userinfo_encrypted_response_alg": "RSA-OAEP",
        }),
    )
    .await;
    let tokens = tokens(&app, "openid mitid").await;
    let response = app.userinfo_of(&tokens).await;
    assert_eq!(response.headers()["content-type"], "application/jwt");
    let (plain, header) = decrypt(&response.text().await.unwrap(), &key);
    assert!(
        header.get("cty").is_none(),
        "encrypted JSON, not a nested JWT"
    );
    let claims: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(
        claims["mitid.uuid"],
        app.citizen("app.approve").uuid.to_string()
    );

    register(
        &app,
        json!({
            "jwks": jwks(&[public(&key, Some("enc"))]),
            "userinfo_signed_response_alg": "PS256",
            "userinfo_encrypted_response_alg": "RSA-OAEP-512",
            "userinfo_encrypted_response_enc": "A256CBC-HS512",
        }),
    )
    .await;
    let tokens = self::tokens(&app, "openid mitid").await;
    let response = app.userinfo_of(&tokens).await;
    let (plain, header) = decrypt(&response.text().await.unwrap(), &key);
    assert_eq!(header["cty"], "JWT");
    let signed = String::from_utf8(plain).unwrap();
    assert_eq!(decode_header(&signed)["alg"], "PS256");
    let claims = verify_with_broker_jwks(&app, &signed).await;
    assert_eq!(claims["aud"], CLIENT);
}

#[tokio::test]
async fn a_jwks_uri_without_a_key_to_encrypt_to_gives_invalid_client() {
    let app = spawn_app().await;
    let rp = wiremock::MockServer::start().await;
    let signing_only = ec_key("sig-only");
    wiremock::Mock::given(wiremock::matchers::path("/jwks"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(jwks(&[public(&signing_only, Some("sig"))])),
        )
        .mount(&rp)
        .await;
    register(
        &app,
        json!({
            "jwks_uri": format!("{}/jwks", rp.uri()),
            "id_token_encrypted_response_alg": "ECDH-ES",
        }),
    )
    .await;
    let code = code(&app, "openid").await;
    let response = token_request(&app, &code, None).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let why = app.last_exchange("token").error_description.unwrap();
    assert!(why.contains("no EC key to encrypt to"), "{why}");
}

#[tokio::test]
async fn the_userinfo_token_scope_adds_a_signed_token_with_every_user_claim() {
    let app = spawn_app().await;
    register(&app, json!({})).await;
    let tokens = tokens(&app, "openid mitid userinfo_token").await;
    let token = tokens["userinfo_token"].as_str().expect("a userinfo token");
    assert_eq!(decode_header(token)["typ"], "at+jwt", "as recorded");
    let claims = verify_with_broker_jwks(&app, token).await;
    let userinfo: Value = app.userinfo_of(&tokens).await.json().await.unwrap();
    for (name, value) in userinfo.as_object().unwrap() {
        if [
            "session_is_active",
            "session_expiry",
            "subject_type",
            "mitid.psd2",
            "mitid.geo_ip_distance_km",
        ]
        .contains(&name.as_str())
        {
            continue;
        }
        assert_eq!(&claims[name], value, "{name}");
    }
    assert_eq!(claims["aud"], CLIENT);
    assert!(
        claims["auth_time"].is_string(),
        "a string here, as recorded"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    // Without the scope, none; with `userinfo_tokens = "always"`, always.
    let plain = self::tokens(&app, "openid mitid").await;
    assert!(plain.get("userinfo_token").is_none());
    register(&app, json!({ "userinfo_tokens": "always" })).await;
    let always = self::tokens(&app, "openid mitid").await;
    assert!(always["userinfo_token"].is_string());
}

/// A login whose tokens are bound to `key`; returns the token response.
async fn dpop_tokens(app: &TestApp, key: &Jwk) -> Value {
    let code = code(app, "openid mitid").await;
    let proof = app.dpop_proof(key, "POST", &app.url("/op/connect/token"), None);
    let response = token_request(app, &code, Some(proof)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn dpop_userinfo(
    app: &TestApp,
    scheme: &str,
    token: &str,
    proof: Option<String>,
) -> reqwest::Response {
    let mut request = app
        .browser
        .get(app.url("/op/connect/userinfo"))
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn dpop_binds_the_access_token_and_userinfo_wants_a_fresh_proof_by_the_same_key() {
    let app = spawn_app().await;
    register(&app, json!({})).await;
    let key = ec_key("dpop");
    let tokens = dpop_tokens(&app, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(decode_claims(token)["cnf"]["jkt"], thumbprint(&key));
    let userinfo = app.url("/op/connect/userinfo");

    let proof = app.dpop_proof(&key, "GET", &userinfo, Some(token));
    let response = dpop_userinfo(&app, "DPoP", token, Some(proof.clone())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let claims: Value = response.json().await.unwrap();
    assert_eq!(
        claims["mitid.uuid"],
        app.citizen("app.approve").uuid.to_string()
    );

    let other = rsa_key("thief");
    let now = app.now();
    let refused = [
        ("the same proof again", "DPoP", Some(proof)),
        ("as a bearer token", "Bearer", None),
        ("no proof", "DPoP", None),
        (
            "a proof by another key",
            "DPoP",
            Some(app.dpop_proof(&other, "GET", &userinfo, Some(token))),
        ),
        (
            "a proof for another method",
            "DPoP",
            Some(app.dpop_proof(&key, "POST", &userinfo, Some(token))),
        ),
        (
            "a proof for another URL",
            "DPoP",
            Some(app.dpop_proof(&key, "GET", &app.url("/op/connect/token"), Some(token))),
        ),
        (
            "a proof without ath",
            "DPoP",
            Some(app.dpop_proof(&key, "GET", &userinfo, None)),
        ),
        (
            "a stale proof",
            "DPoP",
            Some(dpop_proof_with(
                "ES256",
                &key,
                json!({ "jti": random_jti(), "htm": "GET", "htu": userinfo, "iat": now - 600,
                        "ath": decode_claims(&app.dpop_proof(&key, "GET", &userinfo, Some(token)))["ath"] }),
            )),
        ),
    ];
    for (case, scheme, proof) in refused {
        let response = dpop_userinfo(&app, scheme, token, proof).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("DPoP "), "{case}: {challenge}");
        assert!(challenge.contains("algs=\"RS256"), "{case}: {challenge}");
    }

    // Introspection shows the binding.
    let introspected: Value = app
        .browser
        .post(app.url("/op/connect/introspect"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], thumbprint(&key));

    // The simulated CPR register takes bearer tokens only, so not a bound one.
    let register = app
        .browser
        .get(app.url("/sim/cpr/v1/person"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::UNAUTHORIZED);
    let refusal: Value = register.json().await.unwrap();
    assert_eq!(refusal["error"], "invalid_token", "{refusal}");
    assert!(
        refusal["message"].as_str().unwrap().contains("DPoP"),
        "{refusal}"
    );
}

#[tokio::test]
async fn a_bad_proof_at_the_token_endpoint_is_refused_and_leaves_the_code_usable() {
    let app = spawn_app().await;
    register(&app, json!({})).await;
    let key = rsa_key("dpop");
    let code = code(&app, "openid").await;
    let token_url = app.url("/op/connect/token");
    let bad = [
        app.dpop_proof(&key, "GET", &token_url, None),
        app.dpop_proof(&key, "POST", &app.url("/op/connect/userinfo"), None),
        dpop_proof_with(
            "PS256",
            &key,
            json!({ "htm": "POST", "htu": token_url, "iat": app.now() }),
        ),
        crate::jose::sign(
            "PS256",
            &key,
            json!({ "typ": "JWT", "jwk": public(&key, None) }),
            json!({ "jti": random_jti(), "htm": "POST", "htu": token_url, "iat": app.now() }),
        ),
        "not-a-jwt".to_string(),
    ];
    for proof in bad {
        let response = token_request(&app, &code, Some(proof))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_dpop_proof");
    }
    let good = app.dpop_proof(&key, "POST", &token_url, None);
    let response = token_request(&app, &code, Some(good)).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the code survived the bad proofs"
    );
    // Two DPoP headers are one too many (RFC 9449 §4.3).
    let code = self::code(&app, "openid").await;
    let response = token_request(
        &app,
        &code,
        Some(app.dpop_proof(&key, "POST", &token_url, None)),
    )
    .header("DPoP", app.dpop_proof(&key, "POST", &token_url, None))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_client_registered_for_dpop_must_send_proofs_and_a_public_clients_refresh_token_is_bound()
{
    let app = spawn_app().await;
    register(
        &app,
        json!({
            "client_secret": null,
            "token_endpoint_auth_method": "none",
            "dpop_bound_access_tokens": true,
            "refresh_tokens": "always",
        }),
    )
    .await;
    let code = code(&app, "openid").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let token_url = app.url("/op/connect/token");
    let response = app
        .browser
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "no proof");
    let key = ec_key("app-key");
    let response = app
        .browser
        .post(&token_url)
        .header("DPoP", app.dpop_proof(&key, "POST", &token_url, None))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT),
        ("refresh_token", refresh),
    ];
    // Another key cannot use the refresh token; the token survives the attempt.
    let thief = ec_key("thief");
    let response = app
        .browser
        .post(&token_url)
        .header("DPoP", app.dpop_proof(&thief, "POST", &token_url, None))
        .form(&refresh_form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
    let response = app
        .browser
        .post(&token_url)
        .header("DPoP", app.dpop_proof(&key, "POST", &token_url, None))
        .form(&refresh_form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.unwrap();
    assert_eq!(refreshed["token_type"], "DPoP");
    assert_eq!(
        decode_claims(refreshed["access_token"].as_str().unwrap())["cnf"]["jkt"],
        thumbprint(&key)
    );
}

#[tokio::test]
async fn faults_reach_inside_signed_userinfo_and_encrypted_id_tokens() {
    let app = spawn_app().await;
    let key = rsa_key("rp-enc");
    register(
        &app,
        json!({
            "jwks": jwks(&[public(&key, Some("enc"))]),
            "id_token_encrypted_response_alg": "RSA-OAEP-256",
            "userinfo_signed_response_alg": "RS256",
        }),
    )
    .await;
    let fault = |name: &str| json!({ "fault": name, "count": 1 });
    let path = format!("/clients/{CLIENT}/faults");
    for name in [
        "wrong_nonce",
        "userinfo_bad_signature",
        "userinfo_other_sub",
    ] {
        let (status, answer) = app.admin(Method::POST, &path, Some(fault(name))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let tokens = tokens(&app, "openid mitid").await;
    let (plain, _) = decrypt(tokens["id_token"].as_str().unwrap(), &key);
    let id_claims = verify_with_broker_jwks(&app, &String::from_utf8(plain).unwrap()).await;
    assert_ne!(
        id_claims["nonce"], "nonce-456",
        "the fault is inside the encryption"
    );

    let broken = app.userinfo_of(&tokens).await.text().await.unwrap();
    let jwks_doc: Value = app
        .get(&app.url("/op/.well-known/openid-configuration/jwks"))
        .await
        .json()
        .await
        .unwrap();
    let jwk = Jwk::from_map(jwks_doc["keys"][0].as_object().unwrap().clone()).unwrap();
    let verifier = josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap();
    assert!(
        josekit::jwt::decode_with_verifier(&broken, &verifier).is_err(),
        "userinfo_bad_signature breaks the signature"
    );
    let other = app.userinfo_of(&tokens).await.text().await.unwrap();
    let claims = verify_with_broker_jwks(&app, &other).await;
    assert_ne!(
        claims["sub"], id_claims["sub"],
        "userinfo_other_sub, signed"
    );
    let clean = app.userinfo_of(&tokens).await.text().await.unwrap();
    assert_eq!(
        verify_with_broker_jwks(&app, &clean).await["sub"],
        id_claims["sub"]
    );

    // A client that gets JSON has no userinfo signature to break.
    let (status, answer) = app
        .admin(
            Method::POST,
            "/clients/demo-rp/faults",
            Some(fault("userinfo_bad_signature")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("userinfo_signed_response_alg"));
}

//! The id_token as an independent RP library sees it: discovery, JWKS, signature, claims.

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::{
    assert_is_redirect_to, decode_claims, decode_header, query_of, spawn_app, TestApp,
};

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs `user` in with the scripted app through the real pages, as the RP library drives it,
/// and returns the verified id_token claims and the raw id_token.
pub(crate) async fn login_with_library(
    app: &TestApp,
    client_id: &str,
    user: &str,
) -> (serde_json::Value, String) {
    let http = http_client();
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.sim.issuer().to_string()).unwrap(),
        &http,
    )
    .await
    .expect("discovery is valid for an OIDC library");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_string()),
        Some(ClientSecret::new("demo-secret".to_string())),
    )
    .set_redirect_uri(RedirectUrl::new("http://localhost:8080/callback".to_string()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("mitid".to_string()))
        .set_pkce_challenge(challenge)
        .url();

    let response = app.get(authorize_url.as_str()).await;
    let login = assert_is_redirect_to(&response, "/login/");
    let page = app.page(&login).await;
    let page = app.submit(&page, "user-id", &[("user_id", user)]).await;
    let callback = app.poll_until_redirect(&page).await;
    let params = query_of(&callback);
    assert_eq!(&params["state"], csrf.secret());

    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the token response is valid");
    let id_token = tokens.id_token().expect("an id_token is issued");
    let verified = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the id_token verifies against discovery and JWKS");
    assert_eq!(verified.issuer().as_str(), app.sim.issuer());
    assert!(tokens.access_token().secret().len() > 20);
    let raw = id_token.to_string();
    (decode_claims(&raw), raw)
}

#[tokio::test]
async fn an_rs256_id_token_verifies_with_the_openidconnect_crate() {
    let app = spawn_app().await;
    let (claims, raw) = login_with_library(&app, "demo-rp", "app.approve").await;
    assert_eq!(decode_header(&raw)["alg"], "RS256", "as the real broker");
    insta::assert_json_snapshot!("neb_id_token_claims", claims, {
        ".iss" => "[issuer]",
        ".sub" => "[pairwise sub]",
        ".iat" => "[time]",
        ".nbf" => "[time]",
        ".exp" => "[time]",
        ".auth_time" => "[time]",
        ".nonce" => "[nonce]",
        ".at_hash" => "[at_hash]",
        ".neb_sid" => "[uuid]",
        ".sid" => "[uuid]",
        ".transaction_id" => "[uuid]",
        ".idp_transaction_id" => "[uuid]",
        ".session_expiry" => "[time]",
    });
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - iat,
        300,
        "id_tokens live 5 minutes"
    );
    let expiry: i64 = claims["session_expiry"].as_str().unwrap().parse().unwrap();
    assert!(expiry - iat >= 60, "session_expiry lies well ahead of iat");
}

#[tokio::test]
async fn userinfo_releases_the_neb_claims_of_the_granted_scopes() {
    let app = spawn_app().await;
    let callback = app
        .no_ui_login("username:anna.jensen", &[("scope", "openid mitid ssn")])
        .await;
    let tokens = app.tokens_for(&callback).await;
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
    insta::assert_json_snapshot!("neb_userinfo_mitid_ssn", userinfo, {
        ".sub" => "[pairwise sub]",
        ".session_expiry" => "[time]",
        "[\"mitid.transaction_id\"]" => "[uuid]",
        "[\"mitid.age\"]" => "[age]",
    });
    let id_claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        userinfo["sub"], id_claims["sub"],
        "userinfo sub equals id_token sub"
    );
}

#[tokio::test]
async fn protected_and_cpr_less_citizens_release_what_the_real_broker_releases() {
    let app = spawn_app().await;
    for (user, name, has_cpr) in [
        ("beskyttet", "NAVNE & ADRESSEBESKYTTET", "true"),
        ("uden.cpr", "John Smith", "false"),
    ] {
        let callback = app
            .no_ui_login(
                &format!("username:{user}"),
                &[("scope", "openid mitid ssn")],
            )
            .await;
        let tokens = app.tokens_for(&callback).await;
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
        assert_eq!(userinfo["mitid.identity_name"], name);
        assert_eq!(userinfo["mitid.has_cpr"], has_cpr);
        assert_eq!(
            userinfo.get("dk.cpr").is_some(),
            has_cpr == "true",
            "{user}"
        );
    }
}

#[tokio::test]
async fn subjects_are_stable_per_client_and_differ_between_organisations() {
    let app = spawn_app().await;
    let first = app
        .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
        .await;
    let second = app
        .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
        .await;
    let sub = |t: &serde_json::Value| decode_claims(t["id_token"].as_str().unwrap())["sub"].clone();
    assert_eq!(sub(&first), sub(&second));
    let other_org = app
        .get(&app.authorize_url(&[
            ("client_id", "demo-rp-rs256"),
            ("simulation", "no-ui"),
            ("login_hint", "username:anna.jensen"),
        ]))
        .await;
    let callback = crate::helpers::location(&other_org);
    let response = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth("demo-rp-rs256", Some("demo-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query_of(&callback)["code"].as_str()),
            ("redirect_uri", "http://localhost:8080/callback"),
            ("code_verifier", crate::helpers::VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    let tokens: serde_json::Value = response.json().await.unwrap();
    assert_ne!(
        sub(&tokens),
        sub(&first),
        "another organisation sees another sub"
    );
    assert_ne!(
        sub(&first),
        serde_json::json!(app
            .sim
            .provider()
            .broker
            .identities
            .by_user_id("anna.jensen")
            .unwrap()
            .uuid
            .to_string()),
        "sub is pairwise, not the MitID UUID"
    );
}

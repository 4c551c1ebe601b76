//! SSO sessions, logout and expiry, with wiremock standing in for the RPs' back-channel
//! logout endpoints.

use std::time::Duration as StdDuration;

use josekit::jwk::Jwk;
use josekit::jws::{ES256, RS256};
use mitid_sim::protocols::oidc::backchannel::RetryPolicy;
use mitid_sim::protocols::oidc::clients::{built_in_clients, parse_clients};
use mitid_sim::Simulator;
use reqwest::StatusCode;
use serde_json::Value;
use time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    assert_is_redirect_to, browser, decode_claims, location, query_of, spawn_with, step_of, TestApp,
};

pub const RP_A: &str = "http://rp-a.test/callback";
pub const RP_B: &str = "http://rp-b.test/callback";

/// Two RPs in one SSO group (A registered for ES256, B with the default RS256) whose
/// back-channel endpoints are the given mock servers.
pub async fn spawn_two_rps(a: &MockServer, b: &MockServer) -> TestApp {
    spawn_rps(a, b, Some("rp-ab")).await
}

/// The same two RPs, in the given SSO group or (`None`) each with sessions of its own.
pub async fn spawn_rps(a: &MockServer, b: &MockServer, group: Option<&str>) -> TestApp {
    let group = group
        .map(|g| format!("sso_group = \"{g}\""))
        .unwrap_or_default();
    let extra = format!(
        r#"
[[client]]
client_id = "rp-a"
name = "RP A"
client_secret = "secret-a"
{group}
id_token_signed_response_alg = "ES256"
redirect_uris = ["{RP_A}"]
post_logout_redirect_uris = ["http://rp-a.test/logged-out"]
backchannel_logout_uri = "{a}/backchannel"
frontchannel_logout_uri = "http://rp-a.test/frontchannel"
refresh_tokens = "always"

[[client]]
client_id = "rp-b"
name = "RP B"
client_secret = "secret-b"
{group}
redirect_uris = ["{RP_B}"]
backchannel_logout_uri = "{b}/backchannel"
"#,
        a = a.uri(),
        b = b.uri()
    );
    let mut clients = built_in_clients().unwrap();
    clients.extend(parse_clients(&extra).unwrap());
    spawn_with(
        Simulator::builder()
            .clients(clients)
            .backchannel_retry(RetryPolicy {
                max_attempts: 3,
                first_backoff: StdDuration::from_millis(50),
                timeout: StdDuration::from_secs(2),
            }),
    )
    .await
}

pub async fn backchannel_ok() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/backchannel"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

impl TestApp {
    pub fn rp_authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut params = vec![("client_id", client_id), ("redirect_uri", redirect_uri)];
        params.extend_from_slice(extra);
        self.authorize_url(&params)
    }

    /// Exchanges a code at the token endpoint as `client_id`.
    pub async fn rp_tokens(
        &self,
        client_id: &str,
        secret: &str,
        redirect_uri: &str,
        callback: &str,
    ) -> Value {
        let response = self
            .browser
            .post(self.url("/op/connect/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", query_of(callback)["code"].as_str()),
                ("redirect_uri", redirect_uri),
                ("code_verifier", crate::helpers::VERIFIER),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// rp-a logs the citizen in through the pages; rp-b then gets in through SSO.
    pub async fn two_rp_logins(&self, user: &str) -> (Value, Value) {
        let callback_a = self
            .drive_login(user, &[("client_id", "rp-a"), ("redirect_uri", RP_A)])
            .await;
        assert!(callback_a.starts_with(RP_A), "{callback_a}");
        let tokens_a = self.rp_tokens("rp-a", "secret-a", RP_A, &callback_a).await;
        let response = self.get(&self.rp_authorize_url("rp-b", RP_B, &[])).await;
        let callback_b = assert_is_redirect_to(&response, RP_B);
        let tokens_b = self.rp_tokens("rp-b", "secret-b", RP_B, &callback_b).await;
        (tokens_a, tokens_b)
    }

    pub async fn userinfo_of(&self, tokens: &Value) -> reqwest::Response {
        self.browser
            .get(self.url("/op/connect/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
    }
}

/// The logout tokens a mock RP received.
pub async fn logout_tokens(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            assert_eq!(
                r.headers.get("content-type").map(|v| v.to_str().unwrap()),
                Some("application/x-www-form-urlencoded")
            );
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&r.body)
                .unwrap()
                .into_iter()
                .find(|(k, _)| k == "logout_token")
                .map(|(_, v)| v)
        })
        .collect()
}

pub async fn wait_for_logout_tokens(server: &MockServer, count: usize) -> Vec<String> {
    for _ in 0..300 {
        let tokens = logout_tokens(server).await;
        if tokens.len() >= count {
            return tokens;
        }
        tokio::time::sleep(StdDuration::from_millis(30)).await;
    }
    panic!("the RP never received {count} logout token(s)");
}

/// Verifies a logout token as a careful RP would: signature against the JWKS, header,
/// and every claim Back-Channel Logout 1.0 §2.4 requires.
pub async fn verified_logout_claims(app: &TestApp, token: &str, client_id: &str) -> Value {
    let jwks: Value = app
        .get(&app.url("/op/.well-known/openid-configuration/jwks"))
        .await
        .json()
        .await
        .unwrap();
    let header = crate::helpers::decode_header(token);
    assert_eq!(header["typ"], "logout+jwt");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the logout token's kid is in the JWKS");
    let jwk = Jwk::from_map(key.as_object().unwrap().clone()).unwrap();
    let verified = match header["alg"].as_str().unwrap() {
        "ES256" => {
            josekit::jwt::decode_with_verifier(token, &ES256.verifier_from_jwk(&jwk).unwrap())
        }
        "RS256" => {
            josekit::jwt::decode_with_verifier(token, &RS256.verifier_from_jwk(&jwk).unwrap())
        }
        other => panic!("unexpected alg {other}"),
    };
    assert!(verified.is_ok(), "the logout token's signature verifies");
    let claims = decode_claims(token);
    assert_eq!(claims["iss"], app.sim.issuer());
    assert_eq!(claims["aud"], client_id);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 300, "a short-lived token");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(
        claims["events"],
        serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert!(claims["sid"].is_string() && claims["sub"].is_string());
    assert!(
        claims.get("nonce").is_none(),
        "a logout token never carries a nonce"
    );
    claims
}

#[tokio::test]
async fn a_second_rp_logs_in_through_the_broker_session_without_credentials() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, tokens_b) = app.two_rp_logins("app.approve").await;
    let (claims_a, claims_b) = (
        decode_claims(tokens_a["id_token"].as_str().unwrap()),
        decode_claims(tokens_b["id_token"].as_str().unwrap()),
    );
    assert_eq!(
        claims_a["neb_sid"], claims_b["neb_sid"],
        "one broker session"
    );
    assert_eq!(
        (&claims_a["sid"], &claims_b["sid"]),
        (&claims_a["neb_sid"], &claims_a["neb_sid"]),
        "sid is the broker session's id, as at the real broker"
    );
    assert_eq!(
        claims_a["idp_transaction_id"], claims_b["idp_transaction_id"],
        "one MitID authentication"
    );
    assert_ne!(
        claims_a["transaction_id"], claims_b["transaction_id"],
        "a broker transaction per client"
    );
    assert_eq!(
        claims_a["auth_time"], claims_b["auth_time"],
        "auth_time is the real authentication's"
    );
    assert_eq!(claims_a["session_expiry"], claims_b["session_expiry"]);
    let info: Value = app.userinfo_of(&tokens_b).await.json().await.unwrap();
    assert_eq!(info["session_is_active"], "true");
    assert_eq!(info["session_expiry"], claims_b["session_expiry"]);
}

#[tokio::test]
async fn prompt_none_answers_login_required_without_a_session_and_a_code_with_one() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("prompt", "none")]))
        .await;
    let to = assert_is_redirect_to(&response, RP_B);
    assert_eq!(query_of(&to)["error"], "login_required");

    app.two_rp_logins("app.approve").await;
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("prompt", "none")]))
        .await;
    let to = assert_is_redirect_to(&response, RP_B);
    assert!(query_of(&to).contains_key("code"), "{to}");
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_authentication() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    app.two_rp_logins("app.approve").await;
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("prompt", "login")]))
        .await;
    assert_is_redirect_to(&response, "/login/");

    app.sim.clock().advance(Duration::seconds(120));
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("max_age", "60")]))
        .await;
    assert_is_redirect_to(&response, "/login/");
    let fresh = app
        .drive_login(
            "app.approve",
            &[
                ("client_id", "rp-b"),
                ("redirect_uri", RP_B),
                ("max_age", "60"),
            ],
        )
        .await;
    let tokens = app.rp_tokens("rp-b", "secret-b", RP_B, &fresh).await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    let now = app.sim.clock().unix();
    assert!(
        now - claims["auth_time"].as_i64().unwrap() < 60,
        "auth_time is the new login's"
    );
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("max_age", "60")]))
        .await;
    assert_is_redirect_to(&response, RP_B);
}

#[tokio::test]
async fn step_up_raises_the_session_level_without_asking_for_the_user_id() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let page = app
        .start_login(&[("client_id", "rp-a"), ("redirect_uri", RP_A)])
        .await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "alle.metoder")])
        .await;
    let page = app
        .submit(&page, "choose", &[("method", "code-display")])
        .await;
    let code = app
        .citizen("alle.metoder")
        .code_display
        .as_ref()
        .unwrap()
        .secret
        .code_at(app.sim.clock().now());
    let page = app.submit(&page, "code", &[("code", &code)]).await;
    let response = app
        .post_form(&page, "password", &[("password", "Alle1234")])
        .await;
    let callback = location(&app.get(&app.url(&location(&response))).await);
    let first = decode_claims(
        app.rp_tokens("rp-a", "secret-a", RP_A, &callback).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        first["loa"],
        "https://data.gov.dk/concept/core/nsis/Substantial"
    );

    let high = r#"{"mitid":{"loa_value":"high","enable_step_up":true}}"#;
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("idp_params", high), ("prompt", "login")]))
        .await;
    let to = assert_is_redirect_to(&response, "/login/");
    let page = app.page(&to).await;
    assert_eq!(
        step_of(&page),
        "app",
        "straight to an authenticator that reaches High"
    );
    let phone = {
        let start = page.html.find("/sim/app/").unwrap();
        let end = page.html[start..].find('"').unwrap() + start;
        app.url(&page.html[start..end])
    };
    browser()
        .post(&phone)
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    let callback = app.poll_until_redirect(&page).await;
    let raised = decode_claims(
        app.rp_tokens("rp-b", "secret-b", RP_B, &callback).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(raised["loa"], "https://data.gov.dk/concept/core/nsis/High");
    assert_eq!(
        raised["neb_sid"], first["neb_sid"],
        "the same session, raised"
    );
}

#[tokio::test]
async fn max_age_zero_always_asks_for_a_new_authentication() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    app.two_rp_logins("app.approve").await;
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("max_age", "0")]))
        .await;
    assert_is_redirect_to(&response, "/login/");
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("max_age", "0"), ("prompt", "none")]))
        .await;
    let to = assert_is_redirect_to(&response, RP_B);
    assert_eq!(query_of(&to)["error"], "login_required");
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("max_age", "18446744073709551615")]))
        .await;
    assert_is_redirect_to(&response, RP_B);
}

#[tokio::test]
async fn without_an_sso_group_each_client_has_a_session_of_its_own() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_rps(&a, &b, None).await;
    let callback_a = app
        .drive_login(
            "app.approve",
            &[("client_id", "rp-a"), ("redirect_uri", RP_A)],
        )
        .await;
    let tokens_a = app.rp_tokens("rp-a", "secret-a", RP_A, &callback_a).await;

    // rp-b sees no session: prompt=none is refused and a login asks for the user ID.
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("prompt", "none")]))
        .await;
    let to = assert_is_redirect_to(&response, RP_B);
    assert_eq!(query_of(&to)["error"], "login_required");
    let page = app
        .start_login(&[("client_id", "rp-b"), ("redirect_uri", RP_B)])
        .await;
    assert_eq!(step_of(&page), "user_id");
    let callback_b = app
        .drive_login(
            "app.approve",
            &[("client_id", "rp-b"), ("redirect_uri", RP_B)],
        )
        .await;
    let tokens_b = app.rp_tokens("rp-b", "secret-b", RP_B, &callback_b).await;
    let (claims_a, claims_b) = (
        decode_claims(tokens_a["id_token"].as_str().unwrap()),
        decode_claims(tokens_b["id_token"].as_str().unwrap()),
    );
    assert_ne!(claims_a["neb_sid"], claims_b["neb_sid"], "two sessions");

    // rp-a's own session still answers rp-a without credentials.
    let response = app
        .get(&app.rp_authorize_url("rp-a", RP_A, &[("prompt", "none")]))
        .await;
    assert!(query_of(&assert_is_redirect_to(&response, RP_A)).contains_key("code"));

    // Logging out of rp-a ends rp-a's session only: rp-b hears nothing and stays in.
    let response = app
        .get(&format!(
            "{}/op/connect/endsession?{}",
            app.sim.base_url(),
            serde_urlencoded::to_string([(
                "id_token_hint",
                tokens_a["id_token"].as_str().unwrap()
            )])
            .unwrap()
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("mitid_sim_sso=;"));
    assert!(!cleared, "the cookie still carries rp-b's session");
    wait_for_logout_tokens(&a, 1).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(logout_tokens(&b).await.is_empty(), "rp-b is not told");
    let info: Value = app.userinfo_of(&tokens_b).await.json().await.unwrap();
    assert_eq!(info["session_is_active"], "true");
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("prompt", "none")]))
        .await;
    assert!(query_of(&assert_is_redirect_to(&response, RP_B)).contains_key("code"));
    let response = app
        .get(&app.rp_authorize_url("rp-a", RP_A, &[("prompt", "none")]))
        .await;
    let to = assert_is_redirect_to(&response, RP_A);
    assert_eq!(query_of(&to)["error"], "login_required");
}

#[tokio::test]
async fn an_sso_group_set_through_the_admin_api_shares_sessions_from_the_next_login() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_rps(&a, &b, None).await;
    for client in ["rp-a", "rp-b"] {
        let response = app
            .browser
            .put(app.url(&format!("/admin/clients/{client}/sso-group")))
            .json(&serde_json::json!({ "sso_group": "kommune" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let client: Value = response.json().await.unwrap();
        assert_eq!(client["sso_group"], "kommune");
    }
    let (tokens_a, tokens_b) = app.two_rp_logins("app.approve").await;
    assert_eq!(
        decode_claims(tokens_a["id_token"].as_str().unwrap())["neb_sid"],
        decode_claims(tokens_b["id_token"].as_str().unwrap())["neb_sid"]
    );
    let sessions: Value = app
        .get(&app.url("/admin/sessions"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions[0]["scope"], "group:kommune");

    let bad = app
        .browser
        .put(app.url("/admin/clients/rp-a/sso-group"))
        .json(&serde_json::json!({ "sso_group": " " }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let gone = app
        .browser
        .put(app.url("/admin/clients/nobody/sso-group"))
        .json(&serde_json::json!({ "sso_group": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn back_end_logout_and_max_age_keep_to_the_clients_own_session() {
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_rps(&a, &b, None).await;
    let mut tokens = Vec::new();
    for (client, secret, redirect) in [("rp-a", "secret-a", RP_A), ("rp-b", "secret-b", RP_B)] {
        let callback = app
            .drive_login(
                "app.approve",
                &[("client_id", client), ("redirect_uri", redirect)],
            )
            .await;
        tokens.push(app.rp_tokens(client, secret, redirect, &callback).await);
        app.sim.clock().advance(Duration::seconds(30));
    }
    // max_age is judged against each client's own session: rp-a's is 60 s old, rp-b's 30.
    let response = app
        .get(&app.rp_authorize_url("rp-a", RP_A, &[("max_age", "45")]))
        .await;
    assert_is_redirect_to(&response, "/login/");
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("max_age", "45")]))
        .await;
    assert!(query_of(&assert_is_redirect_to(&response, RP_B)).contains_key("code"));

    let response = app
        .browser
        .post(app.url("/op/api/v1/session/logout"))
        .form(&[("id_token", tokens[0]["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    wait_for_logout_tokens(&a, 1).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(
        logout_tokens(&b).await.is_empty(),
        "rp-b's session is another one"
    );
    let info: Value = app.userinfo_of(&tokens[1]).await.json().await.unwrap();
    assert_eq!(info["session_is_active"], "true");
    let response = app
        .get(&app.rp_authorize_url("rp-b", RP_B, &[("prompt", "none")]))
        .await;
    assert!(query_of(&assert_is_redirect_to(&response, RP_B)).contains_key("code"));
}

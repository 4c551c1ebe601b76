//! The authorization response in every mode and flow: query, fragment and form_post; the
//! code, implicit and hybrid response types with their nonce rule, `c_hash` and `at_hash`;
//! NEB's open test clients.

use std::collections::HashMap;

use mitid_sim::protocols::oidc::clients::{open_test_clients, parse_clients, Client};
use mitid_sim::protocols::oidc::faults::TokenFault;
use mitid_sim::Simulator;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{decode_claims, location, spawn_with, TestApp, REDIRECT_URI};

/// What the browser finally brings the RP: a redirect (query or fragment) or a form post.
#[derive(Debug, Clone)]
pub enum RpAnswer {
    Redirect(String),
    FormPost {
        action: String,
        fields: Vec<(String, String)>,
    },
}

impl RpAnswer {
    /// The response parameters, wherever they travel.
    pub fn params(&self) -> HashMap<String, String> {
        match self {
            RpAnswer::Redirect(to) => {
                let url = url::Url::parse(to).unwrap();
                let encoded = url.fragment().or(url.query()).unwrap_or_default();
                url::form_urlencoded::parse(encoded.as_bytes())
                    .into_owned()
                    .collect()
            }
            RpAnswer::FormPost { fields, .. } => fields.iter().cloned().collect(),
        }
    }

    pub fn redirect(&self) -> &str {
        match self {
            RpAnswer::Redirect(to) => to,
            other => panic!("expected a redirect, got {other:?}"),
        }
    }
}

/// The authorization response form of a form_post page, if the HTML is one.
pub fn form_post_of(html: &str) -> Option<RpAnswer> {
    let document = scraper::Html::parse_document(html);
    let form = scraper::Selector::parse("form#authorization-response").unwrap();
    let input = scraper::Selector::parse("input[type=hidden]").unwrap();
    let form = document.select(&form).next()?;
    assert_eq!(form.value().attr("method"), Some("post"));
    let fields = form
        .select(&input)
        .map(|i| {
            (
                i.value().attr("name").unwrap().to_string(),
                i.value().attr("value").unwrap().to_string(),
            )
        })
        .collect();
    Some(RpAnswer::FormPost {
        action: form.value().attr("action").unwrap().to_string(),
        fields,
    })
}

impl TestApp {
    /// An authorization request followed through the login pages as `user_id` (a citizen
    /// whose app approves by itself), to the answer the browser brings the RP.
    pub async fn answer_for(&self, authorize_url: &str, user_id: &str) -> RpAnswer {
        let response = self.get(authorize_url).await;
        let body_or_redirect = self.settle(response).await;
        let login = match body_or_redirect {
            Ok(answer) => return answer,
            Err(login) => login,
        };
        let page = self.page(&self.url(&login)).await;
        let page = self.submit(&page, "user-id", &[("user_id", user_id)]).await;
        for _ in 0..300 {
            let response = self.get(&page.url).await;
            if let Ok(answer) = self.settle(response).await {
                return answer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the login never finished");
    }

    /// The RP's answer in this response, or the login page path it sends the browser to
    /// (`Err`); an error page fails the test with its text.
    async fn settle(&self, response: reqwest::Response) -> Result<RpAnswer, String> {
        match response.status() {
            StatusCode::SEE_OTHER => {
                let to = location(&response);
                if to.starts_with("/login/") {
                    Err(to)
                } else {
                    Ok(RpAnswer::Redirect(to))
                }
            }
            StatusCode::FOUND => {
                let page = self.page(&location(&response)).await;
                panic!("the broker refused the request: {}", page.html)
            }
            _ => {
                let url = response.url().path().to_string();
                let html = response.text().await.unwrap();
                form_post_of(&html).ok_or(url)
            }
        }
    }
}

/// A client allowed every response type (`demo-rp` otherwise).
pub const FLOWS_CLIENT: &str = "flows-rp";
pub const FLOWS_SECRET: &str = "flows-secret";

pub fn flows_client() -> Client {
    parse_clients(&format!(
        r#"[[client]]
client_id = "{FLOWS_CLIENT}"
name = "Alle flows"
client_secret = "{FLOWS_SECRET}"
redirect_uris = ["{REDIRECT_URI}"]
response_types = ["code", "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"]
allow_simulation = true
"#
    ))
    .unwrap()
    .remove(0)
}

pub async fn spawn_with_flows() -> TestApp {
    let mut clients = mitid_sim::protocols::oidc::clients::built_in_clients().unwrap();
    clients.push(flows_client());
    spawn_with(Simulator::builder().clients(clients)).await
}

fn authorize(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let mut params = vec![("client_id", FLOWS_CLIENT)];
    params.extend_from_slice(extra);
    app.authorize_url(&params)
}

fn left_half_sha256(value: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    URL_SAFE_NO_PAD.encode(&openssl::sha::sha256(value.as_bytes())[..16])
}

async fn redeem(app: &TestApp, code: &str) -> Value {
    let response = app
        .browser
        .post(app.url("/op/connect/token"))
        .basic_auth(FLOWS_CLIENT, Some(FLOWS_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", crate::helpers::VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn form_post_answers_with_a_page_whose_form_posts_the_code_to_the_rp() {
    let app = spawn_with_flows().await;
    let response = app
        .get(&authorize(
            &app,
            &[
                ("response_mode", "form_post"),
                ("simulation", "no-ui username:app.approve"),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store, no-cache, max-age=0",
        "the response is used once (Form Post Response Mode §2)"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"<script src="/static/form-post.js" defer></script>"#),
        "submitted by a script file, not inline script"
    );
    assert!(
        html.contains(r#"<button type="submit""#),
        "and without JavaScript"
    );
    let answer = form_post_of(&html).expect("an authorization response form");
    let RpAnswer::FormPost {
        ref action,
        ref fields,
    } = answer
    else {
        unreachable!()
    };
    assert_eq!(action.as_str(), REDIRECT_URI);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["code", "state", "session_state", "iss"]);
    let tokens = redeem(&app, &answer.params()["code"]).await;
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["nonce"],
        "nonce-456"
    );
    let script = app.get(&app.url("/static/form-post.js")).await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script
        .text()
        .await
        .unwrap()
        .contains("authorization-response"));
}

#[tokio::test]
async fn errors_travel_in_the_mode_of_the_request() {
    let app = spawn_with_flows().await;
    // prompt=none without a session: an error for the RP, as a form post.
    let response = app
        .get(&authorize(
            &app,
            &[("response_mode", "form_post"), ("prompt", "none")],
        ))
        .await;
    let answer = form_post_of(&response.text().await.unwrap()).unwrap();
    assert_eq!(answer.params()["error"], "login_required");
    assert_eq!(
        app.last_exchange("authorize").error.as_deref(),
        Some("login_required"),
        "the record sees errors in any mode"
    );
    // And in the fragment.
    let response = app
        .get(&authorize(
            &app,
            &[("response_mode", "fragment"), ("prompt", "none")],
        ))
        .await;
    let to = location(&response);
    assert!(
        to.starts_with(&format!("{REDIRECT_URI}#error=login_required")),
        "{to}"
    );
}

#[tokio::test]
async fn the_implicit_flow_returns_an_id_token_with_the_claims_in_the_fragment() {
    let app = spawn_with_flows().await;
    let answer = app
        .answer_for(
            &authorize(&app, &[("response_type", "id_token")]),
            "app.approve",
        )
        .await;
    let to = answer.redirect();
    assert!(to.starts_with(&format!("{REDIRECT_URI}#id_token=")), "{to}");
    let params = answer.params();
    let fragment = url::Url::parse(to).unwrap().fragment().unwrap().to_string();
    let names: Vec<String> = url::form_urlencoded::parse(fragment.as_bytes())
        .map(|(name, _)| name.into_owned())
        .collect();
    assert_eq!(names, ["id_token", "state", "session_state", "iss"]);
    let claims = decode_claims(&params["id_token"]);
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["aud"], FLOWS_CLIENT);
    assert!(claims.get("at_hash").is_none() && claims.get("c_hash").is_none());
    // No access token to fetch userinfo with: the id_token carries the mitid claims.
    assert!(claims["mitid.uuid"].is_string(), "{claims}");
    assert_eq!(
        claims["mitid.identity_name"],
        app.citizen("app.approve").name
    );
}

#[tokio::test]
async fn id_token_token_gives_an_access_token_that_userinfo_accepts() {
    let app = spawn_with_flows().await;
    let answer = app
        .answer_for(
            &authorize(&app, &[("response_type", "id_token token")]),
            "app.approve",
        )
        .await;
    let params = answer.params();
    assert_eq!(params["token_type"], "Bearer");
    assert_eq!(params["expires_in"], "10800");
    assert_eq!(params["scope"], "openid mitid");
    let claims = decode_claims(&params["id_token"]);
    assert_eq!(claims["at_hash"], left_half_sha256(&params["access_token"]));
    assert!(claims.get("mitid.uuid").is_none(), "userinfo has them");
    let userinfo: Value = app
        .browser
        .get(app.url("/op/connect/userinfo"))
        .bearer_auth(&params["access_token"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], claims["sub"]);
    assert!(userinfo["mitid.uuid"].is_string());
}

#[tokio::test]
async fn hybrid_flows_hash_the_code_and_token_and_the_code_still_redeems() {
    let app = spawn_with_flows().await;
    for (response_type, has_token, has_id_token) in [
        ("code id_token", false, true),
        ("code token", true, false),
        ("code id_token token", true, true),
    ] {
        let answer = app
            .answer_for(
                &authorize(&app, &[("response_type", response_type)]),
                "app.approve",
            )
            .await;
        let params = answer.params();
        assert!(answer.redirect().contains('#'), "fragment by default");
        let code = &params["code"];
        assert_eq!(
            params.contains_key("access_token"),
            has_token,
            "{response_type}"
        );
        assert_eq!(
            params.contains_key("id_token"),
            has_id_token,
            "{response_type}"
        );
        if has_id_token {
            let claims = decode_claims(&params["id_token"]);
            assert_eq!(claims["c_hash"], left_half_sha256(code), "{response_type}");
            assert_eq!(claims["nonce"], "nonce-456");
            match params.get("access_token") {
                Some(token) => assert_eq!(claims["at_hash"], left_half_sha256(token)),
                None => assert!(claims.get("at_hash").is_none()),
            }
        }
        let tokens = redeem(&app, code).await;
        let from_token_endpoint = decode_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(from_token_endpoint["nonce"], "nonce-456");
        assert!(from_token_endpoint.get("c_hash").is_none());
        // Replaying the code revokes the access token the front channel gave too.
        if let Some(front) = params.get("access_token") {
            let replay = app
                .browser
                .post(app.url("/op/connect/token"))
                .basic_auth(FLOWS_CLIENT, Some(FLOWS_SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", crate::helpers::VERIFIER),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
            let userinfo = app
                .browser
                .get(app.url("/op/connect/userinfo"))
                .bearer_auth(front)
                .send()
                .await
                .unwrap();
            assert_eq!(
                userinfo.status(),
                StatusCode::UNAUTHORIZED,
                "{response_type}"
            );
        }
    }
}

#[tokio::test]
async fn the_implicit_and_hybrid_flows_require_a_nonce_and_tokens_never_go_in_the_query() {
    let app = spawn_with_flows().await;
    let without_nonce = app.authorize_url(&[
        ("client_id", FLOWS_CLIENT),
        ("response_type", "code id_token"),
    ]);
    let without_nonce = without_nonce.replace("&nonce=nonce-456", "");
    let page = app
        .follow_to_error_page(app.get(&without_nonce).await)
        .await;
    assert!(page.html.contains("Invalid nonce"), "{}", page.html);
    assert_eq!(
        app.last_exchange("authorize").error.as_deref(),
        Some("invalid_request")
    );
    let in_query = authorize(
        &app,
        &[("response_type", "id_token"), ("response_mode", "query")],
    );
    let page = app.follow_to_error_page(app.get(&in_query).await).await;
    assert!(
        page.html.contains("cannot carry the tokens"),
        "{}",
        page.html
    );
    // A client registered for the code flow only: NEB's unsupported_response_type.
    let page = app
        .follow_to_error_page(
            app.get(&app.authorize_url(&[("response_type", "code id_token")]))
                .await,
        )
        .await;
    assert!(page.html.contains("unsupported_response_type"));
    assert!(page.html.contains("Response type not supported"));
}

#[tokio::test]
async fn id_token_faults_reach_front_channel_id_tokens_too() {
    let app = spawn_with_flows().await;
    app.sim
        .inject_fault(FLOWS_CLIENT, TokenFault::WrongNonce, 1)
        .unwrap();
    let answer = app
        .answer_for(
            &authorize(&app, &[("response_type", "id_token")]),
            "app.approve",
        )
        .await;
    let claims = decode_claims(&answer.params()["id_token"]);
    assert_ne!(claims["nonce"], "nonce-456", "the queued fault went here");
    // The hashes of the hybrid flow, each wrong alone.
    for (fault, claim, beside) in [
        (TokenFault::WrongCHash, "c_hash", "code"),
        (TokenFault::WrongAtHash, "at_hash", "access_token"),
    ] {
        app.sim.inject_fault(FLOWS_CLIENT, fault, 1).unwrap();
        let answer = app
            .answer_for(
                &authorize(&app, &[("response_type", "code id_token token")]),
                "app.approve",
            )
            .await;
        let params = answer.params();
        let claims = decode_claims(&params["id_token"]);
        assert_ne!(
            claims[claim],
            left_half_sha256(&params[beside]),
            "{fault:?}"
        );
        assert_eq!(claims[claim].as_str().unwrap().len(), 22, "still a hash");
        assert_eq!(claims["nonce"], "nonce-456", "nothing else is wrong");
        let other = if claim == "c_hash" {
            ("at_hash", "access_token")
        } else {
            ("c_hash", "code")
        };
        assert_eq!(claims[other.0], left_half_sha256(&params[other.1]));
    }
    app.sim
        .inject_fault(FLOWS_CLIENT, TokenFault::AuthorizationResponseWrongIss, 1)
        .unwrap();
    let response = app
        .get(&authorize(
            &app,
            &[
                ("response_mode", "form_post"),
                ("simulation", "no-ui username:app.approve"),
            ],
        ))
        .await;
    let answer = form_post_of(&response.text().await.unwrap()).unwrap();
    assert_eq!(
        answer.params()["iss"],
        mitid_sim::protocols::oidc::faults::FOREIGN_ISSUER
    );
}

#[tokio::test]
async fn neb_open_test_clients_take_any_redirect_uri_and_say_so() {
    let mut clients = mitid_sim::protocols::oidc::clients::built_in_clients().unwrap();
    clients.extend(open_test_clients().unwrap());
    let app = spawn_with(Simulator::builder().clients(clients)).await;
    let code_client = "0a775a87-878c-4b83-abe3-ee29c720c3e7";
    let anywhere = "https://my-rp.example/some/callback?tenant=7";
    let url = app.authorize_url(&[("client_id", code_client), ("redirect_uri", anywhere)]);
    let login = crate::helpers::assert_is_redirect_to(&app.get(&url).await, "/login/");
    let page = app.page(&app.url(&login)).await;
    assert!(
        page.html.contains("id=\"open-test-client\""),
        "the login page marks an open test client"
    );
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.approve")])
        .await;
    let callback = app.poll_until_redirect(&page).await;
    assert!(
        callback.starts_with(&format!("{anywhere}&code=")),
        "{callback}"
    );
    // Its code redeems with the documented secret, and its logout returns anywhere too.
    let code = crate::helpers::query_of(&callback)["code"].clone();
    let secret =
        "rnlguc7CM/wmGSti4KCgCkWBQnfslYr0lMDZeIFsCJweROTROy2ajEigEaPQFl76Py6AVWnhYofl/0oiSAgdtg==";
    let tokens: Value = app
        .browser
        .post(app.url("/op/connect/token"))
        // By form post: the secret has `+` and `/`, which HTTP Basic must form-encode.
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", anywhere),
            ("client_id", code_client),
            ("client_secret", secret),
            ("code_verifier", crate::helpers::VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tokens["id_token"].is_string(), "{tokens}");
    let logged_out = "https://my-rp.example/bye";
    let end_session = format!(
        "{}?{}",
        app.url("/op/connect/endsession"),
        serde_urlencoded::to_string([
            ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            ("post_logout_redirect_uri", logged_out),
        ])
        .unwrap()
    );
    let to = location(&app.get(&end_session).await);
    assert!(to.starts_with(logged_out), "{to}");
    // Still a URI a browser may be sent to.
    let script = app.authorize_url(&[
        ("client_id", code_client),
        ("redirect_uri", "javascript:alert(1)//"),
    ]);
    app.follow_to_error_page(app.get(&script).await).await;
    // The hybrid and implicit ones, with their response types.
    let hybrid = app.authorize_url(&[
        ("client_id", "c0beb4dc-69d1-4316-8167-2d0a62816103"),
        ("redirect_uri", anywhere),
        ("response_type", "id_token code"),
        ("simulation", "no-ui username:app.approve"),
    ]);
    let to = location(&app.get(&hybrid).await);
    assert!(to.starts_with(&format!("{anywhere}#code=")), "{to}");
    // The admin API shows the kind.
    let listed: Value = app
        .browser
        .get(app.url(&format!("/admin/clients/{code_client}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["open_test_client"], true);
    // Ordinary clients still match exactly.
    let elsewhere = app.authorize_url(&[("redirect_uri", anywhere)]);
    app.follow_to_error_page(app.get(&elsewhere).await).await;
}

#[tokio::test]
async fn a_public_client_needs_pkce_for_a_code_but_not_for_the_implicit_flow() {
    let public = parse_clients(&format!(
        r#"[[client]]
client_id = "public-spa"
name = "Public SPA"
redirect_uris = ["{REDIRECT_URI}"]
response_types = ["id_token", "code id_token"]
allow_simulation = true
"#
    ))
    .unwrap()
    .remove(0);
    assert!(public.is_public());
    let mut clients = mitid_sim::protocols::oidc::clients::built_in_clients().unwrap();
    clients.push(public);
    let app = spawn_with(Simulator::builder().clients(clients)).await;
    let without_pkce = |response_type| {
        app.authorize_url(&[
            ("client_id", "public-spa"),
            ("response_type", response_type),
            ("code_challenge", ""),
            ("code_challenge_method", ""),
            ("simulation", "no-ui username:app.approve"),
        ])
    };

    // No code, nothing for PKCE to guard: the id_token comes back in the fragment.
    let implicit = app.get(&without_pkce("id_token")).await;
    assert_eq!(implicit.status(), StatusCode::SEE_OTHER);
    let answer = RpAnswer::Redirect(location(&implicit));
    let id_token = answer.params()["id_token"].clone();
    assert_eq!(decode_claims(&id_token)["aud"], "public-spa");

    // A code comes back too: without a code challenge the request is refused.
    let hybrid = app.get(&without_pkce("code id_token")).await;
    assert_eq!(hybrid.status(), StatusCode::FOUND, "NEB's error page");
    let page = app.page(&location(&hybrid)).await;
    assert!(page.html.contains("must use PKCE"), "{}", page.html);
}

#[tokio::test]
async fn an_implicit_id_token_of_a_professional_login_carries_loip_and_the_nemlogin_claims() {
    use crate::erhverv::ANNA;
    let app = spawn_with_flows().await;
    let simulation = format!("no-ui mitid_erhverv_uuid:{ANNA}");
    let erhverv = [
        ("idp_values", "mitid_erhverv"),
        ("scope", "openid nemlogin"),
        ("simulation", simulation.as_str()),
    ];
    let mut implicit = erhverv.to_vec();
    implicit.push(("response_type", "id_token"));
    let answer = RpAnswer::Redirect(location(&app.get(&authorize(&app, &implicit)).await));
    let claims = decode_claims(&answer.params()["id_token"]);
    assert_eq!(claims["identity_type"], "professional");
    assert_eq!(claims["nemlogin.persistent_professional_id"], ANNA);

    // The same login by code: the token endpoint's id_token has the same loip.
    let code = RpAnswer::Redirect(location(&app.get(&authorize(&app, &erhverv)).await));
    let tokens = redeem(&app, &code.params()["code"]).await;
    let by_code = decode_claims(tokens["id_token"].as_str().unwrap());
    assert!(by_code.get("loip").is_some(), "{by_code}");
    assert_eq!(claims["loip"], by_code["loip"]);
}

#[tokio::test]
async fn an_id_token_from_the_browser_is_encrypted_to_a_client_that_registered_it() {
    use crate::jose::{decrypt, jwks, public, rsa_key};
    let key = rsa_key("enc-key");
    let registration = serde_json::json!({
        "client_id": "sealed-flows-rp",
        "name": "Krypterede flows",
        "client_secret": "sealed-secret",
        "redirect_uris": [REDIRECT_URI],
        "response_types": ["code id_token"],
        "allow_simulation": true,
        "jwks": jwks(&[public(&key, Some("enc"))]),
        "id_token_encrypted_response_alg": "RSA-OAEP-256",
    });
    let client: Client = serde_json::from_value(registration.clone()).unwrap();
    assert_eq!(client.problems(), None);
    let mut clients = mitid_sim::protocols::oidc::clients::built_in_clients().unwrap();
    clients.push(client);
    let app = spawn_with(Simulator::builder().clients(clients)).await;
    let url = app.authorize_url(&[
        ("client_id", "sealed-flows-rp"),
        ("response_type", "code id_token"),
    ]);
    let answer = app.answer_for(&url, "app.approve").await;
    let params = answer.params();
    let sealed = &params["id_token"];
    assert_eq!(sealed.split('.').count(), 5, "a compact JWE: {sealed}");
    let (plain, header) = decrypt(sealed, &key);
    assert_eq!(header["alg"], "RSA-OAEP-256");
    assert_eq!(header["cty"], "JWT");
    let claims = decode_claims(std::str::from_utf8(&plain).unwrap());
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["c_hash"], left_half_sha256(&params["code"]));

    // A client whose tokens must be DPoP-bound cannot take an access token from the
    // browser, where no proof can come.
    let mut bound = registration;
    bound["client_id"] = "bound-flows-rp".into();
    bound["response_types"] = serde_json::json!(["code", "id_token token"]);
    bound["dpop_bound_access_tokens"] = true.into();
    let bound: Client = serde_json::from_value(bound).unwrap();
    let problem = bound.problems().expect("refused");
    assert!(problem.contains("`id_token token`"), "{problem}");
}

//! Request objects (OIDC Core §6, RFC 9101): signed with the client's registered keys
//! (inline `jwks` or `jwks_uri`), optionally encrypted to the broker's encryption key;
//! their parameters win; signed requests may add a query to a registered redirect URI;
//! a client may be registered to require them. Bad ones end on NEB's error page.

use std::sync::OnceLock;

use josekit::jwe::{self, JweHeader};
use josekit::jwk::alg::ec::EcKeyPair;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{self, JwsHeader, JwsSigner};
use josekit::jwt::{self, JwtPayload};
use mitid_sim::protocols::oidc::clients::{built_in_clients, parse_clients, Client};
use mitid_sim::Simulator;
use reqwest::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{decode_claims, location, query_of, spawn_with, TestApp, REDIRECT_URI};

pub const JAR_CLIENT: &str = "jar-rp";
pub const JAR_SECRET: &str = "jar-secret-that-is-long-enough-for-hs256!";

/// The client's RSA key (RS256 and PS256), made once per test binary.
pub fn rsa_key() -> &'static RsaKeyPair {
    static KEY: OnceLock<RsaKeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = jws::RS256.generate_key_pair(2048).unwrap();
        key.set_key_id(Some("client-rsa"));
        key
    })
}

fn ec_key(kid: &str) -> EcKeyPair {
    let mut key = jws::ES256.generate_key_pair().unwrap();
    key.set_key_id(Some(kid));
    key
}

/// The key's public JWK, registered for signing with no one algorithm (the RSA key signs
/// RS* and PS*).
fn public_jwk(key: &dyn KeyPair) -> Value {
    let mut jwk = key.to_jwk_public_key().as_ref().clone();
    jwk.remove("alg");
    jwk.insert("use".into(), "sig".into());
    Value::Object(jwk)
}

fn private_jwk(key: &dyn KeyPair) -> Jwk {
    let mut jwk = key.to_jwk_private_key().as_ref().clone();
    jwk.remove("alg");
    Jwk::from_map(jwk).unwrap()
}

/// A client with the RSA key inline, allowed simulation, and `extra` TOML settings.
pub fn jar_client(extra: &str) -> Client {
    let jwks = json!({ "keys": [public_jwk(rsa_key())] });
    let mut client = parse_clients(&format!(
        r#"[[client]]
client_id = "{JAR_CLIENT}"
name = "JAR"
client_secret = "{JAR_SECRET}"
redirect_uris = ["{REDIRECT_URI}"]
allow_simulation = true
{extra}
"#
    ))
    .unwrap()
    .remove(0);
    client.jwks = Some(serde_json::from_value(jwks).unwrap());
    client
}

pub async fn spawn_with_clients(extra: Vec<Client>) -> TestApp {
    let mut clients = built_in_clients().unwrap();
    clients.extend(extra);
    spawn_with(Simulator::builder().clients(clients)).await
}

/// The request parameters of a no-ui login for the JAR client, as request-object claims.
pub fn login_claims(app: &TestApp) -> serde_json::Map<String, Value> {
    let now = app.sim.clock().unix();
    json!({
        "iss": JAR_CLIENT,
        "aud": app.sim.issuer(),
        "iat": now,
        "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
        "client_id": JAR_CLIENT,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid mitid",
        "state": "state-in-object",
        "nonce": "nonce-in-object",
        "simulation": "no-ui username:app.approve",
    })
    .as_object()
    .unwrap()
    .clone()
}

pub fn sign(claims: &serde_json::Map<String, Value>, signer: &dyn JwsSigner) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("oauth-authz-req+jwt");
    if let Some(kid) = signer.key_id() {
        header.set_key_id(kid);
    }
    jwt::encode_with_signer(
        &JwtPayload::from_map(claims.clone()).unwrap(),
        &header,
        signer,
    )
    .unwrap()
}

pub fn rs256() -> impl JwsSigner {
    jws::RS256
        .signer_from_jwk(&rsa_key().to_jwk_private_key())
        .unwrap()
}

/// The authorize URL carrying only `client_id` and the given parameters.
pub fn bare_authorize(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/op/connect/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// The broker's encryption key, as a client reads it from the JWKS.
pub async fn broker_encryption_key(app: &TestApp) -> Jwk {
    let jwks: Value = app
        .get(&app.url("/op/.well-known/openid-configuration/jwks"))
        .await
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["use"] == "enc")
        .expect("an encryption key in the JWKS")
        .clone();
    Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap()
}

pub fn encrypt(signed: &str, key: &Jwk, alg: &str) -> String {
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_content_type("JWT");
    if let Some(kid) = key.key_id() {
        header.set_key_id(kid);
    }
    let encrypter: Box<dyn jwe::JweEncrypter> = match alg {
        "RSA-OAEP-256" => Box::new(jwe::RSA_OAEP_256.encrypter_from_jwk(key).unwrap()),
        "RSA-OAEP-512" => Box::new(jwe::RSA_OAEP_512.encrypter_from_jwk(key).unwrap()),
        "RSA-OAEP" => Box::new(jwe::RSA_OAEP.encrypter_from_jwk(key).unwrap()),
        other => panic!("{other}"),
    };
    jwe::serialize_compact(signed.as_bytes(), &header, encrypter.as_ref()).unwrap()
}

/// The code the request object's login brought, with the state it came with.
fn code_and_state(response: &reqwest::Response) -> (String, String) {
    let to = location(response);
    assert!(to.starts_with(REDIRECT_URI), "went to {to}");
    let params = query_of(&to);
    (params["code"].clone(), params["state"].clone())
}

async fn redeem(app: &TestApp, code: &str, redirect_uri: &str) -> reqwest::Response {
    app.browser
        .post(app.url("/op/connect/token"))
        .basic_auth(JAR_CLIENT, Some(JAR_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ])
        .send()
        .await
        .unwrap()
}

/// The error page's code and description for a refused request.
async fn refused(app: &TestApp, url: &str) -> (String, String) {
    let page = app.follow_to_error_page(app.get(url).await).await;
    let recorded = app.last_exchange("authorize");
    let error = recorded.error.expect("an error was recorded");
    let description = recorded.error_description.unwrap_or_default();
    assert!(page.html.contains(&error), "{}", page.html);
    (error, description)
}

#[tokio::test]
async fn a_signed_request_object_logs_in_and_its_parameters_win() {
    let app = spawn_with_clients(vec![jar_client("")]).await;
    let request = sign(&login_claims(&app), &rs256());
    // Outer parameters the object also has lose; others fill in (OIDC Core §6.3.3).
    let url = bare_authorize(
        &app,
        &[
            ("client_id", JAR_CLIENT),
            ("request", &request),
            ("state", "outer-state"),
            ("language", "en"),
        ],
    );
    let response = app.get(&url).await;
    let (code, state) = code_and_state(&response);
    assert_eq!(state, "state-in-object");
    let tokens: Value = redeem(&app, &code, REDIRECT_URI)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["nonce"],
        "nonce-in-object"
    );
    // By POST as well (OIDC Core §3.1.2.1).
    let response = app
        .browser
        .post(app.url("/op/connect/authorize"))
        .form(&[("client_id", JAR_CLIENT), ("request", &request)])
        .send()
        .await
        .unwrap();
    code_and_state(&response);
}

#[tokio::test]
async fn every_advertised_signing_algorithm_verifies_with_the_registered_keys() {
    let server = MockServer::start().await;
    let ec = ec_key("client-ec");
    let mut jwks_uri_client = jar_client("");
    jwks_uri_client.jwks = None;
    jwks_uri_client.jwks_uri = Some(
        mitid_sim::protocols::oidc::clients::RegisteredUri::parse(&format!(
            "{}/jwks",
            server.uri()
        ))
        .unwrap(),
    );
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "keys": [public_jwk(rsa_key()), public_jwk(&ec)]
        })))
        .mount(&server)
        .await;
    let app = spawn_with_clients(vec![jwks_uri_client]).await;
    let claims = login_claims(&app);
    let private = private_jwk(rsa_key());
    let signers: Vec<(&str, Box<dyn JwsSigner>)> = vec![
        (
            "RS256",
            Box::new(jws::RS256.signer_from_jwk(&private).unwrap()),
        ),
        (
            "RS512",
            Box::new(jws::RS512.signer_from_jwk(&private).unwrap()),
        ),
        (
            "PS256",
            Box::new(jws::PS256.signer_from_jwk(&private).unwrap()),
        ),
        (
            "ES256",
            Box::new(jws::ES256.signer_from_jwk(&private_jwk(&ec)).unwrap()),
        ),
        (
            "HS256",
            Box::new(jws::HS256.signer_from_bytes(JAR_SECRET.as_bytes()).unwrap()),
        ),
    ];
    for (alg, signer) in signers {
        let request = sign(&claims, signer.as_ref());
        let url = bare_authorize(&app, &[("client_id", JAR_CLIENT), ("request", &request)]);
        let response = app.get(&url).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{alg}");
        code_and_state(&response);
    }
    // The JWKS was fetched once and cached for the others.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_the_client_added_to_its_jwks_uri_is_fetched_when_first_used() {
    let server = MockServer::start().await;
    let old = ec_key("old");
    let new = ec_key("new");
    let mut client = jar_client("");
    client.jwks = None;
    client.jwks_uri = Some(
        mitid_sim::protocols::oidc::clients::RegisteredUri::parse(&format!(
            "{}/jwks",
            server.uri()
        ))
        .unwrap(),
    );
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "keys": [public_jwk(&old)] })),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "keys": [public_jwk(&old), public_jwk(&new)] })),
        )
        .mount(&server)
        .await;
    let app = spawn_with_clients(vec![client]).await;
    let claims = login_claims(&app);
    let with = |key: &EcKeyPair| {
        let signer = jws::ES256.signer_from_jwk(&private_jwk(key)).unwrap();
        bare_authorize(
            &app,
            &[
                ("client_id", JAR_CLIENT),
                ("request", &sign(&claims, &signer)),
            ],
        )
    };
    code_and_state(&app.get(&with(&old)).await);
    // Rotated: a kid the cached set lacks makes the broker fetch the set again.
    code_and_state(&app.get(&with(&new)).await);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    // A key nobody registered: refused, however often it is tried.
    let (error, description) = refused(&app, &with(&ec_key("stranger"))).await;
    assert_eq!(error, "invalid_request_object");
    assert!(
        description.contains("no key of the client's JWKS"),
        "{description}"
    );
}

#[tokio::test]
async fn an_encrypted_request_object_is_opened_with_the_brokers_encryption_key() {
    let app = spawn_with_clients(vec![jar_client("")]).await;
    let key = broker_encryption_key(&app).await;
    let signed = sign(&login_claims(&app), &rs256());
    for alg in ["RSA-OAEP-256", "RSA-OAEP-512"] {
        let request = encrypt(&signed, &key, alg);
        assert_eq!(request.split('.').count(), 5);
        let url = bare_authorize(&app, &[("client_id", JAR_CLIENT), ("request", &request)]);
        code_and_state(&app.get(&url).await);
    }
    // RSA-OAEP (SHA-1) is not among the advertised algorithms.
    let request = encrypt(&signed, &key, "RSA-OAEP");
    let url = bare_authorize(&app, &[("client_id", JAR_CLIENT), ("request", &request)]);
    let (error, description) = refused(&app, &url).await;
    assert_eq!(error, "invalid_request_object");
    assert!(description.contains("RSA-OAEP-256"), "{description}");
    // Encrypted to another key.
    let mut other = jwe::RSA_OAEP_256
        .generate_key_pair(2048)
        .unwrap()
        .to_jwk_public_key();
    other.set_key_id("not-the-brokers");
    let url = bare_authorize(
        &app,
        &[
            ("client_id", JAR_CLIENT),
            ("request", &encrypt(&signed, &other, "RSA-OAEP-256")),
        ],
    );
    let (error, _) = refused(&app, &url).await;
    assert_eq!(error, "invalid_request_object");
    // An encrypted but unsigned request object.
    let unsigned = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none"}"#),
        base64_url(&Value::Object(login_claims(&app)).to_string())
    );
    let url = bare_authorize(
        &app,
        &[
            ("client_id", JAR_CLIENT),
            ("request", &encrypt(&unsigned, &key, "RSA-OAEP-256")),
        ],
    );
    let (error, description) = refused(&app, &url).await;
    assert_eq!(error, "invalid_request_object");
    assert!(description.contains("none"), "{description}");
}

fn base64_url(text: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn bad_request_objects_are_refused_on_nebs_error_page() {
    let app = spawn_with_clients(vec![jar_client("")]).await;
    let claims = login_claims(&app);
    let request = sign(&claims, &rs256());
    let url =
        |request: &str| bare_authorize(&app, &[("client_id", JAR_CLIENT), ("request", request)]);
    // A signature that does not verify: one payload character changed.
    let (head, rest) = request.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut tampered: Vec<char> = payload.chars().collect();
    tampered[10] = if tampered[10] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let cases: Vec<(String, &str)> = vec![
        (format!("{head}.{tampered}.{signature}"), "does not verify"),
        (
            format!("{}.{payload}.", base64_url(r#"{"alg":"none"}"#)),
            "`none` is not accepted",
        ),
        (
            sign(
                &with(&claims, "exp", json!(app.sim.clock().unix() - 3600)),
                &rs256(),
            ),
            "expired",
        ),
        (
            sign(
                &with(&claims, "aud", json!("https://pp.netseidbroker.dk/op")),
                &rs256(),
            ),
            "aud",
        ),
        (
            sign(&with(&claims, "iss", json!("demo-rp")), &rs256()),
            "iss",
        ),
        (
            sign(
                &with(&claims, "request_uri", json!("https://x.example/r")),
                &rs256(),
            ),
            "may not hold",
        ),
        ("not-a-jwt".to_string(), "neither a compact JWS nor"),
    ];
    for (request, detail) in cases {
        let (error, description) = refused(&app, &url(&request)).await;
        assert_eq!(error, "invalid_request_object", "{detail}");
        assert!(description.contains(detail), "{detail}: {description}");
    }
    // The client must name itself beside the request object, as itself.
    let other_client = bare_authorize(&app, &[("client_id", "demo-rp"), ("request", &request)]);
    let (error, _) = refused(&app, &other_client).await;
    assert_eq!(error, "invalid_request_object", "demo-rp has no keys");
    let nameless = bare_authorize(&app, &[("request", &request)]);
    let (error, description) = refused(&app, &nameless).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("client_id"));
}

fn with(
    claims: &serde_json::Map<String, Value>,
    name: &str,
    value: Value,
) -> serde_json::Map<String, Value> {
    let mut changed = claims.clone();
    changed.insert(name.into(), value);
    changed
}

#[tokio::test]
async fn a_signed_request_may_add_a_query_to_a_registered_redirect_uri_and_nothing_else() {
    let app = spawn_with_clients(vec![jar_client("")]).await;
    let invite = format!("{REDIRECT_URI}?invite=42");
    let claims = with(&login_claims(&app), "redirect_uri", json!(invite));
    let url = bare_authorize(
        &app,
        &[
            ("client_id", JAR_CLIENT),
            ("request", &sign(&claims, &rs256())),
        ],
    );
    let to = location(&app.get(&url).await);
    assert!(to.starts_with(&format!("{invite}&code=")), "{to}");
    let code = query_of(&to)["code"].clone();
    // The token request names the redirect URI the code was sent to.
    assert_eq!(
        redeem(&app, &code, REDIRECT_URI).await.status(),
        StatusCode::BAD_REQUEST
    );
    let again = sign(&claims, &rs256());
    let to = location(
        &app.get(&bare_authorize(
            &app,
            &[("client_id", JAR_CLIENT), ("request", &again)],
        ))
        .await,
    );
    let code = query_of(&to)["code"].clone();
    assert_eq!(redeem(&app, &code, &invite).await.status(), StatusCode::OK);

    // Unsigned, the same URI is not registered.
    let plain = app.authorize_url(&[
        ("client_id", JAR_CLIENT),
        ("redirect_uri", &invite),
        ("code_challenge", ""),
        ("code_challenge_method", ""),
    ]);
    let (error, description) = refused(&app, &plain).await;
    assert_eq!(error, "invalid_request");
    assert!(
        description.contains("Invalid redirect_uri"),
        "{description}"
    );
    // Signed, but another path, host or scheme: refused.
    for elsewhere in [
        "http://localhost:8080/callback/other",
        "http://localhost:8081/callback",
        "https://localhost:8080/callback",
        "https://evil.example/callback?x=http://localhost:8080/callback",
    ] {
        let claims = with(&login_claims(&app), "redirect_uri", json!(elsewhere));
        let url = bare_authorize(
            &app,
            &[
                ("client_id", JAR_CLIENT),
                ("request", &sign(&claims, &rs256())),
            ],
        );
        let (error, description) = refused(&app, &url).await;
        assert_eq!(error, "invalid_request", "{elsewhere}");
        assert!(description.contains("only add a query"), "{description}");
    }
    // A redirect URI outside the signed object does not count as signed.
    let mut claims = login_claims(&app);
    claims.remove("redirect_uri");
    let url = bare_authorize(
        &app,
        &[
            ("client_id", JAR_CLIENT),
            ("request", &sign(&claims, &rs256())),
            ("redirect_uri", &invite),
        ],
    );
    let (error, _) = refused(&app, &url).await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn a_client_that_requires_signed_requests_gets_nothing_without_one() {
    let app = spawn_with_clients(vec![jar_client("require_signed_request_object = true")]).await;
    let plain = app.authorize_url(&[
        ("client_id", JAR_CLIENT),
        ("simulation", "no-ui username:app.approve"),
    ]);
    let (error, description) = refused(&app, &plain).await;
    assert_eq!(error, "invalid_request");
    assert!(
        description.contains("signed request object"),
        "{description}"
    );
    // Signed: only what it signed counts (RFC 9101 §6.3); outer parameters are ignored.
    let mut claims = login_claims(&app);
    claims.remove("state");
    let url = bare_authorize(
        &app,
        &[
            ("client_id", JAR_CLIENT),
            ("request", &sign(&claims, &rs256())),
            ("state", "outer"),
        ],
    );
    let to = location(&app.get(&url).await);
    assert!(!query_of(&to).contains_key("state"), "{to}");
}

#[tokio::test]
async fn a_request_object_by_reference_comes_only_from_a_registered_request_uri() {
    let server = MockServer::start().await;
    let registered = format!("{}/requests/1", server.uri());
    let app = spawn_with_clients(vec![jar_client(&format!(
        "request_uris = [\"{registered}\"]"
    ))])
    .await;
    let request = sign(&login_claims(&app), &rs256());
    Mock::given(method("GET"))
        .and(path("/requests/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/oauth-authz-req+jwt")
                .set_body_string(request),
        )
        .mount(&server)
        .await;
    let url = bare_authorize(
        &app,
        &[("client_id", JAR_CLIENT), ("request_uri", &registered)],
    );
    code_and_state(&app.get(&url).await);
    let unregistered = format!("{}/requests/2", server.uri());
    let url = bare_authorize(
        &app,
        &[("client_id", JAR_CLIENT), ("request_uri", &unregistered)],
    );
    let (error, description) = refused(&app, &url).await;
    assert_eq!(error, "invalid_request_uri");
    assert!(description.contains("registered"), "{description}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "an unregistered URI is never fetched"
    );
}

#[tokio::test]
async fn the_size_limit_applies_to_the_parameters_a_request_object_carries_not_to_the_jwt() {
    let app = spawn_with_clients(vec![jar_client("")]).await;
    // A request object longer than any one parameter may be (4096 bytes), with parameters
    // that are not: it logs in.
    let mut claims = login_claims(&app);
    claims.insert("claims_note".into(), json!("n".repeat(3_000)));
    let signed = sign(&claims, &rs256());
    let key = broker_encryption_key(&app).await;
    let large = encrypt(&signed, &key, "RSA-OAEP-256");
    assert!(large.len() > 4_096, "{}", large.len());
    let url = bare_authorize(&app, &[("client_id", JAR_CLIENT), ("request", &large)]);
    let (code, state) = code_and_state(&app.get(&url).await);
    assert_eq!(state, "state-in-object");
    assert!(!code.is_empty());

    // A parameter over the limit inside the object is refused as it would be outside.
    let mut claims = login_claims(&app);
    claims.insert("state".into(), json!("s".repeat(5_000)));
    let url = bare_authorize(
        &app,
        &[
            ("client_id", JAR_CLIENT),
            ("request", &sign(&claims, &rs256())),
        ],
    );
    let (error, description) = refused(&app, &url).await;
    assert_eq!(error, "invalid_request");
    assert!(
        description.contains("`state` is 5000 bytes long"),
        "{description}"
    );

    // And a pushed one is refused at connect/par, before it is kept.
    let long_state = "s".repeat(5_000);
    let pushed = app
        .browser
        .post(app.url("/op/connect/par"))
        .basic_auth(JAR_CLIENT, Some(JAR_SECRET))
        .form(&[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"),
            ("state", long_state.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::BAD_REQUEST);
    let body: Value = pushed.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("`state` is 5000 bytes long"),
        "{body}"
    );
    assert!(app.sim.provider().pushed.is_empty());
}

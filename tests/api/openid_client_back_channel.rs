//! Interop with an independent, OpenID-certified RP library: Node's openid-client
//! (tests/interop/openid-client/back_channel.mjs, pinned by its package-lock.json, installed
//! by `tests/interop/install.sh`) authenticates with private_key_jwt, gets a service token,
//! decrypts JWE id_tokens and signed-then-encrypted userinfo, and uses DPoP-bound tokens
//! against a broker on port 0. The library validates everything it receives; the test
//! holds what it accepted against the broker's own view.

use std::path::Path;
use std::process::Stdio;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{decode_claims, spawn_app, TestApp, REDIRECT_URI};
use crate::jose::{ec_key, jwks, public, rsa_key};

async fn register(app: &TestApp, client: Value) {
    let (status, answer) = app.admin(Method::POST, "/clients", Some(client)).await;
    assert!(status.is_success(), "{status}: {answer}");
}

fn private(key: &josekit::jwk::Jwk) -> Value {
    Value::Object(key.as_ref().clone())
}

/// Runs the Node RP with `config`; returns what it printed.
async fn run_node_rp(config: &Value) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/openid-client");
    assert!(
        dir.join("node_modules/openid-client").is_dir(),
        "{} has no node_modules: run `bash tests/interop/install.sh` (the test command does)",
        dir.display()
    );
    let output = tokio::process::Command::new("node")
        .arg("back_channel.mjs")
        .current_dir(&dir)
        .env("MITID_SIM_CONFIG", config.to_string())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("node runs (the test command installs it)");
    assert!(
        output.status.success(),
        "openid-client refused something:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[tokio::test]
async fn openid_client_uses_private_key_jwt_client_credentials_jwe_and_dpop() {
    let app = spawn_app().await;
    let signing = rsa_key("node-rp-sig");
    let api_key = ec_key("node-api");
    let encryption = rsa_key("node-rp-enc");
    register(
        &app,
        json!({
            "client_id": "node-pkjwt",
            "name": "openid-client, private_key_jwt",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks(&[public(&signing, Some("sig"))]),
            "allow_simulation": true,
        }),
    )
    .await;
    register(
        &app,
        json!({
            "client_id": "node-api",
            "name": "openid-client, API client",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks(&[public(&api_key, None)]),
            "allow_client_credentials": true,
        }),
    )
    .await;
    register(
        &app,
        json!({
            "client_id": "node-jwe",
            "name": "openid-client, encrypted responses",
            "client_secret": "node-jwe-secret",
            "redirect_uris": [REDIRECT_URI],
            "jwks": jwks(&[public(&encryption, Some("enc"))]),
            "id_token_encrypted_response_alg": "RSA-OAEP-256",
            "id_token_encrypted_response_enc": "A256GCM",
            "userinfo_signed_response_alg": "RS256",
            "userinfo_encrypted_response_alg": "RSA-OAEP-256",
            "userinfo_encrypted_response_enc": "A256GCM",
            "allow_simulation": true,
        }),
    )
    .await;
    register(
        &app,
        json!({
            "client_id": "node-dpop",
            "name": "openid-client, DPoP",
            "client_secret": "node-dpop-secret",
            "redirect_uris": [REDIRECT_URI],
            "dpop_bound_access_tokens": true,
            "allow_simulation": true,
        }),
    )
    .await;
    let config = json!({
        "issuer": app.sim.issuer(),
        "redirect_uri": REDIRECT_URI,
        "user": "app.approve",
        "private_key_jwt": { "client_id": "node-pkjwt", "key": private(&signing) },
        "client_credentials": { "client_id": "node-api", "key": private(&api_key), "scope": "neb_api" },
        "encryption": { "client_id": "node-jwe", "client_secret": "node-jwe-secret", "key": private(&encryption) },
        "dpop": { "client_id": "node-dpop", "client_secret": "node-dpop-secret" },
    });
    let results = run_node_rp(&config).await;
    let citizen = app.citizen("app.approve").uuid.to_string();

    let pkjwt = &results["private_key_jwt"];
    assert_eq!(pkjwt["aud"], "node-pkjwt");
    assert_eq!(pkjwt["userinfo_sub"], pkjwt["sub"]);
    assert_eq!(pkjwt["introspection_active"], true);
    assert_eq!(pkjwt["introspection_client_id"], "node-pkjwt");
    assert_eq!(pkjwt["active_after_revocation"], false);
    // The broker saw assertions, never a secret, from this client.
    let exchanges = app.sim.record(Some("node-pkjwt"));
    let token_calls: Vec<_> = exchanges
        .iter()
        .filter(|e| ["token", "introspection", "revocation"].contains(&e.endpoint))
        .collect();
    assert_eq!(
        token_calls.len(),
        4,
        "token, introspection twice, revocation"
    );
    for exchange in token_calls {
        assert_eq!(
            exchange.params["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert_eq!(exchange.status, 200, "{}", exchange.endpoint);
    }

    let service = &results["client_credentials"];
    assert_eq!(service["token_type"], "bearer");
    assert_eq!(service["scope"], "neb_api");
    assert!(service["expires_in"].as_i64().unwrap() > 3590);
    let claims = decode_claims(service["access_token"].as_str().unwrap());
    assert_eq!(claims["client_at_type"], "service_token");
    assert_eq!(claims["client_id"], "node-api");

    let encrypted = &results["encryption"];
    assert_eq!(
        encrypted["id_token_parts"], 5,
        "the library got a JWE and decrypted it"
    );
    assert_eq!(encrypted["nonce_checked"], true);
    assert_eq!(encrypted["userinfo_sub"], encrypted["sub"]);
    assert_eq!(
        encrypted["userinfo_iss"],
        app.sim.issuer(),
        "the signed userinfo's iss"
    );
    assert_eq!(encrypted["mitid_uuid"], citizen.as_str());

    let dpop = &results["dpop"];
    assert_eq!(dpop["token_type"], "dpop");
    assert_eq!(dpop["userinfo_sub"], dpop["sub"]);
    let bound = decode_claims(dpop["access_token"].as_str().unwrap());
    assert_eq!(
        bound["cnf"]["jkt"], dpop["thumbprint"],
        "bound to the library's key"
    );
    let userinfo = app.last_exchange("userinfo");
    assert!(
        userinfo.params.contains_key("dpop"),
        "the library sent a proof"
    );
}

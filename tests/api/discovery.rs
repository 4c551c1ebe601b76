use crate::helpers::spawn_app;
use serde_json::Value;

/// Replaces the random port so snapshots are stable.
fn redact_base(value: &Value, base: &str) -> Value {
    serde_json::from_str(&value.to_string().replace(base, "http://127.0.0.1:[port]")).unwrap()
}

#[tokio::test]
async fn discovery_document_describes_the_neb_endpoints_truthfully() {
    let app = spawn_app().await;
    let response = app
        .get(&app.url("/op/.well-known/openid-configuration"))
        .await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["issuer"], app.sim.issuer());
    insta::assert_json_snapshot!("discovery", redact_base(&document, app.sim.base_url()));

    // Every advertised endpoint answers (none is a placeholder).
    for key in [
        "jwks_uri",
        "authorization_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
    ] {
        let url = document[key].as_str().unwrap();
        let status = app.get(url).await.status();
        assert_ne!(status, 404, "{key} {url} does not exist");
    }
    for key in [
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        let url = document[key].as_str().unwrap();
        let status = app
            .browser
            .post(url)
            .form(&[("x", "y")])
            .send()
            .await
            .unwrap()
            .status();
        assert_ne!(status, 404, "{key} {url} does not exist");
    }
}

#[tokio::test]
async fn jwks_offers_an_es256_and_an_rs256_key_each_with_a_kid() {
    let app = spawn_app().await;
    let jwks: Value = app
        .get(&app.url("/op/.well-known/openid-configuration/jwks"))
        .await
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<_> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["ES256", "RS256"]);
    for key in keys {
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "a private key part leaked: {key}");
    }
    assert_eq!(keys[0]["crv"], "P-256");
}

#[tokio::test]
async fn front_page_lists_the_demo_citizens() {
    let app = spawn_app().await;
    let page = app.page("/").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("anna.jensen"));
    assert!(page.html.contains("SIMULATOR"));
}

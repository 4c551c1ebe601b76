use crate::helpers::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn every_advertised_endpoint_answers() {
    let app = spawn_app().await;
    let response = app
        .get(&app.url("/op/.well-known/openid-configuration"))
        .await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["issuer"], app.sim.issuer());
    // Every advertised endpoint answers (none is a placeholder).
    for key in [
        "jwks_uri",
        "authorization_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
    ] {
        let url = document[key].as_str().unwrap();
        let status = app.get(url).await.status();
        assert!(
            status != 404 && status != 501,
            "{key} {url} answers {status}"
        );
    }
    let url = document["token_endpoint"].as_str().unwrap();
    let status = app
        .browser
        .post(url)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap()
        .status();
    assert!(status != 404 && status != 501, "token_endpoint {url}");
}

#[tokio::test]
async fn front_page_lists_the_demo_citizens() {
    let app = spawn_app().await;
    let page = app.page("/").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("anna.jensen"));
    assert!(page.html.contains("SIMULATOR"));
    assert!(
        page.html.contains("href=\"/sim/fidelity\""),
        "links the fidelity ledger"
    );
}

//! Security headers on every page, the pages' scripts and styles served from the broker
//! itself, and the admin API's rules for bodies and URLs.

use reqwest::{Method, StatusCode};
use scraper::{Html, Selector};
use serde_json::{json, Value};

use crate::helpers::{assert_is_redirect_to, spawn_app, TestApp};

/// Fetches a page and checks what a browser enforces on it; returns its HTML.
async fn checked_page(app: &TestApp, url: &str, expected: StatusCode) -> String {
    let url = if url.starts_with("http") {
        url.to_string()
    } else {
        app.url(url)
    };
    let response = app.get(&url).await;
    assert_eq!(response.status(), expected, "{url}");
    let headers = response.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("{url} has no {name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert!(header("content-type").starts_with("text/html"), "{url}");
    let policy = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(
            policy.split(';').any(|d| d.trim() == directive),
            "{url}: `{directive}` missing in {policy}"
        );
    }
    assert_eq!(header("x-content-type-options"), "nosniff", "{url}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{url}");
    assert_eq!(header("x-frame-options"), "DENY", "{url}");
    let html = response.text().await.unwrap();
    assert_no_inline_code(&html, &url);
    let loaded = resources(&html);
    assert!(
        loaded.iter().any(|r| r == "/static/mitid-sim.css"),
        "{url} has its stylesheet"
    );
    for resource in loaded {
        let asset = app.get(&app.url(&resource)).await;
        assert_eq!(asset.status(), StatusCode::OK, "{url} loads {resource}");
        let kind = asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let wanted = if resource.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(kind.starts_with(wanted), "{resource}: {kind}");
        assert_eq!(asset.headers()["x-content-type-options"], "nosniff");
    }
    html
}

/// What a policy of `script-src 'self'; style-src 'self'` would block: inline scripts,
/// style elements and attributes, event-handler attributes, scripts from elsewhere.
fn assert_no_inline_code(html: &str, url: &str) {
    let document = Html::parse_document(html);
    let all = Selector::parse("*").unwrap();
    for element in document.select(&all) {
        let tag = element.value().name();
        assert_ne!(tag, "style", "{url}: an inline <style>");
        if tag == "script" {
            let src = element.value().attr("src").unwrap_or_default();
            assert!(src.starts_with("/static/"), "{url}: script `{src}`");
            assert!(
                element.text().all(|t| t.trim().is_empty()),
                "{url}: inline script"
            );
        }
        for (name, _) in element.value().attrs() {
            assert!(
                name != "style" && !name.starts_with("on"),
                "{url}: <{tag} {name}=…>"
            );
        }
    }
}

/// The stylesheets and scripts a page loads.
fn resources(html: &str) -> Vec<String> {
    let document = Html::parse_document(html);
    let css = Selector::parse("link[rel=stylesheet]").unwrap();
    let js = Selector::parse("script[src]").unwrap();
    document
        .select(&css)
        .filter_map(|e| e.value().attr("href"))
        .chain(document.select(&js).filter_map(|e| e.value().attr("src")))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_page_carries_a_content_security_policy_and_loads_only_the_brokers_own_files() {
    let app = spawn_app().await;
    checked_page(&app, "/", StatusCode::OK).await;
    checked_page(&app, "/nowhere", StatusCode::NOT_FOUND).await;
    let refused = app
        .get(&app.authorize_url(&[("client_id", "nobody")]))
        .await;
    let error_page = crate::helpers::location(&refused);
    checked_page(&app, &error_page, StatusCode::BAD_REQUEST).await;

    // The login's steps: user ID, the app with its QR code and polling script, the code
    // display, the password, the IdP chooser and NemID's pages.
    let page = app.start_login(&[]).await;
    checked_page(&app, &page.url, StatusCode::OK).await;
    let waiting = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    let html = checked_page(&app, &waiting.url, StatusCode::OK).await;
    assert!(html.contains("/static/login-app.js"), "the app step polls");
    let request = html
        .split("/sim/app/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    checked_page(&app, &format!("/sim/app/{request}"), StatusCode::OK).await;
    checked_page(&app, "/sim/phone/app.only", StatusCode::OK).await;

    let app2 = spawn_app().await;
    let page = app2.start_login(&[]).await;
    let code = app2
        .submit(&page, "user-id", &[("user_id", "kodeviser")])
        .await;
    checked_page(&app2, &code.url, StatusCode::OK).await;
    let chooser = app2.start_login(&[("idp_values", "mitid nemid")]).await;
    checked_page(&app2, &chooser.url, StatusCode::OK).await;
    let nemid = app2.start_login(&[("idp_values", "nemid")]).await;
    checked_page(&app2, &nemid.url, StatusCode::OK).await;
    let key = app2
        .submit(
            &nemid,
            "nemid",
            &[("user_id", "nemid.kort"), ("password", "1234")],
        )
        .await;
    checked_page(&app2, &key.url, StatusCode::OK).await;

    for device in [
        "/sim/code-display/kodeviser",
        "/sim/audio-reader/kodeoplaeser",
        "/sim/code-card/nemid.kort",
    ] {
        checked_page(&app2, device, StatusCode::OK).await;
    }

    // The logout confirmation page.
    let callback = app2.no_ui_login("username:app.instant", &[]).await;
    let tokens = app2.tokens_for(&callback).await;
    let logout = format!(
        "/op/connect/endsession?{}",
        serde_urlencoded::to_string([("id_token_hint", tokens["id_token"].as_str().unwrap())])
            .unwrap()
    );
    let html = checked_page(&app2, &logout, StatusCode::OK).await;
    assert!(html.contains("logged_out"), "{html}");
}

#[tokio::test]
async fn static_files_revalidate_and_unknown_ones_are_not_found() {
    let app = spawn_app().await;
    for path in mitid_sim::web::assets::paths() {
        let first = app.get(&app.url(&path)).await;
        assert_eq!(first.status(), StatusCode::OK, "{path}");
        assert_eq!(first.headers()["cache-control"], "no-cache");
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        let again = app
            .browser
            .get(app.url(&path))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let missing = app.get(&app.url("/static/../Cargo.toml")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let unknown = app.get(&app.url("/static/evil.js")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn json_and_redirect_answers_carry_nosniff_and_no_referrer_too() {
    let app = spawn_app().await;
    let discovery = app
        .get(&app.url("/op/.well-known/openid-configuration"))
        .await;
    assert_eq!(discovery.headers()["x-content-type-options"], "nosniff");
    let login = app.get(&app.authorize_url(&[])).await;
    assert_is_redirect_to(&login, "/login/");
    assert_eq!(login.headers()["referrer-policy"], "no-referrer");
    let admin = app.get(&app.url("/admin/clock")).await;
    assert_eq!(admin.headers()["x-content-type-options"], "nosniff");
    assert!(
        admin.headers().get("content-security-policy").is_none(),
        "JSON needs no page policy"
    );
}

#[tokio::test]
async fn the_admin_api_reads_json_bodies_only() {
    let app = spawn_app().await;
    let lock = app.url("/admin/citizens/anna.jensen/lock");
    for (content_type, body) in [
        ("text/plain", "{}"),
        ("application/x-www-form-urlencoded", "a=1"),
        ("multipart/form-data; boundary=x", "--x--"),
    ] {
        let response = app
            .browser
            .post(&lock)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "unsupported_media_type");
    }
    let untyped = app
        .browser
        .post(app.url("/admin/clock"))
        .body(r#"{"advance":"1h"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, anna) = app.admin(Method::GET, "/citizens/anna.jensen", None).await;
    assert_eq!(anna["status"], "active", "nothing was locked");
    let (_, clock) = app.admin(Method::GET, "/clock", None).await;
    assert_eq!(clock["offset_seconds"], 0, "the clock did not move");

    // Bodiless commands need no type; JSON (and merge-patch JSON for PATCH) is read.
    let bare = app.browser.post(&lock).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::OK);
    let patched = app
        .browser
        .patch(app.url("/admin/citizens/anna.jensen"))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"status":"active"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let json_charset = app
        .browser
        .post(app.url("/admin/clock"))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(r#"{"advance":"1h"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json_charset.status(), StatusCode::OK);
}

#[tokio::test]
async fn admin_set_urls_must_be_http_or_https() {
    let app = spawn_app().await;
    for issuer in [
        "javascript:alert(1)",
        "ftp://evil.example/op",
        "data:text/plain,x",
        "op",
    ] {
        let (status, body) = app
            .admin(
                Method::POST,
                "/discovery",
                Some(json!({ "issuer": issuer })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{issuer}: {body}");
    }
    let (status, _) = app
        .admin(
            Method::POST,
            "/discovery",
            Some(json!({ "issuer": "https://other.example/op" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for field in [
        "post_logout_redirect_uris",
        "frontchannel_logout_uri",
        "backchannel_logout_uri",
    ] {
        let uri = "ftp://rp.example/logout";
        let value = if field.ends_with('s') {
            json!([uri])
        } else {
            json!(uri)
        };
        let mut client = json!({
            "client_id": "urls", "name": "URLs", "client_secret": "s",
            "redirect_uris": ["http://localhost:1/cb"],
        });
        client[field] = value;
        let (status, body) = app.admin(Method::POST, "/clients", Some(client)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
    }
}

#[tokio::test]
async fn the_logout_page_may_frame_the_front_channel_uris_and_nothing_else() {
    use crate::sessions::{backchannel_ok, spawn_two_rps};
    let (a, b) = (backchannel_ok().await, backchannel_ok().await);
    let app = spawn_two_rps(&a, &b).await;
    let (tokens_a, _) = app.two_rp_logins("app.approve").await;
    let response = app
        .get(&app.url(&format!(
            "/op/connect/endsession?{}",
            serde_urlencoded::to_string([
                ("id_token_hint", tokens_a["id_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", "http://rp-a.test/logged-out"),
            ])
            .unwrap()
        )))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.ends_with("; frame-src http://rp-a.test"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let html = response.text().await.unwrap();
    assert_no_inline_code(&html, "logout page");
    assert!(resources(&html).contains(&"/static/logout.js".to_string()));
}

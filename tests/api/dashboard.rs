//! The HTML dashboard beside the JSON admin API: live state, actions, and the same
//! protection.

use reqwest::StatusCode;

use crate::helpers::{browser, spawn_app};

#[tokio::test]
async fn a_tester_approves_an_app_request_and_ends_the_session_from_the_dashboard() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    let tester = browser();
    let dashboard = app.url("/dashboard");
    let shown = tester.get(&dashboard).send().await.unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    let html = shown.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en">"#));
    let id = {
        let start = html.find(r#"data-app-request=""#).expect(&html) + 18;
        html[start..start + html[start..].find('"').unwrap()].to_string()
    };
    assert!(html.contains("<code>app.only</code>"), "{html}");

    let approved = tester
        .post(app.url(&format!("/dashboard/app-requests/{id}/approve")))
        .header("Origin", app.sim.base_url())
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let callback = app.poll_until_redirect(&page).await;
    assert!(crate::helpers::query_of(&callback).contains_key("code"));
    let _ = app.tokens_for(&callback).await;

    let html = tester
        .get(&dashboard)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("data-app-request="), "answered: {html}");
    assert!(
        html.contains("/authorize") || html.contains("authorize"),
        "the record"
    );
    let sid = {
        let start = html.find(r#"data-session=""#).expect(&html) + 14;
        html[start..start + html[start..].find('"').unwrap()].to_string()
    };
    assert!(
        html.contains("<code>demo-rp</code>"),
        "the session's client"
    );
    let ended = tester
        .post(app.url(&format!("/dashboard/sessions/{sid}/end")))
        .header("Origin", app.sim.base_url())
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert!(app.sim.provider().broker.sessions.all().is_empty());
    let again = tester
        .post(app.url(&format!("/dashboard/sessions/{sid}/end")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "ended once");
}

#[tokio::test]
async fn another_site_or_a_proxy_cannot_use_the_dashboard() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let _ = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    let id = app
        .sim
        .provider()
        .broker
        .apps
        .pending_for(app.citizen("app.only").uuid, app.sim.clock().now())
        .unwrap()
        .id;
    let forged = browser()
        .post(app.url(&format!("/dashboard/app-requests/{id}/approve")))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let proxied = browser()
        .get(app.url("/dashboard"))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::FORBIDDEN);
    assert!(
        app.sim
            .provider()
            .broker
            .apps
            .pending_for(app.citizen("app.only").uuid, app.sim.clock().now())
            .is_some(),
        "still waiting for the citizen"
    );
}

#[tokio::test]
async fn with_an_admin_token_the_dashboard_asks_for_it_once() {
    let config = mitid_sim::web::Config {
        host: "127.0.0.1".into(),
        port: 0,
        public_url: None,
        identities: mitid_sim::identity::built_in_users().unwrap(),
        workforce: Default::default(),
        clients: mitid_sim::protocols::oidc::clients::built_in_clients().unwrap(),
        keys: mitid_sim::web::KeySource::Fresh,
        settings: Default::default(),
        lifetimes: Default::default(),
        clock: Default::default(),
        workers: Some(1),
        backchannel_retry: Default::default(),
        admin_token: Some("d4sh-t0ken".into()),
        state_dir: None,
        tls: None,
        nemlogin: Default::default(),
    };
    let (addr, _, _, handle) = mitid_sim::web::start(config).unwrap().spawn();
    let base = format!("http://127.0.0.1:{}", addr.port());
    let tester = browser();
    let asked = tester
        .get(format!("{base}/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::UNAUTHORIZED);
    let html = asked.text().await.unwrap();
    assert!(html.contains(r#"name="token""#) && !html.contains("Live sessions"));
    let wrong = tester
        .post(format!("{base}/dashboard/token"))
        .header("Origin", &base)
        .form(&[("token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = tester
        .post(format!("{base}/dashboard/token"))
        .header("Origin", &base)
        .form(&[("token", "d4sh-t0ken")])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let open = tester
        .get(format!("{base}/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    assert!(open.text().await.unwrap().contains("Live sessions"));
    let stranger = browser()
        .post(format!(
            "{base}/dashboard/sessions/{}/end",
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stranger.status(),
        StatusCode::UNAUTHORIZED,
        "no token, no action"
    );
    handle.stop(false).await;
}

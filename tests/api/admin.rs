//! The admin API, endpoint by endpoint, as a QA script would use it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{decode_claims, decode_header, query_of, spawn_app, TestApp};

impl TestApp {
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .browser
            .request(method, self.url(&format!("/admin{path}")));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

use reqwest::Method;

fn new_citizen(user_id: &str, uuid: &str) -> Value {
    json!({
        "user_id": user_id,
        "purpose": "created by a test",
        "uuid": uuid,
        "cpr": "101010-1010",
        "name": "Test Testesen",
        "app": { "answer": "approve", "after_ms": 0 }
    })
}

#[tokio::test]
async fn the_openapi_document_describes_every_admin_route() {
    let app = spawn_app().await;
    let (status, doc) = app.admin(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/admin/mod.rs"))
            .unwrap();
    let scope = &source[source.find("web::scope(\"/admin\")").unwrap()..];
    let scope = &scope[..scope.find(".default_service").unwrap()];
    let mut routes = 0;
    // rustfmt may break a route over several lines: read the scope as one line.
    let flat: String = scope.split_whitespace().collect::<Vec<_>>().join(" ");
    for route in flat.split(".route(").skip(1) {
        let path = route.split('"').nth(1).unwrap();
        let verb = route
            .split("web::")
            .nth(1)
            .unwrap()
            .split("()")
            .next()
            .unwrap();
        let documented = &doc["paths"][format!("/admin{path}")][verb];
        assert!(
            documented.is_object(),
            "{verb} /admin{path} is not in the OpenAPI document"
        );
        routes += 1;
    }
    assert!(routes >= 30, "found {routes} routes");
}

#[tokio::test]
async fn citizens_are_created_updated_locked_and_deleted_at_run_time() {
    let app = spawn_app().await;
    let uuid = "11111111-2222-4333-8444-555555555555";
    let (status, created) = app
        .admin(
            Method::POST,
            "/citizens",
            Some(new_citizen("ny.borger", uuid)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["authenticators"], json!(["app"]));
    let callback = app.no_ui_login("username:ny.borger", &[]).await;
    assert!(
        query_of(&callback).contains_key("code"),
        "the new citizen logs in"
    );

    let (status, clash) = app
        .admin(
            Method::POST,
            "/citizens",
            Some(new_citizen("ny.borger", uuid)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(clash["message"].as_str().unwrap().contains("taken"));
    let mut bad = new_citizen("andet.navn", "11111111-2222-4333-8444-666666666666");
    bad["cpr"] = json!("321310-1010");
    let (status, invalid) = app.admin(Method::POST, "/citizens", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        invalid["message"].as_str().unwrap().contains("birth date"),
        "{invalid}"
    );

    let (status, patched) = app
        .admin(
            Method::PATCH,
            "/citizens/ny.borger",
            Some(json!({ "name": "Ny Navn", "name_address_protected": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["name"], "Ny Navn");
    let mut replaced = new_citizen("ny.borger2", uuid);
    replaced["ial"] = json!("high");
    let (status, _) = app
        .admin(Method::PUT, "/citizens/ny.borger", Some(replaced))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.admin(Method::GET, "/citizens/ny.borger", None).await.0,
        StatusCode::NOT_FOUND,
        "renamed"
    );

    let (status, locked) = app
        .admin(Method::POST, "/citizens/ny.borger2/lock", None)
        .await;
    assert_eq!(
        (status, locked["status"].clone()),
        (StatusCode::OK, json!("locked"))
    );
    let refused = app.no_ui_login("username:ny.borger2", &[]).await;
    assert_eq!(
        query_of(&refused)["error_description"],
        "mitid_identity_locked"
    );
    app.admin(Method::POST, "/citizens/ny.borger2/unlock", None)
        .await;
    assert_eq!(
        app.admin(Method::DELETE, "/citizens/ny.borger2", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.admin(Method::DELETE, "/citizens/ny.borger2", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn reset_brings_back_the_fixtures_and_fresh_devices() {
    let app = spawn_app().await;
    app.admin(Method::DELETE, "/citizens/anna.jensen", None)
        .await;
    app.admin(
        Method::POST,
        "/citizens",
        Some(new_citizen(
            "midlertidig",
            "11111111-2222-4333-8444-777777777777",
        )),
    )
    .await;
    let (status, body) = app.admin(Method::POST, "/citizens/reset", None).await;
    assert_eq!(status, StatusCode::OK);
    let fixtures = mitid_sim::identity::built_in_users().unwrap().len();
    assert_eq!(body["citizens"], fixtures);
    assert_eq!(
        app.admin(Method::GET, "/citizens/anna.jensen", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.admin(Method::GET, "/citizens/midlertidig", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn scripted_logins_are_used_up_one_at_a_time() {
    let app = spawn_app().await;
    let (status, pending) = app
        .admin(
            Method::POST,
            "/citizens/app.approve/script",
            Some(json!({ "behaviour": "reject", "count": 1 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pending["pending"].as_array().unwrap().len(), 1);
    let rejected = app.drive_login("app.approve", &[]).await;
    assert_eq!(
        query_of(&rejected)["error_description"],
        "mitid_user_aborted"
    );
    let fine = app.drive_login("app.approve", &[("prompt", "login")]).await;
    assert!(query_of(&fine).contains_key("code"));

    app.admin(
        Method::POST,
        "/citizens/kodeviser/script",
        Some(json!({ "behaviour": "abort" })),
    )
    .await;
    let aborted = app.drive_login("kodeviser", &[("prompt", "login")]).await;
    assert_eq!(
        query_of(&aborted)["error_description"],
        "mitid_user_aborted"
    );

    app.admin(
        Method::POST,
        "/citizens/app.only/script",
        Some(json!({ "behaviour": "delay", "ms": 200 })),
    )
    .await;
    let page = app.start_login(&[("prompt", "login")]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    let delayed = app.poll_until_redirect(&page).await;
    assert!(
        query_of(&delayed).contains_key("code"),
        "the manual app approved by itself"
    );

    let (status, _) = app
        .admin(
            Method::POST,
            "/citizens/app.only/script",
            Some(json!({ "behaviour": "sometimes" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn devices_answer_through_the_admin_api() {
    let app = spawn_app().await;
    let ((_, code), current) = app
        .codes_around(
            "kodeviser",
            app.admin(Method::GET, "/citizens/kodeviser/code", None),
        )
        .await;
    let shown = code["code"].as_str().unwrap().to_string();
    assert!(current.contains(&shown), "{shown} vs {current:?}");
    let (_, audio) = app
        .admin(
            Method::GET,
            "/citizens/kodeoplaeser/code?device=audio_reader",
            None,
        )
        .await;
    assert_eq!(audio["code"].as_str().unwrap().len(), 6);
    assert_eq!(
        app.admin(Method::GET, "/citizens/app.only/code", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let citizen = app.citizen("nemid.kort");
    let first =
        &mitid_sim::authenticators::code_card::card_keys(&citizen.nemid.as_ref().unwrap().pid, 0)
            [0];
    let (_, key) = app
        .admin(
            Method::GET,
            &format!("/citizens/nemid.kort/card-key/{}", first.number_text()),
            None,
        )
        .await;
    assert_eq!(key["key"], first.key_text());
    assert_eq!(
        key["used"], true,
        "nemid.kort starts with 10 keys used, the first among them"
    );

    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    let (_, requests) = app.admin(Method::GET, "/app-requests", None).await;
    let request = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == "app.only")
        .unwrap()
        .clone();
    let (status, answer) = app
        .admin(
            Method::POST,
            &format!("/app-requests/{}/approve", request["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (status, answer["state"].clone()),
        (StatusCode::OK, json!("approved"))
    );
    let callback = app.poll_until_redirect(&page).await;
    assert!(query_of(&callback).contains_key("code"));
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/app-requests/{}/reject", request["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "already answered");
}

#[tokio::test]
async fn clients_are_registered_and_removed_at_run_time() {
    let app = spawn_app().await;
    let registration = json!({
        "client_id": "ny-rp",
        "name": "Ny tjeneste",
        "client_secret": "hemmelig",
        "redirect_uris": ["http://localhost:8080/callback"],
        "allow_simulation": true,
        "backchannel_logout_uri": "http://localhost:9/bcl"
    });
    let (status, client) = app
        .admin(Method::POST, "/clients", Some(registration.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(
        app.admin(Method::POST, "/clients", Some(registration))
            .await
            .0,
        StatusCode::OK,
        "replaced"
    );
    let response = app
        .get(&app.authorize_url(&[
            ("client_id", "ny-rp"),
            ("simulation", "no-ui"),
            ("login_hint", "username:anna.jensen"),
        ]))
        .await;
    assert!(query_of(&crate::helpers::location(&response)).contains_key("code"));
    let (_, all) = app.admin(Method::GET, "/clients", None).await;
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["client_id"] == "ny-rp"));
    assert_eq!(
        app.admin(Method::DELETE, "/clients/ny-rp", None).await.0,
        StatusCode::OK
    );
    let refused = app.get(&app.authorize_url(&[("client_id", "ny-rp")])).await;
    app.follow_to_error_page(refused).await;
    let (status, _) = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({ "client_id": "x", "name": "x", "redirect_uris": [] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn token_faults_break_exactly_the_next_responses() {
    let app = spawn_app().await;
    let fault = |name: &str| json!({ "fault": name });
    let mut seen = Vec::new();
    for name in [
        "wrong_nonce",
        "alg_none",
        "hs256_with_public_key",
        "unknown_kid",
        "missing_sub",
        "expired",
        "extra_aud",
    ] {
        let (status, _) = app
            .admin(Method::POST, "/clients/demo-rp/faults", Some(fault(name)))
            .await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let tokens = app
            .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
            .await;
        let id_token = tokens["id_token"].as_str().unwrap().to_string();
        seen.push((name, decode_header(&id_token), decode_claims(&id_token)));
    }
    let by = |n: &str| seen.iter().find(|(name, ..)| *name == n).unwrap().clone();
    assert_ne!(by("wrong_nonce").2["nonce"], "nonce-456");
    assert_eq!(by("alg_none").1["alg"], "none");
    assert_eq!(by("hs256_with_public_key").1["alg"], "HS256");
    // A stranger's key of the client's algorithm: another kid, the same alg.
    assert_ne!(by("unknown_kid").1["kid"], by("wrong_nonce").1["kid"]);
    assert_eq!(by("unknown_kid").1["alg"], by("wrong_nonce").1["alg"]);
    assert!(by("missing_sub").2.get("sub").is_none());
    assert!(by("expired").2["exp"].as_i64().unwrap() < app.sim.clock().unix());
    assert_eq!(
        by("extra_aud").2["aud"],
        json!(["demo-rp", "untrusted-client"])
    );
    let clean = app
        .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
        .await;
    assert_eq!(
        decode_claims(clean["id_token"].as_str().unwrap())["nonce"],
        "nonce-456",
        "faults are used up"
    );

    app.admin(
        Method::POST,
        "/clients/demo-rp/faults",
        Some(json!({ "fault": "userinfo_other_sub" })),
    )
    .await;
    let info: Value = app.userinfo_of(&clean).await.json().await.unwrap();
    assert_ne!(
        info["sub"],
        decode_claims(clean["id_token"].as_str().unwrap())["sub"]
    );
    let (status, _) = app
        .admin(
            Method::POST,
            "/clients/demo-rp/faults",
            Some(json!({ "fault": "nonsense" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn key_rotation_publishes_new_kids_and_signs_with_them() {
    let app = spawn_app().await;
    let (_, before) = app.admin(Method::GET, "/keys", None).await;
    assert_eq!(before.as_array().unwrap().len(), 2);
    let (status, after) = app.admin(Method::POST, "/keys/rotate", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after.as_array().unwrap().len(), 4);
    let current_rsa = after
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["status"] == "current" && k["alg"] == "RS256")
        .unwrap()["kid"]
        .clone();
    let tokens = app
        .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
        .await;
    assert_eq!(
        decode_header(tokens["id_token"].as_str().unwrap())["kid"],
        current_rsa
    );
    let jwks: Value = app
        .get(&app.url("/op/.well-known/openid-configuration/jwks"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "the old RSA key still verifies (no client signs with ES256, so no EC keys)"
    );
}

#[tokio::test]
async fn sessions_clock_and_record_are_steerable() {
    let app = spawn_app().await;
    let tokens = app
        .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
        .await;
    let neb_sid = decode_claims(tokens["id_token"].as_str().unwrap())["neb_sid"].clone();
    let (_, sessions) = app.admin(Method::GET, "/sessions", None).await;
    assert_eq!(sessions[0]["id"], neb_sid);
    let (status, ended) = app
        .admin(
            Method::POST,
            &format!("/sessions/{}/expire", neb_sid.as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (status, ended["reason"].clone()),
        (StatusCode::OK, json!("absolute_expiry"))
    );
    assert_eq!(
        app.admin(Method::DELETE, "/sessions/not-a-uuid", None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let (_, shifted) = app
        .admin(Method::POST, "/clock", Some(json!({ "advance": "2h" })))
        .await;
    assert_eq!(shifted["offset_seconds"], 7200);
    let (_, set) = app
        .admin(Method::POST, "/clock", Some(json!({ "offset": "-5m" })))
        .await;
    assert_eq!(set["offset_seconds"], -300);
    let (_, reset) = app.admin(Method::DELETE, "/clock", None).await;
    assert_eq!(reset["offset_seconds"], 0);
    assert_eq!(
        app.admin(Method::POST, "/clock", Some(json!({ "advance": "soon" })))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let (_, record) = app.admin(Method::GET, "/record?client=demo-rp", None).await;
    let requests = record["requests"].as_array().unwrap();
    let endpoints: Vec<_> = requests
        .iter()
        .map(|r| r["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(endpoints, ["authorize", "token"]);
    assert_eq!(requests[0]["params"]["state"], "state-123");
    assert_eq!(
        requests[1]["params"]["authorization"], "Basic ***",
        "secrets are masked"
    );
    app.admin(Method::DELETE, "/record", None).await;
    let (_, empty) = app.admin(Method::GET, "/record", None).await;
    assert!(empty["requests"].as_array().unwrap().is_empty());
    assert_eq!(
        app.admin(Method::GET, "/nothing", None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_non_loopback_bind_needs_an_admin_token_and_the_api_then_demands_it() {
    use mitid_sim::protocols::oidc::clients::built_in_clients;
    use mitid_sim::web::{start, Config};
    let config = |token: Option<&str>| Config {
        host: "0.0.0.0".into(),
        port: 0,
        public_url: None,
        identities: mitid_sim::identity::built_in_users().unwrap(),
        workforce: Default::default(),
        clients: built_in_clients().unwrap(),
        keys: mitid_sim::web::KeySource::Fresh,
        settings: Default::default(),
        lifetimes: Default::default(),
        clock: Default::default(),
        workers: Some(1),
        backchannel_retry: Default::default(),
        admin_token: token.map(str::to_string),
        state_dir: None,
        nemlogin: Default::default(),
        tls: None,
    };
    let refused = start(config(None)).err().expect("no token, no start");
    assert!(refused.to_string().contains("--admin-token"), "{refused}");
    let empty = start(config(Some("")))
        .err()
        .expect("an empty token is no token");
    assert!(
        empty.to_string().contains("--admin-token is empty"),
        "{empty}"
    );

    let (addr, _, _, handle) = start(config(Some("s3cret-token"))).unwrap().spawn();
    let base = format!("http://127.0.0.1:{}", addr.port());
    let client = reqwest::Client::new();
    let without = client
        .get(format!("{base}/admin/citizens"))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED);
    let wrong = client
        .get(format!("{base}/admin/citizens"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client
        .get(format!("{base}/admin/citizens"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    let discovery = client
        .get(format!("{base}/op/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        discovery.status(),
        StatusCode::OK,
        "the broker itself needs no token"
    );
    handle.stop(false).await;
}

fn proxied_config(token: Option<&str>) -> mitid_sim::web::Config {
    mitid_sim::web::Config {
        host: "127.0.0.1".into(),
        port: 0,
        public_url: Some("https://mitid.example.test/".into()),
        identities: mitid_sim::identity::built_in_users().unwrap(),
        workforce: Default::default(),
        clients: mitid_sim::protocols::oidc::clients::built_in_clients().unwrap(),
        keys: mitid_sim::web::KeySource::Fresh,
        settings: Default::default(),
        lifetimes: Default::default(),
        clock: Default::default(),
        workers: Some(1),
        backchannel_retry: Default::default(),
        admin_token: token.map(str::to_string),
        state_dir: None,
        nemlogin: Default::default(),
        tls: None,
    }
}

#[tokio::test]
async fn behind_a_proxy_the_admin_api_needs_the_token_whatever_the_host_header_says() {
    use mitid_sim::web::start;
    let refused = start(proxied_config(None))
        .err()
        .expect("a public URL of another host needs a token");
    assert!(refused.to_string().contains("--admin-token"), "{refused}");

    let (addr, _, provider, handle) = start(proxied_config(Some("pr0xy-t0ken"))).unwrap().spawn();
    assert_eq!(provider.issuer, "https://mitid.example.test/op");
    let admin = format!("http://127.0.0.1:{}/admin/citizens", addr.port());
    let client = reqwest::Client::new();
    // What a proxy on this machine forwards: the public host, or its own upstream address.
    for host in ["mitid.example.test", "127.0.0.1", "localhost:8088"] {
        let forwarded = client
            .get(&admin)
            .header("Host", host)
            .header("X-Forwarded-For", "203.0.113.7")
            .send()
            .await
            .unwrap();
        assert_eq!(forwarded.status(), StatusCode::UNAUTHORIZED, "Host {host}");
        let bare = client
            .get(&admin)
            .header("Host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), StatusCode::UNAUTHORIZED, "Host {host}");
    }
    let with_token = client
        .get(&admin)
        .header("Host", "mitid.example.test")
        .bearer_auth("pr0xy-t0ken")
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::OK);
    handle.stop(false).await;
}

#[tokio::test]
async fn without_a_token_a_request_forwarded_by_a_proxy_is_refused() {
    let app = spawn_app().await;
    for (header, value) in [
        ("X-Forwarded-For", "203.0.113.7"),
        ("Forwarded", "for=203.0.113.7;proto=https"),
        ("X-Real-IP", "203.0.113.7"),
        ("X-Forwarded-Host", "mitid.example.test"),
    ] {
        let response = app
            .browser
            .get(app.url("/admin/clients"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{header}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("proxy"),
            "{body}"
        );
    }
    let direct = app
        .browser
        .get(app.url("/admin/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
}

#[tokio::test]
async fn other_websites_and_foreign_host_names_cannot_drive_the_admin_api() {
    let app = spawn_app().await;
    let lock = app.url("/admin/citizens/anna.jensen/lock");
    let cross_site = app
        .browser
        .post(&lock)
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("x=1")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let fetch = app
        .browser
        .post(&lock)
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(fetch.status(), StatusCode::FORBIDDEN);
    let rebound = app
        .browser
        .get(app.url("/admin/clients"))
        .header("Host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN, "DNS rebinding");
    let (_, anna) = app.admin(Method::GET, "/citizens/anna.jensen", None).await;
    assert_eq!(anna["status"], "active", "nothing was locked");

    let same_origin = app
        .browser
        .post(&lock)
        .header("Origin", app.sim.base_url())
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::OK);
    let (_, clients) = app.admin(Method::GET, "/clients", None).await;
    let demo = clients
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "demo-rp")
        .unwrap();
    assert_eq!(demo["client_secret"], "***", "secrets stay secret");
}

#[tokio::test]
async fn counts_clock_shifts_and_uris_out_of_range_are_refused_without_harm() {
    let app = spawn_app().await;
    let (status, _) = app
        .admin(
            Method::POST,
            "/clients/demo-rp/faults",
            Some(json!({ "fault": "wrong_nonce", "count": u64::MAX })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .admin(
            Method::POST,
            "/clock",
            Some(json!({ "offset": "5000000d" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .admin(
            Method::POST,
            "/clock",
            Some(json!({ "advance": "999999999999d" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, clock) = app.admin(Method::GET, "/clock", None).await;
    assert_eq!(
        (status, clock["offset_seconds"].clone()),
        (StatusCode::OK, json!(0)),
        "still serving"
    );
    let (status, body) = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({
                "client_id": "xss", "name": "x", "client_secret": "s",
                "redirect_uris": ["http://localhost:1/cb"],
                "post_logout_redirect_uris": ["javascript:alert(document.domain)//"]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn a_cpr_number_belongs_to_one_citizen() {
    let app = spawn_app().await;
    let mut twin = new_citizen("tvilling", "11111111-2222-4333-8444-888888888888");
    twin["cpr"] = json!("120385-1234");
    let (status, body) = app.admin(Method::POST, "/citizens", Some(twin)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().contains("anna.jensen"));
    let (status, body) = app
        .admin(Method::POST, "/clock", Some(json!("not an object")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"], "invalid_request",
        "JSON errors keep the admin API's shape"
    );
}

#[tokio::test]
async fn an_authorization_response_fault_changes_iss_in_exactly_the_next_code_redirect() {
    let app = spawn_app().await;
    let issuer = app.sim.issuer();
    // A code from before the fault: redeeming it must leave the fault waiting.
    let earlier = app.no_ui_login("username:anna.jensen", &[]).await;
    let (status, queued) = app
        .admin(
            Method::POST,
            "/clients/demo-rp/faults",
            Some(json!({ "fault": "authorization_response_wrong_iss" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{queued}");
    assert_eq!(
        queued["pending_faults"],
        json!(["authorization_response_wrong_iss"])
    );
    let tokens = app.tokens_for(&earlier).await;
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["iss"],
        issuer
    );
    let (_, client) = app.admin(Method::GET, "/clients/demo-rp", None).await;
    assert_eq!(
        client["pending_faults"],
        json!(["authorization_response_wrong_iss"]),
        "the token endpoint does not use up a code-redirect fault"
    );

    let faulty = app.no_ui_login("username:anna.jensen", &[]).await;
    assert_eq!(query_of(&faulty)["iss"], "https://evil.example/op");
    assert!(query_of(&faulty).contains_key("code"));
    let tokens = app.tokens_for(&faulty).await;
    assert_eq!(
        decode_claims(tokens["id_token"].as_str().unwrap())["iss"],
        issuer,
        "only the redirect lies"
    );
    let next = app.no_ui_login("username:anna.jensen", &[]).await;
    assert_eq!(query_of(&next)["iss"], issuer, "used up by one redirect");
    let (_, client) = app.admin(Method::GET, "/clients/demo-rp", None).await;
    assert_eq!(client["pending_faults"], json!([]));
}

#[tokio::test]
async fn loa_low_makes_the_next_id_token_claim_low_assurance() {
    let app = spawn_app().await;
    let low = "https://data.gov.dk/concept/core/nsis/Low";
    app.admin(
        Method::POST,
        "/clients/demo-rp/faults",
        Some(json!({ "fault": "loa_low" })),
    )
    .await;
    let tokens = app
        .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
        .await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    for claim in ["loa", "ial", "aal"] {
        assert_eq!(claims[claim], low, "{claim}");
    }
    let tokens = app
        .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
        .await;
    assert_ne!(
        decode_claims(tokens["id_token"].as_str().unwrap())["loa"],
        low,
        "used up by one id_token"
    );
}

#[tokio::test]
async fn short_session_expiry_announces_an_end_60_seconds_ahead_and_leaves_the_session_alone() {
    let app = spawn_app().await;
    app.admin(
        Method::POST,
        "/clients/demo-rp/faults",
        Some(json!({ "fault": "short_session_expiry" })),
    )
    .await;
    let callback = app.no_ui_login("username:anna.jensen", &[]).await;
    let (_, client) = app.admin(Method::GET, "/clients/demo-rp", None).await;
    assert_eq!(
        client["pending_faults"],
        json!([]),
        "used up by the code redirect"
    );
    let tokens = app.tokens_for(&callback).await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    let expiry: i64 = claims["session_expiry"].as_str().unwrap().parse().unwrap();
    let ahead = expiry - app.sim.clock().unix();
    assert!((58..=60).contains(&ahead), "session_expiry {ahead} s ahead");
    let userinfo: Value = app
        .browser
        .get(format!("{}/connect/userinfo", app.sim.issuer()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        userinfo["session_expiry"], claims["session_expiry"],
        "userinfo says the same"
    );

    // Only the claim changed: past it the broker session is still active, so an RP's
    // check of the broker session cannot decide S04 in place of the claim.
    let provider = app.sim.provider();
    app.sim.clock().advance(time::Duration::seconds(90));
    provider.expire_sessions();
    let (_, sessions) = app.admin(Method::GET, "/sessions", None).await;
    assert_eq!(
        sessions.as_array().unwrap().len(),
        1,
        "the session lives on"
    );
    assert!(sessions[0]["expires"].as_i64().unwrap() > expiry + 3600);

    let tokens = app
        .tokens_for(&app.no_ui_login("username:anna.jensen", &[]).await)
        .await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    let expiry: i64 = claims["session_expiry"].as_str().unwrap().parse().unwrap();
    assert!(
        expiry - app.sim.clock().unix() > 3600,
        "the next login gets the real session_expiry"
    );
}

#[tokio::test]
async fn an_announced_issuer_is_used_consistently_in_discovery_tokens_and_responses() {
    let app = spawn_app().await;
    let other = "https://other.example/op";
    let (status, _) = app
        .admin(Method::POST, "/discovery", Some(json!({ "issuer": other })))
        .await;
    assert!(status.is_success());
    let discovery: Value = app
        .browser
        .get(format!(
            "{}/.well-known/openid-configuration",
            app.sim.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], other);
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/connect/token", app.sim.issuer()),
        "the endpoints stay reachable"
    );
    let callback = app.no_ui_login("username:anna.jensen", &[]).await;
    assert_eq!(query_of(&callback)["iss"], other, "RFC 9207 iss");
    let tokens = app.tokens_for(&callback).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(decode_claims(id_token)["iss"], other);
    // The broker still takes its own id_tokens as logout hints.
    let logout = app
        .browser
        .get(format!("{}/connect/endsession", app.sim.issuer()))
        .query(&[("id_token_hint", id_token)])
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success() || logout.status().is_redirection());

    app.admin(Method::POST, "/discovery", Some(json!({ "issuer": null })))
        .await;
    let callback = app.no_ui_login("username:anna.jensen", &[]).await;
    assert_eq!(query_of(&callback)["iss"], app.sim.issuer());
}

const BACKCHANNEL_RP: &str = "bcl-rp";
const BACKCHANNEL_RP_CALLBACK: &str = "http://localhost:8080/bcl-callback";

/// Registers (or re-registers) a client whose back-channel logout endpoint is `backchannel_uri`.
async fn register_backchannel_client(app: &TestApp, backchannel_uri: &str) {
    let (status, client) = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({
                "client_id": BACKCHANNEL_RP,
                "name": "RP with back-channel logout",
                "client_secret": "bcl-secret",
                "redirect_uris": [BACKCHANNEL_RP_CALLBACK],
                "allow_simulation": true,
                "backchannel_logout_uri": backchannel_uri,
            })),
        )
        .await;
    assert!(status.is_success(), "{client}");
}

/// Logs anna.jensen in to the back-channel client; returns its part in the broker
/// session (`sid`, `subject`).
async fn log_in_to_backchannel_client(app: &TestApp) -> Value {
    let response = app
        .get(&app.authorize_url(&[
            ("client_id", BACKCHANNEL_RP),
            ("redirect_uri", BACKCHANNEL_RP_CALLBACK),
            ("simulation", "no-ui"),
            ("login_hint", "username:anna.jensen"),
        ]))
        .await;
    assert!(query_of(&crate::helpers::location(&response)).contains_key("code"));
    let (_, sessions) = app.admin(Method::GET, "/sessions", None).await;
    sessions[0]["participants"][BACKCHANNEL_RP].clone()
}

/// Whether a token's signature verifies against the broker's JWKS.
async fn signature_verifies(app: &TestApp, token: &str) -> bool {
    use josekit::jwk::Jwk;
    use josekit::jws::{ES256, RS256};
    let jwks: Value = app
        .get(&app.url("/op/.well-known/openid-configuration/jwks"))
        .await
        .json()
        .await
        .unwrap();
    let header = decode_header(token);
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
    else {
        return false;
    };
    let jwk = Jwk::from_map(key.as_object().unwrap().clone()).unwrap();
    match header["alg"].as_str() {
        Some("ES256") => {
            josekit::jwt::decode_with_verifier(token, &ES256.verifier_from_jwk(&jwk).unwrap())
                .is_ok()
        }
        Some("RS256") => {
            josekit::jwt::decode_with_verifier(token, &RS256.verifier_from_jwk(&jwk).unwrap())
                .is_ok()
        }
        _ => false,
    }
}

#[tokio::test]
async fn the_logout_token_endpoint_delivers_a_valid_token_once_and_reports_the_rps_status() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let rp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/backchannel"))
        .respond_with(ResponseTemplate::new(400))
        .up_to_n_times(1)
        .mount(&rp)
        .await;
    Mock::given(method("POST"))
        .and(path("/backchannel"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&rp)
        .await;
    let app = spawn_app().await;
    register_backchannel_client(&app, &format!("{}/backchannel", rp.uri())).await;
    let participant = log_in_to_backchannel_client(&app).await;

    let (status, refused) = app
        .admin(
            Method::POST,
            &format!("/clients/{BACKCHANNEL_RP}/logout-token"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    assert_eq!(refused["status"], 400, "the RP's answer is reported");
    assert_eq!(refused["error"], Value::Null);
    let token = refused["logout_token"].as_str().unwrap();
    let claims = crate::sessions::verified_logout_claims(&app, token, BACKCHANNEL_RP).await;
    assert_eq!(claims["sid"], participant["sid"]);
    assert_eq!(claims["sub"], participant["subject"]);
    assert_eq!(
        claims["exp"].as_i64(),
        claims["iat"].as_i64().map(|t| t + 120)
    );
    assert_eq!(
        (&refused["sid"], &refused["sub"], &refused["jti"]),
        (&claims["sid"], &claims["sub"], &claims["jti"])
    );
    assert!(uuid::Uuid::parse_str(refused["jti"].as_str().unwrap()).is_ok());

    let (status, accepted) = app
        .admin(
            Method::POST,
            &format!("/clients/{BACKCHANNEL_RP}/logout-token"),
            Some(json!({ "jti": "chosen-jti" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(accepted["status"], 200);
    assert_eq!(
        decode_claims(accepted["logout_token"].as_str().unwrap())["jti"],
        "chosen-jti"
    );

    let (_, by_sid) = app
        .admin(
            Method::POST,
            &format!("/clients/{BACKCHANNEL_RP}/logout-token"),
            Some(json!({ "sid": "a-session-the-rp-never-saw" })),
        )
        .await;
    let claims = decode_claims(by_sid["logout_token"].as_str().unwrap());
    assert_eq!(claims["sid"], "a-session-the-rp-never-saw");
    assert!(claims.get("sub").is_none(), "only what was asked for");
    assert_eq!(by_sid["sub"], Value::Null);

    let received = crate::sessions::logout_tokens(&rp).await;
    assert_eq!(
        received,
        [&refused, &accepted, &by_sid].map(|a| a["logout_token"].as_str().unwrap().to_string()),
        "one attempt each, no retries"
    );
    let (_, logouts) = app.admin(Method::GET, "/logouts", None).await;
    assert_eq!(
        logouts,
        json!([]),
        "injections stay out of the delivery log"
    );
    let (_, sessions) = app.admin(Method::GET, "/sessions", None).await;
    assert_eq!(
        sessions.as_array().unwrap().len(),
        1,
        "the broker session lives on"
    );
}

#[tokio::test]
async fn each_logout_token_fault_produces_the_token_it_names() {
    let rp = crate::sessions::backchannel_ok().await;
    let app = spawn_app().await;
    register_backchannel_client(&app, &format!("{}/backchannel", rp.uri())).await;
    let participant = log_in_to_backchannel_client(&app).await;
    let mut sent = std::collections::HashMap::new();
    for fault in [
        "alg_none",
        "bad_signature",
        "wrong_iss",
        "wrong_aud",
        "expired",
        "no_events",
        "wrong_events",
        "nonce",
        "no_sub_no_sid",
        "id_token",
    ] {
        let (status, answer) = app
            .admin(
                Method::POST,
                &format!("/clients/{BACKCHANNEL_RP}/logout-token"),
                Some(json!({ "fault": fault })),
            )
            .await;
        assert_eq!(
            (status, &answer["status"]),
            (StatusCode::OK, &json!(200)),
            "{fault}: {answer}"
        );
        assert_eq!(
            answer["sid"], participant["sid"],
            "{fault}: the session it is about"
        );
        let token = answer["logout_token"].as_str().unwrap().to_string();
        let verifies = signature_verifies(&app, &token).await;
        sent.insert(
            fault,
            (
                decode_header(&token),
                decode_claims(&token),
                verifies,
                token,
            ),
        );
    }
    let now = app.sim.clock().unix();
    let event = json!({ "http://schemas.openid.net/event/backchannel-logout": {} });
    for (fault, (header, claims, verifies, _)) in &sent {
        let signature_fault = ["alg_none", "bad_signature"].contains(fault);
        assert_eq!(*verifies, !signature_fault, "{fault}: signature");
        if *fault != "id_token" {
            assert_eq!(header["typ"], "logout+jwt", "{fault}");
        }
        if !["no_events", "wrong_events", "id_token"].contains(fault) {
            assert_eq!(claims["events"], event, "{fault}");
        }
    }
    let (header, _, _, token) = &sent["alg_none"];
    assert_eq!(header["alg"], "none");
    assert!(token.ends_with('.'), "no signature");
    let (header, claims, _, _) = &sent["bad_signature"];
    assert_eq!(header["alg"], "RS256", "the client's algorithm");
    assert_eq!(claims["sid"], participant["sid"], "otherwise a valid token");
    assert_eq!(sent["wrong_iss"].1["iss"], "https://evil.example/op");
    assert_eq!(sent["wrong_aud"].1["aud"], "another-client");
    let expired = &sent["expired"].1;
    assert!(expired["exp"].as_i64().unwrap() < now - 250);
    assert!(
        (expired["iat"].as_i64().unwrap() - now).abs() <= 5,
        "only exp differs from a valid token"
    );
    assert!(sent["no_events"].1.get("events").is_none());
    assert_eq!(
        sent["wrong_events"].1["events"],
        json!({ "http://schemas.openid.net/event/other": {} })
    );
    assert!(sent["nonce"].1["nonce"].is_string());
    let anonymous = &sent["no_sub_no_sid"].1;
    assert!(anonymous.get("sub").is_none() && anonymous.get("sid").is_none());
    let (header, id_token, _, _) = &sent["id_token"];
    assert_eq!(header["typ"], "JWT");
    assert!(id_token.get("events").is_none());
    assert!(id_token["nonce"].is_string());
    assert_eq!(id_token["aud"], BACKCHANNEL_RP);
    assert_eq!(id_token["sub"], participant["subject"]);
    assert_eq!(id_token["iss"], app.sim.issuer());

    let (status, refused) = app
        .admin(
            Method::POST,
            &format!("/clients/{BACKCHANNEL_RP}/logout-token"),
            Some(json!({ "fault": "nonsense" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("no_sub_no_sid"));
}

#[tokio::test]
async fn the_logout_token_endpoint_refuses_what_it_cannot_send() {
    let rp = crate::sessions::backchannel_ok().await;
    let app = spawn_app().await;
    let send = |client: &str, body: Option<Value>| {
        let path = format!("/clients/{client}/logout-token");
        let app = &app;
        async move { app.admin(Method::POST, &path, body).await }
    };
    let (status, unknown) = send("nobody", None).await;
    assert_eq!(
        (status, &unknown["error"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    let (status, no_uri) = send("demo-rp", None).await;
    assert_eq!(
        (status, &no_uri["error"]),
        (StatusCode::CONFLICT, &json!("conflict"))
    );

    register_backchannel_client(&app, &format!("{}/backchannel", rp.uri())).await;
    let (status, no_session) = send(BACKCHANNEL_RP, None).await;
    assert_eq!(
        (status, &no_session["error"]),
        (StatusCode::CONFLICT, &json!("conflict"))
    );
    log_in_to_backchannel_client(&app).await;
    let (_, sessions) = app.admin(Method::GET, "/sessions", None).await;
    let neb_sid = sessions[0]["id"].as_str().unwrap().to_string();
    app.admin(Method::DELETE, &format!("/sessions/{neb_sid}"), None)
        .await;
    let (status, ended) = send(BACKCHANNEL_RP, None).await;
    assert_eq!(
        (status, &ended["error"]),
        (StatusCode::CONFLICT, &json!("conflict")),
        "an ended session is no session"
    );

    let (status, _) = send(
        BACKCHANNEL_RP,
        Some(json!({ "sid": "x", "fault": "id_token" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an id_token needs a sub");
    let (status, _) = send(BACKCHANNEL_RP, Some(json!({ "sub": "x", "extra": 1 }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown fields");
    let (status, _) = send(BACKCHANNEL_RP, Some(json!(["not", "an", "object"]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    register_backchannel_client(&app, "http://127.0.0.1:9/backchannel").await;
    let (status, unreachable) = send(BACKCHANNEL_RP, Some(json!({ "sub": "someone" }))).await;
    assert_eq!(status, StatusCode::OK, "{unreachable}");
    assert_eq!(unreachable["status"], Value::Null);
    assert!(unreachable["error"].as_str().is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn an_empty_client_secret_is_refused_and_a_client_without_one_is_public_with_pkce() {
    use crate::helpers::{assert_is_redirect_to, CHALLENGE, VERIFIER};
    let app = spawn_app().await;
    let redirect = "http://localhost:8099/spa";
    for secret in [json!(""), json!("  ")] {
        let (status, body) = app
            .admin(
                Method::POST,
                "/clients",
                Some(json!({
                    "client_id": "spa", "name": "SPA", "client_secret": secret,
                    "redirect_uris": [redirect],
                })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("`client_secret` is empty"),
            "{body}"
        );
    }
    let (status, body) = app
        .admin(
            Method::POST,
            "/clients",
            Some(json!({
                "client_id": "spa", "name": "SPA", "redirect_uris": [redirect],
                "allow_simulation": true,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let authorize = |extra: &[(&str, &str)]| {
        let mut params = vec![
            ("client_id", "spa"),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
            ("nonce", "n"),
            ("simulation", "no-ui"),
            ("login_hint", "username:app.instant"),
        ];
        params.extend_from_slice(extra);
        app.url(&format!(
            "/op/connect/authorize?{}",
            serde_urlencoded::to_string(&params).unwrap()
        ))
    };
    let without_pkce = app.get(&authorize(&[])).await;
    let page = app.follow_to_error_page(without_pkce).await;
    assert!(page.html.contains("invalid_request"), "{}", page.html);
    assert!(page.html.contains("PKCE"), "{}", page.html);

    let with_pkce = app
        .get(&authorize(&[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]))
        .await;
    let code = query_of(&assert_is_redirect_to(&with_pkce, redirect))["code"].clone();
    let token = app
        .browser
        .post(app.url("/op/connect/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.status(),
        StatusCode::OK,
        "a public client sends no secret"
    );
}

#[tokio::test]
async fn the_record_pages_its_requests_and_cuts_long_values() {
    let app = spawn_app().await;
    let long_state = "x".repeat(3000);
    for _ in 0..3 {
        app.get(&app.authorize_url(&[("state", &long_state)])).await;
    }
    let (status, page) = app.admin(Method::GET, "/record?limit=2", None).await;
    assert_eq!(status, StatusCode::OK);
    let requests = page["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    let state = requests[0]["params"]["state"].as_str().unwrap();
    assert_eq!(
        state,
        format!("{}…[truncated: 3000 bytes]", "x".repeat(512))
    );
    let after = page["next_after"].as_u64().expect("a next page");
    let (_, rest) = app
        .admin(Method::GET, &format!("/record?limit=2&after={after}"), None)
        .await;
    assert_eq!(rest["requests"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_after"], Value::Null);
    for bad in ["limit=0", "limit=1001", "after=x", "limit=many"] {
        let (status, body) = app
            .admin(Method::GET, &format!("/record?{bad}"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn clock_shifts_before_2000_and_overflowing_delays_are_refused_up_front() {
    let app = spawn_app().await;
    let (status, body) = app
        .admin(Method::POST, "/clock", Some(json!({ "offset": "-36500d" })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("2000-01-01"),
        "{body}"
    );
    let (status, _) = app
        .admin(Method::POST, "/clock", Some(json!({ "advance": "-9000d" })))
        .await;
    assert_eq!(status, StatusCode::OK, "back to the 2000s is fine");
    let (status, body) = app
        .admin(Method::POST, "/clock", Some(json!({ "advance": "-9000d" })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, clock) = app.admin(Method::GET, "/clock", None).await;
    assert_eq!(
        clock["offset_seconds"],
        json!(-9000 * 86_400),
        "the refused step changed nothing"
    );
    // Tokens signed at the earliest allowed time are still valid JWTs.
    let callback = app.no_ui_login("username:app.instant", &[]).await;
    let tokens = app.tokens_for(&callback).await;
    let claims = decode_claims(tokens["id_token"].as_str().unwrap());
    assert!(claims["iat"].as_i64().unwrap() > 946_684_800, "{claims}");

    for ms in [json!(u64::MAX), json!(86_400_001u64)] {
        let (status, body) = app
            .admin(
                Method::POST,
                "/citizens/app.approve/script",
                Some(json!({ "behaviour": "delay", "ms": ms })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("more than a day"),
            "{body}"
        );
    }
    let (_, scripts) = app
        .admin(Method::GET, "/citizens/app.approve/script", None)
        .await;
    assert_eq!(scripts["pending"], json!([]), "nothing was scripted");
}

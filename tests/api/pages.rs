//! The pages citizens and testers read: the front page, the test-citizen picker, and
//! every page in the login's language.

use reqwest::StatusCode;

use crate::helpers::{browser, spawn_app, step_of};

#[tokio::test]
async fn the_front_page_lists_every_citizen_with_passwords_and_a_test_login_per_client() {
    let app = spawn_app().await;
    let page = app.page("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(r#"<html lang="da">"#));
    for citizen in app.sim.provider().broker.identities.all() {
        assert!(
            page.html
                .contains(&format!(r#"data-user-id="{}""#, citizen.user_id)),
            "{} is listed",
            citizen.user_id
        );
    }
    assert!(
        page.html.contains("<code>Test1234</code>"),
        "anna.jensen's password"
    );
    assert!(
        page.html.contains("NemID: <code>1234</code>"),
        "nemid.kort's NemID password"
    );

    let clients = app.sim.provider().clients.all();
    let starts: Vec<&str> = page
        .html
        .match_indices(r#"class="button small start-login" href=""#)
        .map(|(at, found)| {
            let rest = &page.html[at + found.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    // API clients (client_credentials only) have no redirect URI and no browser login.
    let browser_clients = clients
        .iter()
        .filter(|c| !c.redirect_uris.is_empty())
        .count();
    assert!(browser_clients >= 3, "the built-in browser clients");
    assert_eq!(
        starts.len(),
        browser_clients,
        "one test login per browser client"
    );
    for start in starts {
        let url = start.replace("&#38;", "&").replace("&amp;", "&");
        let response = app.get(&url).await;
        assert!(
            response.status().is_redirection(),
            "{url}: {}",
            response.status()
        );
        let to = crate::helpers::location(&response);
        assert!(
            to.starts_with("/login/"),
            "{url} leads to a login, not {to}"
        );
    }
}

#[tokio::test]
async fn the_front_page_speaks_english_on_request() {
    let app = spawn_app().await;
    let page = app.page("/?lang=en").await;
    assert!(page.html.contains(r#"<html lang="en">"#));
    assert!(page.html.contains("Test citizens") && page.html.contains("Start a test login"));
    assert!(!page.html.contains("Testpersoner"), "no Danish left");
    assert!(
        page.html.contains("/sim/phone/anna.jensen?lang=en"),
        "devices keep the language"
    );
}

#[tokio::test]
async fn the_user_id_step_offers_a_test_citizen_picker() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    assert_eq!(step_of(&page), "user_id");
    assert!(page.html.contains(r#"list="test-citizens""#));
    assert!(page.html.contains("Testpersoner (kun i simulatoren)"));
    assert!(page.html.contains(r#"data-user-id="anna.jensen""#));
    assert!(page.html.contains(r#"<script src="/static/picker.js""#));
    assert!(
        !page.html.contains(r#"data-user-id="nemid.kort""#),
        "NemID-only citizens cannot log in with MitID"
    );

    let nemid = app.start_login(&[("idp_values", "nemid")]).await;
    assert_eq!(step_of(&nemid), "nemid_credentials");
    assert!(nemid.html.contains(r#"data-user-id="nemid.kort""#));
    assert!(!nemid.html.contains(r#"data-user-id="kodeviser""#));

    let english = app.start_login(&[("ui_locales", "en")]).await;
    assert!(english.html.contains("Test citizens (simulator only)"));

    let script = app.page("/static/picker.js").await;
    assert_eq!(script.status, StatusCode::OK);
}

#[tokio::test]
async fn the_phone_speaks_the_language_of_the_login() {
    let app = spawn_app().await;
    let page = app.start_login(&[("ui_locales", "en")]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    let phone = browser();
    let shown = phone
        .get(app.url("/sim/phone/app.only"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains(r#"<html lang="en">"#), "{shown}");
    assert!(shown.contains("Swipe right to approve") && shown.contains("Log on at"));
    assert!(!shown.contains("Stryg"), "no Danish on an English phone");
    let request = app.app_request_url(&page);
    let answered = phone
        .post(&request)
        .form(&[("decision", "reject")])
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    let shown = phone
        .get(&request)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("Rejected") && shown.contains(r#"id="close""#),
        "{shown}"
    );

    let danish = app.page("/sim/phone/app.only?lang=da").await;
    assert!(danish.html.contains("Ingen anmodninger"));
}

#[tokio::test]
async fn device_pages_follow_their_lang_parameter() {
    let app = spawn_app().await;
    for (path, danish, english) in [
        (
            "/sim/code-display/kodeviser",
            "Simuleret kodeviser",
            "Simulated code display",
        ),
        ("/sim/code-card/nemid.kort", "138 af 148", "138 of 148"),
        (
            "/sim/audio-reader/kodeoplaeser",
            "lang=\"da\"",
            "lang=\"en\"",
        ),
        ("/sim/phone/nobody", "Ikke fundet", "Not found"),
    ] {
        let da = app.page(path).await;
        assert!(da.html.contains(r#"<html lang="da">"#), "{path}");
        assert!(da.html.contains(danish), "{path}: {}", da.html);
        let en = app.page(&format!("{path}?lang=en")).await;
        assert!(en.html.contains(r#"<html lang="en">"#), "{path}");
        assert!(en.html.contains(english), "{path}: {}", en.html);
        assert!(!en.html.contains(danish), "{path}: no Danish left");
    }
}

#[tokio::test]
async fn the_brokers_error_page_speaks_the_language_the_request_asked_for() {
    let app = spawn_app().await;
    let response = app
        .get(&app.authorize_url(&[("ui_locales", "en"), ("prompt", "consent")]))
        .await;
    let page = app.follow_to_error_page(response).await;
    assert!(page.html.contains(r#"<html lang="en">"#), "{}", page.html);
    assert!(page.html.contains("An error occurred") && page.html.contains("consent"));
    assert!(
        !page.html.contains("Der opstod en fejl"),
        "one language per page"
    );

    let response = app.get(&app.authorize_url(&[("prompt", "consent")])).await;
    let page = app.follow_to_error_page(response).await;
    assert!(page.html.contains("Der opstod en fejl"));
    assert!(!page.html.contains("An error occurred"));
}

#[tokio::test]
async fn a_stale_form_is_told_in_the_logins_language() {
    let app = spawn_app().await;
    let page = app.start_login(&[("ui_locales", "en")]).await;
    let response = app
        .browser
        .post(app.url(&format!("{}/user-id", page.login_path())))
        .form(&[("csrf", "stale"), ("user_id", "anna.jensen")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("The form is stale") && !html.contains("forældet"),
        "{html}"
    );
}

#[tokio::test]
async fn the_app_step_names_its_qr_code_and_announces_the_wait() {
    let app = spawn_app().await;
    for (locales, qr, waiting) in [
        (
            "da",
            r#"role="img" aria-label="QR-kode: åbner anmodningen i den simulerede MitID app""#,
            "Venter på godkendelse i MitID app",
        ),
        (
            "en",
            r#"role="img" aria-label="QR code: opens the request in the simulated MitID app""#,
            "Waiting for approval in the MitID app",
        ),
    ] {
        let page = app.start_login(&[("ui_locales", locales)]).await;
        let page = app
            .submit(&page, "user-id", &[("user_id", "app.only")])
            .await;
        assert_eq!(step_of(&page), "app");
        assert!(page.html.contains(qr), "{}", page.html);
        assert!(
            page.html
                .contains(r#"<p id="waiting" role="status" aria-live="polite">"#),
            "{}",
            page.html
        );
        assert!(page.html.contains(waiting));
        let phone = app.page(&app.app_request_url(&page)).await;
        let label = if locales == "da" {
            r#"<label for="swipe">Stryg til højre for at godkende"#
        } else {
            r#"<label for="swipe">Swipe right to approve"#
        };
        assert!(phone.html.contains(label), "{}", phone.html);
        let cancelled = app.post_form(&page, "cancel", &[]).await;
        let _ = app
            .get(&app.url(&crate::helpers::location(&cancelled)))
            .await;
    }
}

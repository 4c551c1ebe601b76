//! What only a browser shows, in headless Chromium at a phone's width: the simulated
//! phone after a swipe, and every page's layout and language at 390 CSS pixels.

use std::time::Duration;

use crate::chromium::{pause, Chromium};
use crate::helpers::spawn_app;

const PHONE_WIDTH: u32 = 390;

/// No horizontal scrolling: the page fits the phone's width. (Not `innerWidth`: a mobile
/// viewport widens to a page that overflows it.)
const FITS: &str = "document.documentElement.scrollWidth <= 390";

#[tokio::test]
async fn after_a_swipe_the_phone_shows_the_answer_until_closed_and_never_reloads() {
    let app = spawn_app().await;
    let page = app.start_login(&[]).await;
    let page = app
        .submit(&page, "user-id", &[("user_id", "app.only")])
        .await;
    let request = app.app_request_url(&page);
    let phone_url = request.clone();
    let shown = tokio::task::spawn_blocking(move || {
        let mut phone = Chromium::phone(PHONE_WIDTH);
        phone.open(&phone_url);
        assert_eq!(phone.eval(FITS), true, "the request fits the phone");
        assert_eq!(
            phone.eval("document.querySelector('label[for=swipe]').innerText"),
            "Stryg til højre for at godkende →"
        );
        // The citizen drags the slider to the end.
        phone.eval(
            "(() => { const s = document.getElementById('swipe'); s.value = 100; \
             s.dispatchEvent(new Event('change')); })()",
        );
        phone.wait_for("the answer", || {
            "document.getElementById('heading')?.dataset.state === 'approved'".into()
        });
        // The old phone reloaded itself every 2 seconds and then showed an error: a mark
        // on this document survives only if it does not.
        phone.eval("window.notReloaded = true");
        pause(Duration::from_secs(5));
        let after = phone.eval(
            "[document.getElementById('heading')?.dataset.state, location.href, \
              document.body.innerText, !!document.getElementById('close'), \
              window.notReloaded === true]",
        );
        phone.eval("document.getElementById('close').click()");
        phone.wait_for("the phone's start page", || {
            "document.getElementById('heading')?.dataset.state === 'idle'".into()
        });
        after
    })
    .await
    .unwrap();
    assert_eq!(shown[0], "approved", "{shown}");
    assert_eq!(shown[1], request, "still the request's page");
    assert!(shown[2].as_str().unwrap().contains("Godkendt"), "{shown}");
    assert_eq!(shown[3], true, "a close button");
    assert_eq!(shown[4], true, "the phone did not reload itself");
    let callback = app.poll_until_redirect(&page).await;
    assert!(crate::helpers::query_of(&callback).contains_key("code"));
}

#[tokio::test]
async fn every_page_fits_a_390_pixel_phone_and_speaks_one_language() {
    let app = spawn_app().await;
    // NEB's error page quotes what the request sent: here a long URL with no place to
    // break a line (no hyphen, no slash in its path).
    let long_value = format!("https://rp.example/{}", "averylongpathsegment".repeat(15));
    // (URL, its language, a phrase of that language on the page)
    let pages: Vec<(String, &str, &str)> = vec![
        (app.url("/"), "da", "Testpersoner"),
        (app.url("/?lang=en"), "en", "Test citizens"),
        (app.authorize_url(&[]), "da", "Bruger-ID"),
        (app.authorize_url(&[("ui_locales", "en")]), "en", "User ID"),
        (
            app.authorize_url(&[("idp_values", &long_value)]),
            "da",
            "Der opstod en fejl",
        ),
        (
            app.authorize_url(&[("idp_values", &long_value), ("ui_locales", "en")]),
            "en",
            "An error occurred",
        ),
        (app.url("/sim/phone/app.only"), "da", "Ingen anmodninger"),
        (app.url("/sim/phone/app.only?lang=en"), "en", "No requests"),
        (app.url("/sim/code-display/kodeviser"), "da", "kodeviser"),
        (
            app.url("/sim/code-display/kodeviser?lang=en"),
            "en",
            "code display",
        ),
        (
            app.url("/sim/audio-reader/kodeoplaeser?lang=en"),
            "en",
            "audio code reader",
        ),
        (app.url("/sim/code-card/nemid.kort"), "da", "nøgler tilbage"),
        (
            app.url("/sim/code-card/nemid.kort?lang=en"),
            "en",
            "keys left",
        ),
        (
            app.url("/op/Account/Logout?lang=en"),
            "en",
            "not been logged out",
        ),
        (app.url("/no/such/page"), "da", "Siden findes ikke"),
        (app.url("/dashboard"), "en", "Live sessions"),
    ];
    let failures = tokio::task::spawn_blocking(move || {
        let mut browser = Chromium::phone(PHONE_WIDTH);
        let mut failures = Vec::new();
        for (url, lang, phrase) in &pages {
            browser.open(url);
            let seen = browser.eval(
                "[document.documentElement.lang, document.body.innerText, \
                  document.documentElement.scrollWidth]",
            );
            if seen[0] != *lang {
                failures.push(format!("{url}: lang={} instead of {lang}", seen[0]));
            }
            if !seen[1].as_str().unwrap().contains(phrase) {
                failures.push(format!("{url}: no `{phrase}` in\n{}", seen[1]));
            }
            if seen[2].as_u64() > Some(PHONE_WIDTH.into()) {
                failures.push(format!("{url}: {} px wide at {PHONE_WIDTH} px", seen[2]));
            }
        }
        // The code card: every key pair on screen, at a legible size.
        browser.open(&pages[11].0);
        let card = browser.eval(
            "(() => { const pairs = [...document.querySelectorAll('.pair')]; \
              return [pairs.length, \
                pairs.every(p => { const r = p.getBoundingClientRect(); \
                  return r.left >= 0 && r.right <= 390; }), \
                Math.min(...pairs.map(p => parseFloat(getComputedStyle(p).fontSize)))]; })()",
        );
        if card[0] != 148 || card[1] != true || card[2].as_f64().unwrap() < 13.0 {
            failures.push(format!(
                "the code card at 390 px: {card} (pairs, all on screen, font px)"
            ));
        }
        failures
    })
    .await
    .unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

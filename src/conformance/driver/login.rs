//! The broker's login pages, completed through their real forms by either driver, as the
//! citizen does: the kit presses what a citizen presses, including the button of the
//! broker's page that posts the answer back (form_post) when no script submitted it.

use super::{Browser, DriverError, Request, Stop, Visit};
use crate::conformance::evidence;

/// Opens `at_broker` (the RP's authorization request) and completes the broker's login
/// pages as `user_id`, a citizen whose app approves by itself. Returns the request that
/// takes the browser back to the RP (not made): the code or error redirect (a GET), or
/// with `response_mode=form_post` the broker's page posting it (a POST with the page's
/// fields, which a browser's script or, without scripts, the citizen's press submits);
/// and the visit that ended there.
pub async fn complete_broker_login(
    browser: &mut dyn Browser,
    at_broker: Request,
    broker_base: &str,
    user_id: &str,
) -> Result<(Request, Visit), DriverError> {
    complete_broker_login_as(browser, at_broker, broker_base, user_id, None).await
}

/// As [`complete_broker_login`]; with `professional` (a persistent professional ID) a
/// MitID Erhverv login: the chooser picks MitID Erhverv and the identity page that one.
pub async fn complete_broker_login_as(
    browser: &mut dyn Browser,
    at_broker: Request,
    broker_base: &str,
    user_id: &str,
    professional: Option<&str>,
) -> Result<(Request, Visit), DriverError> {
    let stop = Stop::Outside(format!("{}/", broker_base.trim_end_matches('/')));
    let mut visit = browser.open(at_broker, &stop).await?;
    for _ in 0..40 {
        if let Some(back) = visit.stopped.clone() {
            return Ok((back, visit));
        }
        let page = &visit.page;
        match page.broker_step().as_deref() {
            Some("user_id") => {
                let fields = [("user_id".to_string(), user_id.to_string())];
                visit = browser.submit_form("/user-id", &fields, &stop).await?;
            }
            Some("app") => visit = browser.resume(&stop).await?,
            // The choices are buttons of forms of their own: click the one to pick.
            Some("choose_idp") => {
                let idp = if professional.is_some() {
                    "mitid_erhverv"
                } else {
                    "mitid"
                };
                visit = browser
                    .click(&format!("[id=\"choose-{idp}\"]"), &stop)
                    .await?;
            }
            Some("choose_professional") => {
                let Some(uuid) = professional else {
                    return Err(DriverError::Login(format!(
                        "`{user_id}` has several professional identities ({}): name one in \
                         citizens.professionals",
                        page.url
                    )));
                };
                visit = browser
                    .click(&format!("[id=\"professional-{uuid}\"]"), &stop)
                    .await?;
            }
            step => {
                // A page of the broker that posts itself: its form_post answer, which the
                // browser's script submits (or, without scripts, the citizen by its
                // button). Posting to the RP, it is the request the login stops before.
                if let Some(form) = page.self_posting_form() {
                    let request = form.request()?;
                    if stop.matches(&request.url) {
                        return Ok((request, visit));
                    }
                    visit = browser.open(request, &stop).await?;
                    continue;
                }
                return Err(match step {
                    Some(other) => DriverError::Login(format!(
                        "the broker's login stopped at step `{other}` ({}); the kit logs in with a citizen whose app approves by itself (citizens.user)",
                        page.url
                    )),
                    None => DriverError::Login(format!(
                        "the broker showed a page instead of the login: {} {} \"{}\"",
                        page.status.as_u16(),
                        page.url,
                        evidence::excerpt(&page.text(), 200)
                    )),
                });
            }
        }
    }
    Err(DriverError::Login("the login did not finish".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::driver::HttpBrowser;
    use wiremock::matchers::{body_string, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn html(body: String) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/html")
            .set_body_string(body)
    }

    async fn page_at(broker: &MockServer, at: &str, body: String) {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(html(body))
            .mount(broker)
            .await;
    }

    #[tokio::test]
    async fn the_brokers_self_posting_page_is_the_post_the_login_stops_before() {
        let (broker, rp) = (MockServer::start().await, MockServer::start().await);
        let callback = format!("{}/callback", rp.uri());
        page_at(
            &broker,
            "/op/connect/authorize",
            format!(
                r#"<h1 data-step="form_post">Back to the service</h1>
                <form method="post" action="{callback}"><input type="hidden" name="code" value="c1">
                <input type="hidden" name="state" value="s1"><button>Continue</button></form>
                <script src="/static/form-post.js" defer></script>"#
            ),
        )
        .await;
        let mut browser = HttpBrowser::new();
        let authorize = Request::get(format!("{}/op/connect/authorize", broker.uri()));
        let (back, _) = complete_broker_login(&mut browser, authorize, &broker.uri(), "x")
            .await
            .unwrap();
        assert_eq!(
            back,
            Request::post(
                &callback,
                vec![("code".into(), "c1".into()), ("state".into(), "s1".into())]
            )
        );
        // Not made: the scenario decides what to send.
        assert!(rp.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_self_posting_page_within_the_broker_is_submitted() {
        let broker = MockServer::start().await;
        page_at(
            &broker,
            "/op/connect/authorize",
            r#"<form method="post" action="/op/continue"><input type="hidden" name="t" value="1"></form>"#
                .into(),
        )
        .await;
        Mock::given(method("POST"))
            .and(path("/op/continue"))
            .and(body_string("t=1"))
            .respond_with(
                ResponseTemplate::new(303)
                    .insert_header("location", "http://127.0.0.1:9/callback?code=c1&state=s1"),
            )
            .mount(&broker)
            .await;
        let mut browser = HttpBrowser::new();
        let authorize = Request::get(format!("{}/op/connect/authorize", broker.uri()));
        let (back, visit) = complete_broker_login(&mut browser, authorize, &broker.uri(), "x")
            .await
            .unwrap();
        assert_eq!(
            back,
            Request::get("http://127.0.0.1:9/callback?code=c1&state=s1")
        );
        assert_eq!(visit.hops[0].method, "POST");
    }

    #[tokio::test]
    async fn a_page_that_asks_something_ends_the_login_with_its_words() {
        let broker = MockServer::start().await;
        page_at(
            &broker,
            "/op/connect/authorize",
            r#"<p>Something went wrong</p><form method="post" action="http://127.0.0.1:9/cb"><input type="hidden" name="t" value="1"><input name="why"></form>"#
                .into(),
        )
        .await;
        let mut browser = HttpBrowser::new();
        let authorize = Request::get(format!("{}/op/connect/authorize", broker.uri()));
        let err = complete_broker_login(&mut browser, authorize, &broker.uri(), "x")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("the broker showed a page instead of the login: 200"),
            "{err}"
        );
    }
}

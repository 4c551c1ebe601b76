//! The broker's login pages, completed through their real forms by either driver.

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
            Some(other) => {
                return Err(DriverError::Login(format!(
                    "the broker's login stopped at step `{other}` ({}); the kit logs in with a citizen whose app approves by itself (citizens.user)",
                    page.url
                )))
            }
            None => {
                return Err(DriverError::Login(format!(
                    "the broker showed a page instead of the login: {} {} \"{}\"",
                    page.status.as_u16(),
                    page.url,
                    evidence::excerpt(&page.text(), 200)
                )));
            }
        }
    }
    Err(DriverError::Login("the login did not finish".into()))
}

//! The broker's login pages, completed through their real forms by either driver.

use super::{Browser, DriverError, Request, Stop, Visit};
use crate::conformance::evidence;

/// Opens `at_broker` (the RP's authorization request) and completes the broker's login
/// pages as `user_id`, a citizen whose app approves by itself. Returns the request that
/// takes the browser back to the RP (not made: the code or error redirect, or a form_post
/// the broker's page submits), and the visit that ended there.
pub async fn complete_broker_login(
    browser: &mut dyn Browser,
    at_broker: Request,
    broker_base: &str,
    user_id: &str,
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

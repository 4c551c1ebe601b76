//! S: the RP's own session limits.

use std::time::Duration;

use crate::conformance::driver::Browser;
use crate::conformance::scenario::{Ctx, Outcome};

/// S01: idle just past the declared limit → logged out; just under → alive.
pub async fn s01_idle_timeout(ctx: &Ctx) -> Outcome {
    let limits = &ctx.profile.sessions;
    let Some(idle) = limits.idle_seconds else {
        return Outcome::skipped("the target declares no idle limit");
    };
    if idle + 2 > limits.max_wait_seconds {
        return Outcome::skipped(format!(
            "the idle limit ({idle} s) is longer than max_wait_seconds ({})",
            limits.max_wait_seconds
        ));
    }
    // The check ends 2 × idle after login; an absolute limit before then would decide instead.
    if limits
        .absolute_seconds
        .is_some_and(|absolute| absolute <= 2 * idle + 1)
    {
        return Outcome::skipped(format!(
            "the absolute limit is too close to twice the idle limit ({idle} s) to tell them apart"
        ));
    }
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    // Just under the limit the session lives; the check itself is activity.
    if idle >= 2 {
        tokio::time::sleep(Duration::from_secs(idle - 1)).await;
        match ctx.logged_in(&mut browser).await {
            Ok((true, _)) => {}
            Ok((false, _)) => {
                return Outcome::failed(format!(
                    "logged out after {} s, under the declared {idle} s",
                    idle - 1
                ))
            }
            Err(err) => return Outcome::broken(err),
        }
    }
    tokio::time::sleep(Duration::from_secs(idle + 1)).await;
    match ctx.logged_in(&mut browser).await {
        Ok((false, _)) => Outcome::passed(format!("the session ends after {idle} s without use")),
        Ok((true, _)) => Outcome::failed(format!(
            "still logged in after {} s idle; the declared limit is {idle} s [P−]",
            idle + 1
        )),
        Err(err) => Outcome::broken(err),
    }
}

/// S02: the absolute limit holds despite activity.
pub async fn s02_absolute_timeout(ctx: &Ctx) -> Outcome {
    let limits = &ctx.profile.sessions;
    let Some(absolute) = limits.absolute_seconds else {
        return Outcome::skipped("the target declares no absolute limit");
    };
    if absolute + 2 > limits.max_wait_seconds {
        return Outcome::skipped(format!(
            "the absolute limit ({absolute} s) is longer than max_wait_seconds ({})",
            limits.max_wait_seconds
        ));
    }
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    // Activity every half second keeps any idle limit from deciding.
    let deadline = std::time::Instant::now() + Duration::from_secs(absolute + 1);
    while std::time::Instant::now() < deadline {
        let _ = ctx.logged_in(&mut browser).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    match ctx.logged_in(&mut browser).await {
        Ok((false, _)) => Outcome::passed(format!(
            "the session ends {absolute} s after login despite activity"
        )),
        Ok((true, _)) => Outcome::failed(format!(
            "still logged in {} s after login although active; the declared limit is {absolute} s",
            absolute + 1
        )),
        Err(err) => Outcome::broken(err),
    }
}

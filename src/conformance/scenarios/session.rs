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

/// S03: after the idle limit, the old cookie (or a tampered one) does not log in.
pub async fn s03_old_or_tampered_cookie(ctx: &Ctx) -> Outcome {
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    let rp = ctx.profile.url("");
    // Tampered: every RP cookie with one character changed.
    let original = browser.export_cookies();
    let tampered: Vec<(String, String)> = browser
        .cookies_for(&rp)
        .into_iter()
        .map(|(name, value)| (name, format!("{value}x")))
        .collect();
    browser.drop_cookies();
    for (name, value) in &tampered {
        browser.set_cookie(&rp, name, value);
    }
    match ctx.logged_in(&mut browser).await {
        Ok((true, _)) => return Outcome::failed("a tampered session cookie logged in [P−]"),
        Ok((false, _)) => {}
        Err(err) => return Outcome::broken(err),
    }
    let limits = &ctx.profile.sessions;
    let Some(idle) = limits
        .idle_seconds
        .filter(|idle| *idle < limits.max_wait_seconds)
    else {
        return Outcome::passed("a tampered cookie does not log in (the idle limit is too long to wait for the expired-cookie check)");
    };
    browser.import_cookies(original);
    tokio::time::sleep(Duration::from_secs(idle + 1)).await;
    let kept = browser.export_cookies();
    match ctx.logged_in(&mut browser).await {
        Ok((true, _)) => Outcome::failed(format!(
            "the cookie from before the {idle} s idle limit still logs in [P−]"
        )),
        Ok((false, _)) => {
            // And restoring it once more changes nothing.
            browser.import_cookies(kept);
            match ctx.logged_in(&mut browser).await {
                Ok((false, _)) => {
                    Outcome::passed("tampered and expired session cookies do not log in")
                }
                Ok((true, _)) => {
                    Outcome::failed("the expired session cookie, restored, logged in again [P−]")
                }
                Err(err) => Outcome::broken(err),
            }
        }
        Err(err) => Outcome::broken(err),
    }
}

/// S04: when the broker's `session_expiry` passes, the RP asks for a new login.
pub async fn s04_broker_session_expiry(ctx: &Ctx) -> Outcome {
    const SHORT: u64 = 65;
    if SHORT + 2 > ctx.profile.sessions.max_wait_seconds {
        return Outcome::skipped(format!(
            "needs a {SHORT} s wait; max_wait_seconds is {}",
            ctx.profile.sessions.max_wait_seconds
        ));
    }
    if let Err(err) = ctx
        .broker
        .inject_fault(ctx.client_id(), "short_session_expiry")
        .await
    {
        return Outcome::broken(err);
    }
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    // The broker's back-channel would end the RP session by itself; here the RP must act
    // on session_expiry alone.
    if let Err(err) = ctx.broker.withhold_backchannel(ctx.client_id(), true).await {
        return Outcome::broken(err);
    }
    tokio::time::sleep(Duration::from_secs(SHORT + 2)).await;
    match ctx.logged_in(&mut browser).await {
        Ok((false, _)) => Outcome::passed("after session_expiry the RP asks for a new login"),
        Ok((true, _)) => {
            Outcome::failed("the RP session outlived the broker's session_expiry [P−]")
        }
        Err(err) => Outcome::broken(err),
    }
}

/// S05: the broker session ends (session_is_active=false, refresh → invalid_grant): the
/// RP drops its session. Judged without back-channel logout.
pub async fn s05_session_state_checked(ctx: &Ctx) -> Outcome {
    if let Err(err) = ctx.broker.withhold_backchannel(ctx.client_id(), true).await {
        return Outcome::broken(err);
    }
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    let sessions = match ctx.broker.sessions_of(ctx.client_id()).await {
        Ok(sessions) => sessions,
        Err(err) => return Outcome::broken(err),
    };
    for id in sessions.iter().filter_map(|s| s["id"].as_str()) {
        if let Err(err) = ctx.broker.end_session(id).await {
            return Outcome::broken(err);
        }
    }
    // Give an RP that checks every few seconds its chance (up to 15 s).
    let rounds = ctx.profile.sessions.max_wait_seconds.min(15) * 2;
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok((false, _)) = ctx.logged_in(&mut browser).await {
            return Outcome::passed("the RP noticed the ended broker session and dropped its own");
        }
    }
    Outcome::failed(
        "the broker session ended (session_is_active=false) but the RP session lives on [P−]",
    )
}

/// S06: the sensitive action asks the broker for a fresh authentication.
pub async fn s06_sensitive_action(ctx: &Ctx) -> Outcome {
    let Some(path) = &ctx.profile.target.sensitive_path else {
        return Outcome::skipped("the profile declares no sensitive_path");
    };
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    let before = ctx.sent("authorize").await.map(|r| r.len()).unwrap_or(0);
    let user = ctx.profile.citizens.user.clone();
    if let Err(err) = ctx.enter_until_callback(&mut browser, path, &user).await {
        return Outcome::failed(format!(
            "the sensitive action did not send the citizen to the broker: {err}"
        ));
    }
    let requests = match ctx.sent("authorize").await {
        Ok(requests) => requests,
        Err(err) => return Outcome::broken(err),
    };
    let Some(request) = requests.get(before) else {
        return Outcome::failed("the sensitive action sent no new authorization request [S]");
    };
    let params = &request["params"];
    let forced = params["prompt"]
        .as_str()
        .is_some_and(|p| p.split_whitespace().any(|v| v == "login"))
        || params["max_age"].as_str().is_some();
    let evidence = format!("[S] authorize parameters at the sensitive action: {params}");
    if forced {
        Outcome::passed(
            "the sensitive action asks for a fresh authentication (prompt=login or max_age)",
        )
        .with(evidence)
    } else {
        Outcome::failed(
            "the sensitive action reused the broker session without prompt=login or max_age [S]",
        )
        .with(evidence)
    }
}

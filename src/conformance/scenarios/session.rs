//! S: the RP's own session limits and its following of the broker session. Every wait is
//! as long as the declared limit requires, announced through the progress.

use std::time::{Duration, Instant};

use crate::conformance::driver::SiteState;
use crate::conformance::scenario::{Ctx, OrError, Outcome, Verdict};
use crate::protocols::oidc::faults::SHORT_SESSION;

fn too_long(key: &str, seconds: u64, ctx: &Ctx) -> Option<Outcome> {
    let max = ctx.profile.sessions.max_wait_seconds;
    (seconds > max).then(|| {
        Outcome::skipped(format!(
            "it would wait {seconds} s for sessions.{key}, longer than sessions.max_wait_seconds ({max})"
        ))
    })
}

/// S01: idle just past the declared limit → logged out; just under → alive.
pub async fn s01_idle_timeout(ctx: &Ctx) -> Verdict {
    let limits = &ctx.profile.sessions;
    let Some(idle) = limits.idle_seconds else {
        return Ok(Outcome::skipped(
            "the profile declares no sessions.idle_seconds",
        ));
    };
    if let Some(skipped) = too_long("idle_seconds", 2 * idle + 1, ctx) {
        return Ok(skipped);
    }
    // The check ends 2 × idle after login; an absolute limit before then would decide instead.
    if limits
        .absolute_seconds
        .is_some_and(|absolute| absolute <= 2 * idle + 1)
    {
        return Ok(Outcome::skipped(format!(
            "sessions.absolute_seconds is not longer than twice sessions.idle_seconds ({idle} s) and one: the absolute limit would decide"
        )));
    }
    let mut browser = ctx.logged_in_browser().await?;
    let mut evidence = Vec::new();
    // Just under the limit the session lives; the check itself is activity. "Just under"
    // leaves a second and a half: cookie expiry has whole seconds.
    let under = Duration::from_millis((idle * 1000).saturating_sub(1500).max(500));
    ctx.wait(under, "just under sessions.idle_seconds").await;
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    evidence.push(format!(
        "after {:.1} s unused: {}",
        under.as_secs_f64(),
        seen.line()
    ));
    if !seen.logged_in {
        return Ok(Outcome::failed(format!(
            "logged out after {:.1} s unused, under the declared {idle} s",
            under.as_secs_f64()
        ))
        .with_all(evidence));
    }
    ctx.wait(
        Duration::from_secs(idle + 1),
        "just past sessions.idle_seconds",
    )
    .await;
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    evidence.push(format!("after {} s unused: {}", idle + 1, seen.line()));
    let outcome = if seen.logged_in {
        Outcome::failed(format!(
            "still logged in after {} s unused; the declared limit is {idle} s [P−]",
            idle + 1
        ))
    } else {
        Outcome::passed(format!(
            "the session ends after {idle} s unused and not before"
        ))
    };
    Ok(outcome.with_all(evidence))
}

/// S02: the absolute limit holds despite activity.
pub async fn s02_absolute_timeout(ctx: &Ctx) -> Verdict {
    let Some(absolute) = ctx.profile.sessions.absolute_seconds else {
        return Ok(Outcome::skipped(
            "the profile declares no sessions.absolute_seconds",
        ));
    };
    if let Some(skipped) = too_long("absolute_seconds", absolute + 1, ctx) {
        return Ok(skipped);
    }
    // The RP's session starts somewhere within the login, which takes seconds in a real
    // browser: "alive" is judged from its earliest possible start, "ended" from its latest.
    let logged_in_at = Instant::now();
    let mut browser = ctx.logged_in_browser().await?;
    let login_done = Instant::now();
    let mut evidence = Vec::new();
    // Activity within the idle limit keeps it from deciding.
    if absolute >= 2 {
        let before = logged_in_at + Duration::from_secs(absolute - 1);
        if let Some(seen) = ctx
            .keep_alive(
                browser.as_mut(),
                before,
                "in use until just under sessions.absolute_seconds",
            )
            .await?
        {
            return Ok(Outcome::failed(format!(
                "logged out after {:.0} s although in use, before the declared absolute limit of {absolute} s",
                logged_in_at.elapsed().as_secs_f64()
            ))
            .with(seen.line()));
        }
        let seen = ctx.observe(browser.as_mut()).await.or_error()?;
        evidence.push(format!(
            "in use, {} s after login: {}",
            absolute - 1,
            seen.line()
        ));
    }
    let after = login_done + Duration::from_secs(absolute + 1);
    if let Some(seen) = ctx
        .keep_alive(
            browser.as_mut(),
            after,
            "in use until just past sessions.absolute_seconds",
        )
        .await?
    {
        return Ok(Outcome::passed(format!(
            "the session ends {absolute} s after login despite activity"
        ))
        .with_all(evidence)
        .with(format!(
            "{:.0} s after login: {}",
            logged_in_at.elapsed().as_secs_f64(),
            seen.line()
        )));
    }
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    evidence.push(format!(
        "{:.0} s after login, in use: {}",
        logged_in_at.elapsed().as_secs_f64(),
        seen.line()
    ));
    let outcome = if seen.logged_in {
        Outcome::failed(format!(
            "still logged in {} s after login although the declared absolute limit is {absolute} s",
            absolute + 1
        ))
    } else {
        Outcome::passed(format!(
            "the session ends {absolute} s after login despite activity"
        ))
    };
    Ok(outcome.with_all(evidence))
}

/// S03: a tampered session cookie does not log in, nor does the cookie from before the
/// idle limit passed, replayed raw (whatever expiry the RP gave it).
pub async fn s03_old_or_tampered_cookie(ctx: &Ctx) -> Verdict {
    let mut browser = ctx.logged_in_browser().await?;
    let rp = ctx.profile.url("/");
    let original = browser.state(&rp).await.or_error()?;
    drop(browser);
    let tampered: Vec<(String, String)> = original
        .cookies
        .iter()
        .map(|(name, value)| (name.clone(), tamper(value)))
        .collect();
    // Web storage is the browser's own: only cookies travel to the RP to be checked there.
    let mut forger = ctx.browser().await?;
    forger
        .restore(&rp, &SiteState::cookies(tampered))
        .await
        .or_error()?;
    let seen = ctx.observe(forger.as_mut()).await.or_error()?;
    let forged = if original.cookies.is_empty() {
        format!("the RP keeps no cookies to tamper with: {}", seen.line())
    } else {
        format!(
            "every RP cookie ({}) with one character changed: {}",
            original
                .cookies
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            seen.line()
        )
    };
    if seen.logged_in {
        return Ok(Outcome::failed("a tampered session cookie logged in [P−]").with(forged));
    }
    let Some(idle) = ctx.profile.sessions.idle_seconds else {
        return Ok(Outcome::skipped(
            "tampered cookies are refused; the expired-cookie check needs sessions.idle_seconds",
        )
        .with(forged));
    };
    if let Some(skipped) = too_long("idle_seconds", idle + 1, ctx) {
        return Ok(skipped.with(forged));
    }
    ctx.wait(
        Duration::from_secs(idle + 1),
        "just past sessions.idle_seconds",
    )
    .await;
    let mut replayer = ctx.browser().await?;
    replayer.restore(&rp, &original).await.or_error()?;
    let seen = ctx.observe(replayer.as_mut()).await.or_error()?;
    let replayed = format!(
        "what the browser held after the login ({}), replayed raw {} s later: {}",
        original.describe(),
        idle + 1,
        seen.line()
    );
    let outcome = if seen.logged_in {
        Outcome::failed(format!(
            "the session state from before the {idle} s idle limit, replayed, still logs in [P−]"
        ))
    } else {
        Outcome::passed(
            "tampered cookies and an expired session's state do not log in, even replayed raw",
        )
    };
    Ok(outcome.with(forged).with(replayed))
}

/// One character changed in the middle, where signatures and MACs live as much as ids.
fn tamper(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        return "x".into();
    }
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// S04: the broker's `session_expiry` passes → the RP asks for a new login. The broker
/// announces an end 60 s after the login (and leaves its session alive, so nothing else
/// can decide); the kit keeps the RP session in use within its idle limit, and needs the
/// absolute limit to come later.
pub async fn s04_broker_session_expiry(ctx: &Ctx) -> Verdict {
    let short = SHORT_SESSION.whole_seconds() as u64;
    if let Some(skipped) = too_long("max_wait_seconds", short + 2, ctx) {
        return Ok(skipped);
    }
    if let Some(absolute) = ctx.profile.sessions.absolute_seconds {
        if absolute <= short + 3 {
            return Ok(Outcome::skipped(format!(
                "sessions.absolute_seconds ({absolute} s) ends the session before the shortest session_expiry the kit may announce ({short} s) could be told apart"
            )));
        }
    }
    ctx.broker
        .inject_fault(ctx.client_id(), "short_session_expiry")
        .await
        .or_error()?;
    let logged_in_at = Instant::now();
    let mut browser = ctx.logged_in_browser().await?;
    // session_expiry is in whole seconds: it falls between 59 and 60 s after the login
    // started, and up to the login's length later.
    let expiry = Instant::now() + Duration::from_secs(short);
    let before = logged_in_at + Duration::from_secs(short - 2);
    if let Some(seen) = ctx
        .keep_alive(
            browser.as_mut(),
            before,
            "in use until the broker's session_expiry",
        )
        .await?
    {
        return Err(Outcome::error(format!(
            "the RP session ended before session_expiry, so session_expiry cannot decide (is an undeclared limit shorter?): {}",
            seen.line()
        )));
    }
    let alive = ctx.observe(browser.as_mut()).await.or_error()?;
    let mut evidence = vec![
        format!(
        "[S] the broker announced session_expiry {short} s after the login (its session lives on)"
    ),
        format!("in use, {} s after the login: {}", short - 2, alive.line()),
    ];
    if !alive.logged_in {
        return Err(Outcome::error(
            "the RP session ended before session_expiry, so session_expiry cannot decide",
        )
        .with_all(evidence));
    }
    // Still in use across session_expiry, so the idle limit cannot decide instead.
    let after = expiry + Duration::from_secs(2);
    let dropped = ctx
        .keep_alive(
            browser.as_mut(),
            after,
            "in use until past the broker's session_expiry",
        )
        .await?;
    let seen = match dropped {
        Some(seen) => seen,
        None => ctx.observe(browser.as_mut()).await.or_error()?,
    };
    let now = Instant::now();
    let offset = if now >= expiry {
        format!("{:.1} s after", (now - expiry).as_secs_f64())
    } else {
        format!("{:.1} s before", (expiry - now).as_secs_f64())
    };
    evidence.push(format!("in use, {offset} session_expiry: {}", seen.line()));
    let outcome = if seen.logged_in {
        Outcome::failed("the RP session outlived the broker's session_expiry [P−]")
    } else {
        Outcome::passed("after session_expiry the RP asks for a new login")
    };
    Ok(outcome.with_all(evidence))
}

/// S05: the broker session ends (userinfo `session_is_active=false`, refresh →
/// `invalid_grant`): within its declared check interval the RP drops its session. Judged
/// without back-channel logout, which would end the RP session by itself.
pub async fn s05_session_state_checked(ctx: &Ctx) -> Verdict {
    let Some(every) = ctx.profile.sessions.broker_check_seconds else {
        return Ok(Outcome::skipped(
            "the profile declares no sessions.broker_check_seconds (how often the RP asks the broker whether its session is active)",
        ));
    };
    if let Some(skipped) = too_long("broker_check_seconds", every + 2, ctx) {
        return Ok(skipped);
    }
    ctx.broker
        .withhold_backchannel(ctx.client_id(), true)
        .await
        .or_error()?;
    let mut browser = ctx.logged_in_browser().await?;
    let sessions = ctx.broker.sessions_of(ctx.client_id()).await.or_error()?;
    for id in sessions.iter().filter_map(|s| s["id"].as_str()) {
        ctx.broker.end_session(id).await.or_error()?;
    }
    let ended = Instant::now();
    let line = "[S] the broker ended its session (back-channel logout withheld)".to_string();
    let until = ended + Duration::from_secs(every + 2);
    let dropped = ctx
        .keep_alive(browser.as_mut(), until, "sessions.broker_check_seconds")
        .await?;
    let seen = match dropped {
        Some(seen) => seen,
        None => ctx.observe(browser.as_mut()).await.or_error()?,
    };
    let when = format!(
        "{:.0} s after the broker session ended: {}",
        ended.elapsed().as_secs_f64(),
        seen.line()
    );
    let outcome = if seen.logged_in {
        Outcome::failed(format!(
            "the broker session ended but the RP session lives on past the declared check interval of {every} s [P−]"
        ))
    } else {
        Outcome::passed("the RP noticed the ended broker session and dropped its own")
    };
    Ok(outcome.with(line).with(when))
}

/// S06: past the declared maximum login age, the sensitive action asks the broker for a
/// fresh authentication (`prompt=login` or a `max_age` within the declared age).
pub async fn s06_sensitive_action(ctx: &Ctx) -> Verdict {
    let (path, _, max_age) = match super::token::sensitive(ctx) {
        Ok(found) => found,
        Err(skipped) => return Ok(skipped),
    };
    let mut browser = ctx.logged_in_browser().await?;
    let until = Instant::now() + Duration::from_secs(max_age + 1);
    if let Some(seen) = ctx
        .keep_alive(
            browser.as_mut(),
            until,
            "past sessions.max_login_age_seconds",
        )
        .await?
    {
        return Err(Outcome::error(format!(
            "the session ended while the kit waited past max_login_age_seconds: {}",
            seen.line()
        )));
    }
    let before = ctx.sent("authorize").await?.len();
    let user = ctx.profile.citizens.user.clone();
    if let Err(err) = ctx
        .enter_until_callback(browser.as_mut(), &path, &user)
        .await
    {
        return Ok(Outcome::failed(format!(
            "{} s after the login the sensitive action did not send the citizen to the broker",
            max_age + 1
        ))
        .with(format!("[H] {err}")));
    }
    let requests = ctx.sent("authorize").await?;
    let Some(request) = requests.get(before) else {
        return Ok(Outcome::failed(
            "the sensitive action sent no new authorization request [S]",
        ));
    };
    let params = &request["params"];
    let prompt_login = params["prompt"]
        .as_str()
        .is_some_and(|p| p.split_whitespace().any(|v| v == "login"));
    let sent_max_age = params["max_age"]
        .as_str()
        .and_then(|m| m.parse::<u64>().ok());
    let line = format!(
        "[S] {} s after the login, the sensitive action's authorization request: {}",
        max_age + 1,
        crate::conformance::evidence::params(params)
    );
    let outcome = match (prompt_login, sent_max_age) {
        (true, _) => Outcome::passed("the sensitive action asks for a fresh authentication (prompt=login)"),
        (false, Some(sent)) if sent <= max_age => Outcome::passed(format!(
            "the sensitive action asks for a fresh authentication (max_age={sent})"
        )),
        (false, Some(sent)) => Outcome::warning(format!(
            "the sensitive action sends max_age={sent}, more than the declared max_login_age_seconds = {max_age}"
        )),
        (false, None) => Outcome::failed(
            "the sensitive action reused the broker session without prompt=login or max_age [S]",
        ),
    };
    Ok(outcome.with(line))
}

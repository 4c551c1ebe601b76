//! O: logout completeness.

use serde_json::{json, Value};

use crate::conformance::driver::Stop;
use crate::conformance::evidence;
use crate::conformance::scenario::{Ctx, Level, OrError, Outcome, Verdict};

/// O01: "Log af" calls end_session with an id_token_hint and the registered post-logout URI.
pub async fn o01_rp_logout(ctx: &Ctx) -> Verdict {
    let mut browser = ctx.logged_in_browser().await?;
    let visit = ctx.logout(browser.as_mut()).await.or_error()?;
    let first = format!("[H] logout: {}", evidence::first(&visit));
    let end_sessions = ctx.sent("endsession").await?;
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let Some(request) = end_sessions.last() else {
        return Ok(Outcome::failed(
            "the RP's logout never reached the broker's end_session endpoint: the broker session stays alive [S]",
        )
        .with(first)
        .with("[S] the broker recorded no end_session request from this client")
        .with(seen.line()));
    };
    let params = &request["params"];
    let sent = format!(
        "[S] end_session: {} → {}",
        evidence::params(params),
        request["status"]
    );
    let mut problems = Vec::new();
    if params["id_token_hint"].as_str().is_none_or(str::is_empty) {
        problems.push("no id_token_hint".to_string());
    }
    match (
        &ctx.profile.client.post_logout_redirect_uri,
        params["post_logout_redirect_uri"].as_str(),
    ) {
        (Some(expected), Some(sent)) if sent != expected => problems.push(format!(
            "post_logout_redirect_uri {sent} is not the declared {expected}"
        )),
        (Some(_), None) => problems.push("no post_logout_redirect_uri".into()),
        _ => {}
    }
    if request["status"].as_u64().is_some_and(|s| s >= 400) {
        problems.push(format!(
            "the broker refused the logout ({})",
            request["status"]
        ));
    }
    if seen.logged_in {
        problems.push("the RP session is still alive after logout [P−]".into());
    }
    let outcome = if problems.is_empty() {
        Outcome::passed("logout ends the RP session and calls end_session with id_token_hint and the registered return URI")
    } else {
        Outcome::failed(problems.join("; "))
    };
    Ok(outcome.with(first).with(sent).with(seen.line()))
}

/// O02: cookies from before logout, restored raw (an attacker ignores their expiry), do not
/// bring the session back. Judged on the RP's own logout: the broker's back-channel, which
/// would end the RP session by itself, is withheld.
pub async fn o02_old_cookies(ctx: &Ctx) -> Verdict {
    ctx.broker
        .withhold_backchannel(ctx.client_id(), true)
        .await
        .or_error()?;
    let mut browser = ctx.logged_in_browser().await?;
    let rp = ctx.profile.url("/");
    let before = browser.state(&rp).await.or_error()?;
    ctx.logout(browser.as_mut()).await.or_error()?;
    browser.restore(&rp, &before).await.or_error()?;
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let restored = format!(
        "[H] after logout what the browser held before it ({}) was restored",
        before.describe()
    );
    let outcome = if seen.logged_in {
        Outcome::failed("what the browser held before logout still opens the protected page [P−]")
    } else {
        Outcome::passed("the session is dead on the server, not just in the browser")
    };
    Ok(outcome.with(restored).with(seen.line()))
}

/// O03: authenticated pages carry Cache-Control: no-store.
pub async fn o03_no_store(ctx: &Ctx) -> Verdict {
    let mut browser = ctx.logged_in_browser().await?;
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let cache_control = seen.page.header("cache-control").unwrap_or_default();
    let line = format!(
        "[H] {} {} Cache-Control: {}",
        seen.page.method,
        seen.page.url,
        if cache_control.is_empty() {
            "(none)"
        } else {
            &cache_control
        }
    );
    let no_store = cache_control
        .split(',')
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"));
    let outcome = if no_store {
        Outcome::passed("the protected page may not be stored")
    } else {
        Outcome::failed("the protected page lacks Cache-Control: no-store [H]")
    };
    Ok(outcome.with(line))
}

/// O04: after the RP's logout the broker session is gone: a new login in the same browser
/// asks for credentials instead of coming straight back.
pub async fn o04_broker_session_gone(ctx: &Ctx) -> Verdict {
    let mut browser = ctx.logged_in_browser().await?;
    ctx.logout(browser.as_mut()).await.or_error()?;
    let sessions = ctx.broker.sessions_of(ctx.client_id()).await.or_error()?;
    let recorded = format!(
        "[S] live broker sessions of this client after the logout: {}",
        sessions.len()
    );
    let login_path = ctx.profile.target.login_path.clone();
    let at_broker = ctx
        .until_broker(browser.as_mut(), &login_path)
        .await
        .or_error_while("starting the next login")?;
    let leaving = Stop::Outside(ctx.broker_prefix());
    let answer = browser.open(at_broker, &leaving).await.or_error()?;
    // Straight back is a redirect to the RP, or (form_post) a page posting itself to it.
    let posted_back = answer
        .page
        .self_posting_form()
        .filter(|form| leaving.matches(&form.action));
    let straight_back = answer.stopped.is_some() || posted_back.is_some();
    let mut line = format!("[H] the next login: {}", evidence::path(&answer));
    if let Some(form) = posted_back.and_then(|form| form.request().ok()) {
        line.push_str(&format!(
            " ⇒ (a page posting itself: {})",
            evidence::request(&form)
        ));
    }
    let outcome = if straight_back {
        Outcome::failed(
            "the broker session outlived the RP's logout: the next login needs no credentials",
        )
    } else {
        Outcome::passed(
            "the broker session ended with the RP's logout: the next login asks for credentials",
        )
    };
    Ok(outcome.with(line).with(recorded))
}

/// O05: the logout return URL cannot be bent to another site.
pub async fn o05_no_open_redirect(ctx: &Ctx) -> Verdict {
    let mut browser = ctx.logged_in_browser().await?;
    const EVIL: &str = "https://evil.example/phish";
    let bent: Vec<(String, String)> = [
        "return_to",
        "returnUrl",
        "returnTo",
        "redirect",
        "redirect_uri",
        "next",
        "post_logout_redirect_uri",
        "continue",
    ]
    .iter()
    .map(|name| (name.to_string(), EVIL.to_string()))
    .collect();
    let elsewhere = Stop::at("https://evil.example");
    let visit = ctx
        .start_logout(browser.as_mut(), &bent, &elsewhere)
        .await
        .or_error()?;
    let sent = format!(
        "[H] logout with return_to, returnUrl, returnTo, redirect, redirect_uri, next, post_logout_redirect_uri, continue = {EVIL}"
    );
    let path = format!("[H] {}", evidence::path(&visit));
    let outcome = match &visit.stopped {
        Some(bent) => Outcome::failed(format!(
            "the logout sent the browser to {} [H]",
            evidence::url(&bent.url)
        )),
        None => Outcome::passed("logout return parameters pointing at another site are ignored"),
    };
    Ok(outcome.with(sent).with(path))
}

fn no_backchannel() -> Outcome {
    Outcome::skipped("the profile declares no client.backchannel_logout_uri")
}

/// O06: a valid back-channel logout token ends that RP session.
pub async fn o06_backchannel(ctx: &Ctx) -> Verdict {
    if ctx.profile.client.backchannel_logout_uri.is_none() {
        return Ok(no_backchannel());
    }
    let mut browser = ctx.logged_in_browser().await?;
    let sessions = ctx.broker.sessions_of(ctx.client_id()).await.or_error()?;
    let ended: Vec<String> = sessions
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect();
    for id in &ended {
        ctx.broker.end_session(id).await.or_error()?;
    }
    let mut delivered = None;
    for _ in 0..100 {
        let deliveries = ctx.broker.backchannel(ctx.client_id()).await.or_error()?;
        // Only the delivery for the session ended here counts, not an earlier scenario's.
        let ours = |d: &&Value| {
            d["session"]
                .as_str()
                .is_some_and(|s| ended.iter().any(|e| e == s))
        };
        if let Some(done) = deliveries
            .iter()
            .filter(ours)
            .find(|d| d["state"] != "pending")
        {
            delivered = Some(done.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let Some(delivery) = delivered else {
        return Ok(Outcome::failed(
            "the broker's logout token got no answer from the RP within 10 s",
        )
        .with("[H] the broker ended the session and posted a logout token with its sid"));
    };
    let statuses: Vec<String> = delivery["attempts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| match &a["status"] {
            Value::Null => a["error"].as_str().unwrap_or("no answer").to_string(),
            status => status.to_string(),
        })
        .collect();
    let line = format!(
        "[H] the broker ended the session and posted a logout token with its sid; the RP answered {}",
        statuses.join(", then ")
    );
    if delivery["state"] != "delivered" {
        return Ok(
            Outcome::failed("the RP did not answer the valid logout token with 2xx [H]").with(line),
        );
    }
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let outcome = if seen.logged_in {
        Outcome::failed("the RP answered the logout token but its session lives on [P−]")
    } else {
        Outcome::passed("the logout token ended the RP session")
    };
    Ok(outcome.with(line).with(seen.line()))
}

/// Sends a logout token through the broker to the RP's back-channel endpoint.
async fn logout_token(ctx: &Ctx, body: Value) -> Result<Value, Outcome> {
    ctx.broker
        .call(
            reqwest::Method::POST,
            &format!("/clients/{}/logout-token", ctx.client_id()),
            Some(body),
        )
        .await
        .or_error()
}

/// The RP's answer to an injected logout token, in words.
fn status_of(answer: &Value) -> String {
    match &answer["status"] {
        Value::Null => format!(
            "no answer ({})",
            answer["error"].as_str().unwrap_or("unreachable")
        ),
        status => status.to_string(),
    }
}

async fn participant(ctx: &Ctx) -> Result<(String, String), Outcome> {
    let sessions = ctx.broker.sessions_of(ctx.client_id()).await.or_error()?;
    let session = sessions
        .last()
        .ok_or_else(|| Outcome::error("the login left no broker session"))?;
    let me = &session["participants"][ctx.client_id()];
    Ok((
        me["sid"].as_str().unwrap_or_default().to_string(),
        me["subject"].as_str().unwrap_or_default().to_string(),
    ))
}

/// O07: a logout token with `sub` only ends the citizen's sessions in every browser.
pub async fn o07_sub_only(ctx: &Ctx) -> Verdict {
    if ctx.profile.client.backchannel_logout_uri.is_none() {
        return Ok(no_backchannel());
    }
    let mut first = ctx.logged_in_browser().await?;
    let mut second = ctx.logged_in_browser().await?;
    let (_, sub) = participant(ctx).await?;
    let answer = logout_token(ctx, json!({ "sub": sub })).await?;
    let line = format!(
        "[H] a valid logout token with sub and no sid: the RP answered {}",
        status_of(&answer)
    );
    if !answer["status"]
        .as_u64()
        .is_some_and(|s| (200..300).contains(&s))
    {
        return Ok(
            Outcome::failed("a valid logout token with sub only was refused [H]").with(line),
        );
    }
    let a = ctx.observe(first.as_mut()).await.or_error()?;
    let b = ctx.observe(second.as_mut()).await.or_error()?;
    let alive: Vec<&str> = [("first", &a), ("second", &b)]
        .iter()
        .filter(|(_, seen)| seen.logged_in)
        .map(|(name, _)| *name)
        .collect();
    let outcome = if alive.is_empty() {
        Outcome::passed("a logout token with sub only ends the citizen's sessions in both browsers")
    } else {
        Outcome::failed(format!(
            "the {} browser's session survived [P−]",
            alive.join(" and ")
        ))
    };
    Ok(outcome
        .with(line)
        .with(format!("first browser: {}", a.line()))
        .with(format!("second browser: {}", b.line())))
}

/// O08: bad logout tokens are answered 400 and change nothing (Back-Channel Logout §2.8:
/// "If the logout request fails, the RP MUST respond with HTTP 400").
pub async fn o08_bad_logout_tokens(ctx: &Ctx) -> Verdict {
    if ctx.profile.client.backchannel_logout_uri.is_none() {
        return Ok(no_backchannel());
    }
    let mut browser = ctx.logged_in_browser().await?;
    let (sid, sub) = participant(ctx).await?;
    let mut failed = Vec::new();
    let mut warned = Vec::new();
    let mut evidence = Vec::new();
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
        let answer = logout_token(ctx, json!({ "sid": sid, "sub": sub, "fault": fault })).await?;
        let seen = ctx.observe(browser.as_mut()).await.or_error()?;
        let status = answer["status"].as_u64();
        evidence.push(format!(
            "[H] {fault}: the RP answered {}; session {}",
            status_of(&answer),
            if seen.logged_in { "alive" } else { "ended" }
        ));
        if !seen.logged_in {
            failed.push(format!("{fault} ended the session"));
            // The session is gone; the remaining tokens would prove nothing.
            evidence.push(seen.line());
            break;
        }
        match status {
            Some(400) => {}
            Some(s) if (200..300).contains(&s) => {
                failed.push(format!("{fault} was accepted ({s})"))
            }
            Some(s) => warned.push(format!("{fault} answered {s}, not 400")),
            None => warned.push(format!("{fault} got no answer")),
        }
    }
    let outcome = if !failed.is_empty() {
        Outcome::failed(format!(
            "bad logout tokens not refused: {}",
            failed.join(", ")
        ))
    } else if !warned.is_empty() {
        Outcome::violated(Level::Should, warned.join(", "))
    } else {
        Outcome::passed("every bad logout token is answered 400 and the session lives on [P+]")
    };
    Ok(outcome.with_all(evidence))
}

/// O09: the same `jti` twice: the second should be refused (optional for RPs: a warning).
pub async fn o09_jti_replay(ctx: &Ctx) -> Verdict {
    if ctx.profile.client.backchannel_logout_uri.is_none() {
        return Ok(no_backchannel());
    }
    let mut first_browser = ctx.logged_in_browser().await?;
    let (sid, _) = participant(ctx).await?;
    let jti = format!("replayed-{sid}");
    let first = logout_token(ctx, json!({ "sid": sid, "jti": jti })).await?;
    let _ = ctx.observe(first_browser.as_mut()).await;
    let mut second_browser = ctx.logged_in_browser().await?;
    let (sid2, _) = participant(ctx).await?;
    let replay = logout_token(ctx, json!({ "sid": sid2, "jti": jti })).await?;
    let seen = ctx.observe(second_browser.as_mut()).await.or_error()?;
    let line = format!(
        "[H] a logout token with jti {jti}: the RP answered {}; the same jti for the second browser's session: {}",
        status_of(&first),
        status_of(&replay)
    );
    let outcome = if replay["status"] == 400 && seen.logged_in {
        Outcome::passed("a replayed jti is refused")
    } else {
        Outcome::violated(
            Level::Should,
            "a logout token with a jti seen before was accepted",
        )
    };
    Ok(outcome.with(line).with(seen.line()))
}

//! O: logout completeness.

use crate::conformance::driver::Browser;
use crate::conformance::scenario::{Ctx, Outcome, Status};

async fn logged_in_browser(ctx: &Ctx) -> Result<Browser, String> {
    let mut browser = Browser::new();
    ctx.login(&mut browser).await?;
    match ctx.logged_in(&mut browser).await? {
        (true, _) => Ok(browser),
        (false, page) => Err(format!(
            "the login did not take: {} answered {}",
            page.url, page.status
        )),
    }
}

/// O01: "Log af" calls end_session with an id_token_hint and the registered post-logout URI.
pub async fn o01_rp_logout(ctx: &Ctx) -> Outcome {
    let mut browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    if let Err(err) = ctx.logout(&mut browser).await {
        return Outcome::broken(err);
    }
    let end_sessions = match ctx.sent("endsession").await {
        Ok(requests) => requests,
        Err(err) => return Outcome::broken(err),
    };
    let still_in = matches!(ctx.logged_in(&mut browser).await, Ok((true, _)));
    let Some(request) = end_sessions.last() else {
        return Outcome::failed(
            "the RP's logout never reached the broker's end_session endpoint [S]",
        )
        .with("the broker session stays alive: the next login needs no credentials");
    };
    let params = &request["params"];
    let evidence = format!("[S] end_session parameters: {params}");
    let mut problems = Vec::new();
    if params["id_token_hint"].as_str().is_none_or(str::is_empty) {
        problems.push("no id_token_hint".to_string());
    }
    match (
        &ctx.profile.client.post_logout_redirect_uri,
        params["post_logout_redirect_uri"].as_str(),
    ) {
        (Some(expected), Some(sent)) if sent != expected => problems.push(format!(
            "post_logout_redirect_uri {sent} is not the registered {expected}"
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
    if still_in {
        problems.push("the RP session is still alive after logout [P−]".into());
    }
    if problems.is_empty() {
        Outcome::passed("logout ends the RP session and the broker session").with(evidence)
    } else {
        Outcome::failed(problems.join("; ")).with(evidence)
    }
}

/// O02: cookies from before logout, restored, do not bring the session back.
pub async fn o02_old_cookies(ctx: &Ctx) -> Outcome {
    // Judged on the RP's own logout: the broker's back-channel would hide the fault.
    if let Err(err) = ctx.broker.withhold_backchannel(ctx.client_id(), true).await {
        return Outcome::broken(err);
    }
    let mut browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    let before = browser.export_cookies();
    if let Err(err) = ctx.logout(&mut browser).await {
        return Outcome::broken(err);
    }
    browser.import_cookies(before);
    match ctx.logged_in(&mut browser).await {
        Ok((false, _)) => {
            Outcome::passed("the session is dead on the server, not just in the browser")
        }
        Ok((true, _)) => {
            Outcome::failed("the cookies from before logout still open the protected page [P−]")
        }
        Err(err) => Outcome::broken(err),
    }
}

/// O03: authenticated pages carry Cache-Control: no-store.
pub async fn o03_no_store(ctx: &Ctx) -> Outcome {
    let mut browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    let page = match ctx.logged_in(&mut browser).await {
        Ok((_, page)) => page,
        Err(err) => return Outcome::broken(err),
    };
    let cache_control = page
        .headers
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let evidence = format!("[H] {} Cache-Control: {cache_control:?}", page.url);
    if cache_control.to_ascii_lowercase().contains("no-store") {
        Outcome::passed("the protected page may not be stored").with(evidence)
    } else {
        Outcome::failed("the protected page lacks Cache-Control: no-store [H]").with(evidence)
    }
}

/// O04: after the RP's logout the broker session is gone: the next login asks for credentials.
pub async fn o04_broker_session_gone(ctx: &Ctx) -> Outcome {
    let mut browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    if let Err(err) = ctx.logout(&mut browser).await {
        return Outcome::broken(err);
    }
    let sessions = match ctx.broker.sessions_of(ctx.client_id()).await {
        Ok(sessions) => sessions,
        Err(err) => return Outcome::broken(err),
    };
    if sessions.is_empty() {
        Outcome::passed("the broker session ended with the RP's logout [S]")
    } else {
        Outcome::failed(
            "the broker session outlived the RP's logout: the next login needs no credentials [S]",
        )
        .with(format!("[S] live broker sessions: {}", sessions.len()))
    }
}

/// O06: a valid back-channel logout token ends that RP session.
pub async fn o06_backchannel(ctx: &Ctx) -> Outcome {
    if ctx.profile.client.backchannel_logout_uri.is_none() {
        return Outcome::skipped("the target declares no back-channel endpoint");
    }
    let mut browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    let sessions = match ctx.broker.sessions_of(ctx.client_id()).await {
        Ok(sessions) => sessions,
        Err(err) => return Outcome::broken(err),
    };
    let ended: Vec<String> = sessions
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect();
    for id in &ended {
        if let Err(err) = ctx.broker.end_session(id).await {
            return Outcome::broken(err);
        }
    }
    let mut delivered = None;
    for _ in 0..50 {
        let deliveries = ctx
            .broker
            .backchannel(ctx.client_id())
            .await
            .unwrap_or_default();
        // Only the delivery for the session ended here counts, not an earlier scenario's.
        let ours = |d: &&serde_json::Value| {
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
        return Outcome::failed("the broker's logout token got no answer from the RP");
    };
    let statuses: Vec<_> = delivery["attempts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["status"].clone())
        .collect();
    let evidence = format!("[H] back-channel answers: {statuses:?}");
    if delivery["state"] != "delivered" {
        return Outcome::failed("the RP did not answer the valid logout token with 2xx [H]")
            .with(evidence);
    }
    match ctx.logged_in(&mut browser).await {
        Ok((false, _)) => Outcome::passed("the logout token ended the RP session").with(evidence),
        Ok((true, _)) => {
            Outcome::failed("the RP answered the logout token but its session lives on [P−]")
                .with(evidence)
        }
        Err(err) => Outcome::broken(err),
    }
}

/// O05: the logout return URL cannot be bent to another site.
pub async fn o05_no_open_redirect(ctx: &Ctx) -> Outcome {
    let mut browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    const EVIL: &str = "https://evil.example/phish";
    let logout = &ctx.profile.target.logout;
    let bent: Vec<(String, String)> = [
        "return_to",
        "returnUrl",
        "redirect",
        "redirect_uri",
        "next",
        "post_logout_redirect_uri",
        "continue",
    ]
    .iter()
    .map(|name| (name.to_string(), EVIL.to_string()))
    .collect();
    let query = serde_urlencoded::to_string(&bent).unwrap_or_default();
    let url = format!("{}?{query}", ctx.profile.url(&logout.path));
    let page = if logout.method.eq_ignore_ascii_case("GET") {
        browser.get(&url).await
    } else {
        let fields = match &logout.form_page {
            Some(form_page) => match browser.get(&ctx.profile.url(form_page)).await {
                Ok(page) => page.form_fields(&logout.path),
                Err(err) => return Outcome::broken(err),
            },
            None => Vec::new(),
        };
        let mut fields = fields;
        fields.extend(bent.iter().cloned());
        browser
            .send(reqwest::Method::POST, &url, Some(&fields))
            .await
    };
    let page = match page {
        Ok(page) => page,
        Err(err) => return Outcome::broken(err),
    };
    let mut current = page;
    for _ in 0..15 {
        let Some(next) = current.location().filter(|_| current.is_redirect()) else {
            break;
        };
        if next.starts_with("https://evil.example") {
            return Outcome::failed(format!("the logout sent the browser to {next} [H]"))
                .with(format!("[H] {} → {next}", current.url));
        }
        current = match browser.get(&next).await {
            Ok(page) => page,
            Err(err) => return Outcome::broken(err),
        };
    }
    Outcome::passed("logout return parameters pointing at another site are ignored")
}

/// Sends a logout token through the broker to the RP's back-channel endpoint.
async fn logout_token(ctx: &Ctx, body: serde_json::Value) -> Result<serde_json::Value, String> {
    ctx.broker
        .call(
            reqwest::Method::POST,
            &format!("/clients/{}/logout-token", ctx.client_id()),
            Some(body),
        )
        .await
}

async fn participant(ctx: &Ctx) -> Result<(String, String), String> {
    let sessions = ctx.broker.sessions_of(ctx.client_id()).await?;
    let session = sessions.last().ok_or("the login left no broker session")?;
    let me = &session["participants"][ctx.client_id()];
    Ok((
        me["sid"].as_str().unwrap_or_default().to_string(),
        me["subject"].as_str().unwrap_or_default().to_string(),
    ))
}

/// O07: a logout token with `sub` only ends the citizen's sessions in every browser.
pub async fn o07_sub_only(ctx: &Ctx) -> Outcome {
    if ctx.profile.client.backchannel_logout_uri.is_none() {
        return Outcome::skipped("the target declares no back-channel endpoint");
    }
    let (mut first, mut second) = match (logged_in_browser(ctx).await, logged_in_browser(ctx).await)
    {
        (Ok(a), Ok(b)) => (a, b),
        (Err(err), _) | (_, Err(err)) => return Outcome::broken(err),
    };
    let (_, sub) = match participant(ctx).await {
        Ok(found) => found,
        Err(err) => return Outcome::broken(err),
    };
    let answer = match logout_token(ctx, serde_json::json!({ "sub": sub })).await {
        Ok(answer) => answer,
        Err(err) => return Outcome::broken(err),
    };
    let evidence = format!(
        "[H] the RP answered {} to a token with sub only",
        answer["status"]
    );
    if !answer["status"]
        .as_u64()
        .is_some_and(|s| (200..300).contains(&s))
    {
        return Outcome::failed("a valid logout token with sub only was refused [H]")
            .with(evidence);
    }
    let mut alive = Vec::new();
    if matches!(ctx.logged_in(&mut first).await, Ok((true, _))) {
        alive.push("first");
    }
    if matches!(ctx.logged_in(&mut second).await, Ok((true, _))) {
        alive.push("second");
    }
    if alive.is_empty() {
        Outcome::passed("a logout token with sub only ends the citizen's sessions in both browsers")
            .with(evidence)
    } else {
        Outcome::failed(format!(
            "the {} browser's session survived [P−]",
            alive.join(" and ")
        ))
        .with(evidence)
    }
}

/// O08: bad logout tokens are answered 400 and change nothing.
pub async fn o08_bad_logout_tokens(ctx: &Ctx) -> Outcome {
    if ctx.profile.client.backchannel_logout_uri.is_none() {
        return Outcome::skipped("the target declares no back-channel endpoint");
    }
    let mut browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    let (sid, sub) = match participant(ctx).await {
        Ok(found) => found,
        Err(err) => return Outcome::broken(err),
    };
    let mut accepted = Vec::new();
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
        let answer = match logout_token(
            ctx,
            serde_json::json!({ "sid": sid, "sub": sub, "fault": fault }),
        )
        .await
        {
            Ok(answer) => answer,
            Err(err) => return Outcome::broken(err),
        };
        evidence.push(format!("[H] {fault}: {}", answer["status"]));
        let alive = matches!(ctx.logged_in(&mut browser).await, Ok((true, _)));
        if answer["status"] != 400 || !alive {
            accepted.push(format!(
                "{fault} ({}, session {})",
                answer["status"],
                if alive { "alive" } else { "ended" }
            ));
            if !alive {
                // The session is gone; the remaining tokens would prove nothing.
                break;
            }
        }
    }
    let outcome = if accepted.is_empty() {
        Outcome::passed("every bad logout token is answered 400 and the session lives on [P+]")
    } else {
        Outcome::failed(format!(
            "bad logout tokens not refused with 400: {}",
            accepted.join(", ")
        ))
    };
    evidence.into_iter().fold(outcome, Outcome::with)
}

/// O09: the same `jti` twice: the second should be refused (optional for RPs: a warning).
pub async fn o09_jti_replay(ctx: &Ctx) -> Outcome {
    if ctx.profile.client.backchannel_logout_uri.is_none() {
        return Outcome::skipped("the target declares no back-channel endpoint");
    }
    let mut first_browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    let (sid, _) = match participant(ctx).await {
        Ok(found) => found,
        Err(err) => return Outcome::broken(err),
    };
    let jti = format!("replayed-{sid}");
    let first = match logout_token(ctx, serde_json::json!({ "sid": sid, "jti": jti })).await {
        Ok(answer) => answer,
        Err(err) => return Outcome::broken(err),
    };
    let _ = ctx.logged_in(&mut first_browser).await;
    let mut second_browser = match logged_in_browser(ctx).await {
        Ok(browser) => browser,
        Err(err) => return Outcome::broken(err),
    };
    let (sid2, _) = match participant(ctx).await {
        Ok(found) => found,
        Err(err) => return Outcome::broken(err),
    };
    let replay = match logout_token(ctx, serde_json::json!({ "sid": sid2, "jti": jti })).await {
        Ok(answer) => answer,
        Err(err) => return Outcome::broken(err),
    };
    let evidence = format!(
        "[H] first jti: {}, the same jti again: {}",
        first["status"], replay["status"]
    );
    let still_in = matches!(ctx.logged_in(&mut second_browser).await, Ok((true, _)));
    if replay["status"] == 400 && still_in {
        Outcome::passed("a replayed jti is refused").with(evidence)
    } else {
        Outcome::new(
            Status::Warning,
            "a logout token with a jti seen before was accepted",
        )
        .with(evidence)
    }
}

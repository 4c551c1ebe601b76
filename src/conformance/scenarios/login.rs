//! L: the login itself.

use url::Url;

use crate::conformance::driver::Browser;
use crate::conformance::scenario::{Ctx, Outcome, Status};

fn query(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// L01: a valid code flow with state, nonce, PKCE S256 and the registered redirect URI.
pub async fn l01_valid_code_flow(ctx: &Ctx) -> Outcome {
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    let logged_in = match ctx.logged_in(&mut browser).await {
        Ok((logged_in, _)) => logged_in,
        Err(err) => return Outcome::broken(err),
    };
    let authorize = match ctx.sent("authorize").await {
        Ok(requests) => requests.into_iter().last(),
        Err(err) => return Outcome::broken(err),
    };
    let Some(authorize) = authorize else {
        return Outcome::failed("the broker saw no authorization request from this client");
    };
    let params = &authorize["params"];
    let mut missing = Vec::new();
    for name in ["state", "nonce", "code_challenge"] {
        if params[name].as_str().is_none_or(str::is_empty) {
            missing.push(name.to_string());
        }
    }
    if params["code_challenge_method"] != "S256" {
        missing.push("code_challenge_method=S256".into());
    }
    if params["redirect_uri"] != ctx.profile.client.redirect_uri.as_str() {
        missing.push(format!("redirect_uri {}", ctx.profile.client.redirect_uri));
    }
    let evidence = format!("[S] authorize parameters: {params}");
    match (logged_in, missing.is_empty()) {
        (true, true) => Outcome::passed("logged in through a complete code flow").with(evidence),
        (false, _) => {
            Outcome::failed("the protected page is not logged in after a valid login [P+]")
                .with(evidence)
        }
        (true, false) => Outcome::failed(format!(
            "the authorization request lacks {}",
            missing.join(", ")
        ))
        .with(evidence),
    }
}

/// L02: a callback with a tampered or missing state makes no session.
pub async fn l02_state_checked(ctx: &Ctx) -> Outcome {
    for (variant, tamper) in [("tampered", true), ("missing", false)] {
        let mut browser = Browser::new();
        let callback = match ctx.login_until_callback(&mut browser).await {
            Ok(callback) => callback,
            Err(err) => return Outcome::broken(err),
        };
        let Ok(mut url) = Url::parse(&callback) else {
            return Outcome::broken(format!("the callback `{callback}` is not a URL"));
        };
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "state")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let state = query(&callback, "state").unwrap_or_default();
        {
            let mut query = url.query_pairs_mut();
            query.clear().extend_pairs(&pairs);
            if tamper {
                query.append_pair("state", &format!("{state}x"));
            }
        }
        let page = match browser.get(url.as_str()).await {
            Ok(page) => page,
            Err(err) => return Outcome::broken(err),
        };
        if page.status.is_server_error() {
            return Outcome::failed(format!(
                "a {variant} state made the RP answer {}",
                page.status
            ));
        }
        let _ = browser.follow(page).await;
        match ctx.logged_in(&mut browser).await {
            Ok((true, _)) => {
                return Outcome::failed(format!(
                    "a callback with a {variant} state logged the citizen in [P−]"
                ))
                .with(format!("callback sent: {url}"))
            }
            Ok((false, _)) => {}
            Err(err) => return Outcome::broken(err),
        }
    }
    Outcome::passed("callbacks with a tampered or missing state make no session")
}

/// L04: the citizen cancels at the broker: the RP shows an error, makes no session, no 5xx.
pub async fn l04_access_denied(ctx: &Ctx) -> Outcome {
    let user = ctx.profile.citizens.user.clone();
    let script = serde_json::json!({ "behaviour": "abort" });
    if let Err(err) = ctx
        .broker
        .call(
            reqwest::Method::POST,
            &format!("/citizens/{user}/script"),
            Some(script),
        )
        .await
    {
        return Outcome::broken(err);
    }
    let mut browser = Browser::new();
    let callback = match ctx.login_until_callback(&mut browser).await {
        Ok(callback) => callback,
        Err(err) => return Outcome::broken(err),
    };
    if query(&callback, "error").as_deref() != Some("access_denied") {
        return Outcome::broken(format!(
            "the broker did not answer access_denied: {callback}"
        ));
    }
    let page = match browser.get(&callback).await {
        Ok(page) => page,
        Err(err) => return Outcome::broken(err),
    };
    let status = page.status;
    let _ = browser.follow(page).await;
    let evidence = format!("[H] the callback with error=access_denied answered {status}");
    if status.is_server_error() {
        return Outcome::failed("the RP answered access_denied with a server error [H]")
            .with(evidence);
    }
    match ctx.logged_in(&mut browser).await {
        Ok((false, _)) => {
            Outcome::passed("an aborted login is shown as an error, without a session")
                .with(evidence)
        }
        Ok((true, _)) => Outcome::failed("an aborted login left a session [P−]").with(evidence),
        Err(err) => Outcome::broken(err),
    }
}

/// L07: the session cookie is HttpOnly and SameSite (Secure over https); no tokens in URLs.
pub async fn l07_cookie_flags(ctx: &Ctx) -> Outcome {
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    let rp = ctx.profile.url("");
    let https = rp.starts_with("https://");
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for hop in browser.hops.iter().filter(|h| h.url.starts_with(&rp)) {
        for token in ["access_token=", "id_token=", "refresh_token="] {
            if hop.url.contains(token) || hop.location.as_deref().is_some_and(|l| l.contains(token))
            {
                problems.push(format!("a token in a URL: {}", hop.url));
            }
        }
    }
    let (_, page) = match ctx.logged_in(&mut browser).await {
        Ok(observed) => observed,
        Err(err) => return Outcome::broken(err),
    };
    let _ = page;
    let session_cookies: Vec<String> = browser
        .cookies_for(&rp)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let set_cookies = session_cookie_headers(&browser, &rp);
    for header in &set_cookies {
        let lower = header.to_ascii_lowercase();
        let name = header.split('=').next().unwrap_or_default();
        if !lower.contains("httponly") {
            problems.push(format!("cookie `{name}` is not HttpOnly"));
        }
        if !lower.contains("samesite") {
            warnings.push(format!("cookie `{name}` has no SameSite attribute"));
        }
        if https && !lower.contains("secure") {
            problems.push(format!("cookie `{name}` is not Secure over https"));
        }
    }
    let evidence = format!("[H] cookies: {session_cookies:?}; Set-Cookie seen: {set_cookies:?}");
    if !problems.is_empty() {
        Outcome::failed(problems.join("; ")).with(evidence)
    } else if !warnings.is_empty() {
        Outcome::new(Status::Warning, warnings.join("; ")).with(evidence)
    } else {
        Outcome::passed("session cookies are HttpOnly and SameSite; no tokens in URLs")
            .with(evidence)
    }
}

/// The Set-Cookie headers the RP sent during the run, replayed from the hops.
fn session_cookie_headers(browser: &Browser, rp: &str) -> Vec<String> {
    browser
        .responses
        .iter()
        .filter(|(url, _)| url.starts_with(rp))
        .flat_map(|(_, headers)| headers.clone())
        .collect()
}

/// L03: a callback replayed into another browser makes no session there.
pub async fn l03_callback_bound_to_browser(ctx: &Ctx) -> Outcome {
    let mut victim = Browser::new();
    let callback = match ctx.login_until_callback(&mut victim).await {
        Ok(callback) => callback,
        Err(err) => return Outcome::broken(err),
    };
    let mut attacker = Browser::new();
    let page = match attacker.get(&callback).await {
        Ok(page) => page,
        Err(err) => return Outcome::broken(err),
    };
    let status = page.status;
    let _ = attacker.follow(page).await;
    let evidence = format!("[H] the callback in a fresh browser answered {status}");
    match ctx.logged_in(&mut attacker).await {
        Ok((false, _)) if status.is_server_error() => Outcome::new(
            Status::Warning,
            "the replayed callback made no session, but the RP answered with a server error",
        )
        .with(evidence),
        Ok((false, _)) => {
            Outcome::passed("a callback replayed into another browser makes no session")
                .with(evidence)
        }
        Ok((true, _)) => {
            Outcome::failed("a callback replayed into another browser logged that browser in [P−]")
                .with(evidence)
        }
        Err(err) => Outcome::broken(err),
    }
}

/// L05: a wrong `iss` in the authorization response (RFC 9207) is refused. Clients may
/// ignore the parameter, so accepting it is a warning.
pub async fn l05_authorization_response_iss(ctx: &Ctx) -> Outcome {
    if let Err(err) = ctx
        .broker
        .inject_fault(ctx.client_id(), "authorization_response_wrong_iss")
        .await
    {
        return Outcome::broken(err);
    }
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    match ctx.logged_in(&mut browser).await {
        Ok((false, _)) => {
            Outcome::passed("an authorization response from a foreign iss is refused")
        }
        Ok((true, _)) => Outcome::new(
            Status::Warning,
            "an authorization response with iss=https://evil.example/op was accepted (RFC 9207)",
        ),
        Err(err) => Outcome::broken(err),
    }
}

/// L06: the session id changes at login (no session fixation).
pub async fn l06_session_id_changes(ctx: &Ctx) -> Outcome {
    let mut browser = Browser::new();
    let rp = ctx.profile.url("");
    if let Err(err) = browser
        .get(&ctx.profile.url(&ctx.profile.target.protected_path))
        .await
    {
        return Outcome::broken(err);
    }
    let before = browser.cookies_for(&rp);
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    let after = browser.cookies_for(&rp);
    let kept: Vec<String> = after
        .iter()
        .filter(|cookie| before.contains(cookie))
        .map(|(name, _)| name.clone())
        .collect();
    let evidence = format!(
        "[H] cookies before login: {:?}; after: {:?}",
        names(&before),
        names(&after)
    );
    if kept.is_empty() {
        Outcome::passed("no cookie from before the login survives it unchanged").with(evidence)
    } else {
        Outcome::failed(format!(
            "cookies {kept:?} keep their pre-login value after login (fixation)"
        ))
        .with(evidence)
    }
}

fn names(cookies: &[(String, String)]) -> Vec<String> {
    cookies.iter().map(|(name, _)| name.clone()).collect()
}

/// L08: the RP asked for a level (Substantial or High); an id_token at Low is refused.
pub async fn l08_assurance(ctx: &Ctx) -> Outcome {
    let mut probe = Browser::new();
    if let Err(err) = ctx.login(&mut probe).await {
        return Outcome::broken(err);
    }
    let asked = match ctx.sent("authorize").await {
        Ok(requests) => requests
            .last()
            .and_then(|r| r["params"]["idp_params"].as_str().map(str::to_string))
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
            .and_then(|p| p["mitid"]["loa_value"].as_str().map(str::to_string)),
        Err(err) => return Outcome::broken(err),
    };
    let Some(level) = asked else {
        return Outcome::new(
            Status::Warning,
            "the RP asks for no level of assurance (idp_params.mitid.loa_value), so any level is accepted",
        );
    };
    if let Err(err) = ctx.broker.inject_fault(ctx.client_id(), "loa_low").await {
        return Outcome::broken(err);
    }
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    let evidence = format!("[S] the RP asked loa_value={level}; the broker answered Low");
    match ctx.logged_in(&mut browser).await {
        Ok((false, _)) => {
            Outcome::passed("a login below the requested level is refused").with(evidence)
        }
        Ok((true, _)) => {
            Outcome::failed("the RP accepted Low although it asked for more [P−]").with(evidence)
        }
        Err(err) => Outcome::broken(err),
    }
}

/// L09: every persona class logs in without a server error.
pub async fn l09_persona_classes(ctx: &Ctx) -> Outcome {
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    for user in &ctx.profile.citizens.classes {
        let mut browser = Browser::new();
        let page = match ctx.login_as_until_callback(&mut browser, user).await {
            Ok(callback) => match browser.get(&callback).await {
                Ok(page) => page,
                Err(err) => return Outcome::broken(err),
            },
            Err(err) => return Outcome::broken(format!("{user}: {err}")),
        };
        let status = page.status;
        let _ = browser.follow(page).await;
        evidence.push(format!("[H] {user}: callback answered {status}"));
        if status.is_server_error() {
            problems.push(format!("{user}: the RP answered {status}"));
            continue;
        }
        match ctx.logged_in(&mut browser).await {
            Ok((true, _)) => {}
            Ok((false, _)) => problems.push(format!("{user}: not logged in [P+]")),
            Err(err) => return Outcome::broken(err),
        }
    }
    for uuid in &ctx.profile.citizens.professionals {
        match professional_logs_in(ctx, uuid).await {
            Ok((observed, problem)) => {
                evidence.extend(observed);
                problems.extend(problem);
            }
            Err(err) => return Outcome::broken(format!("professional identity {uuid}: {err}")),
        }
    }
    let outcome = if problems.is_empty() {
        Outcome::passed("every persona class logs in")
    } else {
        Outcome::failed(problems.join("; "))
    };
    evidence.into_iter().fold(outcome, Outcome::with)
}

/// L09 for a MitID Erhverv professional identity: the RP's MitID Erhverv login as it, then
/// the protected page. Returns the evidence and the problem, if there is one.
async fn professional_logs_in(
    ctx: &Ctx,
    uuid: &str,
) -> Result<(Vec<String>, Option<String>), String> {
    let user = ctx.broker.eid_of_professional(uuid).await?;
    let target = &ctx.profile.target;
    let path = target
        .professional_login_path
        .clone()
        .unwrap_or_else(|| target.login_path.clone());
    let mut browser = Browser::new();
    let callback = ctx
        .enter_until_callback_as(&mut browser, &path, &user, Some(uuid))
        .await?;
    // Only a request that offers MitID Erhverv makes this a professional login.
    let requests = ctx.broker.requests(ctx.client_id()).await?;
    let idp_values = requests
        .iter()
        .rev()
        .find(|r| r["endpoint"] == "authorize")
        .and_then(|r| r["params"]["idp_values"].as_str())
        .unwrap_or_default()
        .to_string();
    if !idp_values
        .split_whitespace()
        .any(|idp| idp == "mitid_erhverv")
    {
        return Err(format!(
            "the RP's login at {path} asked for idp_values `{idp_values}`, not mitid_erhverv: \
             declare where it starts a MitID Erhverv login (target.professional_login_path)"
        ));
    }
    let page = browser.get(&callback).await.map_err(|e| e.to_string())?;
    let status = page.status;
    let _ = browser.follow(page).await;
    let who = format!("professional {uuid} (MitID {user})");
    let mut evidence = vec![format!("[S] {who}: idp_values `{idp_values}`")];
    evidence.push(format!("[H] {who}: callback answered {status}"));
    if status.is_server_error() {
        return Ok((evidence, Some(format!("{who}: the RP answered {status}"))));
    }
    let problem = match ctx.logged_in(&mut browser).await? {
        (true, _) => None,
        (false, _) => Some(format!("{who}: not logged in [P+]")),
    };
    Ok((evidence, problem))
}

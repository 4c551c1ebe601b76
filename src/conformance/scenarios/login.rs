//! L: the login itself.

use reqwest::Method;

use crate::conformance::driver::{complete_broker_login, HeldCookie, Request, SiteState};
use crate::conformance::evidence;
use crate::conformance::profile::{AsksWith, Level as Loa};
use crate::conformance::scenario::{
    broker_error, Ctx, Level, LoginError, OrError, Outcome, Verdict,
};

/// The RP's newest authorization request as the broker recorded it.
async fn last_authorize(ctx: &Ctx) -> Result<Option<serde_json::Value>, Outcome> {
    Ok(ctx.sent("authorize").await?.into_iter().last())
}

/// L01: a valid code flow with state, nonce, PKCE S256 and the registered redirect URI.
pub async fn l01_valid_code_flow(ctx: &Ctx) -> Verdict {
    let mut browser = ctx.browser().await?;
    let landed = ctx.login(browser.as_mut()).await;
    let authorize = last_authorize(ctx).await?;
    let sent = authorize
        .as_ref()
        .map(|a| format!("[S] authorize: {}", evidence::params(&a["params"])))
        .unwrap_or_else(|| "[S] the broker saw no authorization request from this client".into());
    let landed = match landed {
        Ok(page) => page,
        Err(LoginError::Unreachable(err)) => return Err(Outcome::error(err)),
        Err(err) => {
            return Ok(Outcome::failed("a valid login does not complete")
                .with(sent)
                .with(format!("[H] {err}")))
        }
    };
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let landing = format!("[H] after the callback: {}", evidence::path(&landed));
    let Some(authorize) = authorize else {
        return Ok(
            Outcome::failed("the broker saw no authorization request from this client")
                .with(landing),
        );
    };
    if !seen.logged_in {
        return Ok(
            Outcome::failed("the protected page is not logged in after a valid login [P+]")
                .with(sent)
                .with(landing)
                .with(seen.line()),
        );
    }
    let params = &authorize["params"];
    let has = |name: &str| params[name].as_str().is_some_and(|v| !v.is_empty());
    let public = ctx.profile.client.client_secret.is_none();
    let mut must = Vec::new();
    let mut should = Vec::new();
    if params["code_challenge_method"] != "S256" || !has("code_challenge") {
        // RFC 9700 §2.1.1: PKCE MUST for public clients, SHOULD for confidential ones.
        let problem = "no PKCE with S256".to_string();
        if public {
            must.push(problem);
        } else {
            should.push(problem);
        }
    }
    if !has("state") {
        // CSRF protection is a MUST (RFC 6749 §10.12); PKCE provides it too.
        if has("code_challenge") {
            should.push("no state".into());
        } else {
            must.push("neither state nor PKCE (no CSRF protection)".into());
        }
    }
    if !has("nonce") {
        should.push("no nonce".into());
    }
    if params["redirect_uri"] != ctx.profile.client.redirect_uri.as_str() {
        must.push(format!(
            "redirect_uri is not the declared {}",
            ctx.profile.client.redirect_uri
        ));
    }
    let asked: Vec<&str> = params["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let mut declared: Vec<&str> = ctx
        .profile
        .client
        .scopes
        .iter()
        .map(String::as_str)
        .collect();
    declared.sort();
    let mut asked_sorted = asked.clone();
    asked_sorted.sort();
    if declared != asked_sorted {
        should.push(format!(
            "it asked for scope \"{}\", the profile declares client.scopes = [{}]",
            asked.join(" "),
            declared.join(", ")
        ));
    }
    let outcome = if !must.is_empty() {
        Outcome::failed(format!("the authorization request has {}", must.join("; ")))
    } else if !should.is_empty() {
        Outcome::warning(format!(
            "logged in, but the authorization request has {}",
            should.join("; ")
        ))
    } else {
        Outcome::passed(
            "logged in through a complete code flow (state, nonce, PKCE S256, registered redirect)",
        )
    };
    Ok(outcome.with(sent).with(landing).with(seen.line()))
}

/// L02: a callback with a tampered or missing state makes no session.
pub async fn l02_state_checked(ctx: &Ctx) -> Verdict {
    let mut evidence = Vec::new();
    for (variant, tamper) in [("tampered", true), ("missing", false)] {
        let mut browser = ctx.browser().await?;
        let callback = ctx
            .login_until_callback(browser.as_mut())
            .await
            .or_error_while("logging in")?;
        let state = callback.param("state").unwrap_or_default();
        let tampered_state = format!("{state}x");
        let sent = callback.with_param("state", tamper.then_some(tampered_state.as_str()));
        let visit = browser
            .open(sent.clone(), &ctx.before_broker())
            .await
            .or_error()?;
        evidence.push(format!(
            "[H] {variant} state: {}",
            evidence::sent(&sent, &visit)
        ));
        let seen = ctx.observe(browser.as_mut()).await.or_error()?;
        evidence.push(seen.line());
        if seen.logged_in {
            return Ok(Outcome::failed(format!(
                "a callback with a {variant} state logged the citizen in [P−]"
            ))
            .with_all(evidence));
        }
    }
    Ok(
        Outcome::passed("callbacks with a tampered or missing state make no session")
            .with_all(evidence),
    )
}

/// L03: a callback replayed into another browser makes no session there.
pub async fn l03_callback_bound_to_browser(ctx: &Ctx) -> Verdict {
    let mut victim = ctx.browser().await?;
    let callback = ctx
        .login_until_callback(victim.as_mut())
        .await
        .or_error_while("logging in")?;
    let mut attacker = ctx.browser().await?;
    let visit = attacker
        .open(callback.clone(), &ctx.before_broker())
        .await
        .or_error()?;
    let answered = format!(
        "[H] the callback in a fresh browser: {}",
        evidence::sent(&callback, &visit)
    );
    let server_error = visit.first_failed();
    let seen = ctx.observe(attacker.as_mut()).await.or_error()?;
    let outcome = match (seen.logged_in, server_error) {
        (true, _) => {
            Outcome::failed("a callback replayed into another browser logged that browser in [P−]")
        }
        (false, true) => Outcome::warning(
            "the replayed callback made no session, but the RP answered it with a server error",
        ),
        (false, false) => {
            Outcome::passed("a callback replayed into another browser makes no session")
        }
    };
    Ok(outcome.with(answered).with(seen.line()))
}

/// L04: the citizen cancels at the broker: the RP shows an error, makes no session, no 5xx.
pub async fn l04_access_denied(ctx: &Ctx) -> Verdict {
    let user = ctx.profile.citizens.user.clone();
    let script = format!("/citizens/{user}/script");
    ctx.broker
        .call(
            Method::POST,
            &script,
            Some(serde_json::json!({ "behaviour": "abort" })),
        )
        .await
        .or_error()?;
    let mut browser = ctx.browser().await?;
    let callback = ctx.login_until_callback(browser.as_mut()).await;
    let _ = ctx.broker.call(Method::DELETE, &script, None).await;
    let callback = callback.or_error_while("starting the login the citizen cancels")?;
    if callback.param("error").as_deref() != Some("access_denied") {
        return Err(Outcome::error(format!(
            "the broker did not answer access_denied: {}",
            evidence::request(&callback)
        )));
    }
    let visit = browser
        .open(callback.clone(), &ctx.before_broker())
        .await
        .or_error()?;
    let callback_failed = visit.first_failed();
    let answered = format!("[H] the callback: {}", evidence::sent(&callback, &visit));
    let final_page = visit.page;
    let shown = format!(
        "[H] the citizen ends on {}",
        evidence::exchange(&final_page)
    );
    if final_page.status.is_server_error() || callback_failed {
        return Ok(
            Outcome::failed("the RP answered access_denied with a server error [H]")
                .with(answered)
                .with(shown),
        );
    }
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let outcome = if seen.logged_in {
        Outcome::failed("an aborted login left a session [P−]")
    } else {
        Outcome::passed("an aborted login is shown as an error, without a session")
    };
    Ok(outcome.with(answered).with(shown).with(seen.line()))
}

/// L05: a wrong `iss` in the authorization response (RFC 9207) is refused. Clients may
/// ignore the parameter, so accepting it is a warning.
pub async fn l05_authorization_response_iss(ctx: &Ctx) -> Verdict {
    ctx.broker
        .inject_fault(ctx.client_id(), "authorization_response_wrong_iss")
        .await
        .or_error()?;
    let mut browser = ctx.browser().await?;
    let callback = ctx
        .login_until_callback(browser.as_mut())
        .await
        .or_error_while("logging in")?;
    let visit = browser
        .open(callback.clone(), &ctx.before_broker())
        .await
        .or_error()?;
    let answered = format!(
        "[H] the callback naming another issuer: {}",
        evidence::sent(&callback, &visit)
    );
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let outcome = if seen.logged_in {
        Outcome::violated(
            Level::Should,
            "an authorization response naming another issuer (iss) was accepted (RFC 9207)",
        )
    } else {
        Outcome::passed("an authorization response naming another issuer is refused")
    };
    Ok(outcome.with(answered).with(seen.line()))
}

/// L06: no session fixation. Everything the browser holds for the RP when it reaches the
/// broker — cookies the RP set before or at the login start, cookies an attacker planted
/// under the names the RP's session cookies have, web storage — is handed to an attacker's
/// browser after the victim logged in: it must not be logged in.
pub async fn l06_session_id_changes(ctx: &Ctx) -> Verdict {
    let rp = ctx.profile.url("/");
    let mut probe = ctx.logged_in_browser().await?;
    let session_names: Vec<String> = probe
        .state(&rp)
        .await
        .or_error()?
        .cookies
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    drop(probe);
    let mut victim = ctx.browser().await?;
    let planted: Vec<(String, String)> = session_names
        .iter()
        .map(|name| {
            (
                name.clone(),
                format!("kit-planted-{}", crate::random::short_id()),
            )
        })
        .collect();
    victim
        .restore(&rp, &SiteState::cookies(planted.clone()))
        .await
        .or_error()?;
    // The protected page first, as a citizen arrives: the RP may set cookies there.
    victim
        .open(
            Request::get(ctx.profile.url(&ctx.profile.target.protected_path)),
            &ctx.before_broker(),
        )
        .await
        .or_error()?;
    let at_broker = ctx
        .until_broker(victim.as_mut(), &ctx.profile.target.login_path.clone())
        .await
        .or_error_while("starting the login")?;
    let pre_login = victim.state(&rp).await.or_error()?;
    let (callback, _) = complete_broker_login(
        victim.as_mut(),
        at_broker,
        ctx.broker.base_url(),
        &ctx.profile.citizens.user,
    )
    .await
    .or_error_while("logging in")?;
    if let Some(refusal) = broker_error(&callback) {
        return Err(Outcome::error(refusal));
    }
    victim
        .open(callback, &ctx.before_broker())
        .await
        .or_error()?;
    let victim_seen = ctx.observe(victim.as_mut()).await.or_error()?;
    if !victim_seen.logged_in {
        return Err(Outcome::error(format!(
            "the victim's login did not take: {}",
            victim_seen.line()
        )));
    }
    let after = victim.state(&rp).await.or_error()?;
    let mut attacker = ctx.browser().await?;
    attacker.restore(&rp, &pre_login).await.or_error()?;
    let seen = ctx.observe(attacker.as_mut()).await.or_error()?;
    let held = format!(
        "[H] held for the RP when the browser reached the broker: {} (planted cookies: {}); after the login: {}",
        pre_login.describe(),
        names(&planted),
        after.describe()
    );
    let attacker_line = format!(
        "an attacker's browser holding only what was there before the login: {}",
        seen.line()
    );
    let outcome = if seen.logged_in {
        Outcome::failed(
            "what the browser held before the login opens the logged-in session (session fixation)",
        )
    } else {
        Outcome::passed("what the browser held before the login does not open the session it made")
    };
    Ok(outcome.with(held).with(attacker_line))
}

fn names(cookies: &[(String, String)]) -> String {
    if cookies.is_empty() {
        return "none".into();
    }
    cookies
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// L07: the session cookies are HttpOnly and SameSite (Secure over https); no tokens in
/// URLs; no tokens in localStorage. A session cookie is one the RP set that the browser
/// still holds after the login (a `Set-Cookie` that deletes a cookie is none).
pub async fn l07_cookie_flags(ctx: &Ctx) -> Verdict {
    let mut browser = ctx.logged_in_browser().await?;
    let rp = ctx.profile.url("/");
    let https = rp.starts_with("https://");
    let mut must = Vec::new();
    let mut should = Vec::new();
    for hop in browser.hops().iter().filter(|h| h.url.starts_with(&rp)) {
        for token in ["access_token=", "id_token=", "refresh_token="] {
            if hop.url.contains(token) || hop.location.as_deref().is_some_and(|l| l.contains(token))
            {
                must.push(format!("a token in a URL: {}", evidence::url(&hop.url)));
            }
        }
    }
    let cookies = browser.session_cookies(&rp).await.or_error()?;
    let mut judged = Vec::new();
    for cookie in &cookies {
        let name = &cookie.name;
        judged.push(describe(cookie));
        if !cookie.http_only {
            must.push(format!("cookie `{name}` is not HttpOnly"));
        }
        if cookie.same_site.is_none() {
            should.push(format!("cookie `{name}` has no SameSite attribute"));
        }
        if https && !cookie.secure {
            must.push(format!("cookie `{name}` is not Secure over https"));
        }
    }
    let mut lines = vec![if judged.is_empty() {
        "[H] the RP set no cookie during the login that the browser still holds".to_string()
    } else {
        format!("[H] session cookies after the login: {}", judged.join("; "))
    }];
    let state = browser.state(&rp).await.or_error()?;
    for (key, value) in &state.local_storage {
        let found = tokens_in(value);
        if !found.is_empty() {
            should.push(format!(
                "tokens ({}) kept in localStorage `{key}`, where every script of the origin reads them and they outlive the tab (ASVS 3.2.3: secured cookies or sessionStorage)",
                found.join(", ")
            ));
        }
    }
    for (key, value) in &state.session_storage {
        let found = tokens_in(value);
        if !found.is_empty() {
            lines.push(format!(
                "[H] tokens ({}) kept in sessionStorage `{key}` (ASVS 3.2.3 allows it)",
                found.join(", ")
            ));
        }
    }
    if !state.local_storage.is_empty() || !state.session_storage.is_empty() {
        lines.push(format!(
            "[H] web storage after the login: {}",
            state.describe()
        ));
    }
    let outcome = if !must.is_empty() {
        Outcome::failed(must.join("; "))
    } else if !should.is_empty() {
        Outcome::violated(Level::Should, should.join("; "))
    } else {
        Outcome::passed(
            "session cookies are HttpOnly and SameSite; no tokens in URLs or localStorage",
        )
    };
    Ok(outcome.with_all(lines))
}

/// The tokens a stored value holds: members named like OAuth tokens, and JWTs anywhere.
fn tokens_in(value: &str) -> Vec<String> {
    fn walk(value: &serde_json::Value, found: &mut Vec<String>, depth: usize) {
        if depth > 4 {
            return;
        }
        match value {
            serde_json::Value::Object(members) => {
                for (name, member) in members {
                    let named =
                        ["access_token", "id_token", "refresh_token"].contains(&name.as_str());
                    if named && member.as_str().is_some_and(|t| !t.is_empty()) {
                        found.push(name.clone());
                    } else {
                        walk(member, found, depth + 1);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, found, depth + 1);
                }
            }
            serde_json::Value::String(text) if looks_like_jwt(text) => found.push("a JWT".into()),
            _ => {}
        }
    }
    let mut found = Vec::new();
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(parsed) => walk(&parsed, &mut found, 0),
        Err(_) if looks_like_jwt(value.trim()) => found.push("a JWT".into()),
        Err(_) => {}
    }
    found.dedup();
    found
}

/// Three dot-separated parts whose first is a JSON header naming an `alg`.
fn looks_like_jwt(text: &str) -> bool {
    use base64::Engine;
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 3 || !parts[0].starts_with("eyJ") {
        return false;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|header| serde_json::from_slice::<serde_json::Value>(&header).ok())
        .is_some_and(|header| header.get("alg").is_some())
}

fn describe(cookie: &HeldCookie) -> String {
    let mut flags = Vec::new();
    if cookie.http_only {
        flags.push("HttpOnly".to_string());
    }
    if cookie.secure {
        flags.push("Secure".to_string());
    }
    if let Some(same_site) = &cookie.same_site {
        flags.push(format!("SameSite={same_site}"));
    }
    let flags = if flags.is_empty() {
        "no flags".to_string()
    } else {
        flags.join(", ")
    };
    format!("{} ({flags})", cookie.name)
}

/// L08: the RP requires a level (Substantial or High): an id_token at Low is refused,
/// however the RP asks for its level (`idp_params`, `acr_values` or not at all).
pub async fn l08_assurance(ctx: &Ctx) -> Verdict {
    let Some(assurance) = ctx.profile.assurance.clone() else {
        return Ok(Outcome::skipped(
            "the profile declares no level of assurance: add [assurance] required = \"substantial\" and asks_with = \"idp_params\" | \"acr_values\" | \"nothing\"",
        ));
    };
    if assurance.required == Loa::Low {
        return Ok(Outcome::skipped(
            "the RP requires Low (assurance.required): there is no lower level to refuse",
        ));
    }
    let _probe = ctx.logged_in_browser().await?;
    let authorize = last_authorize(ctx).await?.unwrap_or_default();
    let params = &authorize["params"];
    let asked = asked_level(params, assurance.asks_with);
    let mut evidence = vec![format!(
        "[S] the RP requires {} and asks with {}: {}",
        assurance.required.name(),
        assurance.asks_with.name(),
        match (&asked, assurance.asks_with) {
            (_, AsksWith::Nothing) => "it relies on the broker's default".to_string(),
            (Some(level), _) => format!("it asked for {}", level.name()),
            (None, with) => format!("no level found in {}", with.name()),
        }
    )];
    let mut should = Vec::new();
    match (assurance.asks_with, asked) {
        (AsksWith::Nothing, _) => {}
        (with, None) => should.push(format!(
            "the authorization request carries no level in {} although the profile says it asks that way",
            with.name()
        )),
        (_, Some(level)) if level < assurance.required => should.push(format!(
            "it asks for {} but requires {}: citizens logging in at {} are turned away afterwards",
            level.name(),
            assurance.required.name(),
            level.name()
        )),
        _ => {}
    }
    ctx.broker
        .inject_fault(ctx.client_id(), "loa_low")
        .await
        .or_error()?;
    let mut browser = ctx.browser().await?;
    let callback = ctx
        .login_until_callback(browser.as_mut())
        .await
        .or_error_while("logging in")?;
    let visit = browser
        .open(callback, &ctx.before_broker())
        .await
        .or_error()?;
    evidence.push(format!(
        "[H] callback with an id_token at loa=Low: {}",
        evidence::first_answer(&visit)
    ));
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    evidence.push(seen.line());
    let outcome = if seen.logged_in {
        Outcome::failed(format!(
            "the RP accepted an id_token at Low although it requires {} [P−]",
            assurance.required.name()
        ))
    } else if !should.is_empty() {
        Outcome::violated(Level::Should, should.join("; "))
    } else {
        Outcome::passed("a login below the required level is refused")
    };
    Ok(outcome.with_all(evidence))
}

/// The level an authorization request asks for, the way the RP says it asks.
fn asked_level(params: &serde_json::Value, with: AsksWith) -> Option<Loa> {
    match with {
        AsksWith::IdpParams => {
            let idp_params: serde_json::Value =
                serde_json::from_str(params["idp_params"].as_str()?).ok()?;
            Loa::parse(idp_params["mitid"]["loa_value"].as_str()?)
        }
        AsksWith::AcrValues => params["acr_values"]
            .as_str()?
            .split_whitespace()
            .filter_map(Loa::parse)
            .min(),
        AsksWith::Nothing => None,
    }
}

/// L09: every persona class logs in without a server error.
pub async fn l09_persona_classes(ctx: &Ctx) -> Verdict {
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    for user in &ctx.profile.citizens.classes {
        let mut browser = ctx.browser().await?;
        let callback = ctx
            .login_as_until_callback(browser.as_mut(), user)
            .await
            .or_error_while(&format!("logging in as {user}"))?;
        if let Some(refusal) = broker_error(&callback) {
            return Err(Outcome::error(format!("{user}: {refusal}")));
        }
        let visit = browser
            .open(callback, &ctx.before_broker())
            .await
            .or_error()?;
        evidence.push(format!(
            "[H] {user}: callback {}",
            evidence::first_answer(&visit)
        ));
        if let Some(failed) = visit.hops.iter().find(|h| h.status >= 500) {
            problems.push(format!("{user}: the RP answered {}", failed.status));
            continue;
        }
        let seen = ctx.observe(browser.as_mut()).await.or_error()?;
        if !seen.logged_in {
            problems.push(format!("{user}: not logged in [P+]"));
            evidence.push(seen.line());
        }
    }
    for uuid in &ctx.profile.citizens.professionals {
        let (observed, problem) = professional_logs_in(ctx, uuid).await?;
        evidence.extend(observed);
        problems.extend(problem);
    }
    let mut classes = ctx.profile.citizens.classes.clone();
    classes.extend(
        ctx.profile
            .citizens
            .professionals
            .iter()
            .map(|uuid| format!("professional {uuid}")),
    );
    let outcome = if problems.is_empty() {
        Outcome::passed(format!(
            "every persona class logs in ({})",
            classes.join(", ")
        ))
    } else {
        Outcome::failed(problems.join("; "))
    };
    Ok(outcome.with_all(evidence))
}

/// L09 for a MitID Erhverv professional identity: the RP's MitID Erhverv login as it, then
/// the protected page. Returns the evidence and the problem, if there is one; an ERROR when
/// the kit cannot carry the login out (the identity unknown, the RP not offering MitID
/// Erhverv where the profile says it does).
async fn professional_logs_in(
    ctx: &Ctx,
    uuid: &str,
) -> Result<(Vec<String>, Option<String>), Outcome> {
    let doing = format!("logging in as professional identity {uuid}");
    let user = ctx
        .broker
        .eid_of_professional(uuid)
        .await
        .or_error_while(&doing)?;
    let target = &ctx.profile.target;
    let path = target
        .professional_login_path
        .clone()
        .unwrap_or_else(|| target.login_path.clone());
    let mut browser = ctx.browser().await?;
    let callback = ctx
        .enter_until_callback_as(browser.as_mut(), &path, &user, Some(uuid))
        .await
        .or_error_while(&doing)?;
    // Only a request that offers MitID Erhverv makes this a professional login.
    let requests = ctx
        .broker
        .requests(ctx.client_id())
        .await
        .or_error_while(&doing)?;
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
        return Err(Outcome::error(format!(
            "{doing}: the RP's login at {path} asked for idp_values `{idp_values}`, not \
             mitid_erhverv; declare where it starts a MitID Erhverv login \
             (target.professional_login_path)"
        )));
    }
    let who = format!("professional {uuid} (MitID {user})");
    if let Some(refusal) = broker_error(&callback) {
        return Err(Outcome::error(format!("{who}: {refusal}")));
    }
    let visit = browser
        .open(callback, &ctx.before_broker())
        .await
        .or_error()?;
    let mut evidence = vec![
        format!("[S] {who}: idp_values `{idp_values}`"),
        format!("[H] {who}: callback {}", evidence::first_answer(&visit)),
    ];
    if let Some(failed) = visit.hops.iter().find(|h| h.status >= 500) {
        let problem = format!("{who}: the RP answered {}", failed.status);
        return Ok((evidence, Some(problem)));
    }
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    if seen.logged_in {
        return Ok((evidence, None));
    }
    evidence.push(seen.line());
    Ok((evidence, Some(format!("{who}: not logged in [P+]"))))
}

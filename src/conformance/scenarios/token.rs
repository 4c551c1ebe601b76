//! T: the broker breaks one property of the id_token (or of userinfo, or of discovery);
//! the RP must refuse it [P−] and go no further [N].

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::conformance::evidence;
use crate::conformance::restart::restart;
use crate::conformance::scenario::{broker_error, Ctx, Level, OrError, Outcome, Verdict};

/// How the RP took one broken token.
enum Taken {
    Refused,
    /// Refused, but with a 5xx.
    RefusedWithServerError,
    Accepted,
    /// The fault never reached the RP (it made no call that carries it).
    NotExercised,
}

/// Logs in once with `fault` injected; returns how the RP took it, with evidence.
async fn take(ctx: &Ctx, fault: &str) -> Result<(Taken, Vec<String>), Outcome> {
    ctx.broker
        .inject_fault(ctx.client_id(), fault)
        .await
        .or_error()?;
    let mut browser = ctx.browser().await?;
    let callback = ctx
        .login_until_callback(browser.as_mut())
        .await
        .or_error_while(&format!("logging in with fault {fault}"))?;
    if let Some(refusal) = broker_error(&callback) {
        return Err(Outcome::error(refusal));
    }
    let visit = browser
        .open(callback.clone(), &ctx.before_broker())
        .await
        .or_error()?;
    let callback_answer = evidence::sent(&callback, &visit);
    let server_error = visit.first_failed();
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let requests = ctx.broker.requests(ctx.client_id()).await.or_error()?;
    // Only what followed this login's token request counts.
    let last_token = requests
        .iter()
        .rposition(|r| r["endpoint"] == "token")
        .map_or(requests.len(), |i| i + 1);
    let userinfo_after = requests[last_token..]
        .iter()
        .filter(|r| r["endpoint"] == "userinfo")
        .count();
    let pending: Vec<String> = ctx
        .broker
        .call(Method::GET, &format!("/clients/{}", ctx.client_id()), None)
        .await
        .or_error()?["pending_faults"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    // Faults are used up by the login; clear leftovers so the next check starts clean.
    ctx.broker.clear_faults(ctx.client_id()).await.or_error()?;
    let mut lines = vec![format!(
        "[H] {fault}: callback {callback_answer}; {}",
        seen.line()
    )];
    if pending.iter().any(|p| p == fault) {
        lines.push(format!(
            "[N] {fault}: the RP made no call that carries this fault (it did not call userinfo), so it is not judged"
        ));
        return Ok((Taken::NotExercised, lines));
    }
    let userinfo_fault = fault.starts_with("userinfo_");
    if userinfo_after > 0 && !userinfo_fault {
        lines.push(format!(
            "[N] {fault}: the RP went on to call userinfo {userinfo_after} time(s) with the broken token's access token"
        ));
    }
    let refused = !seen.logged_in && (userinfo_fault || userinfo_after == 0);
    let taken = match (refused, server_error) {
        (false, _) => Taken::Accepted,
        (true, true) => Taken::RefusedWithServerError,
        (true, false) => Taken::Refused,
    };
    Ok((taken, lines))
}

/// Runs each fault at its requirement level: a MUST fails the scenario, a SHOULD warns.
async fn judge(ctx: &Ctx, faults: &[(&str, Level)], passed: &str) -> Verdict {
    let mut failed = Vec::new();
    let mut warned = Vec::new();
    let mut evidence = Vec::new();
    let mut judged = 0;
    for (fault, level) in faults {
        let (taken, lines) = take(ctx, fault).await?;
        evidence.extend(lines);
        match taken {
            Taken::Refused => judged += 1,
            Taken::NotExercised => {}
            Taken::RefusedWithServerError => {
                judged += 1;
                warned.push(format!("{fault} (refused, but with a server error)"));
            }
            Taken::Accepted => {
                judged += 1;
                match level {
                    Level::Must => failed.push(fault.to_string()),
                    Level::Should => warned.push(fault.to_string()),
                }
            }
        }
    }
    let outcome = if !failed.is_empty() {
        Outcome::failed(format!("accepted an id_token with {}", failed.join(", ")))
    } else if !warned.is_empty() {
        Outcome::warning(format!("took badly: {}", warned.join(", ")))
    } else if judged == 0 {
        Outcome::skipped("none of the faults reached the RP")
    } else {
        Outcome::passed(passed)
    };
    Ok(outcome.with_all(evidence))
}

pub async fn t01_nonce(ctx: &Ctx) -> Verdict {
    judge(
        ctx,
        &[("wrong_nonce", Level::Must), ("missing_nonce", Level::Must)],
        "a wrong or missing nonce is refused",
    )
    .await
}

pub async fn t02_iss(ctx: &Ctx) -> Verdict {
    judge(
        ctx,
        &[("wrong_iss", Level::Must)],
        "a foreign issuer is refused",
    )
    .await
}

/// A wrong or missing audience is a MUST; an extra, untrusted audience beside the
/// client's own (with `azp` = the client) only the RP can judge: a SHOULD.
pub async fn t03_aud(ctx: &Ctx) -> Verdict {
    judge(
        ctx,
        &[
            ("wrong_aud", Level::Must),
            ("missing_aud", Level::Must),
            ("extra_aud", Level::Should),
        ],
        "a wrong, missing or extra audience is refused",
    )
    .await
}

pub async fn t04_times(ctx: &Ctx) -> Verdict {
    judge(
        ctx,
        &[
            ("expired", Level::Must),
            ("missing_iat", Level::Must),
            ("iat_in_future", Level::Should),
        ],
        "expired tokens, tokens without iat and tokens issued in the future are refused",
    )
    .await
}

pub async fn t05_alg_none(ctx: &Ctx) -> Verdict {
    judge(
        ctx,
        &[("alg_none", Level::Must)],
        "an unsigned (alg none) id_token is refused",
    )
    .await
}

/// Over TLS from the token endpoint a bad signature may go unchecked (OIDC Core
/// §3.1.3.7 item 6): a SHOULD; HMAC keyed with the public key is algorithm misuse: a MUST.
pub async fn t06_signature(ctx: &Ctx) -> Verdict {
    judge(
        ctx,
        &[
            ("hs256_with_public_key", Level::Must),
            ("bad_signature", Level::Should),
        ],
        "bad signatures and HS256 keyed with the public key are refused",
    )
    .await
}

/// T07: after a key rotation the RP fetches the JWKS again and logs in; a key that is not
/// in the JWKS is a bad signature (a SHOULD, as T06).
pub async fn t07_key_rotation(ctx: &Ctx) -> Verdict {
    ctx.broker
        .call(Method::POST, "/keys/rotate", None)
        .await
        .or_error()?;
    let mut browser = ctx.browser().await?;
    let rotated = ctx.login(browser.as_mut()).await;
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let line = format!(
        "[P+] after POST /admin/keys/rotate, a login: {}",
        seen.line()
    );
    if rotated.is_err() || !seen.logged_in {
        let mut outcome = Outcome::failed(
            "after a key rotation the RP did not accept tokens signed with the new key [P+]",
        )
        .with(line);
        if let Err(err) = rotated {
            outcome = outcome.with(format!("[H] {err}"));
        }
        return Ok(outcome);
    }
    let verdict = judge(
        ctx,
        &[("unknown_kid", Level::Should)],
        "new keys are fetched; a key the JWKS does not have is refused",
    )
    .await?;
    let mut evidence = vec![line];
    evidence.extend(verdict.evidence.clone());
    Ok(Outcome {
        evidence,
        ..verdict
    })
}

/// T08: an id_token without `sub`, and a userinfo `sub` that differs from the id_token's
/// (OIDC Core §5.3.2: MUST NOT be used). The userinfo part needs an RP that calls
/// userinfo during the login; otherwise it is not judged.
pub async fn t08_sub(ctx: &Ctx) -> Verdict {
    judge(
        ctx,
        &[
            ("missing_sub", Level::Must),
            ("userinfo_other_sub", Level::Must),
        ],
        "an id_token without sub and a userinfo sub that differs are refused",
    )
    .await
}

/// T09: the broker consistently acts as another issuer (discovery, id_token `iss`,
/// authorization-response `iss`): only an RP that compares discovery with the issuer it
/// was configured with notices. RP libraries cache discovery, hence the restart.
pub async fn t09_discovery_issuer(ctx: &Ctx) -> Verdict {
    let Some(command) = ctx.profile.target.restart_command.clone() else {
        return Ok(Outcome::skipped(
            "the profile gives no target.restart_command: RP libraries cache discovery until a restart",
        ));
    };
    const OTHER: &str = "https://other-issuer.example/op";
    ctx.broker.act_as_issuer(Some(OTHER)).await.or_error()?;
    let mut evidence = vec![format!(
        "[S] the broker announces issuer {OTHER} in discovery, id_tokens and authorization responses"
    )];
    let attempt = async {
        let restarted = restart(&ctx.profile, &command).await;
        let started = match restarted {
            Ok(line) => {
                evidence.push(format!("[H] {line}"));
                true
            }
            Err(cause) => {
                evidence.push(format!("[H] with the other issuer: {cause}"));
                false
            }
        };
        if !started {
            return Ok::<Option<bool>, String>(None);
        }
        let mut browser = ctx.browser().await.map_err(|outcome| outcome.summary)?;
        match ctx.login(browser.as_mut()).await {
            Ok(visit) => evidence.push(format!("[H] login: {}", evidence::exchange(&visit.page))),
            // An RP that refuses the discovery document may not even start the login.
            Err(err) => evidence.push(format!("[H] login: {err}")),
        }
        let seen = ctx
            .observe(browser.as_mut())
            .await
            .map_err(|e| e.to_string())?;
        evidence.push(seen.line());
        Ok(Some(seen.logged_in))
    }
    .await;
    // Put the real issuer back, and the RP on it, whatever happened.
    ctx.broker.act_as_issuer(None).await.or_error()?;
    let back = restart(&ctx.profile, &command)
        .await
        .or_error_while("restarting the RP on the broker's real discovery")?;
    evidence.push(format!("[H] back on the real issuer: {back}"));
    let outcome = match attempt.or_error()? {
        Some(true) => Outcome::failed(
            "the RP logged in although discovery named another issuer than the one it was configured with [P−]",
        ),
        Some(false) => Outcome::passed("a discovery document naming another issuer is refused"),
        // It came back on the real discovery: it refused to run on the other one.
        None => Outcome::passed("the RP would not start while discovery named another issuer"),
    };
    Ok(outcome.with_all(evidence))
}

/// T10: at the sensitive action, after the declared maximum login age, an `auth_time`
/// older than that is refused (OIDC Core §3.1.3.7 item 13: a SHOULD).
pub async fn t10_auth_time(ctx: &Ctx) -> Verdict {
    let (path, marker, max_age) = match sensitive(ctx) {
        Ok(found) => found,
        Err(skipped) => return Ok(skipped),
    };
    let mut browser = ctx.logged_in_browser().await?;
    let until = Instant::now() + Duration::from_secs(max_age + 1);
    if let Some(seen) = ctx
        .keep_alive(browser.as_mut(), until, "past max_login_age_seconds")
        .await?
    {
        return Err(Outcome::error(format!(
            "the session ended while the kit waited past max_login_age_seconds: {}",
            seen.line()
        )));
    }
    ctx.broker
        .inject_fault(ctx.client_id(), "stale_auth_time")
        .await
        .or_error()?;
    let user = ctx.profile.citizens.user.clone();
    let callback = match ctx
        .enter_until_callback(browser.as_mut(), &path, &user)
        .await
    {
        Ok(callback) => callback,
        // No re-authentication at all: S06 judges that.
        Err(err) => {
            return Ok(Outcome::skipped(
                "the sensitive action asks for no new authentication (see S06)",
            )
            .with(format!("[H] {err}")))
        }
    };
    let page = browser
        .open(callback, &ctx.before_broker())
        .await
        .or_error()?
        .page;
    let line = format!(
        "[H] the re-authentication came back with auth_time a day old: {}",
        evidence::exchange(&page)
    );
    let granted = page.status.is_success() && page.shows(&marker);
    let outcome = if granted {
        Outcome::violated(
            Level::Should,
            format!("the sensitive action accepted an auth_time a day old; it declares max_login_age_seconds = {max_age}"),
        )
    } else {
        Outcome::passed("a stale auth_time is refused at the sensitive action")
    };
    Ok(outcome.with(line))
}

/// The sensitive page, its marker and the declared maximum login age, or SKIPPED naming
/// the missing key.
pub fn sensitive(ctx: &Ctx) -> Result<(String, String, u64), Outcome> {
    let target = &ctx.profile.target;
    let Some(path) = target.sensitive_path.clone() else {
        return Err(Outcome::skipped(
            "the profile declares no target.sensitive_path",
        ));
    };
    let Some(marker) = target.sensitive_marker.clone() else {
        return Err(Outcome::skipped(
            "the profile declares no target.sensitive_marker (the text the sensitive page shows once granted)",
        ));
    };
    let Some(max_age) = ctx.profile.sessions.max_login_age_seconds else {
        return Err(Outcome::skipped(
            "the profile declares no sessions.max_login_age_seconds (the oldest login the sensitive page accepts)",
        ));
    };
    if max_age + 2 > ctx.profile.sessions.max_wait_seconds {
        return Err(Outcome::skipped(format!(
            "max_login_age_seconds ({max_age} s) is longer than sessions.max_wait_seconds ({})",
            ctx.profile.sessions.max_wait_seconds
        )));
    }
    Ok((path, marker, max_age))
}

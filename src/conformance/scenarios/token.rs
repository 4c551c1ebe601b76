//! T: the broker breaks the id_token; the RP must refuse it [P−] and go no further [N].

use reqwest::Method;

use crate::conformance::driver::Browser;
use crate::conformance::scenario::{Ctx, Outcome, Status};

/// Logs in once with `fault` injected; returns whether the RP refused, with evidence.
async fn refused_with(ctx: &Ctx, fault: &str) -> Result<(bool, Vec<String>), String> {
    ctx.broker.inject_fault(ctx.client_id(), fault).await?;
    let mut browser = Browser::new();
    let callback = ctx.login_until_callback(&mut browser).await?;
    let page = browser.get(&callback).await.map_err(|e| e.to_string())?;
    let callback_status = page.status;
    let _ = browser.follow(page).await;
    let (logged_in, _) = ctx.logged_in(&mut browser).await?;
    let requests = ctx.broker.requests(ctx.client_id()).await?;
    // Only what followed this login's token request counts (an earlier login may have
    // called userinfo legitimately).
    let last_token = requests
        .iter()
        .rposition(|r| r["endpoint"] == "token")
        .map_or(requests.len(), |i| i + 1);
    let after_token: Vec<String> = requests[last_token..]
        .iter()
        .filter(|r| r["endpoint"] == "userinfo")
        .map(|r| format!("{} {}", r["method"], r["endpoint"]))
        .collect();
    let mut evidence = vec![format!(
        "[H] fault `{fault}`: the callback answered {callback_status}"
    )];
    if callback_status.is_server_error() {
        evidence.push("[H] the RP answered the broken token with a server error".into());
    }
    if !after_token.is_empty() {
        evidence.push(format!(
            "[N] the RP went on to call {after_token:?} with the broken token"
        ));
    }
    let refused = !logged_in && after_token.is_empty() && !callback_status.is_server_error();
    // Faults are used up by the login; clear leftovers so the next check starts clean.
    let _ = ctx
        .broker
        .call(
            Method::DELETE,
            &format!("/clients/{}/faults", ctx.client_id()),
            None,
        )
        .await;
    Ok((refused, evidence))
}

/// Runs each fault; `must` faults fail the scenario, the others only warn.
async fn judge(ctx: &Ctx, must: &[&str], should: &[&str], passed: &str) -> Outcome {
    let mut failed = Vec::new();
    let mut warned = Vec::new();
    let mut evidence = Vec::new();
    for (fault, strict) in must
        .iter()
        .map(|f| (f, true))
        .chain(should.iter().map(|f| (f, false)))
    {
        match refused_with(ctx, fault).await {
            Ok((true, found)) => evidence.extend(found),
            Ok((false, found)) => {
                evidence.extend(found);
                if strict {
                    failed.push(*fault);
                } else {
                    warned.push(*fault);
                }
            }
            Err(err) => return Outcome::broken(err),
        }
    }
    let outcome = if !failed.is_empty() {
        Outcome::failed(format!("accepted an id_token with {}", failed.join(", ")))
    } else if !warned.is_empty() {
        Outcome::new(
            Status::Warning,
            format!("accepted an id_token with {}", warned.join(", ")),
        )
    } else {
        Outcome::passed(passed)
    };
    evidence.into_iter().fold(outcome, Outcome::with)
}

pub async fn t01_nonce(ctx: &Ctx) -> Outcome {
    judge(
        ctx,
        &["wrong_nonce", "missing_nonce"],
        &[],
        "a wrong or missing nonce is refused",
    )
    .await
}

pub async fn t02_iss(ctx: &Ctx) -> Outcome {
    judge(ctx, &["wrong_iss"], &[], "a foreign issuer is refused").await
}

pub async fn t03_aud(ctx: &Ctx) -> Outcome {
    judge(
        ctx,
        &["wrong_aud", "missing_aud", "extra_aud"],
        &[],
        "a wrong, missing or extra audience is refused",
    )
    .await
}

pub async fn t04_times(ctx: &Ctx) -> Outcome {
    judge(
        ctx,
        &["expired", "missing_iat"],
        &["iat_in_future"],
        "expired tokens and tokens without iat are refused",
    )
    .await
}

pub async fn t05_alg_none(ctx: &Ctx) -> Outcome {
    judge(
        ctx,
        &["alg_none"],
        &[],
        "an unsigned (alg none) id_token is refused",
    )
    .await
}

/// Over TLS from the token endpoint a bad signature may go unchecked (OIDC Core
/// §3.1.3.7 item 6): a warning; HMAC keyed with the public key is key confusion: a failure.
pub async fn t06_signature(ctx: &Ctx) -> Outcome {
    judge(
        ctx,
        &["hs256_with_public_key"],
        &["bad_signature"],
        "bad signatures are refused",
    )
    .await
}

/// T07: after a key rotation the RP fetches the JWKS again and logs in; an unknown key is refused.
pub async fn t07_key_rotation(ctx: &Ctx) -> Outcome {
    if let Err(err) = ctx.broker.call(Method::POST, "/keys/rotate", None).await {
        return Outcome::broken(err);
    }
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    match ctx.logged_in(&mut browser).await {
        Ok((true, _)) => {}
        Ok((false, _)) => {
            return Outcome::failed(
                "after a key rotation the RP did not accept tokens signed with the new key [P+]",
            )
        }
        Err(err) => return Outcome::broken(err),
    }
    judge(
        ctx,
        &["unknown_kid"],
        &[],
        "new keys are fetched; unknown keys are refused",
    )
    .await
}

pub async fn t08_sub(ctx: &Ctx) -> Outcome {
    judge(
        ctx,
        &["missing_sub"],
        &[],
        "an id_token without sub is refused",
    )
    .await
}

/// Runs the profile's restart command and waits until the RP answers again.
async fn restart(ctx: &Ctx, command: &str) -> Result<(), String> {
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .status()
        .await
        .map_err(|err| format!("cannot run the restart command: {err}"))?;
    if !status.success() {
        return Err(format!("the restart command `{command}` failed ({status})"));
    }
    let http = reqwest::Client::new();
    for _ in 0..60 {
        if http.get(ctx.profile.url("/")).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err("the RP did not answer within 30 s of its restart".into())
}

async fn announce_issuer(ctx: &Ctx, issuer: Option<&str>) -> Result<(), String> {
    ctx.broker
        .call(
            Method::POST,
            "/discovery",
            Some(serde_json::json!({ "issuer": issuer })),
        )
        .await
        .map(|_| ())
}

/// T09: after a restart, an RP whose discovery document names another issuer refuses to
/// log in with it (RP libraries cache discovery, hence the restart).
pub async fn t09_discovery_issuer(ctx: &Ctx) -> Outcome {
    let Some(command) = ctx.profile.target.restart_command.clone() else {
        return Outcome::skipped(
            "the profile gives no restart_command: RP libraries cache discovery until a restart",
        );
    };
    if let Err(err) = announce_issuer(ctx, Some("https://evil.example/op")).await {
        return Outcome::broken(err);
    }
    let verdict = async {
        restart(ctx, &command).await?;
        let mut browser = Browser::new();
        // An RP that refuses the discovery document may not even start the login.
        let logged_in = match ctx.login(&mut browser).await {
            Ok(_) => ctx.logged_in(&mut browser).await?.0,
            Err(_) => false,
        };
        Ok::<bool, String>(logged_in)
    }
    .await;
    // Put the real discovery back, and the RP on it, whatever happened.
    let restored = match announce_issuer(ctx, None).await {
        Ok(()) => restart(ctx, &command).await,
        Err(err) => Err(err),
    };
    match (verdict, restored) {
        (Err(err), _) | (_, Err(err)) => Outcome::broken(err),
        (Ok(false), Ok(())) => {
            Outcome::passed("a discovery document naming another issuer is refused")
        }
        (Ok(true), Ok(())) => {
            Outcome::failed("the RP logged in although discovery named another issuer [P−]")
        }
    }
}

/// T10: at the sensitive action, an `auth_time` older than the `max_age` the RP sent is refused.
pub async fn t10_auth_time(ctx: &Ctx) -> Outcome {
    let (Some(path), Some(marker)) = (
        &ctx.profile.target.sensitive_path,
        &ctx.profile.target.sensitive_marker,
    ) else {
        return Outcome::skipped("the profile declares no sensitive_path with a sensitive_marker");
    };
    let mut browser = Browser::new();
    if let Err(err) = ctx.login(&mut browser).await {
        return Outcome::broken(err);
    }
    if let Err(err) = ctx
        .broker
        .inject_fault(ctx.client_id(), "stale_auth_time")
        .await
    {
        return Outcome::broken(err);
    }
    let user = ctx.profile.citizens.user.clone();
    let page = match ctx.enter_until_callback(&mut browser, path, &user).await {
        Ok(callback) => match browser.get(&callback).await {
            Ok(page) => browser.follow(page).await,
            Err(err) => return Outcome::broken(err),
        },
        // No re-authentication at all: S06 judges that.
        Err(_) => {
            return Outcome::skipped(
                "the sensitive action asks for no new authentication (see S06)",
            )
        }
    };
    match page {
        Ok(page) if page.body.contains(marker.as_str()) && page.status.is_success() => Outcome::new(
            Status::Warning,
            "the sensitive action accepted an auth_time a day old after asking for a fresh login",
        ),
        Ok(_) => Outcome::passed("a stale auth_time is refused at the sensitive action"),
        Err(err) => Outcome::broken(err),
    }
}

//! O10: front-channel logout, as a citizen triggers it at NEB: logged in to the RP and,
//! through the broker's SSO, to a second service of the same SSO group, the citizen logs
//! out of the second service. The broker ends the shared session and its logout page
//! loads every participant's `frontchannel_logout_uri` in an iframe, in the citizen's
//! browser, with the cookies that browser holds. Back-channel logout to the RP is
//! withheld, so only the front channel can end the RP session.

use serde_json::{json, Value};

use crate::conformance::driver::{Request, Stop};
use crate::conformance::scenario::{Ctx, OrError, Outcome, Verdict};
use crate::protocols::oidc::paths;

/// The second service of the SSO group: a client the kit registers for this scenario.
struct Peer {
    client_id: String,
    secret: String,
    redirect_uri: String,
    /// The RP's SSO group before the scenario, restored afterwards.
    rp_group_before: Option<String>,
}

/// O10: the broker's logout page loads the RP's front-channel logout URI; afterwards the
/// RP session is dead.
pub async fn o10_frontchannel_logout(ctx: &Ctx) -> Verdict {
    if ctx.profile.client.frontchannel_logout_uri.is_none() {
        return Ok(Outcome::skipped(
            "the profile declares no client.frontchannel_logout_uri: the broker loads no front-channel iframe for this RP",
        ));
    }
    let peer = join_sso_group(ctx).await?;
    let verdict = log_out_elsewhere(ctx, &peer).await;
    // Cleaning up must not hide the verdict; a failure to clean up is logged.
    if let Err(err) = leave_sso_group(ctx, &peer).await {
        tracing::warn!(%err, "O10 could not undo its SSO group");
    }
    verdict
}

async fn join_sso_group(ctx: &Ctx) -> Result<Peer, Outcome> {
    let rp = ctx.client_id();
    let registered = ctx.broker.client(rp).await.or_error()?;
    let rp_group_before = registered["sso_group"].as_str().map(str::to_string);
    let group = rp_group_before
        .clone()
        .unwrap_or_else(|| format!("conformance-{rp}"));
    let peer = Peer {
        client_id: format!("{rp}-frontchannel-peer"),
        secret: format!("kit-{}", crate::random::short_id()),
        redirect_uri: format!("{}/conformance/frontchannel-peer", ctx.broker.base_url()),
        rp_group_before,
    };
    if peer.rp_group_before.is_none() {
        ctx.broker
            .set_sso_group(rp, Some(&group))
            .await
            .or_error_while("putting the RP in an SSO group")?;
    }
    ctx.broker
        .register_raw(json!({
            "client_id": peer.client_id,
            "name": format!("Second service of {rp} (conformance O10)"),
            "client_secret": peer.secret,
            "redirect_uris": [peer.redirect_uri],
            "sso_group": group,
        }))
        .await
        .or_error_while("registering the second service of the SSO group")?;
    Ok(peer)
}

async fn leave_sso_group(ctx: &Ctx, peer: &Peer) -> Result<(), String> {
    let rp = ctx.client_id();
    ctx.broker.delete_client(&peer.client_id).await?;
    if peer.rp_group_before.is_none() {
        ctx.broker.set_sso_group(rp, None).await?;
    }
    ctx.broker.withhold_backchannel(rp, false).await
}

async fn log_out_elsewhere(ctx: &Ctx, peer: &Peer) -> Verdict {
    ctx.broker
        .withhold_backchannel_only(ctx.client_id())
        .await
        .or_error()?;
    let mut browser = ctx.logged_in_browser().await?;
    let op = format!("{}{}", ctx.broker.base_url(), paths::ISSUER_PREFIX);

    // The citizen opens the second service: the broker's SSO logs them in silently. It
    // asks for what the RP asked for (level, identity provider), so the session answers.
    let state = crate::random::short_id();
    let nonce = crate::random::short_id();
    let rp_asked = ctx.sent("authorize").await?.pop().unwrap_or_default();
    let mut params = vec![
        ("client_id", peer.client_id.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("redirect_uri", peer.redirect_uri.as_str()),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
    ];
    for name in ["acr_values", "idp_values", "idp_params"] {
        if let Some(value) = rp_asked["params"][name].as_str() {
            params.push((name, value));
        }
    }
    let authorize = format!(
        "{op}{}?{}",
        paths::AUTHORIZE,
        serde_urlencoded::to_string(&params).unwrap_or_default()
    );
    let visit = browser
        .open(
            Request::get(authorize),
            &Stop::at(peer.redirect_uri.clone()),
        )
        .await
        .or_error_while("opening the second service of the SSO group")?;
    let code = visit
        .stopped
        .as_ref()
        .filter(|callback| callback.param("state").as_deref() == Some(state.as_str()))
        .and_then(|callback| callback.param("code"));
    let Some(code) = code else {
        return Err(Outcome::error(format!(
            "the broker's SSO did not log the browser in to a second service of the RP's SSO group (it stopped at {} {})",
            visit.page.status, visit.page.url
        )));
    };
    let id_token = exchange(&op, peer, &code).await.map_err(Outcome::error)?;
    let shared = ctx
        .broker
        .sessions_of(ctx.client_id())
        .await
        .or_error()?
        .into_iter()
        .any(|s| s["participants"].get(&peer.client_id).is_some());
    if !shared {
        return Err(Outcome::error(
            "the second service's login did not join the RP's broker session",
        ));
    }

    // The citizen logs out of the second service, in the same browser.
    let logout = format!(
        "{op}{}?{}",
        paths::END_SESSION,
        serde_urlencoded::to_string([("id_token_hint", id_token.as_str())]).unwrap_or_default()
    );
    let visit = browser
        .open(Request::get(logout), &ctx.before_broker())
        .await
        .or_error_while("logging out of the second service")?;
    let declared = ctx
        .profile
        .client
        .frontchannel_logout_uri
        .as_deref()
        .unwrap_or_default();
    let frames: Vec<String> = visit
        .frames
        .iter()
        .filter(|frame| frame.url.starts_with(declared))
        .map(|frame| format!("{} → {}", frame.url, frame.status))
        .collect();
    if frames.is_empty() {
        return Err(Outcome::error(format!(
            "the broker's logout page loaded no iframe of {declared} (its frames: {})",
            if visit.frames.is_empty() {
                "none".to_string()
            } else {
                visit
                    .frames
                    .iter()
                    .map(|f| f.url.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )));
    }
    let line = format!(
        "[H] the citizen logged out of a second service of the SSO group (back-channel logout to the RP withheld); the broker's logout page loaded {}",
        frames.join(", ")
    );
    let seen = ctx.observe(browser.as_mut()).await.or_error()?;
    let outcome = if seen.logged_in {
        Outcome::failed(
            "the RP's front-channel logout URI was loaded but its session lives on [P−]",
        )
    } else {
        Outcome::passed("the front-channel logout iframe ended the RP session")
    };
    Ok(outcome.with(line).with(seen.line()))
}

/// The second service's code for its id_token, as its back end would.
async fn exchange(op: &str, peer: &Peer, code: &str) -> Result<String, String> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|err| err.to_string())?;
    let answer: Value = http
        .post(format!("{op}{}", paths::TOKEN))
        .basic_auth(&peer.client_id, Some(&peer.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", peer.redirect_uri.as_str()),
        ])
        .send()
        .await
        .map_err(|err| format!("the broker's token endpoint cannot be reached: {err}"))?
        .json()
        .await
        .map_err(|err| format!("the broker's token endpoint answered no JSON: {err}"))?;
    answer["id_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the second service got no id_token: {answer}"))
}

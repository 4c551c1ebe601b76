//! Restarting the RP with the profile's `restart_command` (T09: RP libraries read the
//! broker's discovery document once, at start).
//!
//! The command runs with `sh -c`, stdin closed and its output kept in a log file (a
//! process it starts in the background may keep writing there). The kit waits for the
//! command to exit, so it may block until the RP is back or return at once (e.g. after
//! `systemctl restart`); it must not return while the old RP still answers. Then the kit
//! polls GET `ready_path` until it answers below 500. Command and probe together get
//! `restart_timeout_seconds`; past it the command is killed and the scenario is ERROR.

use std::time::{Duration, Instant};

use super::evidence;
use super::profile::TargetProfile;

/// Restarts the RP; returns an evidence line on success, the cause on failure.
pub async fn restart(profile: &TargetProfile, command: &str) -> Result<String, String> {
    let timeout = Duration::from_secs(profile.target.restart_timeout_seconds);
    let started = Instant::now();
    let log = std::env::temp_dir().join(format!("mitid-sim-restart-{}.log", uuid::Uuid::new_v4()));
    let output = std::fs::File::create(&log)
        .map_err(|err| format!("cannot create {}: {err}", log.display()))?;
    let errors = output
        .try_clone()
        .map_err(|err| format!("cannot share {}: {err}", log.display()))?;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(output)
        .stderr(errors)
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| format!("cannot run the restart command `{command}`: {err}"))?;
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(err)) => return Err(format!("the restart command `{command}` failed: {err}")),
        Err(_) => {
            let _ = child.kill().await;
            return Err(format!(
                "the restart command `{command}` did not exit within restart_timeout_seconds = {} (start a long-running RP in the background){}",
                timeout.as_secs(),
                tail(&log)
            ));
        }
    };
    if !status.success() {
        let result = Err(format!(
            "the restart command `{command}` failed ({status}){}",
            tail(&log)
        ));
        let _ = std::fs::remove_file(&log);
        return result;
    }
    let _ = std::fs::remove_file(&log);
    let probe = profile.url(&profile.target.ready_path);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    let mut last = String::from("no answer");
    while started.elapsed() < timeout {
        match http.get(&probe).send().await {
            Ok(response) if response.status().as_u16() < 500 => {
                return Ok(format!(
                    "the RP restarted (`{command}`) and GET {probe} answered {} after {:.1} s",
                    response.status().as_u16(),
                    started.elapsed().as_secs_f64()
                ))
            }
            Ok(response) => last = format!("answered {}", response.status().as_u16()),
            Err(_) => last = "no answer".into(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "the RP was not ready within restart_timeout_seconds = {} of `{command}`: GET {probe} {last}",
        timeout.as_secs()
    ))
}

/// The last lines the command printed, for the cause of an ERROR.
fn tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    if lines.is_empty() {
        return String::new();
    }
    let last: Vec<&str> = lines.into_iter().rev().collect();
    format!(
        "; it printed: {}",
        evidence::excerpt(&last.join(" | "), 400)
    )
}

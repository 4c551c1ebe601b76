//! The RP conformance kit: drives a relying party through the catalogue of DESIGN §6
//! and judges what the RP itself does. It steers the broker only through the admin API.

pub mod broker;
pub mod driver;
pub mod evidence;
pub mod profile;
pub mod report;
pub mod restart;
pub mod scenario;
pub mod scenarios;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use report::{RunReport, ScenarioResult};
use scenario::{Ctx, Event, Outcome, Scenario};

/// Which scenarios to run: ids (`L01`) or groups (`login`, `token`, `logout`, `session`).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Selection {
    fn matches(list: &[String], scenario: &Scenario) -> bool {
        list.iter().any(|item| {
            item.eq_ignore_ascii_case(scenario.id)
                || item.eq_ignore_ascii_case(scenario.group.name())
        })
    }

    pub fn includes(&self, scenario: &Scenario) -> bool {
        (self.only.is_empty() || Self::matches(&self.only, scenario))
            && !Self::matches(&self.skip, scenario)
    }
}

/// About how long a scenario waits for the RP's clocks, from what the profile declares
/// (None: no wait, or SKIPPED for want of a declaration).
pub fn expected_wait(id: &str, profile: &profile::TargetProfile) -> Option<u64> {
    let limits = &profile.sessions;
    let short = crate::protocols::oidc::faults::SHORT_SESSION.whole_seconds() as u64;
    let wait = match id {
        "S01" => limits.idle_seconds.map(|idle| 2 * idle)?,
        "S02" => limits.absolute_seconds.map(|absolute| absolute + 1)?,
        "S03" => limits.idle_seconds.map(|idle| idle + 1)?,
        "S04" => short + 2,
        "S05" => limits.broker_check_seconds.map(|every| every + 2)?,
        "S06" | "T10" => limits.max_login_age_seconds.map(|age| age + 1)?,
        _ => return None,
    };
    (wait <= limits.max_wait_seconds).then_some(wait)
}

/// Prepares the broker's registration of the client: registers it (`register = true`) or
/// compares it with the profile. Returns what differs (nothing after a registration).
pub async fn prepare_client(
    control: &broker::BrokerControl,
    client: &profile::ClientRegistration,
) -> Result<Vec<String>, String> {
    if client.register {
        control.register(client).await?;
    }
    control.registration_differences(client).await
}

/// How a run keeps what it saw beyond the report.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The report folder: a FAILED scenario's last page is saved as
    /// `screenshots/<ID>.png` in it (with the browser driver).
    pub report_dir: Option<PathBuf>,
}

/// Runs the selected scenarios one after another, each isolated (fresh browser, the
/// client's broker state reset), telling `progress` as it goes. Err: the run could not
/// start (the broker is unreachable, the client cannot be registered or does not exist,
/// the browser cannot be started).
pub async fn run(
    profile: profile::TargetProfile,
    selection: &Selection,
    progress: impl for<'a> Fn(Event<'a>) + Send + Sync + 'static,
) -> Result<RunReport, String> {
    run_with(profile, selection, &RunOptions::default(), progress).await
}

/// [`run`], keeping screenshots of FAILED scenarios as `options` say.
pub async fn run_with(
    profile: profile::TargetProfile,
    selection: &Selection,
    options: &RunOptions,
    progress: impl for<'a> Fn(Event<'a>) + Send + Sync + 'static,
) -> Result<RunReport, String> {
    let broker = broker::BrokerControl::new(&profile);
    let registration_differences = prepare_client(&broker, &profile.client).await?;
    let driver = driver::Driver::start(&profile)
        .await
        .map_err(|err| err.to_string())?;
    let ctx = Ctx {
        broker,
        profile,
        progress: Arc::new(progress),
        driver,
    };
    (ctx.progress)(Event::Driver(&ctx.driver.describe()));
    let results = run_scenarios(&ctx, selection, options).await;
    let _ = ctx.broker.reset_for(ctx.client_id()).await;
    let Ctx {
        profile, driver, ..
    } = ctx;
    driver.close().await;
    Ok(RunReport {
        target: profile.target.base_url.clone(),
        client_id: profile.client.client_id.clone(),
        registration_differences,
        results,
        report_dir: options.report_dir.clone(),
    })
}

async fn run_scenarios(
    ctx: &Ctx,
    selection: &Selection,
    options: &RunOptions,
) -> Vec<ScenarioResult> {
    let catalogue = scenarios::catalogue();
    // T07 rotates the broker's keys for good, which an RP without key refresh would feel
    // in every later scenario: scenarios that change the broker for everyone run last.
    let mut order: Vec<&Scenario> = catalogue.iter().filter(|s| selection.includes(s)).collect();
    order.sort_by_key(|s| scenarios::CHANGES_THE_BROKER.contains(&s.id));
    let mut results = Vec::new();
    for scenario in order {
        (ctx.progress)(Event::Start(scenario));
        let started = Instant::now();
        let outcome = match ctx.broker.reset_for(ctx.client_id()).await {
            Ok(()) => (scenario.run)(ctx).await,
            Err(err) => Outcome::error(format!("resetting the broker before it: {err}")),
        };
        let failed = outcome.status == scenario::Status::Failed;
        let mut result = ScenarioResult::new(scenario, outcome, started.elapsed());
        let screenshot = ctx
            .driver
            .end_scenario(failed && options.report_dir.is_some())
            .await;
        if let (Some(png), Some(dir)) = (screenshot, &options.report_dir) {
            result.screenshot = save_screenshot(dir, scenario.id, &png);
        }
        (ctx.progress)(Event::Done(&result));
        results.push(result);
    }
    let position = |id: &str| {
        catalogue
            .iter()
            .position(|s| s.id == id)
            .unwrap_or(usize::MAX)
    };
    results.sort_by_key(|r: &ScenarioResult| position(r.id));
    results
}

/// Saves `png` as `screenshots/<id>.png` in the report folder; returns that relative path.
fn save_screenshot(report_dir: &Path, id: &str, png: &[u8]) -> Option<String> {
    let relative = format!("screenshots/{id}.png");
    let path = report_dir.join(&relative);
    let saved = std::fs::create_dir_all(report_dir.join("screenshots"))
        .and_then(|()| std::fs::write(&path, png));
    match saved {
        Ok(()) => Some(relative),
        Err(err) => {
            tracing::warn!(%err, path = %path.display(), "the screenshot could not be saved");
            None
        }
    }
}

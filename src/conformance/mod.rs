//! The RP conformance kit: drives a relying party through the catalogue of DESIGN §6
//! and judges what the RP itself does. It steers the broker only through the admin API.

pub mod broker;
pub mod driver;
pub mod profile;
pub mod report;
pub mod scenario;
pub mod scenarios;

use std::time::Instant;

use report::{RunReport, ScenarioResult};
use scenario::{Ctx, Outcome, Scenario};

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

/// How long a scenario will wait for the RP's own clocks, from what the profile
/// declares, so the progress can say so before the wait starts.
pub fn expected_wait(id: &str, profile: &profile::TargetProfile) -> Option<u64> {
    let limits = &profile.sessions;
    let wait = match id {
        "S01" => limits.idle_seconds.map(|idle| 2 * idle)?,
        "S02" => limits.absolute_seconds.map(|absolute| absolute + 1)?,
        "S03" => limits.idle_seconds.map(|idle| idle + 1)?,
        "S04" => 67,
        "S05" => limits.max_wait_seconds.min(15),
        _ => return None,
    };
    (wait <= limits.max_wait_seconds).then_some(wait)
}

/// Runs the selected scenarios one after another, each isolated (fresh browser, the
/// client's broker state reset), calling `progress` before and after each.
pub async fn run(
    profile: profile::TargetProfile,
    selection: &Selection,
    mut progress: impl FnMut(&Scenario, Option<&ScenarioResult>),
) -> Result<RunReport, String> {
    let ctx = Ctx {
        broker: broker::BrokerControl::new(&profile),
        profile,
    };
    if ctx.profile.client.register {
        ctx.broker.register(&ctx.profile).await?;
    }
    let catalogue = scenarios::catalogue();
    // T07 rotates the broker's keys for good, which an RP without key refresh would feel
    // in every later scenario: scenarios that change the broker for everyone run last.
    let mut order: Vec<&Scenario> = catalogue.iter().filter(|s| selection.includes(s)).collect();
    order.sort_by_key(|s| scenarios::CHANGES_THE_BROKER.contains(&s.id));
    let mut results = Vec::new();
    for scenario in order {
        progress(scenario, None);
        let started = Instant::now();
        let outcome = match ctx.broker.reset_for(ctx.client_id()).await {
            Ok(()) => (scenario.run)(&ctx).await,
            Err(err) => Outcome::broken(err),
        };
        let result = ScenarioResult::new(scenario, outcome, started.elapsed());
        progress(scenario, Some(&result));
        results.push(result);
    }
    let _ = ctx.broker.reset_for(ctx.client_id()).await;
    let position = |id: &str| {
        catalogue
            .iter()
            .position(|s| s.id == id)
            .unwrap_or(usize::MAX)
    };
    results.sort_by_key(|r: &ScenarioResult| position(r.id));
    Ok(RunReport {
        target: ctx.profile.target.base_url.clone(),
        client_id: ctx.profile.client.client_id.clone(),
        results,
    })
}

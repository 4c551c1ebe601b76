//! The conformance kit's browser driver: headless Chromium judges the server-side
//! reference RP exactly as the HTTP driver does, and cleans up after itself.

use std::collections::BTreeSet;
use std::time::Instant;

use mitid_sim::conformance::report::RunReport;
use mitid_sim::conformance::scenario::Status;
use mitid_sim::conformance::{self, profile, Selection};
use mitid_sim::Simulator;

use crate::reference_rp::{self, Fault, Limits};

/// The reference RP's profile, with the browser driver.
fn browser_profile(rp: &reference_rp::ReferenceRp, broker: &str, limits: &Limits) -> String {
    reference_rp::profile(rp, broker, limits).replacen(
        "[target]\n",
        "[target]\ndriver = \"browser\"\n",
        1,
    )
}

async fn run_in_browser(
    faults: &[Fault],
    selection: Selection,
    options: conformance::RunOptions,
) -> RunReport {
    let sim = Simulator::builder().start().await.unwrap();
    let limits = Limits::short();
    let rp = reference_rp::start(sim.issuer(), faults, limits.clone()).await;
    let profile = profile::parse(&browser_profile(&rp, sim.base_url(), &limits)).unwrap();
    let report = conformance::run_with(profile, &selection, &options, |_| {})
        .await
        .unwrap();
    rp.stop().await;
    sim.stop().await;
    report
}

fn caught(report: &RunReport) -> BTreeSet<&'static str> {
    report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Warning))
        .map(|r| r.id)
        .collect()
}

fn without_waits() -> Selection {
    Selection {
        only: Vec::new(),
        skip: vec!["session".into(), "T10".into()],
    }
}

#[tokio::test]
async fn headless_chromium_passes_the_reference_rp_through_the_catalogue() {
    let started = Instant::now();
    let report = run_in_browser(&[], without_waits(), Default::default()).await;
    eprintln!("{}", report.summary_table());
    eprintln!("took {:?}", started.elapsed());
    let not_passed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status != Status::Passed)
        .map(|r| format!("{} {:?}: {} {:#?}", r.id, r.status, r.summary, r.evidence))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert!(caught(&report).is_empty());
}

#[tokio::test]
async fn debug_l01() {
    let selection = Selection {
        only: vec!["L01".into()],
        skip: vec![],
    };
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        run_in_browser(&[], selection, Default::default()),
    )
    .await
    .expect("hangs");
    eprintln!("{}", report.summary_table());
}

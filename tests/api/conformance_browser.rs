//! The conformance kit's browser driver: headless Chromium judges the server-side
//! reference RP exactly as the HTTP driver does, and cleans up after itself.

use std::collections::BTreeSet;
use std::time::Instant;

use futures::StreamExt;
use mitid_sim::conformance::driver::chromium::group_alive;
use mitid_sim::conformance::driver::{Browser, Chromium, Request, Stop};
use mitid_sim::conformance::report::RunReport;
use mitid_sim::conformance::scenario::Status;
use mitid_sim::conformance::{self, profile, Selection};
use mitid_sim::Simulator;

use crate::conformance::caught;
use crate::reference_rp::{self, Fault, Limits, ResponseMode};

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
    run_in_browser_with(faults, ResponseMode::Query, selection, options).await
}

async fn run_in_browser_with(
    faults: &[Fault],
    mode: ResponseMode,
    selection: Selection,
    options: conformance::RunOptions,
) -> RunReport {
    let sim = Simulator::builder().start().await.unwrap();
    // A browser is slower than the HTTP driver: the short idle limit of the HTTP tests
    // could lapse between a login and its check on a loaded machine.
    let limits = Limits::unhurried();
    let rp = reference_rp::start_with(sim.issuer(), faults, limits.clone(), mode).await;
    let profile = profile::parse(&browser_profile(&rp, sim.base_url(), &limits)).unwrap();
    let report = conformance::run_with(profile, &selection, &options, |_| {})
        .await
        .unwrap();
    rp.stop().await;
    sim.stop().await;
    report
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

/// The scenarios whose judgement rests on what a browser keeps and does: cookies and web
/// storage copied, restored and replayed, forms, frames and the broker's pages.
const BROWSER_SENSITIVE: [&str; 8] = ["L02", "L03", "L06", "L07", "O01", "O02", "O04", "O10"];

#[tokio::test]
async fn headless_chromium_catches_the_faults_the_http_driver_catches() {
    let cases: [(Fault, &[&str]); 7] = [
        (Fault::NoStateCheck, &["L02"]),
        (Fault::CallbackNotBound, &["L03"]),
        (Fault::AdoptsPresentedSessionId, &["L06"]),
        (Fault::CookieNotHttpOnly, &["L07"]),
        (Fault::LocalOnlyLogout, &["O01", "O04"]),
        (Fault::SessionNotInvalidated, &["O02"]),
        (Fault::FrontchannelIgnored, &["O10"]),
    ];
    let selection = Selection {
        only: BROWSER_SENSITIVE.iter().map(|s| s.to_string()).collect(),
        skip: Vec::new(),
    };
    let runs = cases.iter().map(|(fault, _)| {
        run_in_browser(
            std::slice::from_ref(fault),
            selection.clone(),
            Default::default(),
        )
    });
    // Each run starts a Chromium of its own: two at a time on a small machine.
    let reports: Vec<RunReport> = futures::stream::iter(runs).buffered(2).collect().await;
    for ((fault, expected), report) in cases.iter().zip(reports) {
        assert!(
            report.errors().is_empty(),
            "{fault:?}: {}",
            report.summary_table()
        );
        assert_eq!(
            caught(&report),
            expected.iter().copied().collect(),
            "{fault:?}: {}",
            report.summary_table()
        );
    }
}

#[tokio::test]
async fn in_chromium_the_broker_page_posts_the_form_post_callback_itself() {
    let selection = Selection {
        only: ["L01", "L02", "L03", "L05", "O01", "O04", "T01"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        skip: Vec::new(),
    };
    let (clean, faulty) = futures::join!(
        run_in_browser_with(
            &[],
            ResponseMode::FormPost,
            selection.clone(),
            Default::default()
        ),
        run_in_browser_with(
            &[Fault::NoStateCheck],
            ResponseMode::FormPost,
            selection.clone(),
            Default::default()
        ),
    );
    assert!(
        clean.results.iter().all(|r| r.status == Status::Passed),
        "{}",
        clean.summary_table()
    );
    // The callback the kit tampered with is the POST the broker's page made by its script.
    let l02 = clean.results.iter().find(|r| r.id == "L02").unwrap();
    assert!(
        l02.evidence
            .iter()
            .any(|line| line.contains("POST http://127.0.0.1:")
                && line.contains("/callback with code=")),
        "{:#?}",
        l02.evidence
    );
    assert_eq!(
        caught(&faulty),
        BTreeSet::from(["L02"]),
        "{}",
        faulty.summary_table()
    );
}

#[tokio::test]
async fn a_failed_scenario_keeps_a_screenshot_linked_from_json_and_junit() {
    let dir = std::env::temp_dir().join(format!("mitid-sim-report-{}", uuid::Uuid::new_v4()));
    let options = conformance::RunOptions {
        report_dir: Some(dir.clone()),
    };
    let selection = Selection {
        only: vec!["L01".into(), "L02".into()],
        skip: Vec::new(),
    };
    let report = run_in_browser(&[Fault::NoStateCheck], selection, options).await;
    let l02 = report.results.iter().find(|r| r.id == "L02").unwrap();
    assert_eq!(l02.status, Status::Failed, "{}", report.summary_table());
    assert_eq!(l02.screenshot.as_deref(), Some("screenshots/L02.png"));
    let png = std::fs::read(dir.join("screenshots/L02.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "{} bytes",
        png.len()
    );
    // A scenario that passed leaves no picture behind.
    let l01 = report.results.iter().find(|r| r.id == "L01").unwrap();
    assert_eq!(l01.status, Status::Passed);
    assert!(l01.screenshot.is_none());
    assert!(!dir.join("screenshots/L01.png").exists());
    let json = serde_json::to_value(&report).unwrap();
    let linked: Vec<_> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["screenshot"].as_str())
        .collect();
    assert_eq!(linked, ["screenshots/L02.png"]);
    let junit = report.junit().unwrap();
    let attachment = format!(
        "[[ATTACHMENT|{}]]",
        dir.join("screenshots/L02.png").display()
    );
    assert!(junit.contains(&attachment), "{junit}");
    assert!(
        junit.contains(r#"name="screenshot" value="screenshots/L02.png""#),
        "{junit}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_browser_and_all_its_processes_end_with_the_run_or_when_dropped() {
    let settings = profile::BrowserSettings::default();
    let chromium = Chromium::launch(&settings).await.unwrap();
    let group = chromium.process_group();
    assert!(
        chromium.version().contains("Chrom"),
        "{}",
        chromium.version()
    );
    let mut browser = chromium.browser().await.unwrap();
    // Nothing listens on port 1: an unreachable site is told apart from a wrong answer.
    let refused = browser
        .open(Request::get("http://127.0.0.1:1/"), &Stop::Never)
        .await
        .unwrap_err();
    assert!(refused.is_unreachable(), "{refused}");
    drop(browser);
    assert!(group_alive(group));
    chromium.close().await;
    assert!(
        gone_soon(group).await,
        "Chromium's processes outlived close()"
    );

    // A run that ends without closing (a panic, an early return) kills them too.
    let dropped = Chromium::launch(&settings).await.unwrap();
    let group = dropped.process_group();
    let _browser = dropped.browser().await.unwrap();
    drop(dropped);
    assert!(
        gone_soon(group).await,
        "Chromium's processes outlived the dropped driver"
    );
}

/// Whether every process of `group` is gone within two seconds (killed processes take a
/// moment to be reaped).
async fn gone_soon(group: i32) -> bool {
    let started = Instant::now();
    while group_alive(group) && started.elapsed() < std::time::Duration::from_secs(2) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    !group_alive(group)
}

#[tokio::test]
async fn a_browser_profile_without_chromium_says_how_to_get_it() {
    let sim = Simulator::builder().start().await.unwrap();
    let limits = Limits::short();
    let rp = reference_rp::start(sim.issuer(), &[], limits.clone()).await;
    let text = format!(
        "{}\n[browser]\nexecutable = \"/nonexistent/chromium\"\n",
        browser_profile(&rp, sim.base_url(), &limits)
    );
    let profile = profile::parse(&text).unwrap();
    let err = conformance::run(profile, &Selection::default(), |_| {})
        .await
        .unwrap_err();
    assert!(
        err.contains("/nonexistent/chromium") && err.contains("apt-get install -y chromium"),
        "{err}"
    );
    rp.stop().await;
    sim.stop().await;
}

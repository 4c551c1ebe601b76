//! Proof that the conformance kit is right: the reference RP passes the catalogue, and
//! each seeded fault makes exactly its scenarios fail.

use std::collections::BTreeSet;
use std::time::Duration;

use mitid_sim::conformance::scenario::Status;
use mitid_sim::conformance::{self, profile, Selection};
use mitid_sim::Simulator;

use crate::reference_rp::{self, Fault};

const IDLE: u64 = 2;
const ABSOLUTE: u64 = 7;

async fn run_against(faults: &[Fault], selection: Selection) -> conformance::report::RunReport {
    let sim = Simulator::builder().start().await.unwrap();
    let rp = reference_rp::start(
        sim.issuer(),
        faults,
        Duration::from_secs(IDLE),
        Duration::from_secs(ABSOLUTE),
    )
    .await;
    let mut text = reference_rp::profile(&rp, sim.base_url(), IDLE, ABSOLUTE);
    text.push_str("\n[citizens]\nuser = \"app.instant\"\n");
    let profile = profile::parse(&text).unwrap();
    let report = conformance::run(profile, &selection, |_, _| {})
        .await
        .unwrap();
    rp.stop().await;
    sim.stop().await;
    report
}

fn failed(report: &conformance::report::RunReport) -> BTreeSet<&'static str> {
    report
        .results
        .iter()
        .filter(|r| r.status != Status::Passed)
        .map(|r| r.id)
        .collect()
}

#[tokio::test]
async fn the_reference_rp_passes_the_whole_catalogue() {
    let report = run_against(&[], Selection::default()).await;
    let not_passed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status != Status::Passed)
        .map(|r| format!("{} {:?}: {} {:?}", r.id, r.status, r.summary, r.evidence))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(
        report.results.len(),
        conformance::scenarios::catalogue().len()
    );
}

#[tokio::test]
async fn every_seeded_fault_is_caught_by_exactly_its_scenarios() {
    let cases: [(Fault, &[&str]); 10] = [
        (Fault::NoStateCheck, &["L02"]),
        (Fault::NoNonceCheck, &["T01"]),
        (Fault::IssNotChecked, &["T02"]),
        (Fault::AudNotChecked, &["T03"]),
        (Fault::ExpiredAccepted, &["T04"]),
        (Fault::AlgNoneAccepted, &["T05"]),
        (Fault::LocalOnlyLogout, &["O01", "O04"]),
        (Fault::SessionNotInvalidated, &["O02"]),
        (Fault::NoNoStore, &["O03"]),
        (Fault::BackchannelIgnored, &["O06"]),
    ];
    let without_waits = Selection {
        only: Vec::new(),
        skip: vec!["session".into()],
    };
    let mut table = Vec::new();
    for (fault, expected) in cases {
        let report = run_against(&[fault], without_waits.clone()).await;
        let caught = failed(&report);
        table.push((fault, caught.clone()));
        assert_eq!(
            caught,
            expected.iter().copied().collect(),
            "{fault:?}: {}",
            report.summary_table()
        );
    }
    let sessions = Selection {
        only: vec!["session".into()],
        skip: Vec::new(),
    };
    for (fault, expected) in [
        (Fault::NoIdleTimeout, "S01"),
        (Fault::NoAbsoluteTimeout, "S02"),
    ] {
        let report = run_against(&[fault], sessions.clone()).await;
        assert_eq!(
            failed(&report),
            BTreeSet::from([expected]),
            "{fault:?}: {}",
            report.summary_table()
        );
    }
}

#[tokio::test]
async fn reports_come_as_json_and_junit_with_references_and_known_gaps() {
    let mut report = run_against(
        &[Fault::NoNoStore],
        Selection {
            only: vec!["O03".into(), "L01".into()],
            skip: Vec::new(),
        },
    )
    .await;
    assert_eq!(report.unexpected_failures(false).len(), 1);
    report.apply_expected(&conformance::report::parse_expected(
        "# known gap\nO03  # fix in Q3\n",
    ));
    assert!(
        report.unexpected_failures(false).is_empty(),
        "O03 is declared known"
    );

    let mut json = serde_json::to_value(&report).unwrap();
    for result in json["results"].as_array_mut().unwrap() {
        result["seconds"] = serde_json::json!("[seconds]");
        result["evidence"] = serde_json::json!("[evidence]");
    }
    json["target"] = serde_json::json!("[rp]");
    insta::assert_json_snapshot!("conformance_report", json);

    let junit = report.junit().unwrap();
    let junit = regex_free_redact(&junit);
    insta::assert_snapshot!("conformance_junit", junit);
}

/// Blanks out the timings in JUnit XML so the snapshot is stable.
fn regex_free_redact(xml: &str) -> String {
    xml.split("time=\"")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                let rest = part.split_once('"').map_or("", |(_, rest)| rest);
                format!("time=\"[t]\"{rest}")
            }
        })
        .collect::<String>()
        .lines()
        .map(|l| {
            if l.contains("<system-out>") || l.contains("[H]") {
                "[evidence]".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

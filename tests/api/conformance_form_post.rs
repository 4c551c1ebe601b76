//! The conformance kit judges an RP that takes the authorization response as a form post
//! (`response_mode=form_post`) with the HTTP driver: the broker's self-posting page is
//! pressed on, and every scenario that tampers with, replays or follows the callback does
//! so with the POST.

use std::collections::BTreeSet;

use futures::StreamExt;
use mitid_sim::conformance::report::RunReport;
use mitid_sim::conformance::scenario::Status;
use mitid_sim::conformance::{self, profile, Selection};
use mitid_sim::Simulator;

use crate::reference_rp::{self, Fault, Limits, ResponseMode};

async fn run_form_post(faults: &[Fault]) -> RunReport {
    let sim = Simulator::builder().start().await.unwrap();
    let limits = Limits::short();
    let rp = reference_rp::start_with(sim.issuer(), faults, limits.clone(), ResponseMode::FormPost)
        .await;
    let text = reference_rp::profile(&rp, sim.base_url(), &limits);
    let profile = profile::parse(&text).unwrap();
    // The session group waits out real limits; it judges the session, not the callback.
    let without_waits = Selection {
        only: Vec::new(),
        skip: vec!["session".into(), "T10".into()],
    };
    let report = conformance::run(profile, &without_waits, |_| {})
        .await
        .unwrap();
    rp.stop().await;
    sim.stop().await;
    report
}

fn evidence_of<'r>(report: &'r RunReport, id: &str) -> &'r [String] {
    &report.results.iter().find(|r| r.id == id).unwrap().evidence
}

#[tokio::test]
async fn a_form_post_rp_passes_the_catalogue_and_the_evidence_shows_the_post() {
    let report = run_form_post(&[]).await;
    let judged: Vec<String> = report
        .results
        .iter()
        .filter(|r| {
            !(r.status == Status::Passed || r.status == Status::Skipped && !r.summary.is_empty())
        })
        .map(|r| format!("{} {:?}: {} {:#?}", r.id, r.status, r.summary, r.evidence))
        .collect();
    assert!(judged.is_empty(), "{judged:#?}");
    let expected = conformance::scenarios::catalogue()
        .iter()
        .filter(|s| s.id != "T10" && !s.id.starts_with('S'))
        .count();
    assert_eq!(report.results.len(), expected);

    // The RP asked for form_post, and the login came back to it as a POST.
    let l01 = evidence_of(&report, "L01").join("\n");
    assert!(l01.contains("response_mode=form_post"), "{l01}");
    assert!(
        l01.contains("POST http://127.0.0.1:") && l01.contains("/callback → 303"),
        "{l01}"
    );
    // The tampered, missing and replayed callbacks were posts, their fields named.
    let posted = |id: &str, needle: &str| {
        let lines = evidence_of(&report, id);
        assert!(
            lines.iter().any(|line| line.contains(needle)
                && line.contains("POST http://127.0.0.1:")
                && line.contains("/callback with code=")),
            "{id}: no POST callback with {needle}: {lines:#?}"
        );
    };
    posted("L02", "tampered state:");
    posted("L02", "missing state:");
    posted("L03", "in a fresh browser:");
    posted("L05", " iss=");
    posted("T01", "state=");
    let l04 = evidence_of(&report, "L04").join("\n");
    assert!(
        l04.contains("POST http://127.0.0.1:") && l04.contains("error=access_denied"),
        "{l04}"
    );
    let l02 = evidence_of(&report, "L02");
    let missing = l02.iter().find(|l| l.contains("missing state:")).unwrap();
    // The missing state is left out of the posted form, not sent empty.
    assert!(!missing.contains(" state="), "{missing}");
}

#[tokio::test]
async fn seeded_faults_of_a_form_post_rp_are_caught_by_exactly_their_scenarios() {
    let cases: [(Fault, &[&str]); 7] = [
        (Fault::NoStateCheck, &["L02"]),
        (Fault::CallbackNotBound, &["L03"]),
        (Fault::AccessDeniedCrashes, &["L04"]),
        (Fault::ResponseIssIgnored, &["L05"]),
        (Fault::AdoptsPresentedSessionId, &["L06"]),
        (Fault::NoNonceCheck, &["T01"]),
        // The next login comes straight back as a form post, not a redirect.
        (Fault::LocalOnlyLogout, &["O01", "O04"]),
    ];
    let runs = cases
        .iter()
        .map(|(fault, _)| run_form_post(std::slice::from_ref(fault)));
    // Side by side, but not all at once: other tests share the cores.
    let reports: Vec<RunReport> = futures::stream::iter(runs).buffered(4).collect().await;
    for ((fault, expected), report) in cases.iter().zip(reports) {
        let errors: Vec<String> = report
            .results
            .iter()
            .filter(|r| r.status == Status::Error)
            .map(|r| format!("{}: {} {:#?}", r.id, r.summary, r.evidence))
            .collect();
        assert!(errors.is_empty(), "{fault:?}: {errors:#?}");
        let caught: BTreeSet<&str> = report
            .results
            .iter()
            .filter(|r| matches!(r.status, Status::Failed | Status::Warning))
            .map(|r| r.id)
            .collect();
        assert_eq!(
            caught,
            expected.iter().copied().collect(),
            "{fault:?}: {}",
            report.summary_table()
        );
        if *fault == Fault::LocalOnlyLogout {
            let o04 = evidence_of(&report, "O04").join("\n");
            assert!(
                o04.contains("a page posting itself: POST http://127.0.0.1:")
                    && o04.contains("/callback with code="),
                "{o04}"
            );
        }
    }
}

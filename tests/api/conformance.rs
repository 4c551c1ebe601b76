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

/// The scenarios that failed or warned (skipped ones say why they could not judge).
fn failed(report: &conformance::report::RunReport) -> BTreeSet<&'static str> {
    report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Warning))
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
    // S04 waits 65 s, more than this profile allows (its own test below waits).
    let skipped: BTreeSet<_> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Skipped)
        .map(|r| r.id)
        .collect();
    assert_eq!(skipped, BTreeSet::from(["S04"]), "{not_passed:#?}");
    assert!(failed(&report).is_empty(), "{not_passed:#?}");
    assert_eq!(
        report.results.len(),
        conformance::scenarios::catalogue().len()
    );
}

#[tokio::test]
async fn every_seeded_fault_is_caught_by_exactly_its_scenarios() {
    let cases: [(Fault, &[&str]); 14] = [
        (Fault::NoStateCheck, &["L02"]),
        (Fault::NoNonceCheck, &["T01"]),
        (Fault::IssNotChecked, &["T02"]),
        (Fault::AudNotChecked, &["T03"]),
        (Fault::ExpiredAccepted, &["T04"]),
        // Its signature check is shared, so unsigned logout tokens pass too.
        (Fault::AlgNoneAccepted, &["T05", "O08"]),
        (Fault::NoKeyRefresh, &["T07"]),
        (Fault::DiscoveryIssuerIgnored, &["T09"]),
        (Fault::LocalOnlyLogout, &["O01", "O04"]),
        (Fault::SessionNotInvalidated, &["O02"]),
        (Fault::NoNoStore, &["O03"]),
        (Fault::OpenPostLogoutRedirect, &["O05"]),
        (Fault::BackchannelIgnored, &["O06", "O07"]),
        (Fault::BadLogoutTokensAccepted, &["O08"]),
    ];
    let without_waits = Selection {
        only: Vec::new(),
        skip: vec!["session".into()],
    };
    // Each fault gets its own broker and RP, so the runs go side by side.
    let runs = cases
        .iter()
        .map(|(fault, _)| run_against(std::slice::from_ref(fault), without_waits.clone()));
    let reports = futures::future::join_all(runs).await;
    for ((fault, expected), report) in cases.iter().zip(reports) {
        let caught = failed(&report);
        assert_eq!(
            caught,
            expected.iter().copied().collect(),
            "{fault:?}: {}",
            report.summary_table()
        );
    }
    let sessions = Selection {
        only: vec!["session".into(), "T10".into()],
        skip: vec!["S04".into()],
    };
    let session_cases: [(Fault, &[&str]); 3] = [
        (Fault::NoIdleTimeout, &["S01", "S03"]),
        (Fault::NoAbsoluteTimeout, &["S02"]),
        (Fault::NoReauthentication, &["S06"]),
    ];
    for (fault, expected) in session_cases {
        let report = run_against(&[fault], sessions.clone()).await;
        let caught = failed(&report);
        assert_eq!(
            caught,
            expected.iter().copied().collect(),
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

fn kit(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .env("MITID_SIM_HOME", crate::helpers::test_home())
        .arg("conformance")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_gates_ci_on_unexpected_failures_and_writes_reports() {
    let sim = Simulator::builder().start().await.unwrap();
    let rp = reference_rp::start(
        sim.issuer(),
        &[Fault::NoNoStore],
        Duration::from_secs(60),
        Duration::from_secs(600),
    )
    .await;
    let dir = std::env::temp_dir().join(format!("mitid-sim-kit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile_path = dir.join("target.toml");
    let mut text = reference_rp::profile(&rp, sim.base_url(), 60, 600);
    text.push_str("\n[citizens]\nuser = \"app.instant\"\n");
    std::fs::write(&profile_path, text).unwrap();
    let target = profile_path.to_str().unwrap().to_string();
    let junit = dir.join("report.xml");
    let json = dir.join("report.json");

    let args = vec![
        "run".to_string(),
        "--target".into(),
        target.clone(),
        "--only".into(),
        "L01,O03".into(),
        "--junit".into(),
        junit.to_str().unwrap().into(),
        "--json".into(),
        json.to_str().unwrap().into(),
    ];
    let failing = tokio::task::spawn_blocking({
        let args = args.clone();
        move || kit(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    assert_eq!(
        failing.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failing.stderr)
    );
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert!(
        stdout.contains("O03") && stdout.contains("FAILED"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&failing.stderr).contains("unexpected failures: O03"));
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("<testcase name=\"O03"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["results"].as_array().unwrap().len(), 2);

    let known = dir.join("known.txt");
    std::fs::write(&known, "O03 # no-store lands next sprint\n").unwrap();
    let mut gated = args.clone();
    gated.extend([
        "--expected-failures".to_string(),
        known.to_str().unwrap().into(),
    ]);
    let passing = tokio::task::spawn_blocking(move || {
        kit(&gated.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    assert_eq!(
        passing.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&passing.stderr)
    );

    std::fs::write(&profile_path, "[target]\nbase_url = 1\n").unwrap();
    let broken = tokio::task::spawn_blocking(move || kit(&["run", "--target", &target]))
        .await
        .unwrap();
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("target.toml:2:"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
    rp.stop().await;
    sim.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn init_writes_a_template_that_the_kit_reads() {
    let dir = std::env::temp_dir().join(format!("mitid-sim-init-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rp.toml");
    let output = kit(&["init", "-o", path.to_str().unwrap()]);
    assert!(output.status.success());
    assert!(profile::load(&path).is_ok());
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn the_rp_asks_for_a_new_login_once_the_broker_session_expiry_passes() {
    let sim = Simulator::builder().start().await.unwrap();
    let rp = reference_rp::start(
        sim.issuer(),
        &[],
        Duration::from_secs(600),
        Duration::from_secs(3600),
    )
    .await;
    let mut text = reference_rp::profile(&rp, sim.base_url(), 600, 3600)
        .replace("max_wait_seconds = 30", "max_wait_seconds = 90");
    text.push_str("\n[citizens]\nuser = \"app.instant\"\n");
    let profile = profile::parse(&text).unwrap();
    let only_s04 = Selection {
        only: vec!["S04".into()],
        skip: Vec::new(),
    };
    let report = conformance::run(profile, &only_s04, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        report.results[0].status,
        Status::Passed,
        "{}",
        report.summary_table()
    );
    rp.stop().await;
    sim.stop().await;
}

#[test]
fn the_example_profile_and_known_gaps_in_conformance_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance");
    let example = profile::load(std::path::Path::new(&format!("{dir}/example-rp.toml"))).unwrap();
    assert_eq!(example.target.sensitive_path.as_deref(), Some("/transfer"));
    let gaps = std::fs::read_to_string(format!("{dir}/known-gaps.example.txt")).unwrap();
    let ids = conformance::report::parse_expected(&gaps);
    let known: BTreeSet<_> = conformance::scenarios::catalogue()
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert!(!ids.is_empty() && ids.is_subset(&known), "{ids:?}");
}

#[tokio::test]
async fn l09_logs_the_professional_identities_of_the_profile_in() {
    use crate::erhverv::{BJORN_SIGNATORY, CARL, SARAH};
    let sim = Simulator::builder().start().await.unwrap();
    let rp = reference_rp::start(
        sim.issuer(),
        &[],
        Duration::from_secs(IDLE),
        Duration::from_secs(ABSOLUTE),
    )
    .await;
    let only_l09 = Selection {
        only: vec!["L09".into()],
        skip: Vec::new(),
    };
    let base = reference_rp::profile(&rp, sim.base_url(), IDLE, ABSOLUTE);
    let citizens = format!(
        "\n[citizens]\nuser = \"app.instant\"\nclasses = []\n\
         professionals = [\"{CARL}\", \"{BJORN_SIGNATORY}\", \"{SARAH}\"]\n"
    );
    let declared = base.replace(
        "login_path = \"/login\"\n",
        "login_path = \"/login\"\nprofessional_login_path = \"/login?erhverv\"\n",
    ) + &citizens;
    let report = conformance::run(profile::parse(&declared).unwrap(), &only_l09, |_, _| {})
        .await
        .unwrap();
    let l09 = &report.results[0];
    assert_eq!(
        l09.status,
        Status::Passed,
        "{} {:?}",
        l09.summary,
        l09.evidence
    );
    for uuid in [CARL, BJORN_SIGNATORY, SARAH] {
        assert!(
            l09.evidence
                .iter()
                .any(|e| e.contains(uuid) && e.contains("idp_values `mitid_erhverv`")),
            "{uuid}: {:?}",
            l09.evidence
        );
    }
    assert!(
        l09.evidence
            .iter()
            .any(|e| e.contains("(MitID erhverv.udlaending)")),
        "the dedicated eID of the employee without CPR: {:?}",
        l09.evidence
    );

    // Without the path of the RP's MitID Erhverv login, the kit says what to declare.
    let undeclared = base + &citizens;
    let report = conformance::run(profile::parse(&undeclared).unwrap(), &only_l09, |_, _| {})
        .await
        .unwrap();
    let l09 = &report.results[0];
    assert_ne!(l09.status, Status::Passed);
    assert!(
        l09.summary.contains("professional_login_path"),
        "{}",
        l09.summary
    );
    rp.stop().await;
    sim.stop().await;
}

//! Proof that the conformance kit is right: the reference RP passes the catalogue, and
//! each seeded fault makes exactly its scenarios fail.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mitid_sim::conformance::report::RunReport;
use mitid_sim::conformance::scenario::Status;
use mitid_sim::conformance::{self, profile, Selection};
use mitid_sim::Simulator;

use crate::reference_rp::{self, Fault, Limits};

async fn run_against(faults: &[Fault], limits: Limits, selection: Selection) -> RunReport {
    let sim = Simulator::builder().start().await.unwrap();
    let rp = reference_rp::start(sim.issuer(), faults, limits.clone()).await;
    let text = reference_rp::profile(&rp, sim.base_url(), &limits);
    let profile = profile::parse(&text).unwrap();
    let report = conformance::run(profile, &selection, |_| {}).await.unwrap();
    rp.stop().await;
    sim.stop().await;
    report
}

/// The scenarios that failed or warned (skipped ones say why they could not judge).
pub fn caught(report: &RunReport) -> BTreeSet<&'static str> {
    report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Failed | Status::Warning))
        .map(|r| r.id)
        .collect()
}

pub fn errors(report: &RunReport) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|r| r.status == Status::Error)
        .map(|r| format!("{}: {} {:#?}", r.id, r.summary, r.evidence))
        .collect()
}

fn only(ids: &[&str]) -> Selection {
    Selection {
        only: ids.iter().map(|s| s.to_string()).collect(),
        skip: Vec::new(),
    }
}

#[tokio::test]
async fn the_reference_rp_passes_the_whole_catalogue_with_real_waits() {
    let started = Instant::now();
    let report = run_against(&[], Limits::short(), Selection::default()).await;
    let took = started.elapsed();
    let not_passed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status != Status::Passed)
        .map(|r| format!("{} {:?}: {} {:#?}", r.id, r.status, r.summary, r.evidence))
        .collect();
    // Its profile declares everything, so nothing is skipped: S04 waits out a real
    // session_expiry, S02 the 64-second absolute limit.
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(
        report.results.len(),
        conformance::scenarios::catalogue().len()
    );
    assert!(report.registration_differences.is_empty());
    for result in &report.results {
        assert!(!result.evidence.is_empty(), "{} has no evidence", result.id);
        for line in &result.evidence {
            assert!(
                !line.contains("Some(") && !line.contains("\\\"") && !line.contains("[\""),
                "{}: a debug dump in evidence: {line}",
                result.id
            );
        }
    }
    let s04 = report.results.iter().find(|r| r.id == "S04").unwrap();
    assert!(s04.seconds >= 58.0, "S04 waited {} s", s04.seconds);
    eprintln!("the whole catalogue against the reference RP took {took:?}");
    assert!(took < Duration::from_secs(180), "took {took:?}");
}

#[tokio::test]
async fn every_seeded_fault_is_caught_by_exactly_its_scenarios() {
    let cases: [(Fault, &[&str]); 24] = [
        (Fault::NoStateCheck, &["L02"]),
        (Fault::CallbackNotBound, &["L03"]),
        (Fault::AccessDeniedCrashes, &["L04"]),
        (Fault::ResponseIssIgnored, &["L05"]),
        (Fault::AdoptsPresentedSessionId, &["L06"]),
        (Fault::CookieNotHttpOnly, &["L07"]),
        (Fault::NoLoaCheck, &["L08"]),
        (Fault::NoNonceCheck, &["T01"]),
        (Fault::IssNotChecked, &["T02"]),
        (Fault::AudNotChecked, &["T03"]),
        (Fault::ExpiredAccepted, &["T04"]),
        (Fault::IatNotChecked, &["T04"]),
        // Its signature check is shared, so unsigned logout tokens pass too.
        (Fault::AlgNoneAccepted, &["T05", "O08"]),
        (Fault::IdTokenSignatureSkipped, &["T06", "T07"]),
        (Fault::NoKeyRefresh, &["T07"]),
        (Fault::UserinfoSubNotChecked, &["T08"]),
        (Fault::DiscoveryIssuerIgnored, &["T09"]),
        (Fault::LocalOnlyLogout, &["O01", "O04"]),
        (Fault::SessionNotInvalidated, &["O02"]),
        (Fault::NoNoStore, &["O03"]),
        (Fault::OpenPostLogoutRedirect, &["O05"]),
        (Fault::BackchannelIgnored, &["O06", "O07"]),
        (Fault::BadLogoutTokensAccepted, &["O08"]),
        (Fault::JtiReplayAccepted, &["O09"]),
    ];
    let without_waits = Selection {
        only: Vec::new(),
        skip: vec!["session".into(), "T10".into()],
    };
    // Each fault gets its own broker and RP, so the runs go side by side.
    let runs = cases.iter().map(|(fault, _)| {
        run_against(
            std::slice::from_ref(fault),
            Limits::short(),
            without_waits.clone(),
        )
    });
    // Side by side, but not all at once: the timed scenarios of other tests share the cores.
    let reports: Vec<RunReport> = futures::stream::iter(runs).buffered(6).collect().await;
    for ((fault, expected), report) in cases.iter().zip(reports) {
        assert!(
            errors(&report).is_empty(),
            "{fault:?}: {:#?}",
            errors(&report)
        );
        assert_eq!(
            caught(&report),
            expected.iter().copied().collect(),
            "{fault:?}: {}",
            report.summary_table()
        );
    }
    // The waiting scenarios, with an absolute limit short enough to keep the runs short
    // (S04, which needs a longer one, is SKIPPED here and has its own run).
    let quick = Limits {
        absolute: Duration::from_secs(10),
        ..Limits::short()
    };
    let session_cases: [(Fault, &[&str]); 5] = [
        (Fault::NoIdleTimeout, &["S01", "S03"]),
        (Fault::NoAbsoluteTimeout, &["S02"]),
        (Fault::BrokerSessionNotChecked, &["S05"]),
        (Fault::NoReauthentication, &["S06"]),
        (Fault::AuthTimeNotChecked, &["T10"]),
    ];
    let runs = session_cases.iter().map(|(fault, _)| {
        run_against(
            std::slice::from_ref(fault),
            quick.clone(),
            only(&["session", "T10"]),
        )
    });
    let expiry = run_against(
        &[Fault::SessionExpiryIgnored],
        Limits::short(),
        only(&["S04"]),
    );
    let (reports, expiry) = futures::future::join(futures::future::join_all(runs), expiry).await;
    for ((fault, expected), report) in session_cases.iter().zip(reports) {
        assert!(
            errors(&report).is_empty(),
            "{fault:?}: {:#?}",
            errors(&report)
        );
        assert_eq!(
            caught(&report),
            expected.iter().copied().collect(),
            "{fault:?}: {}",
            report.summary_table()
        );
    }
    assert_eq!(
        caught(&expiry),
        BTreeSet::from(["S04"]),
        "{}",
        expiry.summary_table()
    );
}

#[tokio::test]
async fn an_ignored_front_channel_logout_is_caught_by_exactly_o10() {
    // The RP asks the broker about its session only every minute here, so nothing but the
    // front channel could end the session within the scenario.
    let slow_check = Limits {
        broker_check: Duration::from_secs(60),
        ..Limits::short()
    };
    let without_waits = Selection {
        only: Vec::new(),
        skip: vec!["session".into(), "T10".into()],
    };
    let report = run_against(&[Fault::FrontchannelIgnored], slow_check, without_waits).await;
    assert!(errors(&report).is_empty(), "{:#?}", errors(&report));
    assert_eq!(
        caught(&report),
        BTreeSet::from(["O10"]),
        "{}",
        report.summary_table()
    );
    let o10 = report.results.iter().find(|r| r.id == "O10").unwrap();
    assert!(
        o10.evidence
            .iter()
            .any(|line| line.contains("/frontchannel-logout?iss=")),
        "{:#?}",
        o10.evidence
    );
}

#[tokio::test]
async fn a_missing_declaration_skips_with_the_key_to_add_and_an_unreachable_rp_is_an_error() {
    let sim = Simulator::builder().start().await.unwrap();
    let rp = reference_rp::start(sim.issuer(), &[], Limits::short()).await;
    let mut text = reference_rp::profile(&rp, sim.base_url(), &Limits::short());
    for key in [
        "broker_check_seconds",
        "max_login_age_seconds",
        "idle_seconds",
        "absolute_seconds",
        "frontchannel_logout_uri",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap()
            .to_string();
        text = text.replace(&format!("{line}\n"), "");
    }
    text = text.replace(
        "[assurance]\nrequired = \"substantial\"\nasks_with = \"idp_params\"\n",
        "",
    );
    let profile = profile::parse(&text).unwrap();
    let report = conformance::run(
        profile,
        &only(&["L08", "S01", "S02", "S03", "S05", "S06", "T10", "O10"]),
        |_| {},
    )
    .await
    .unwrap();
    let reasons: Vec<(&str, Status, &str)> = report
        .results
        .iter()
        .map(|r| (r.id, r.status, r.summary.as_str()))
        .collect();
    for (id, key) in [
        ("L08", "[assurance]"),
        ("S01", "sessions.idle_seconds"),
        ("S02", "sessions.absolute_seconds"),
        ("S03", "sessions.idle_seconds"),
        ("S05", "sessions.broker_check_seconds"),
        ("S06", "sessions.max_login_age_seconds"),
        ("T10", "sessions.max_login_age_seconds"),
        ("O10", "client.frontchannel_logout_uri"),
    ] {
        let (_, status, summary) = reasons.iter().find(|(i, _, _)| *i == id).unwrap();
        assert_eq!(*status, Status::Skipped, "{id}: {summary}");
        assert!(summary.contains(key), "{id} names {key}: {summary}");
    }

    // The RP gone: the kit cannot carry the scenarios out, which is no verdict on the RP.
    rp.stop().await;
    let profile = profile::parse(&reference_rp::profile(
        &rp,
        sim.base_url(),
        &Limits::short(),
    ))
    .unwrap();
    let report = conformance::run(profile, &only(&["L01", "O03"]), |_| {})
        .await
        .unwrap();
    for result in &report.results {
        assert_eq!(
            result.status,
            Status::Error,
            "{}: {}",
            result.id,
            result.summary
        );
    }
    assert_eq!(report.exit_code(false), 3);
    sim.stop().await;
}

#[tokio::test]
async fn an_existing_registration_is_compared_with_the_profile() {
    let sim = Simulator::builder().start().await.unwrap();
    let rp = reference_rp::start(sim.issuer(), &[], Limits::short()).await;
    let text = reference_rp::profile(&rp, sim.base_url(), &Limits::short());
    let registered = profile::parse(&text).unwrap();
    let control = conformance::broker::BrokerControl::new(&registered);
    let differences = conformance::prepare_client(&control, &registered.client)
        .await
        .unwrap();
    assert!(differences.is_empty(), "{differences:#?}");
    // The team's profile says ES256 and a front-channel URI; the broker has neither.
    let changed = text.replace(
        "[client]\n",
        "[client]\nregister = false\nid_token_signed_response_alg = \"ES256\"\n",
    );
    let mut changed = profile::parse(&changed).unwrap();
    changed.client.frontchannel_logout_uri = Some(format!("{}/fc", rp.base));
    let report = conformance::run(changed.clone(), &only(&["O03"]), |_| {})
        .await
        .unwrap();
    assert_eq!(
        report.registration_differences.len(),
        2,
        "{:#?}",
        report.registration_differences
    );
    assert!(report
        .summary_table()
        .contains("id_token_signed_response_alg: the profile says ES256"));
    changed.client.client_id = "nobody-registered-this".into();
    let err = conformance::run(changed, &only(&["O03"]), |_| {})
        .await
        .unwrap_err();
    assert!(err.contains("not registered"), "{err}");
    rp.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn reports_come_as_json_and_junit_with_references_and_known_gaps() {
    let mut report = run_against(&[Fault::NoNoStore], Limits::short(), only(&["O03", "L01"])).await;
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
            let evidence = ["<system-out>", "[H]", "[S]", "[P+]", "[P−]", "[N]"];
            if evidence.iter().any(|mark| l.contains(mark)) {
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
    let rp = reference_rp::start(sim.issuer(), &[Fault::NoNoStore], Limits::short()).await;
    let dir = std::env::temp_dir().join(format!("mitid-sim-kit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile_path = dir.join("target.toml");
    let text = reference_rp::profile(&rp, sim.base_url(), &Limits::short());
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
    let limits = Limits::short();
    let rp = reference_rp::start(sim.issuer(), &[], limits.clone()).await;
    let only_l09 = only(&["L09"]);
    let base = reference_rp::profile(&rp, sim.base_url(), &limits).replace(
        "[citizens]\nuser = \"app.instant\"\n",
        &format!(
            "[citizens]\nuser = \"app.instant\"\nclasses = []\n\
             professionals = [\"{CARL}\", \"{BJORN_SIGNATORY}\", \"{SARAH}\"]\n"
        ),
    );
    assert!(base.contains("professionals"), "{base}");
    let declared = base.replace(
        "login_path = \"/login\"\n",
        "login_path = \"/login\"\nprofessional_login_path = \"/login?erhverv\"\n",
    );
    let report = conformance::run(profile::parse(&declared).unwrap(), &only_l09, |_| {})
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
    let report = conformance::run(profile::parse(&base).unwrap(), &only_l09, |_| {})
        .await
        .unwrap();
    let l09 = &report.results[0];
    assert_eq!(l09.status, Status::Error, "the kit could not carry it out");
    assert!(
        l09.summary.contains("professional_login_path"),
        "{}",
        l09.summary
    );
    rp.stop().await;
    sim.stop().await;
}

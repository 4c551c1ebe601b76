//! Console, JSON and JUnit reports of a run, and the expected-failures gate.

use std::collections::BTreeSet;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::scenario::{Group, Outcome, Status};

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioResult {
    pub id: &'static str,
    pub group: Group,
    pub title: &'static str,
    pub references: &'static [&'static str],
    pub status: Status,
    pub summary: String,
    pub evidence: Vec<String>,
    pub seconds: f64,
    /// A failure the team declared known in `--expected-failures`.
    pub expected: bool,
    /// The page the kit saw last in a FAILED scenario (browser driver), relative to the
    /// report folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<String>,
}

impl ScenarioResult {
    pub fn new(scenario: &super::scenario::Scenario, outcome: Outcome, took: Duration) -> Self {
        Self {
            id: scenario.id,
            group: scenario.group,
            title: scenario.title,
            references: scenario.references,
            status: outcome.status,
            summary: outcome.summary,
            evidence: outcome.evidence,
            seconds: took.as_secs_f64(),
            expected: false,
            screenshot: None,
        }
    }

    /// A failure (or, with `--strict`, a warning) nobody declared known. An ERROR is
    /// neither: the RP was not judged (see [`RunReport::errors`]).
    pub fn unexpected(&self, strict: bool) -> bool {
        let bad = self.status == Status::Failed || (strict && self.status == Status::Warning);
        bad && !self.expected
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub target: String,
    pub client_id: String,
    /// How the broker's registration differs from the profile's client section
    /// (`register = false`); empty when they agree.
    pub registration_differences: Vec<String>,
    pub results: Vec<ScenarioResult>,
    /// Where the report's files (screenshots) are; JUnit attachments point into it.
    #[serde(skip)]
    pub report_dir: Option<std::path::PathBuf>,
}

impl RunReport {
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    pub fn unexpected_failures(&self, strict: bool) -> Vec<&ScenarioResult> {
        self.results
            .iter()
            .filter(|r| r.unexpected(strict))
            .collect()
    }

    /// Scenarios the kit could not carry out.
    pub fn errors(&self) -> Vec<&ScenarioResult> {
        self.results
            .iter()
            .filter(|r| r.status == Status::Error)
            .collect()
    }

    /// The process exit code: 1 for an unexpected failure, else 3 when a scenario ended in
    /// ERROR, else 0. (2: the run could not start; the CLI decides that.)
    pub fn exit_code(&self, strict: bool) -> i32 {
        if !self.unexpected_failures(strict).is_empty() {
            1
        } else if !self.errors().is_empty() {
            3
        } else {
            0
        }
    }

    /// Marks the ids listed in an expected-failures file (one id a line, `#` comments).
    pub fn apply_expected(&mut self, listed: &BTreeSet<String>) {
        for result in &mut self.results {
            result.expected = listed.contains(result.id);
        }
    }

    pub fn summary_table(&self) -> String {
        let mut out = String::new();
        if !self.registration_differences.is_empty() {
            out.push_str("The broker's registration differs from the profile's [client]:\n");
            for difference in &self.registration_differences {
                out.push_str(&format!("  - {difference}\n"));
            }
            out.push('\n');
        }
        out.push_str("ID   STATUS   TITLE\n");
        for r in &self.results {
            let mark = if r.expected && r.status == Status::Failed {
                " (expected)"
            } else {
                ""
            };
            out.push_str(&format!(
                "{:<4} {:<8} {}{mark}\n",
                r.id,
                r.status.name(),
                r.title
            ));
            out.push_str(&format!("     └ {}\n", r.summary));
            if r.status != Status::Passed {
                for line in &r.evidence {
                    out.push_str(&format!("       {line}\n"));
                }
            }
        }
        out.push_str(&format!(
            "\n{} passed, {} failed, {} warnings, {} skipped, {} errors\n",
            self.count(Status::Passed),
            self.count(Status::Failed),
            self.count(Status::Warning),
            self.count(Status::Skipped),
            self.count(Status::Error)
        ));
        out
    }

    pub fn junit(&self) -> Result<String, String> {
        let mut suite = TestSuite::new(format!("mitid-sim conformance: {}", self.client_id));
        for r in &self.results {
            let mut status = match r.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Skipped => TestCaseStatus::skipped(),
                Status::Failed if r.expected => TestCaseStatus::skipped(),
                Status::Failed => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Status::Warning => TestCaseStatus::success(),
                Status::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
            };
            status.set_message(r.summary.clone());
            status.set_description(r.evidence.join("\n"));
            let mut case = TestCase::new(format!("{} {}", r.id, r.title), status);
            case.set_classname(format!("conformance.{}", r.group.name()));
            case.set_time(Duration::from_secs_f64(r.seconds));
            // Every verdict carries its evidence; passed and warned cases have no failure
            // element to hold it.
            let mut out = format!("{}\n{}", r.summary, r.evidence.join("\n"));
            if let Some(screenshot) = &r.screenshot {
                // The attachment convention of Jenkins and GitLab.
                let path = match &self.report_dir {
                    Some(dir) => dir.join(screenshot).display().to_string(),
                    None => screenshot.clone(),
                };
                out.push_str(&format!("\n[[ATTACHMENT|{path}]]"));
                case.add_property(Property::new("screenshot", screenshot.as_str()));
            }
            case.set_system_out(out);
            case.add_property(Property::new("id", r.id));
            case.add_property(Property::new("status", r.status.name()));
            for reference in r.references {
                case.add_property(Property::new("reference", *reference));
            }
            if r.expected {
                case.add_property(Property::new("expected_failure", "true"));
            }
            suite.add_test_case(case);
        }
        let mut report = Report::new("mitid-sim conformance");
        report.add_test_suite(suite);
        report.to_string().map_err(|e| e.to_string())
    }
}

/// Reads an expected-failures file: scenario ids, one a line; `#` starts a comment.
pub fn parse_expected(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

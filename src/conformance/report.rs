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
        }
    }

    /// A failure (or, with `--strict`, a warning) nobody declared known.
    pub fn unexpected(&self, strict: bool) -> bool {
        let bad = self.status == Status::Failed || (strict && self.status == Status::Warning);
        bad && !self.expected
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub target: String,
    pub client_id: String,
    pub results: Vec<ScenarioResult>,
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

    /// Marks the ids listed in an expected-failures file (one id a line, `#` comments).
    pub fn apply_expected(&mut self, listed: &BTreeSet<String>) {
        for result in &mut self.results {
            result.expected = listed.contains(result.id);
        }
    }

    pub fn summary_table(&self) -> String {
        let mut out = String::from("ID   STATUS   TITLE\n");
        for r in &self.results {
            let status = format!("{:?}", r.status).to_uppercase();
            let mark = if r.expected && r.status == Status::Failed {
                " (expected)"
            } else {
                ""
            };
            out.push_str(&format!("{:<4} {:<8} {}{mark}\n", r.id, status, r.title));
            if r.status != Status::Passed {
                out.push_str(&format!("     └ {}\n", r.summary));
            }
        }
        out.push_str(&format!(
            "\n{} passed, {} failed, {} warnings, {} skipped\n",
            self.count(Status::Passed),
            self.count(Status::Failed),
            self.count(Status::Warning),
            self.count(Status::Skipped)
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
            };
            if r.status != Status::Passed {
                status.set_message(r.summary.clone());
                status.set_description(r.evidence.join("\n"));
            }
            let mut case = TestCase::new(format!("{} {}", r.id, r.title), status);
            case.set_classname(format!("conformance.{}", r.group.name()));
            case.set_time(Duration::from_secs_f64(r.seconds));
            case.add_property(Property::new("id", r.id));
            case.add_property(Property::new(
                "status",
                format!("{:?}", r.status).to_uppercase(),
            ));
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

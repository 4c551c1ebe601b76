//! `mitid-sim conformance init|run`: the RP conformance kit for CI.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use mitid_sim::conformance::report::{parse_expected, RunReport};
use mitid_sim::conformance::scenario::Status;
use mitid_sim::conformance::{self, profile, Selection};

#[derive(Subcommand)]
pub enum ConformanceCommand {
    /// Write a commented target profile to start from.
    Init {
        /// Where to write it (default: print it).
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Drive the RP through the catalogue against a running broker.
    ///
    /// Exit code: 0 when nothing unexpected failed, 1 when a scenario failed (or, with
    /// --strict, warned) that --expected-failures does not list, 2 when the run could
    /// not start (bad profile, broker unreachable).
    Run {
        /// The target profile (TOML, see `conformance init`).
        #[arg(long, value_name = "FILE")]
        target: PathBuf,
        /// Run only these scenario ids or groups (login, token, logout, session); repeatable.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Leave out these ids or groups; repeatable.
        #[arg(long, value_delimiter = ',')]
        skip: Vec<String>,
        /// Write the report as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the report as JUnit XML (one testcase per scenario).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Scenario ids that may fail without failing the run (one a line, # comments).
        #[arg(long, value_name = "FILE")]
        expected_failures: Option<PathBuf>,
        /// Warnings fail the run too.
        #[arg(long)]
        strict: bool,
    },
}

pub fn run(command: ConformanceCommand) -> Result<(), String> {
    match command {
        ConformanceCommand::Init { out } => match out {
            Some(path) => {
                std::fs::write(&path, profile::TEMPLATE)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                eprintln!(
                    "wrote {}; edit it, then: mitid-sim conformance run --target {}",
                    path.display(),
                    path.display()
                );
                Ok(())
            }
            None => {
                print!("{}", profile::TEMPLATE);
                Ok(())
            }
        },
        ConformanceCommand::Run {
            target,
            only,
            skip,
            json,
            junit,
            expected_failures,
            strict,
        } => {
            let report = match start(&target, Selection { only, skip }, expected_failures) {
                Ok(report) => report,
                Err(message) => {
                    eprintln!("mitid-sim: {message}");
                    std::process::exit(2);
                }
            };
            print!("\n{}", report.summary_table());
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
                std::fs::write(&path, text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            if let Some(path) = junit {
                std::fs::write(&path, report.junit()?)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            let unexpected = report.unexpected_failures(strict);
            if unexpected.is_empty() {
                Ok(())
            } else {
                let ids: Vec<_> = unexpected.iter().map(|r| r.id).collect();
                eprintln!("mitid-sim: unexpected failures: {}", ids.join(", "));
                let _ = std::io::stdout().flush();
                std::process::exit(1);
            }
        }
    }
}

fn start(
    target: &std::path::Path,
    selection: Selection,
    expected: Option<PathBuf>,
) -> Result<RunReport, String> {
    let profile = profile::load(target).map_err(|e| e.to_string())?;
    let expected = match expected {
        Some(path) => parse_expected(
            &std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        ),
        None => Default::default(),
    };
    let mut report = super::block_on(conformance::run(
        profile.clone(),
        &selection,
        |scenario, result| match result {
            None => {
                let wait = conformance::expected_wait(scenario.id, &profile)
                    .map(|s| format!(" (waits up to {s} s for the RP's clock)"))
                    .unwrap_or_default();
                print!("{} {}{wait} … ", scenario.id, scenario.title);
                let _ = std::io::stdout().flush();
            }
            Some(result) => {
                let status = match result.status {
                    Status::Passed => "PASSED",
                    Status::Failed => "FAILED",
                    Status::Warning => "WARNING",
                    Status::Skipped => "SKIPPED",
                };
                println!("{status} ({:.1} s)", result.seconds);
            }
        },
    ))?;
    report.apply_expected(&expected);
    Ok(report)
}

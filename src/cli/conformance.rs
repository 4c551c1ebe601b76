//! `mitid-sim conformance init|run`: the RP conformance kit for CI.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use mitid_sim::conformance::report::{parse_expected, RunReport};
use mitid_sim::conformance::scenario::Event;
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
    /// Exit code: 0 when nothing unexpected failed and nothing ended in ERROR; 1 when a
    /// scenario failed (or, with --strict, warned) that --expected-failures does not list;
    /// 2 when the run could not start (bad profile, broker unreachable, client not
    /// registered); 3 when nothing failed but a scenario ended in ERROR (the kit could
    /// not carry it out, e.g. the RP did not come back after a restart).
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
        /// Write report.json, junit.xml and, with the browser driver, a screenshot of the
        /// last page of every FAILED scenario (screenshots/<ID>.png) into this folder.
        /// Without it, screenshots go beside --json (else --junit), if given.
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,
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
            report_dir,
            expected_failures,
            strict,
        } => {
            let json = json.or_else(|| report_dir.as_ref().map(|d| d.join("report.json")));
            let junit = junit.or_else(|| report_dir.as_ref().map(|d| d.join("junit.xml")));
            let beside = |file: &Option<PathBuf>| {
                file.as_ref()
                    .map(|f| f.parent().map(PathBuf::from).unwrap_or_default())
            };
            let report_dir = report_dir
                .or_else(|| beside(&json))
                .or_else(|| beside(&junit));
            if let Some(dir) = &report_dir {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let options = conformance::RunOptions { report_dir };
            let report = match start(
                &target,
                Selection { only, skip },
                &options,
                expected_failures,
            ) {
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
            let errors: Vec<_> = report.errors().iter().map(|r| r.id).collect();
            if !errors.is_empty() {
                eprintln!("mitid-sim: not carried out (ERROR): {}", errors.join(", "));
            }
            let unexpected: Vec<_> = report
                .unexpected_failures(strict)
                .iter()
                .map(|r| r.id)
                .collect();
            if !unexpected.is_empty() {
                eprintln!("mitid-sim: unexpected failures: {}", unexpected.join(", "));
            }
            let code = report.exit_code(strict);
            if code != 0 {
                let _ = std::io::stdout().flush();
                std::process::exit(code);
            }
            Ok(())
        }
    }
}

fn start(
    target: &std::path::Path,
    selection: Selection,
    options: &conformance::RunOptions,
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
    let selected: Vec<_> = conformance::scenarios::catalogue()
        .into_iter()
        .filter(|s| selection.includes(s))
        .collect();
    let waits: u64 = selected
        .iter()
        .filter_map(|s| conformance::expected_wait(s.id, &profile))
        .sum();
    println!(
        "{} scenarios against {} (client {}), about {waits} s of them waiting for the RP's clocks",
        selected.len(),
        profile.target.base_url,
        profile.client.client_id
    );
    let run = conformance::run_with(profile.clone(), &selection, options, |event| {
        match event {
            Event::Driver(driver) => println!("driving {driver}"),
            Event::Start(scenario) => print!("{} {} … ", scenario.id, scenario.title),
            Event::Wait { seconds, reason } => print!("(waits {seconds} s: {reason}) "),
            Event::Done(result) => {
                println!("{} ({:.1} s)", result.status.name(), result.seconds)
            }
        }
        let _ = std::io::stdout().flush();
    });
    let mut report = super::block_on(async {
        tokio::select! {
            report = run => report,
            // The browser's processes live in a group of their own: end them too.
            signal = interrupted() => {
                conformance::driver::chromium::kill_all();
                eprintln!("\nmitid-sim: {signal}");
                std::process::exit(130);
            }
        }
    })?;
    report.apply_expected(&expected);
    Ok(report)
}

/// Waits for Ctrl-C or SIGTERM (a cancelled CI job); says which came.
async fn interrupted() -> &'static str {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "interrupted";
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = terminate.recv() => "terminated",
    }
}

//! The `mitid-sim` command line: parse arguments, then hand over to `cli`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mitid-sim: {message}");
            ExitCode::FAILURE
        }
    }
}

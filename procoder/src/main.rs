//! `procoder`: parse the command line, run, exit 0 on success and 1 on every coded failure.
//! clap exits 2 for usage errors.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = procoder::cli::Cli::parse();
    ExitCode::from(procoder::run(cli))
}

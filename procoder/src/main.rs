//! `procoder`: parse the command line, run, exit 0 on success and 1 on every coded failure;
//! 2 for usage errors (clap's text, or one JSON object under `--json`).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(procoder::main())
}

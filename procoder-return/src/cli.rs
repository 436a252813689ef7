//! `./procoder-return`'s command line: run inside an unzipped task package after committing.
//! It takes no arguments but `--help` and `--version`, so it parses them by hand.

use crate::{earlier::ReplacedCommit, Repairs};
use procoder_manifest::{ErrorCode, Failure, Style};
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "\
Usage: ./procoder-return

Run in the unzipped procoder task package after committing your work on the task branch
(or on other branches named procoder/<id>/<name>). Writes procoder-return-<id>.zip in the
repository root; give that file back to the user.

Options:
  -h, --help     Print this help
  -V, --version  Print the version
";

/// Tells the agent what the lossy-extraction repair changed, so nothing happens behind its back.
fn print_repairs(out: &mut impl Write, r: &Repairs) {
    let _ = writeln!(
        out,
        "Repaired a lossy extraction (the package was unzipped without modes and symlinks, e.g. by Python's zipfile; use `unzip` next time):"
    );
    for p in &r.exec {
        let _ = writeln!(out, "  restored exec bit: {p}");
    }
    for p in &r.symlinks {
        let _ = writeln!(out, "  restored symlink: {p}");
    }
    for p in &r.line_endings {
        let _ = writeln!(
            out,
            "  restored CRLF line endings git add had normalised: {p}"
        );
    }
    for (name, old, new) in &r.rewritten {
        let short = |o: &git2::Oid| o.to_string()[..12].to_owned();
        let _ = writeln!(
            out,
            "  rewrote {}: {} -> {} (same changes, messages and authors; modes restored)",
            name.trim_start_matches("refs/heads/"),
            short(old),
            short(new)
        );
    }
    for p in &r.kept {
        let _ = writeln!(
            out,
            "  kept as committed: {p} was a symlink in the package and is now a file with other content"
        );
    }
}

/// First, because the agent reads the first lines: this return drops commits an earlier one
/// sent, so the user's plain apply would refuse it (`RETURN_REWRITES`) once the earlier one is in.
fn print_replaced(out: &mut impl Write, replaced: &[ReplacedCommit], apply: &str) {
    const SHOWN: usize = 10;
    let _ = writeln!(
        out,
        "This return replaces {} an earlier ./procoder-return already sent (amended or rebased since): tell the user to run `{apply}`, which takes it and keeps the replaced commits on a backup branch",
        procoder_manifest::count(replaced.len(), "commit")
    );
    for c in replaced.iter().take(SHOWN) {
        let _ = writeln!(out, "  replaces {} on {}  {}", c.short, c.branch, c.subject);
    }
    if replaced.len() > SHOWN {
        let _ = writeln!(out, "  and {} more", replaced.len() - SHOWN);
    }
}

/// `CODE: message`, then the hint, then the details indented two spaces: an agent often sees
/// only the first and last lines, and a refusal listing hundreds of paths would bury the step.
fn render(failure: &Failure) -> String {
    let style = Style {
        indent: "  ",
        color: false,
    };
    let head = Failure {
        details: Vec::new(),
        ..failure.clone()
    };
    let mut s = head.render(style);
    for d in &failure.details {
        s.push_str("\n  ");
        s.push_str(d);
    }
    s
}

/// Runs the helper as `./procoder-return` was invoked; the exit status to return.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => {}
        Some("-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("-V" | "--version") => {
            println!("procoder-return {}", crate::version());
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("error: unexpected argument {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    match crate::run(&cwd) {
        Ok(outcome) => {
            let mut out = std::io::stdout().lock();
            let name = outcome
                .zip_path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let apply = match outcome.replaced.is_empty() {
                true => format!("procoder apply {name}"),
                false => format!("procoder apply {name} --replace"),
            };
            if !outcome.replaced.is_empty() {
                print_replaced(&mut out, &outcome.replaced, &apply);
            }
            if let Some(r) = &outcome.repairs {
                print_repairs(&mut out, r);
            }
            let _ = writeln!(
                out,
                "Created return package with {}:",
                procoder_manifest::count(outcome.updates.len(), "branch update")
            );
            for u in &outcome.updates {
                let from = u
                    .old_oid
                    .map(|o| o.to_string()[..12].to_owned())
                    .unwrap_or_else(|| "(new)".into());
                let _ = writeln!(
                    out,
                    "  {}  {from} -> {}",
                    u.name,
                    &u.new_oid.to_string()[..12]
                );
            }
            let path = outcome.zip_path.display();
            let _ = writeln!(
                out,
                "Return package: {path} ({} objects, {} bytes)",
                outcome.objects, outcome.zip_bytes
            );
            let _ = writeln!(out, "Sandbox hint: sandbox:{path}");
            if outcome.stashed > 0 {
                let _ = writeln!(
                    out,
                    "Note: `git stash list` has {} not part of the return; to return it, run `git stash pop`, commit, then rerun ./procoder-return",
                    match outcome.stashed {
                        1 => "1 entry, which is".to_owned(),
                        n => format!("{n} entries, which are"),
                    }
                );
            }
            if let Some(why) = &outcome.unrecorded {
                let _ = writeln!(
                    out,
                    "Note: {why}; a later return cannot tell whether it rewrites these commits"
                );
            }
            let why = match outcome.replaced.is_empty() {
                true => "",
                false => " (this return replaces commits an earlier one sent)",
            };
            let _ = writeln!(
                out,
                "Next: give the user the file above and tell them to run `{apply}` in their repository{why}."
            );
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", render(&failure));
            if failure.code == ErrorCode::Internal {
                for cause in failure.causes() {
                    let _ = writeln!(err, "  caused by: {cause}");
                }
            }
            ExitCode::from(1)
        }
    }
}

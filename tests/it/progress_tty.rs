//! Progress bars are drawn for a person at a terminal and for nobody else: `procoder prepare`
//! runs in a pseudo-terminal (python3's `pty` module) with `PROCODER_PROGRESS_DELAY_MS=0` and
//! must draw its bars there; with `CI=true`, `--quiet`, `--json`, a long delay, or stderr on
//! a pipe it must draw none.

use crate::common::*;
use std::path::Path;
use std::process::{Command, Output};

/// Runs its arguments as a child on a new pseudo-terminal (100x30, all three standard streams)
/// and copies everything the terminal received to stdout; exits with the child's status.
const PTY_RUN: &str = r#"
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
out = bytearray()
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(bytes(out))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// The labels of prepare's bars (`procoder/src/ui/progress.rs`).
const BAR_LABELS: [&str; 3] = ["counting objects", "writing pack", "checking out (zip)"];

/// `procoder args` in `dir` on a pseudo-terminal. `CI` is removed from the child's
/// environment (CI services set it for the test run itself) unless `env` sets it.
fn in_pty(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(PTY_RUN)
        .arg(bin("procoder"))
        .args(args)
        .current_dir(dir);
    hermetic(&mut cmd)
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .env("PROCODER_PROGRESS_DELAY_MS", "0")
        .envs(env.iter().copied());
    cmd.output().expect("python3 is on PATH for every test run")
}

fn screen(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Somewhere `unit` is followed by a rate: `12 files, 9.7/s`.
fn with_rate(text: &str, unit: &str) -> bool {
    text.match_indices(unit).any(|(at, _)| {
        text[at + unit.len()..]
            .split_whitespace()
            .next()
            .is_some_and(|rate| {
                rate.ends_with("/s") && rate.starts_with(|c: char| c.is_ascii_digit())
            })
    })
}

fn bars_in(text: &str) -> Vec<&'static str> {
    BAR_LABELS
        .into_iter()
        .filter(|l| text.contains(l))
        .collect()
}

#[test]
fn prepare_draws_progress_bars_on_a_terminal() {
    let local = TestRepo::new();
    let out = in_pty(&local.dir, &["prepare"], &[]);
    let text = screen(&out);
    assert!(out.status.success(), "prepare failed in the pty:\n{text}");
    assert_eq!(
        bars_in(&text),
        BAR_LABELS,
        "every step of prepare draws its bar on the terminal:\n{text:?}"
    );
    assert!(
        text.contains("\x1b[2K"),
        "bars are redrawn in place (erase-line) and cleared at the end:\n{text:?}"
    );
    assert!(
        with_rate(&text, " files, ") && with_rate(&text, " objects, "),
        "the bars count files and objects, with a rate:\n{text:?}"
    );
    assert!(
        text.contains("Task package: "),
        "the result is printed after the bars:\n{text}"
    );
}

#[test]
fn no_bars_under_ci_quiet_json_or_before_the_delay() {
    let local = TestRepo::new();
    for (args, env, why) in [
        (&["prepare"][..], &[("CI", "true")][..], "CI=true"),
        (&["prepare", "--quiet"][..], &[][..], "--quiet"),
        (&["prepare", "--json"][..], &[][..], "--json"),
        (
            &["prepare"][..],
            &[("PROCODER_PROGRESS_DELAY_MS", "600000")][..],
            "a run shorter than the delay",
        ),
    ] {
        let out = in_pty(&local.dir, args, env);
        let text = screen(&out);
        assert!(out.status.success(), "prepare ({why}) failed:\n{text}");
        assert_eq!(
            bars_in(&text),
            Vec::<&str>::new(),
            "no bar with {why}:\n{text:?}"
        );
    }
}

#[test]
fn no_bars_when_stderr_is_a_pipe() {
    let local = TestRepo::new();
    let out = hermetic(
        Command::new(bin("procoder"))
            .arg("prepare")
            .current_dir(&local.dir),
    )
    .env_remove("CI")
    .env("TERM", "xterm-256color")
    .env("PROCODER_PROGRESS_DELAY_MS", "0")
    .output()
    .expect("procoder can be started");
    assert_success(&out, "prepare with stderr on a pipe");
    assert_eq!(stderr(&out), "", "nothing on a piped stderr");
    assert!(
        !stdout(&out).contains('\x1b'),
        "no escape sequence on a piped stdout"
    );
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let local = TestRepo::new();
    write_file(&local.dir, "notes.txt", b"dirty\n");
    let out = in_pty(&local.dir, &["prepare"], &[]);
    let text = screen(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("\x1b[1;31mWORKTREE_DIRTY\x1b[0m: "),
        "the code is red on a terminal:\n{text:?}"
    );
    let out = in_pty(&local.dir, &["prepare"], &[("NO_COLOR", "1")]);
    let text = screen(&out);
    assert!(
        text.contains("WORKTREE_DIRTY: ") && !text.contains('\x1b'),
        "NO_COLOR: no escape sequence at all:\n{text:?}"
    );
    let out = run_procoder(&local.dir, &["prepare"]);
    assert!(
        stderr(&out).starts_with("WORKTREE_DIRTY: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn archive_draws_the_same_bars_on_a_terminal_and_none_under_ci() {
    let local = TestRepo::new();
    let tmp = tempfile::TempDir::new().expect("tmp");
    let zip = |name: &str| tmp.path().join(name).to_str().expect("utf-8").to_owned();
    let out = in_pty(
        &local.dir,
        &["archive", "--no-open", "-o", &zip("a.zip")],
        &[],
    );
    let text = screen(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(bars_in(&text), BAR_LABELS, "every bar of archive:\n{text}");
    assert!(text.contains("Created repository archive."), "{text}");
    let out = in_pty(
        &local.dir,
        &["archive", "--no-open", "-o", &zip("b.zip")],
        &[("CI", "true")],
    );
    let text = screen(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        bars_in(&text),
        Vec::<&str>::new(),
        "no bar under CI:\n{text}"
    );
}

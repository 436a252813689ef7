//! Shared helpers: hermetic `git` (the oracle), the built binaries, real temporary
//! repositories, sandboxes unzipped with the real `unzip`, and snapshots that prove a
//! refusal changed nothing.

#![allow(dead_code)] // not every test module uses every helper

mod expect;
mod recovery;
mod repo;
mod rng;
mod snapshot;
mod zips;

pub use expect::*;
pub use recovery::*;
pub use repo::*;
pub use rng::*;
pub use snapshot::*;
pub use zips::*;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Identity and dates fixed for every git and procoder run: stable commit ids.
pub const FIXED_ENV: &[(&str, &str)] = &[
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Test Author"),
    ("GIT_AUTHOR_EMAIL", "author@example.com"),
    ("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"),
    ("GIT_COMMITTER_NAME", "Test Committer"),
    ("GIT_COMMITTER_EMAIL", "committer@example.com"),
    ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"),
    ("LC_ALL", "C"),
];

/// Variables from the caller's environment that would redirect git or procoder.
const UNSET: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CEILING_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "PROCODER_RETURN_HELPER",
    "PROCODER_PROGRESS_DELAY_MS",
    "RUST_BACKTRACE",
    // clap colours help even on a pipe when this is set: snapshots must not depend on it.
    "CLICOLOR_FORCE",
];

/// Applies the fixed environment to any command (git, procoder, procoder-return, sh).
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    for name in UNSET {
        cmd.env_remove(name);
    }
    cmd.envs(FIXED_ENV.iter().copied())
}

/// Runs `git` in `dir` and returns its output, whatever the exit status.
pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    hermetic(Command::new("git").args(args).current_dir(dir))
        .output()
        .expect("git is on PATH for every test run")
}

/// Runs `git` in `dir`, asserts success, returns stdout without the trailing newline.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("these git commands print utf-8")
        .trim_end()
        .to_owned()
}

/// The path of a binary built by cargo into the same target directory as this test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    // target/debug/deps/it-<hash> → target/debug/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} does not exist: build the binaries first with `cargo build --workspace` \
         (or run `cargo test --workspace`)",
        path.display()
    );
    path
}

/// Every command procoder has, as typed (the docs and help tests go through each).
pub const COMMANDS: [&str; 8] = [
    "prepare",
    "apply",
    "status",
    "abort",
    "archive",
    "close",
    "completions",
    "man",
];

/// Runs `procoder` with `args` in `dir` (hermetic git env plus `CI=true`).
pub fn run_procoder(dir: &Path, args: &[&str]) -> Output {
    run_procoder_env(dir, args, &[])
}

/// Like [`run_procoder`], with extra environment variables.
pub fn run_procoder_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    hermetic(Command::new(bin("procoder")).args(args).current_dir(dir))
        .env("CI", "true")
        .envs(env.iter().copied())
        .output()
        .expect("procoder can be started")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts exit status 0, showing both streams otherwise.
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

/// Asserts a coded failure: exit status 1 and a first stderr line `CODE: message`.
/// Returns the whole stderr.
pub fn assert_code(out: &Output, code: &str) -> String {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1 with {code}\nstdout:\n{}\nstderr:\n{err}",
        stdout(out)
    );
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.starts_with(&format!("{code}: ")),
        "first stderr line should start with `{code}: `, got {first:?}\nstderr:\n{err}"
    );
    assert!(
        first.len() > code.len() + 2,
        "the error line has no message: {first:?}"
    );
    err
}

/// Parses the whole of stdout as exactly one JSON object (trailing text fails).
pub fn json_stdout(out: &Output) -> Value {
    let text = stdout(out);
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not exactly one JSON value ({e}):\n{text}\nstderr:\n{}",
            stderr(out)
        )
    });
    assert!(value.is_object(), "stdout JSON is not an object: {value}");
    value
}

/// Writes `content` to `root/rel`, creating parent folders.
pub fn write_file(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent folders");
    }
    std::fs::write(&path, content).expect("write a test file");
}

pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every object id in the repository at `dir`, whatever reaches it.
pub fn object_ids(dir: &Path) -> std::collections::BTreeSet<String> {
    git(
        dir,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname)",
        ],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// Every object id reachable from the local heads and tags (what an export must hold).
pub fn reachable_ids(dir: &Path) -> std::collections::BTreeSet<String> {
    git(dir, &["rev-list", "--objects", "--branches", "--tags"])
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// No `procoder-task-*.zip` in `dir` (a refused or failed prepare leaves none, not even a
/// partial one).
pub fn assert_no_package(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read the repo folder") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            !name.starts_with("procoder-task-"),
            "a failed prepare left {name}"
        );
    }
}

//! Every refusal of `procoder prepare`: exit 1, `CODE: message` first on stderr, and nothing
//! left behind (no task branch, no exchange record, no package).

use crate::common::*;
use std::path::Path;

/// Runs prepare, checks the code, and that the repository is exactly as before.
fn refuse(local: &TestRepo, extra: &[&str], code: &str) -> String {
    let before = local.snapshot();
    let mut args = vec!["prepare"];
    args.extend_from_slice(extra);
    let err = assert_code(&local.procoder(&args), code);
    before.assert_unchanged(&local.dir, &format!("prepare refused with {code}"));
    assert!(
        !before.refs.contains("refs/heads/procoder/"),
        "no task branch"
    );
    assert!(before.exchange_records.is_empty(), "no exchange record");
    assert_no_package(&local.dir);
    err
}

#[test]
fn not_git_repo() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let dir = tmp.path().join("plain");
    std::fs::create_dir(&dir).expect("mkdir");
    write_file(&dir, "file.txt", b"not a repository\n");
    assert_code(&run_procoder(&dir, &["prepare"]), "NOT_GIT_REPO");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["file.txt"], "nothing written outside a repository");
}

#[test]
fn worktree_dirty_unstaged_change_names_the_path() {
    let local = TestRepo::new();
    write_file(&local.dir, "notes.txt", b"changed\n");
    let err = refuse(&local, &[], "WORKTREE_DIRTY");
    assert!(
        err.contains("notes.txt"),
        "the dirty path is listed:\n{err}"
    );
}

#[test]
fn worktree_dirty_staged_change() {
    let local = TestRepo::new();
    write_file(&local.dir, "staged.txt", b"staged\n");
    local.git(&["add", "staged.txt"]);
    let err = refuse(&local, &[], "WORKTREE_DIRTY");
    assert!(
        err.contains("staged.txt"),
        "the staged path is listed:\n{err}"
    );
}

#[test]
fn untracked_files_present() {
    let local = TestRepo::new();
    write_file(&local.dir, "stray/untracked.txt", b"new\n");
    let err = refuse(&local, &[], "UNTRACKED_FILES_PRESENT");
    assert!(
        err.contains("untracked.txt"),
        "the untracked path is listed:\n{err}"
    );
}

#[test]
fn ignored_files_do_not_block_prepare() {
    let local = TestRepo::new();
    write_file(&local.dir, ".git/info/exclude", b"*.log\n");
    write_file(&local.dir, "build.log", b"ignored\n");
    let prepared = local.prepare();
    let names: Vec<String> = zip_members(&prepared.zip)
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert!(
        !names.iter().any(|n| n.ends_with("build.log")),
        "ignored files are not exported"
    );
}

#[test]
fn detached_head() {
    let local = TestRepo::new();
    local.git(&["checkout", "-q", "--detach", "HEAD"]);
    refuse(&local, &[], "DETACHED_HEAD");
}

#[test]
fn unborn_head() {
    let local = TestRepo::empty();
    refuse(&local, &[], "UNBORN_HEAD");
}

#[test]
fn helper_not_found() {
    let local = TestRepo::new();
    refuse(
        &local,
        &["--helper", "/nonexistent/procoder-return"],
        "HELPER_NOT_FOUND",
    );
}

#[test]
fn helper_not_found_from_env() {
    let local = TestRepo::new();
    let before = local.snapshot();
    let out = run_procoder_env(
        &local.dir,
        &["prepare"],
        &[("PROCODER_RETURN_HELPER", "/nonexistent/procoder-return")],
    );
    assert_code(&out, "HELPER_NOT_FOUND");
    before.assert_unchanged(&local.dir, "HELPER_NOT_FOUND from the env");
    assert_no_package(&local.dir);
}

#[test]
fn locked_by_a_live_process() {
    let local = TestRepo::new();
    let pid = std::process::id().to_string();
    write_file(&local.dir, ".git/procoder/lock", pid.as_bytes());
    refuse(&local, &[], "LOCKED");
    let lock = std::fs::read_to_string(local.dir.join(".git/procoder/lock")).expect("lock");
    assert_eq!(lock.trim(), pid, "a live process's lock is left alone");
}

#[test]
fn stale_lock_of_a_dead_pid_is_taken_over() {
    let local = TestRepo::new();
    let dead = 999_999;
    assert!(
        !Path::new(&format!("/proc/{dead}")).exists(),
        "pid {dead} must be dead"
    );
    write_file(
        &local.dir,
        ".git/procoder/lock",
        dead.to_string().as_bytes(),
    );
    let prepared = local.prepare();
    assert_eq!(local.rev(&prepared.task_ref), local.rev("HEAD"));
    let lock = local.dir.join(".git/procoder/lock");
    if let Ok(text) = std::fs::read_to_string(&lock) {
        assert_ne!(
            text.trim(),
            dead.to_string(),
            "the stale lock was taken over"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let local = TestRepo::new();
    let before = local.snapshot();
    for args in [&["prepare", "--no-such-flag"][..], &["no-such-command"][..]] {
        let out = local.procoder(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "procoder {args:?}: {}",
            stderr(&out)
        );
    }
    before.assert_unchanged(&local.dir, "usage errors");
}

#[test]
fn unsupported_path_names_the_non_utf8_file() {
    use std::os::unix::ffi::OsStrExt;
    let local = TestRepo::new();
    let name = std::ffi::OsStr::from_bytes(b"latin1-caf\xe9.txt");
    std::fs::write(local.dir.join(name), b"bytes\n").expect("write");
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", "A Latin-1 file name"]);
    let err = refuse(&local, &[], "UNSUPPORTED_PATH");
    assert!(err.contains("latin1-caf"), "the path is named:\n{err}");
    assert!(err.contains("Hint: rename"), "{err}");
}

#[test]
fn a_prepare_that_fails_after_writing_undoes_everything() {
    // The package cannot be placed (the output is a folder): by then the record, the log and
    // the task branch exist, and all of them must go again.
    let local = TestRepo::new();
    let out_dir = tempfile::TempDir::new().expect("tmp");
    let before = local.snapshot();
    let out = local.procoder(&["prepare", "--output", &out_dir.path().display().to_string()]);
    assert_code(&out, "INTERNAL");
    before.assert_unchanged(
        &local.dir,
        "a prepare that failed while placing the package",
    );
    assert_eq!(
        local.git(&["for-each-ref", "refs/heads/procoder/"]),
        "",
        "no task branch"
    );
    let store = local.dir.join(".git/procoder/exchanges");
    let records = std::fs::read_dir(&store).map(|d| d.count()).unwrap_or(0);
    assert_eq!(records, 0, "no exchange record left in {}", store.display());
    assert_no_package(&local.dir);
    assert_eq!(
        std::fs::read_dir(out_dir.path()).expect("read").count(),
        0,
        "nothing written into the output folder"
    );
    let tmp = local.dir.join(".git/procoder/tmp");
    let left = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no scratch files left in {}", tmp.display());
}

/// Uncommitted and untracked together are one refusal naming both, with a hint for both:
/// not one reason per run.
#[test]
fn uncommitted_and_untracked_are_reported_at_once() {
    let local = TestRepo::new();
    write_file(&local.dir, "notes.txt", b"changed\n");
    write_file(&local.dir, "stray/untracked.txt", b"new\n");
    let err = refuse(&local, &[], "WORKTREE_DIRTY");
    // git's own view of the work tree is the oracle for what must be named.
    for line in local.git(&["status", "--porcelain", "-uall"]).lines() {
        let path = &line[3..];
        assert!(err.contains(path), "{path} is listed:\n{err}");
    }
    assert!(
        err.contains("1 uncommitted change and 1 untracked file"),
        "{err}"
    );
    assert!(err.contains("git stash --include-untracked"), "{err}");
}

#[test]
fn output_over_an_existing_file_is_refused_and_the_file_kept() {
    let local = TestRepo::new();
    let outside = tempfile::TempDir::new().expect("tmp");
    let mine = outside.path().join("mine.zip");
    std::fs::write(&mine, b"the user's own file").expect("write");
    let err = refuse(
        &local,
        &["--output", mine.to_str().expect("utf-8")],
        "OUTPUT_EXISTS",
    );
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("--output <new-file.zip>"), "{err}");
    assert_eq!(
        std::fs::read(&mine).expect("still there"),
        b"the user's own file"
    );
}

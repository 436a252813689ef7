//! `apply --checkout`: after the refs move, this work tree is switched to the task branch (its
//! `--namespace` copy) as `git switch` would; refused before anything moves when it cannot
//! happen, and an apply interrupted before the switch is finished or undone with the log.

use crate::apply_refusals::refuse;
use crate::common::*;
use std::path::Path;

/// HEAD, index and files of `dir` are exactly the tree of `rev`: `git status` is clean, the
/// index lists the tree's paths, and every file on disk holds its blob.
fn assert_work_tree_is(dir: &Path, rev: &str) {
    assert_eq!(
        git(dir, &["status", "--porcelain"]),
        "",
        "a clean work tree"
    );
    let tree = git(dir, &["ls-tree", "-r", "--name-only", rev]);
    assert_eq!(
        git(dir, &["ls-files"]),
        tree,
        "the index holds the tree of {rev}"
    );
    for path in tree.lines() {
        let on_disk = dir.join(path);
        let expected = git_output(dir, &["cat-file", "blob", &format!("{rev}:{path}")]).stdout;
        let actual = match std::fs::read_link(&on_disk) {
            Ok(target) => target.to_string_lossy().into_owned().into_bytes(),
            Err(_) => std::fs::read(&on_disk).expect("every path of the tree is on disk"),
        };
        assert_eq!(actual, expected, "{path} holds the blob of {rev}");
    }
}

fn short(name: &str) -> &str {
    name.trim_start_matches("refs/heads/")
}

#[test]
fn checkout_switches_head_index_and_files_to_the_task_branch() {
    let r = Returned::new();
    // An untracked file the task branch does not have is no obstacle, and it stays.
    write_file(&r.local.dir, "scratch.txt", b"my own notes\n");
    let out = r.apply(&["--checkout"]);
    assert_success(&out, "apply --checkout");
    assert!(
        stdout(&out).contains(&format!("Checked out {} in ", short(&r.prepared.task_ref))),
        "{}",
        stdout(&out)
    );
    assert_eq!(r.local.git(&["symbolic-ref", "HEAD"]), r.prepared.task_ref);
    assert_eq!(r.local.rev(&r.prepared.task_ref), r.tip);
    std::fs::remove_file(r.local.dir.join("scratch.txt")).expect("the untracked file stayed");
    assert_work_tree_is(&r.local.dir, "HEAD");
    assert_eq!(
        r.local.rev("main"),
        r.prepared.base_oid,
        "main did not move"
    );
    let steps = log_steps(&r.local.dir, &r.prepared.id);
    let tail: Vec<&str> = steps
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        ["ref_updated", "checked_out", "committed"],
        "{steps:?}"
    );
    r.local.git(&["fsck", "--strict"]);
}

#[test]
fn checkout_with_a_namespace_switches_to_the_namespaced_branch() {
    let r = Returned::new();
    assert_success(
        &r.apply(&["--namespace", "procoder-import", "--checkout"]),
        "apply --namespace --checkout",
    );
    let mapped = format!("refs/heads/procoder-import/{}/task", r.prepared.id);
    assert_eq!(r.local.git(&["symbolic-ref", "HEAD"]), mapped);
    assert_eq!(r.local.rev(&mapped), r.tip);
    assert_eq!(r.local.rev(&r.prepared.task_ref), r.prepared.base_oid);
    assert_work_tree_is(&r.local.dir, "HEAD");
}

#[test]
fn a_dirty_work_tree_is_refused_before_anything_moves() {
    let r = Returned::new();
    write_file(&r.local.dir, "notes.txt", b"an edit I have not committed\n");
    let err = refuse(&r.local, &r.zip, &["--checkout"], "WORKTREE_DIRTY");
    assert!(err.contains("notes.txt"), "the path is named:\n{err}");
    assert!(err.contains("git stash"), "the hint says how:\n{err}");
    assert_eq!(
        std::fs::read_to_string(r.local.dir.join("notes.txt")).expect("notes"),
        "an edit I have not committed\n"
    );
    assert_eq!(r.local.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
    // A staged change counts too.
    r.local.git(&["add", "notes.txt"]);
    refuse(&r.local, &r.zip, &["--checkout"], "WORKTREE_DIRTY");
}

#[test]
fn an_untracked_file_in_the_way_is_refused_with_its_path() {
    let r = Returned::new();
    // The return adds feature.txt; the user has a file of that name that git does not know.
    write_file(&r.local.dir, "feature.txt", b"mine, not in git\n");
    let err = refuse(&r.local, &r.zip, &["--checkout"], "UNTRACKED_FILES_PRESENT");
    assert!(err.contains("feature.txt"), "the path is named:\n{err}");
    assert_eq!(
        std::fs::read_to_string(r.local.dir.join("feature.txt")).expect("kept"),
        "mine, not in git\n"
    );
    // Without --checkout the work tree is not touched, so the same file is no obstacle.
    assert_success(&r.apply(&[]), "apply without --checkout");
    assert_eq!(r.local.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
}

#[test]
fn an_ignored_file_in_the_way_is_refused_too() {
    let r = Returned::new();
    write_file(&r.local.dir, ".git/info/exclude", b"feature.txt\n");
    write_file(&r.local.dir, "feature.txt", b"ignored, still mine\n");
    let err = refuse(&r.local, &r.zip, &["--checkout"], "UNTRACKED_FILES_PRESENT");
    assert!(err.contains("feature.txt"), "{err}");
}

#[test]
fn a_checked_out_task_branch_is_updated_with_its_work_tree() {
    let r = Returned::new();
    r.local
        .git(&["checkout", "-q", short(&r.prepared.task_ref)]);
    assert_success(&r.apply(&["--checkout"]), "apply --checkout");
    assert_eq!(r.local.git(&["symbolic-ref", "HEAD"]), r.prepared.task_ref);
    assert_eq!(r.local.rev("HEAD"), r.tip);
    assert_work_tree_is(&r.local.dir, "HEAD");
}

#[test]
fn the_task_branch_checked_out_in_another_worktree_is_refused_here() {
    let r = Returned::new();
    let tmp = tempfile::TempDir::new().expect("tmp");
    let other = tmp.path().join("other");
    r.local.git(&[
        "worktree",
        "add",
        "-q",
        other.to_str().expect("utf-8"),
        short(&r.prepared.task_ref),
    ]);
    let err = refuse(
        &r.local,
        &r.zip,
        &["--checkout"],
        "TARGET_BRANCH_CHECKED_OUT",
    );
    assert!(
        err.contains("procoder -C"),
        "the hint names that worktree:\n{err}"
    );
    // From that worktree, the same flag updates it in place.
    let zip = r.zip.to_str().expect("utf-8");
    assert_success(
        &run_procoder(&other, &["apply", zip, "--checkout"]),
        "apply there",
    );
    assert_eq!(git(&other, &["rev-parse", "HEAD"]), r.tip);
    assert_work_tree_is(&other, "HEAD");
    assert_eq!(r.local.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
}

#[test]
fn dry_run_says_it_would_check_out_and_changes_nothing() {
    let r = Returned::new();
    let before = crate::apply_refusals::Untouched::take(&r.local, &r.zip);
    let out = r.apply(&["--checkout", "--dry-run"]);
    assert_success(&out, "apply --checkout --dry-run");
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "Would check out {} in ",
            short(&r.prepared.task_ref)
        )),
        "{text}"
    );
    before.assert(&r.local, "apply --checkout --dry-run");
}

#[test]
fn json_says_what_was_checked_out() {
    let r = Returned::new();
    let out = r.apply(&["--checkout", "--json"]);
    assert_success(&out, "apply --checkout --json");
    let v = json_stdout(&out);
    assert_eq!(
        v["checkouts"][0]["branch"],
        r.prepared.task_ref.as_str(),
        "{v}"
    );
    assert_eq!(v["checkouts"][0]["to"], r.tip.as_str(), "{v}");
    assert_eq!(
        v["checkouts"][0]["from"],
        r.prepared.base_oid.as_str(),
        "{v}"
    );
    let wt = v["checked_out"][0].as_str().expect("one work tree");
    assert!(
        crate::common::same_path(Path::new(wt), &r.local.dir),
        "{wt} is the repository's work tree"
    );
}

#[test]
fn checkout_of_an_exchange_already_applied_switches_and_counts_no_apply() {
    let r = Returned::new();
    assert_success(&r.apply(&[]), "apply");
    let out = r.apply(&["--checkout"]);
    assert_success(&out, "apply --checkout again");
    assert!(stdout(&out).contains("Already applied"), "{}", stdout(&out));
    assert_eq!(r.local.git(&["symbolic-ref", "HEAD"]), r.prepared.task_ref);
    assert_work_tree_is(&r.local.dir, "HEAD");
    let row = crate::common::status_row(&r.local.dir, &r.prepared.id);
    assert_eq!(row["applied_times"], 1, "{row}");
}

/// Crashes an `apply --checkout` right after `step`, then recovers it with `flag`.
fn crash_then(r: &Returned, step: &str, flag: &str) {
    let zip = r.zip.to_str().expect("utf-8");
    crash_run(&r.local.dir, &["apply", zip, "--checkout"], step);
    assert_eq!(state_of(&r.local.dir, &r.prepared.id), "interrupted");
    assert_success(&r.local.procoder(&["apply", flag]), flag);
    assert_ne!(state_of(&r.local.dir, &r.prepared.id), "interrupted");
    r.local.git(&["fsck", "--strict"]);
}

#[test]
fn continue_finishes_a_checkout_interrupted_after_the_refs_moved() {
    for step in ["plan", "ref_updated", "checked_out"] {
        let r = Returned::new();
        crash_then(&r, step, "--continue");
        assert_eq!(
            r.local.git(&["symbolic-ref", "HEAD"]),
            r.prepared.task_ref,
            "{step}"
        );
        assert_eq!(r.local.rev("HEAD"), r.tip, "{step}");
        assert_work_tree_is(&r.local.dir, "HEAD");
        let steps = log_steps(&r.local.dir, &r.prepared.id);
        let switched = steps.iter().filter(|s| *s == "checked_out").count();
        assert_eq!(switched, 1, "one switch logged after {step}: {steps:?}");
    }
}

#[test]
fn a_file_where_the_branch_has_a_folder_is_in_the_way() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    sandbox.commit_file("docs/guide.md", "# Guide\n");
    let zip = sandbox.run_return();
    write_file(&local.dir, "docs", b"a file of mine named docs\n");
    let err = refuse(&local, &zip, &["--checkout"], "UNTRACKED_FILES_PRESENT");
    assert!(
        err.lines().any(|l| l == "docs"),
        "the file is named:\n{err}"
    );
}

#[test]
fn abort_undoes_a_checkout_interrupted_after_the_refs_moved_or_after_the_switch() {
    for step in ["plan", "ref_updated", "checked_out"] {
        let r = Returned::new();
        crash_then(&r, step, "--abort");
        assert_eq!(
            r.local.git(&["symbolic-ref", "HEAD"]),
            "refs/heads/main",
            "{step}"
        );
        assert_eq!(
            r.local.rev(&r.prepared.task_ref),
            r.prepared.base_oid,
            "{step}"
        );
        assert_work_tree_is(&r.local.dir, "HEAD");
        assert!(!r.local.dir.join("feature.txt").exists(), "{step}");
    }
}

#[test]
fn recovery_of_an_interrupted_in_place_checkout_either_way() {
    for flag in ["--continue", "--abort"] {
        let r = Returned::new();
        r.local
            .git(&["checkout", "-q", short(&r.prepared.task_ref)]);
        crash_then(&r, "ref_updated", flag);
        assert_eq!(
            r.local.git(&["symbolic-ref", "HEAD"]),
            r.prepared.task_ref,
            "{flag}"
        );
        let expected = if flag == "--continue" {
            &r.tip
        } else {
            &r.prepared.base_oid
        };
        assert_eq!(&r.local.rev("HEAD"), expected, "{flag}");
        assert_work_tree_is(&r.local.dir, "HEAD");
    }
}

#[test]
fn another_worktree_on_a_moving_branch_follows_it() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    let extra = prepared.family_ref("extra");
    sandbox.git(&["checkout", "-q", "-b", short(&extra)]);
    sandbox.commit_file("extra.txt", "one\n");
    let first = sandbox.run_return();
    assert_success(
        &local.procoder(&["apply", first.to_str().expect("utf-8")]),
        "first apply",
    );
    let tmp = tempfile::TempDir::new().expect("tmp");
    let other = tmp.path().join("other");
    local.git(&[
        "worktree",
        "add",
        "-q",
        other.to_str().expect("utf-8"),
        short(&extra),
    ]);
    let tip = sandbox.commit_file("extra.txt", "two\n");
    let second = sandbox.run_return();
    let zip = second.to_str().expect("utf-8");
    assert_code(
        &local.procoder(&["apply", zip]),
        "TARGET_BRANCH_CHECKED_OUT",
    );
    assert_success(
        &local.procoder(&["apply", zip, "--checkout"]),
        "apply --checkout",
    );
    assert_eq!(git(&other, &["symbolic-ref", "HEAD"]), extra);
    assert_eq!(git(&other, &["rev-parse", "HEAD"]), tip);
    assert_work_tree_is(&other, "HEAD");
    assert_eq!(local.git(&["symbolic-ref", "HEAD"]), prepared.task_ref);
    assert_work_tree_is(&local.dir, "HEAD");
}

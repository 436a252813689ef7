//! The agent never gets stuck: each situation in which `./procoder-return` refuses is fixed
//! by running, literally, the one command its hint names. Each test runs the helper, takes
//! the command out of the first `Hint:` line (the text between the first pair of backticks),
//! runs it with `sh -c` where the helper ran, reruns the helper, applies the package with
//! procoder and compares what landed with the sandbox's branches.

use crate::common::*;
use std::path::Path;
use std::process::{Command, Output};

fn sandbox() -> (TestRepo, Prepared, Sandbox) {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    (local, prepared, sandbox)
}

/// Runs `helper` in `dir`, expects `code` with the hint on the second line, and returns the
/// command the hint names.
fn refused_step(helper: &Path, dir: &Path, code: &str) -> String {
    let out = hermetic(Command::new(helper).current_dir(dir))
        .output()
        .expect("the helper starts");
    let err = assert_code(&out, code);
    let hint = err.lines().nth(1).unwrap_or("");
    assert!(
        hint.starts_with("Hint: run `") && hint.ends_with("then rerun ./procoder-return"),
        "the second line must be the hint naming one command:\n{err}"
    );
    assert!(
        !hint.contains('<'),
        "a placeholder is left to guess:\n{err}"
    );
    hint.split('`')
        .nth(1)
        .expect("a command in backticks")
        .to_owned()
}

/// `sh -c <cmd>` in `dir`, as the agent would type it.
fn run_step(dir: &Path, cmd: &str) -> Output {
    let out = hermetic(Command::new("sh").args(["-c", cmd]).current_dir(dir))
        .output()
        .expect("sh starts");
    assert_success(&out, cmd);
    out
}

/// Applies `zip` in `local` and asserts every family branch landed at the sandbox's tip.
fn applied_as_in_sandbox(local: &TestRepo, sandbox: &Sandbox, zip: &Path) {
    let out = local.procoder(&["apply", zip.to_str().expect("utf-8 path")]);
    assert_success(&out, "procoder apply");
    let prefix = format!("refs/heads/procoder/{}/", sandbox.id);
    let family = sandbox.git(&["for-each-ref", "--format=%(refname) %(objectname)", &prefix]);
    assert!(!family.trim().is_empty(), "no family branch in the sandbox");
    for line in family.lines() {
        let (name, oid) = line.split_once(' ').expect("name and oid");
        assert_eq!(local.git(&["rev-parse", name]).trim(), oid, "{name}");
    }
}

/// The whole loop in the package's top folder: refused with `code`, the hint's command run
/// literally, the helper rerun, the package applied.
fn follow_the_hint(local: &TestRepo, sandbox: &Sandbox, code: &str) {
    let helper = sandbox.root.join("procoder-return");
    let step = refused_step(&helper, &sandbox.root, code);
    run_step(&sandbox.root, &step);
    let zip = sandbox.run_return();
    applied_as_in_sandbox(local, sandbox, &zip);
}

#[test]
fn untracked_build_output_and_a_forgotten_source_file() {
    let (local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    for i in 0..300 {
        sandbox.write(&format!("node_modules/pkg{i}/index.js"), b"module\n");
    }
    sandbox.write("web/dist/app.js", b"bundle\n");
    sandbox.write("src/new module.rs", b"pub fn f() {}\n");
    follow_the_hint(&local, &sandbox, "WORKTREE_DIRTY");
    let tree = sandbox.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(tree.contains("src/new module.rs"), "{tree}");
    assert!(
        !tree.contains("node_modules") && !tree.contains("dist"),
        "{tree}"
    );
}

#[test]
fn a_modified_tracked_file() {
    let (local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.write("feature.txt", b"more work");
    follow_the_hint(&local, &sandbox, "WORKTREE_DIRTY");
    assert_eq!(sandbox.git(&["show", "HEAD:feature.txt"]), "more work");
}

#[test]
fn commits_on_a_detached_head() {
    let (local, _prepared, sandbox) = sandbox();
    sandbox.git(&["checkout", "-q", "--detach"]);
    let tip = sandbox.commit_file("feature.txt", "work\n");
    follow_the_hint(&local, &sandbox, "NO_NEW_COMMITS");
    assert_eq!(
        local.git(&["rev-parse", &sandbox.task_ref]).trim(),
        tip.trim()
    );
}

#[test]
fn commits_on_the_checked_out_source_branch_main() {
    let (local, _prepared, sandbox) = sandbox();
    let base = sandbox.base_oid.clone();
    sandbox.git(&["checkout", "-q", "main"]);
    let tip = sandbox.commit_file("feature.txt", "work\n");
    follow_the_hint(&local, &sandbox, "REF_OUT_OF_SCOPE");
    assert_eq!(sandbox.git(&["rev-parse", "main"]).trim(), base.trim());
    assert_eq!(
        local.git(&["rev-parse", &sandbox.task_ref]).trim(),
        tip.trim()
    );
}

#[test]
fn commits_on_a_new_branch_and_another_moved_one() {
    let (local, _prepared, sandbox) = sandbox();
    let dev = sandbox.git(&["rev-parse", "dev"]);
    sandbox.git(&["checkout", "-q", "-b", "my-feature"]);
    let tip = sandbox.commit_file("feature.txt", "work\n");
    sandbox.git(&["branch", "-f", "dev", "HEAD"]);
    sandbox.git(&["tag", "v9"]);
    follow_the_hint(&local, &sandbox, "REF_OUT_OF_SCOPE");
    assert_eq!(sandbox.git(&["rev-parse", "dev"]), dev);
    let moved = format!("refs/heads/procoder/{}/my-feature", sandbox.id);
    assert_eq!(local.git(&["rev-parse", &moved]).trim(), tip.trim());
}

#[test]
fn run_from_the_folder_above_the_package() {
    let (local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    let parent = sandbox
        .root
        .parent()
        .expect("the package has a parent folder");
    let helper = sandbox.root.join("procoder-return");
    let step = refused_step(&helper, parent, "INVALID_EXCHANGE");
    let out = run_step(parent, &format!("{step} && ./procoder-return"));
    assert!(
        stdout(&out).contains("Return package: "),
        "{}",
        stdout(&out)
    );
    let zip = sandbox.run_return();
    applied_as_in_sandbox(&local, &sandbox, &zip);
}

#[test]
fn work_left_in_a_stash_is_named_and_returned_after_the_named_step() {
    let (local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.write("feature.txt", b"stashed work\n");
    sandbox.git(&["stash", "-q"]);
    let out = sandbox.run_return_output();
    assert_success(&out, "./procoder-return");
    let text = stdout(&out);
    let note = text
        .lines()
        .find(|l| l.starts_with("Note: `git stash list` has 1 entry"))
        .unwrap_or_else(|| panic!("no stash note in:\n{text}"));
    assert!(note.contains("`git stash pop`"), "{note}");
    run_step(
        &sandbox.root,
        "git stash pop -q && git commit -qam \"Add the stashed work\"",
    );
    let zip = sandbox.run_return();
    applied_as_in_sandbox(&local, &sandbox, &zip);
    assert_eq!(sandbox.git(&["show", "HEAD:feature.txt"]), "stashed work");
}

#[test]
fn the_helper_removed_by_git_clean_is_restored_from_its_copy_in_git() {
    let (local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.git(&["clean", "-q", "-fdx"]);
    assert!(
        !sandbox.root.join("procoder-return").exists(),
        "git clean removes the helper"
    );
    // The restore line of the prompt (procoder/src/prepare/prompt.rs), as the agent reads it.
    run_step(
        &sandbox.root,
        "cp .git/procoder/procoder-return . && chmod +x procoder-return",
    );
    let zip = sandbox.run_return();
    applied_as_in_sandbox(&local, &sandbox, &zip);
}

#[test]
fn a_second_return_after_amending_returned_commits_names_them_first() {
    let (local, _prepared, sandbox) = sandbox();
    let task = sandbox
        .task_ref
        .trim_start_matches("refs/heads/")
        .to_owned();
    let keep = tempfile::TempDir::new().expect("a temporary folder");
    sandbox.commit_file("feature.txt", "work\n");
    let first = keep_copy(&sandbox.run_return(), keep.path(), "first.zip");
    let sent = sandbox.commit_file("more.txt", "more\n");
    let out = sandbox.run_return_output();
    assert_success(&out, "a second return that only adds commits");
    assert!(!stdout(&out).contains("replaces"), "{}", stdout(&out));
    let second = keep_copy(&sandbox.run_return(), keep.path(), "second.zip");
    assert!(read_return(&second).0.get("replaces").is_none());

    // The agent amends the commit the second return sent and returns again.
    sandbox.write("more.txt", b"better\n");
    sandbox.git(&["commit", "-q", "-a", "--amend", "-m", "Better more"]);
    let amended = sandbox.git(&["rev-parse", "HEAD"]);
    let out = sandbox.run_return_output();
    assert_success(&out, "the rewriting return");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let name = format!("procoder-return-{}.zip", sandbox.id);
    assert_eq!(
        lines[..2],
        [
            format!("This return replaces 1 commit an earlier ./procoder-return already sent (amended or rebased since): tell the user to run `procoder apply {name} --replace`, which takes it and keeps the replaced commits on a backup branch"),
            format!("  replaces {} on {task}  Change more.txt", &sent[..7]),
        ],
        "{text}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains(&format!("`procoder apply {name} --replace`"))),
        "{text}"
    );
    let third = sandbox.run_return();
    let doc = read_return(&third).0;
    assert_eq!(
        doc["replaces"],
        serde_json::json!([{"ref": sandbox.task_ref, "earlier_tips": [sent], "commits": [sent]}])
    );

    for zip in [&first, &second] {
        assert_success(
            &local.procoder(&["apply", zip.to_str().expect("utf-8")]),
            "the earlier returns",
        );
    }
    let third = third.to_str().expect("utf-8");
    let refs_before = local.git(&["for-each-ref"]);
    let err = assert_code(&local.procoder(&["apply", third]), "RETURN_REWRITES");
    assert!(
        err.contains("the agent's ./procoder-return said so"),
        "{err}"
    );
    assert!(
        err.contains(&format!("replaces {}  Change more.txt", &sent[..7])),
        "{err}"
    );
    assert_eq!(
        local.git(&["for-each-ref"]),
        refs_before,
        "a refusal moves nothing"
    );
    let out = local.procoder(&["apply", third, "--replace"]);
    assert_success(&out, "apply --replace");
    let take = stdout(&out);
    assert!(
        take.lines()
            .any(|l| l == format!("Take it: git switch main && git merge {task}")),
        "the next step merges the new work, not the backup:\n{take}"
    );
    assert_eq!(local.rev(&sandbox.task_ref), amended);
    let backup = format!("{}-replaced-{}", sandbox.task_ref, &sent[..12]);
    assert_eq!(local.rev(&backup), sent, "the replaced tip stays reachable");
    local.git(&["fsck", "--strict"]);
}

#[test]
fn uncommitted_work_on_a_detached_head_with_commits_takes_one_step() {
    let (local, _prepared, sandbox) = sandbox();
    sandbox.git(&["checkout", "-q", "--detach"]);
    let committed = sandbox.commit_file("feature.txt", "work\n");
    sandbox.write("feature.txt", b"more work\n");
    sandbox.write("src/new.rs", b"pub fn f() {}\n");
    sandbox.write("target/debug/app", b"binary\n");
    let helper = sandbox.root.join("procoder-return");
    let step = refused_step(&helper, &sandbox.root, "WORKTREE_DIRTY");
    assert!(
        step.starts_with(&format!("git checkout -B procoder/{}/task && ", sandbox.id)),
        "{step}"
    );
    run_step(&sandbox.root, &step);
    let zip = sandbox.run_return();
    applied_as_in_sandbox(&local, &sandbox, &zip);
    assert_eq!(sandbox.git(&["symbolic-ref", "HEAD"]), sandbox.task_ref);
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    let tip = local.rev(&sandbox.task_ref);
    assert_eq!(
        local.rev(&format!("{tip}^")),
        committed,
        "the detached commit, then the rest"
    );
    assert_eq!(
        local.git(&["show", &format!("{tip}:feature.txt")]),
        "more work"
    );
    let files = local.git(&["diff", "--name-only", &sandbox.base_oid, &tip]);
    assert_eq!(
        files, "feature.txt\nsrc/new.rs",
        "exactly the agent's work, no build output"
    );
}

#[test]
fn moved_and_created_tags_are_put_back_by_the_named_step() {
    let (local, _prepared, sandbox) = sandbox();
    let tags = sandbox.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/tags",
    ]);
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.git(&["tag", "-f", "light"]);
    sandbox.git(&["tag", "-f", "-a", "v1", "-m", "Moved v1"]);
    sandbox.git(&["tag", "it's-rc1"]);
    follow_the_hint(&local, &sandbox, "REF_OUT_OF_SCOPE");
    let after = sandbox.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/tags",
    ]);
    assert_eq!(after, tags, "every tag is back where the package had it");
    assert_eq!(
        sandbox.git(&["cat-file", "-t", "v1"]),
        "tag",
        "the annotated tag keeps its own object"
    );
}

#[test]
fn a_rewritten_return_whose_earlier_tip_was_pruned_still_names_it() {
    let (_local, _prepared, sandbox) = sandbox();
    let sent = sandbox.commit_file("feature.txt", "work\n");
    sandbox.run_return();
    sandbox.write("feature.txt", b"better\n");
    sandbox.git(&["commit", "-q", "-a", "--amend", "-m", "Better feature"]);
    sandbox.git(&["reflog", "expire", "--expire=now", "--all"]);
    sandbox.git(&["gc", "-q", "--prune=now"]);
    assert!(
        git_output(&sandbox.root, &["cat-file", "-e", &sent])
            .status
            .code()
            != Some(0),
        "the returned commit is gone"
    );
    let out = sandbox.run_return_output();
    assert_success(&out, "the rewriting return");
    let text = stdout(&out);
    let task = sandbox.task_ref.trim_start_matches("refs/heads/");
    assert!(text.starts_with("This return replaces 1 commit "), "{text}");
    assert_eq!(
        text.lines().nth(1),
        Some(
            format!(
                "  replaces {} on {task}  (no longer in this repository)",
                &sent[..7]
            )
            .as_str()
        ),
        "{text}"
    );
    let doc = read_return(&sandbox.run_return()).0;
    assert_eq!(
        doc["replaces"][0]["earlier_tips"],
        serde_json::json!([sent])
    );
}

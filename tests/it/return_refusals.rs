//! Every refusal of `./procoder-return` inside a sandbox: exit 1, `CODE: message` first on
//! stderr, a hint ending in "then rerun ./procoder-return", no return package, and the
//! sandbox repository unchanged.

use crate::common::*;
use std::process::Command;

/// Runs the helper, checks the code, the hint, that no zip appeared and nothing changed.
fn refuse(sandbox: &Sandbox, code: &str) -> String {
    let before = sandbox.snapshot();
    let err = assert_code(&sandbox.run_return_output(), code);
    assert!(
        err.lines()
            .any(|l| l.starts_with("Hint: ")
                && l.trim_end().ends_with("then rerun ./procoder-return")),
        "the hint must end with `then rerun ./procoder-return`:\n{err}"
    );
    before.assert_unchanged(
        &sandbox.root,
        &format!("procoder-return refused with {code}"),
    );
    assert!(
        !sandbox
            .root
            .join(format!("procoder-return-{}.zip", sandbox.id))
            .exists(),
        "a refused return leaves no package"
    );
    err
}

fn sandbox() -> (TestRepo, Prepared, Sandbox) {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    (local, prepared, sandbox)
}

#[test]
fn invalid_exchange_when_the_record_is_missing() {
    let (_local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    std::fs::remove_file(sandbox.root.join(".git/procoder/exchange.json")).expect("remove record");
    refuse(&sandbox, "INVALID_EXCHANGE");
}

#[test]
fn invalid_exchange_in_a_repository_that_was_never_prepared() {
    let repo = TestRepo::new();
    let helper = repo.dir.join(".git/procoder-return-copy");
    std::fs::copy(bin("procoder-return"), &helper).expect("copy the helper");
    set_mode(&helper, 0o755);
    let before = repo.snapshot();
    let out = hermetic(Command::new(&helper).current_dir(&repo.dir))
        .output()
        .expect("run the helper");
    assert_code(&out, "INVALID_EXCHANGE");
    before.assert_unchanged(&repo.dir, "INVALID_EXCHANGE");
}

#[test]
fn worktree_dirty_unstaged_change() {
    let (_local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.write("notes.txt", b"uncommitted edit\n");
    let err = refuse(&sandbox, "WORKTREE_DIRTY");
    assert!(err.contains("notes.txt"), "{err}");
}

#[test]
fn worktree_dirty_staged_change() {
    let (_local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.write("staged.txt", b"staged\n");
    sandbox.git(&["add", "staged.txt"]);
    let err = refuse(&sandbox, "WORKTREE_DIRTY");
    assert!(err.contains("staged.txt"), "{err}");
}

#[test]
fn worktree_dirty_untracked_file() {
    let (_local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.write("forgotten.txt", b"never added\n");
    let err = refuse(&sandbox, "WORKTREE_DIRTY");
    assert!(err.contains("forgotten.txt"), "{err}");
}

#[test]
fn no_new_commits() {
    let (_local, _prepared, sandbox) = sandbox();
    refuse(&sandbox, "NO_NEW_COMMITS");
}

#[test]
fn ref_out_of_scope_new_branch_outside_the_family() {
    let (_local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.git(&["branch", "my-feature"]);
    let err = refuse(&sandbox, "REF_OUT_OF_SCOPE");
    assert!(err.contains("refs/heads/my-feature"), "{err}");
}

#[test]
fn ref_out_of_scope_existing_branch_moved() {
    let (_local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.git(&["branch", "-f", "dev", "HEAD"]);
    let err = refuse(&sandbox, "REF_OUT_OF_SCOPE");
    assert!(err.contains("refs/heads/dev"), "{err}");
}

#[test]
fn ref_out_of_scope_tag_created() {
    let (_local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.git(&["tag", "v2"]);
    let err = refuse(&sandbox, "REF_OUT_OF_SCOPE");
    assert!(err.contains("refs/tags/v2"), "{err}");
}

#[test]
fn ref_out_of_scope_tag_moved() {
    let (_local, _prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    sandbox.git(&["tag", "-f", "light", "HEAD"]);
    let err = refuse(&sandbox, "REF_OUT_OF_SCOPE");
    assert!(err.contains("refs/tags/light"), "{err}");
}

#[test]
fn not_descendant_family_branch_behind_the_base() {
    let (_local, prepared, sandbox) = sandbox();
    sandbox.commit_file("feature.txt", "work\n");
    let old = sandbox.family_ref("old");
    sandbox.git(&[
        "branch",
        old.trim_start_matches("refs/heads/"),
        &format!("{}~1", prepared.base_oid),
    ]);
    let err = refuse(&sandbox, "NOT_DESCENDANT");
    assert!(err.contains(&old), "{err}");
}

#[test]
fn not_descendant_orphan_family_branch() {
    let (_local, prepared, sandbox) = sandbox();
    let orphan = sandbox.family_ref("orphan");
    sandbox.git(&[
        "checkout",
        "-q",
        "--orphan",
        orphan.trim_start_matches("refs/heads/"),
    ]);
    sandbox.git(&["commit", "-q", "-m", "Unrelated history"]);
    sandbox.git(&[
        "checkout",
        "-q",
        prepared.task_ref.trim_start_matches("refs/heads/"),
    ]);
    let err = refuse(&sandbox, "NOT_DESCENDANT");
    assert!(err.contains(&orphan), "{err}");
}

//! `prepare --include-uncommitted`: the task starts from a snapshot commit of the work tree on
//! top of HEAD, and the user's checkout (branch, index, work tree, stash) stays byte for byte
//! as it was, through the whole round trip. git is the oracle throughout.

use crate::common::*;
use std::path::Path;

/// Every file of the work tree (not `.git`, not the task package) with its bytes and exec
/// bits, and the index file's bytes.
fn checkout_bytes(dir: &Path) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read a folder")
            .map(|e| e.expect("an entry").path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).expect("inside").display().to_string();
            // The task package prepare writes (and lists in .git/info/exclude).
            if rel == ".git" || (rel.starts_with("procoder-task-") && rel.ends_with(".zip")) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).expect("lstat");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).expect("readlink");
                out.push((
                    format!("{rel} -> "),
                    target.display().to_string().into_bytes(),
                ));
            } else if meta.is_dir() {
                walk(root, &p, out);
            } else {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o111;
                out.push((format!("{rel} {mode:o}"), std::fs::read(&p).expect("read")));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    let index = std::fs::read(dir.join(".git/index")).expect("the index");
    (files, index)
}

/// A repository with a staged change, an unstaged change, a deletion, a mode change, an
/// untracked file in a new folder, an ignored file, and a stash entry.
fn work_in_progress() -> TestRepo {
    let repo = TestRepo::new();
    let d = &repo.dir;
    write_file(d, ".gitignore", b"*.log\n");
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "-q", "-m", "Ignore logs"]);
    write_file(d, "stashed.txt", b"stashed work\n");
    repo.git(&[
        "stash",
        "push",
        "-q",
        "--include-untracked",
        "-m",
        "older work",
    ]);
    write_file(d, "README.md", b"# Demo\n\nStaged edit.");
    repo.git(&["add", "README.md"]);
    write_file(d, "notes.txt", b"first note\nunstaged line\n");
    std::fs::remove_file(d.join("src/lib/nested/deep.txt")).expect("delete");
    set_mode(&d.join("scripts/run.sh"), 0o644);
    write_file(d, "new/idea.md", b"an untracked idea\n");
    write_file(d, "build.log", b"ignored output\n");
    repo
}

#[test]
fn the_task_starts_from_the_snapshot_and_the_checkout_is_untouched() {
    let local = work_in_progress();
    let d = &local.dir;
    let head = local.rev("HEAD");
    let before = checkout_bytes(d);
    let status_before = local.git(&["status", "--porcelain=v2", "--untracked-files=all"]);
    let stash_before = local.git(&["stash", "list", "--format=%H %s"]);

    let prepared = local.prepare_with(&["--include-uncommitted"]);
    let snap = &prepared.json["snapshot"];
    assert_eq!(snap["oid"], prepared.base_oid.as_str(), "{}", prepared.json);
    assert_eq!(snap["changed"], 4, "{snap}");
    assert_eq!(snap["added"], 1, "{snap}");
    // The snapshot: one commit on HEAD, saying what it is, holding the work tree.
    let base = &prepared.base_oid;
    assert_eq!(local.rev(&format!("{base}^")), head);
    assert_eq!(local.rev(&prepared.task_ref), *base);
    let message = local.git(&["log", "-1", "--format=%B", base]);
    assert!(
        message.starts_with("procoder: snapshot of the uncommitted work on main"),
        "{message}"
    );
    // `git` gives stdout without its last newline.
    let show = |rev: &str| local.git(&["show", rev]);
    assert_eq!(show(&format!("{base}:README.md")), "# Demo\n\nStaged edit.");
    assert_eq!(
        show(&format!("{base}:notes.txt")),
        "first note\nunstaged line"
    );
    assert_eq!(show(&format!("{base}:new/idea.md")), "an untracked idea");
    let tree = local.git(&["ls-tree", "-r", "--name-only", base]);
    assert!(
        !tree.contains("deep.txt"),
        "the deletion is in the snapshot:\n{tree}"
    );
    assert!(
        !tree.contains("build.log"),
        "ignored files are not:\n{tree}"
    );
    assert!(!tree.contains("stashed.txt"), "the stash is not:\n{tree}");
    let mode = local.git(&["ls-tree", base, "scripts/run.sh"]);
    assert!(
        mode.starts_with("100644 "),
        "the mode change is in it: {mode}"
    );
    // Nothing of the checkout moved.
    assert_eq!(local.rev("HEAD"), head);
    assert_eq!(
        local.git(&["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    assert!(
        checkout_bytes(d) == before,
        "work tree or index bytes changed"
    );
    assert_eq!(
        local.git(&["status", "--porcelain=v2", "--untracked-files=all"]),
        status_before
    );
    assert_eq!(
        local.git(&["stash", "list", "--format=%H %s"]),
        stash_before
    );

    // The sandbox starts clean at the snapshot; the agent's commit returns on top of it.
    let sandbox = prepared.unzip();
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    assert_eq!(sandbox.git(&["rev-parse", "HEAD"]), *base);
    assert_eq!(
        std::fs::read(sandbox.root.join("new/idea.md")).expect("the untracked file"),
        b"an untracked idea\n"
    );
    let tip = sandbox.commit_file("feature.txt", "the agent's work\n");
    let zip = sandbox.run_return();
    let out = local.procoder(&["apply", zip.to_str().expect("utf-8")]);
    assert_success(&out, "procoder apply");
    assert_eq!(local.rev(&prepared.task_ref), tip);
    assert_eq!(
        local.git(&["rev-list", &format!("{head}..{}", prepared.task_ref)]),
        format!("{tip}\n{base}"),
        "the task branch holds the snapshot and the agent's commit"
    );
    local.git(&["fsck", "--strict"]);
    assert!(checkout_bytes(d) == before, "apply changed the checkout");
    assert_eq!(local.rev("HEAD"), head);
    assert_eq!(
        local.git(&["stash", "list", "--format=%H %s"]),
        stash_before
    );
}

#[test]
fn with_nothing_uncommitted_it_is_a_plain_prepare() {
    let local = TestRepo::new();
    let prepared = local.prepare_with(&["--include-uncommitted"]);
    assert_eq!(prepared.base_oid, local.rev("HEAD"));
    assert!(prepared.json["snapshot"].is_null(), "{}", prepared.json);
}

#[test]
fn a_merge_in_progress_is_refused_and_nothing_is_written() {
    let local = TestRepo::new();
    let d = &local.dir;
    local.git(&["checkout", "-q", "dev"]);
    write_file(d, "README.md", b"# Dev's readme\n");
    local.git(&["commit", "-q", "-am", "Dev edits the readme"]);
    local.git(&["checkout", "-q", "main"]);
    let merge = git_output(d, &["merge", "-q", "dev"]);
    assert!(!merge.status.success(), "the merge conflicts");
    let before = local.snapshot();
    let bytes = checkout_bytes(d);
    let out = local.procoder(&["prepare", "--include-uncommitted"]);
    let err = assert_code(&out, "WORKTREE_DIRTY");
    assert!(err.contains("merge is in progress"), "{err}");
    assert!(err.contains("git merge --abort"), "{err}");
    before.assert_unchanged(d, "a refused prepare");
    assert!(checkout_bytes(d) == bytes, "work tree or index changed");
}

#[test]
fn without_the_flag_uncommitted_work_is_still_refused() {
    let local = work_in_progress();
    let out = local.procoder(&["prepare"]);
    assert_code(&out, "WORKTREE_DIRTY");
}

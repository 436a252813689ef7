//! The helper's clean check writes the refreshed index back, as `git status` does: after the
//! first run every entry holds its file's stat data (inode and device included), so the next
//! run trusts a stat per file. An entry as new as the index file is racily clean and is
//! hashed all the same (git's racy-git rule).

use crate::common::*;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime};

fn sandbox() -> Sandbox {
    let repo = TestRepo::empty();
    write_file(&repo.dir, "a.txt", b"alpha\n");
    write_file(&repo.dir, "dir/b.txt", b"bravo\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "Base"]);
    repo.prepare().unzip()
}

/// `git ls-files --debug`'s (path, dev, ino) for every entry.
fn stat_data(sandbox: &Sandbox) -> Vec<(String, u64, u64)> {
    let out = sandbox.git(&["ls-files", "--debug"]);
    let mut rows = Vec::new();
    let mut path = String::new();
    for line in out.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("dev: ") {
            let (dev, ino) = rest.split_once("\tino: ").expect("dev and ino on one line");
            let n = |s: &str| s.trim().parse::<u64>().expect("a number");
            rows.push((path.clone(), n(dev), n(ino)));
        } else if !line.starts_with(' ') {
            path = line.to_owned();
        }
    }
    rows
}

fn first_line(out: &std::process::Output) -> String {
    stderr(out).lines().next().unwrap_or("").to_owned()
}

/// Rewrites `rel` in place (same inode, same size) and puts its mtime back to `mtime`.
fn same_size_edit(sandbox: &Sandbox, rel: &str, mtime: SystemTime) {
    let path = sandbox.root.join(rel);
    std::fs::write(&path, b"ALPHA\n").expect("rewrite in place");
    let file = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open");
    file.set_modified(mtime).expect("set mtime");
}

#[test]
fn the_first_run_writes_the_refreshed_index_back() {
    let sandbox = sandbox();
    let exported = stat_data(&sandbox);
    assert!(
        exported.iter().any(|(_, dev, ino)| *dev == 0 && *ino == 0),
        "the export's index has no inodes: {exported:?}"
    );
    let out = sandbox.run_return_output();
    assert!(
        first_line(&out).starts_with("NO_NEW_COMMITS: "),
        "{}",
        stderr(&out)
    );
    let refreshed = stat_data(&sandbox);
    assert!(!refreshed.is_empty());
    for (path, dev, ino) in &refreshed {
        let meta = std::fs::symlink_metadata(sandbox.root.join(path)).expect("tracked file");
        assert_eq!(
            (*dev as u32, *ino as u32),
            (meta.dev() as u32, meta.ino() as u32),
            "{path}'s stat data was not written back: {refreshed:?}"
        );
    }
    // Nothing left to refresh: the second run leaves the index file as it was.
    let index = sandbox.root.join(".git/index");
    let before = std::fs::read(&index).expect("the index");
    let out = sandbox.run_return_output();
    assert!(
        first_line(&out).starts_with("NO_NEW_COMMITS: "),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&index).expect("the index"), before);
}

/// With core.trustCtime=false an in-place same-size edit that restores the mtime leaves the
/// stat data git and the helper compare as it was. Older than the index, the entry is trusted:
/// the edit goes unseen by both (proof that the second run reads no file). As new as the index
/// (mtime in the future), it is racily clean: both hash the file and see the edit.
#[test]
fn a_trusted_entry_is_not_read_and_a_racy_one_is_hashed() {
    for (racy, mtime) in [
        (false, SystemTime::now() - Duration::from_secs(100)),
        (true, SystemTime::now() + Duration::from_secs(100)),
    ] {
        let sandbox = sandbox();
        sandbox.git(&["config", "core.trustCtime", "false"]);
        let file = std::fs::File::options()
            .write(true)
            .open(sandbox.root.join("a.txt"))
            .expect("open");
        file.set_modified(mtime).expect("set mtime");
        let out = sandbox.run_return_output();
        assert!(
            first_line(&out).starts_with("NO_NEW_COMMITS: "),
            "{}",
            stderr(&out)
        );
        same_size_edit(&sandbox, "a.txt", mtime);
        // git second: its status smudges a racily clean entry it finds changed (size 0).
        let out = sandbox.run_return_output();
        let git_sees = sandbox.git(&["status", "--porcelain"]);
        if racy {
            assert_eq!(git_sees, " M a.txt");
            assert!(
                first_line(&out).starts_with("WORKTREE_DIRTY: "),
                "{}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains("  modified: a.txt\n"),
                "{}",
                stderr(&out)
            );
        } else {
            assert_eq!(git_sees, "");
            assert!(
                first_line(&out).starts_with("NO_NEW_COMMITS: "),
                "{}",
                stderr(&out)
            );
        }
    }
}

//! The helper's clean check refreshes the index as `git status` does: an entry it had to hash
//! and found unchanged gets its file's stat data (inode and device included) and the index is
//! written back, so the next run trusts a stat; an entry trusted on its stat data (the export's,
//! under core.checkStat=minimal) is left as it is, and then nothing is written. An entry as new
//! as the index file is racily clean and is hashed all the same (git's racy-git rule).

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
fn a_touched_file_is_hashed_refreshed_and_written_back() {
    let sandbox = sandbox();
    let exported = stat_data(&sandbox);
    assert!(
        exported.iter().all(|(_, dev, ino)| *dev == 0 && *ino == 0),
        "the export's index has no inodes: {exported:?}"
    );
    // Same content, another mtime: the stat data no longer matches, so the file is hashed.
    std::fs::File::options()
        .write(true)
        .open(sandbox.root.join("a.txt"))
        .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(100)))
        .expect("touch a.txt");
    let out = sandbox.run_return_output();
    assert!(
        first_line(&out).starts_with("NO_NEW_COMMITS: "),
        "{}",
        stderr(&out)
    );
    let refreshed = stat_data(&sandbox);
    for (path, dev, ino) in &refreshed {
        let meta = std::fs::symlink_metadata(sandbox.root.join(path)).expect("tracked file");
        let expected = match path.as_str() {
            "a.txt" => (meta.dev() as u32, meta.ino() as u32),
            // Trusted on the export's size and time (core.checkStat=minimal), as git trusts it.
            _ => (0, 0),
        };
        assert_eq!(
            (*dev as u32, *ino as u32),
            expected,
            "{path}: {refreshed:?}"
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

/// After the agent's `git commit` (which rewrites the index and, under the export's
/// core.checkStat=minimal, leaves the exported entries' stat data as the export wrote it), the
/// helper trusts those entries as git does and writes nothing: the index is left byte for byte,
/// the exported entry keeps its zero inode, and an edit of it is still seen.
#[test]
fn entries_git_trusts_are_left_as_they_are() {
    let sandbox = sandbox();
    sandbox.commit_file("c.txt", "charlie\n");
    // The commit comes seconds after the unzip, as an agent's does: within the export's own
    // second the exported entries would be racily clean and hashed.
    let index = sandbox.root.join(".git/index");
    std::fs::File::options()
        .write(true)
        .open(&index)
        .and_then(|f| f.set_modified(SystemTime::now() + Duration::from_secs(5)))
        .expect("stamp the index");
    let exported = |rows: &[(String, u64, u64)]| {
        rows.iter()
            .find(|(path, _, _)| path == "a.txt")
            .map(|(_, dev, ino)| (*dev, *ino))
    };
    assert_eq!(
        exported(&stat_data(&sandbox)),
        Some((0, 0)),
        "git left it as exported"
    );
    let before = std::fs::read(&index).expect("the index");
    sandbox.run_return();
    assert_eq!(std::fs::read(&index).expect("the index"), before);
    assert_eq!(exported(&stat_data(&sandbox)), Some((0, 0)));
    sandbox.write("a.txt", b"alpha, edited\n");
    let out = sandbox.run_return_output();
    assert!(
        first_line(&out).starts_with("WORKTREE_DIRTY: ")
            && stderr(&out).contains("  modified: a.txt\n"),
        "{}",
        stderr(&out)
    );
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

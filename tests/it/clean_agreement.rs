//! The helper's clean-tree check agrees with `git status --porcelain --untracked-files=all`
//! over randomized work-tree states: modified, same-size edits with the old mtime (racy
//! timestamps), mode and type changes, deletions, symlinks, staged edits, untracked files in
//! ignored and non-ignored folders and under nested `.gitignore` files. Seeded: a failure
//! prints the seed and the state; `PROCODER_AGREEMENT_SEED=<n>` replays it.
//! Each state starts from the clean task branch with no new commit, so the helper answers
//! `NO_NEW_COMMITS` exactly when git sees a clean tree, and `WORKTREE_DIRTY` naming git's
//! paths otherwise.

use crate::common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

const STATES: usize = 240;
/// A fresh unzip every this many states: its first check runs on the export's stat data.
const FRESH_EVERY: usize = 40;

const REGULAR: &[&str] = &[
    "a.txt",
    "b.txt",
    "dir/c.txt",
    "dir/sub/d.txt",
    "dir/keep.log",
    "run.sh",
];
const TRACKED: &[&str] = &[
    "a.txt",
    "b.txt",
    "dir/c.txt",
    "dir/sub/d.txt",
    "dir/keep.log",
    "run.sh",
    "link",
];
/// Untracked files git lists, and ones the ignore rules hide (root `*.log`, `build/`, `vendor/`,
/// `dir/.gitignore`'s `!keep.log` and `sub/*.tmp`, `logs/.gitignore`'s `*` and `!want.txt`).
const UNTRACKED: &[&str] = &[
    "new.txt",
    "dir/new.txt",
    "dir/sub/new.md",
    "fresh/one.txt",
    "fresh/deeper/two.txt",
    "dir/other.log",
    "logs/want.txt",
];
const IGNORED: &[&str] = &[
    "x.log",
    "build/out.o",
    "build/deep/more.o",
    "dir/sub/y.tmp",
    "logs/noise.txt",
    "vendor/keep.txt",
    "notes.excl",
    "notes.glob",
    "dir/sub/deep.glob",
];

fn base_repo() -> TestRepo {
    let repo = TestRepo::empty();
    let d = &repo.dir;
    write_file(d, "a.txt", b"alpha\n");
    write_file(d, "b.txt", b"bravo\n");
    write_file(d, "dir/c.txt", b"charlie\n");
    write_file(d, "dir/sub/d.txt", b"delta\n");
    write_file(d, "run.sh", b"#!/bin/sh\necho run\n");
    set_mode(&d.join("run.sh"), 0o755);
    std::os::unix::fs::symlink("a.txt", d.join("link")).expect("symlink");
    write_file(
        d,
        ".gitignore",
        b"*.log\nbuild/\nvendor/\n!vendor/keep.txt\n",
    );
    write_file(d, "dir/.gitignore", b"!keep.log\nsub/*.tmp\n");
    write_file(d, "dir/keep.log", b"kept log\n");
    write_file(d, "logs/.gitignore", b"*\n!want.txt\n!.gitignore\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "Agreement base"]);
    repo
}

/// Rewrites the regular file at `p` with one byte changed and sets its mtime; false when it is
/// not a regular file.
fn same_size_edit(p: &Path, mtime: SystemTime) -> bool {
    if !std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut bytes = std::fs::read(p).expect("read");
    if let Some(b) = bytes.first_mut() {
        *b = if *b == b'Z' { b'Y' } else { b'Z' };
    }
    std::fs::write(p, bytes).expect("rewrite");
    let file = std::fs::File::options().write(true).open(p).expect("open");
    file.set_modified(mtime).expect("set mtime");
    true
}

/// One random change: a line describing it for the failure report, and a path the helper
/// reports that git does not see.
fn mutate(rng: &mut Rng, root: &Path) -> (String, Option<String>) {
    let mut stricter = None;
    let what = change(rng, root, &mut stricter);
    (what, stricter)
}

fn change(rng: &mut Rng, root: &Path, stricter: &mut Option<String>) -> String {
    let path = |rel: &str| root.join(rel);
    match rng.below(18) {
        0 => {
            let f = rng.pick(REGULAR);
            let mut bytes = std::fs::read(path(f)).unwrap_or_default();
            bytes.extend_from_slice(b"more\n");
            std::fs::write(path(f), bytes).expect("append");
            format!("append to {f}")
        }
        1 => {
            // Same size, and an mtime not older than the index file's: git's racy-git rule
            // says the stat data cannot tell, so both must compare the content.
            let f = rng.pick(REGULAR);
            let index_mtime = std::fs::metadata(root.join(".git/index"))
                .and_then(|m| m.modified())
                .expect("the index's mtime");
            if !same_size_edit(
                &path(f),
                index_mtime + Duration::from_nanos(rng.below(2) as u64),
            ) {
                return format!("racy edit of {f} skipped (not a file)");
            }
            format!("racy same-size edit of {f}")
        }
        13 => {
            // Same size, mtime kept (`touch -r`, `cp -p`): older than the index, so git trusts
            // its stat data under the package's core.checkStat=minimal and misses the edit.
            // The helper compares inode and ctime too and refuses: work git cannot see would
            // stay behind. A documented, deliberate difference.
            let f = rng.pick(REGULAR);
            let p = path(f);
            let Some(mtime) = std::fs::symlink_metadata(&p)
                .ok()
                .filter(|m| m.is_file())
                .and_then(|m| m.modified().ok())
            else {
                return format!("mtime-keeping edit of {f} skipped (not a file)");
            };
            same_size_edit(&p, mtime);
            *stricter = Some(f.to_owned());
            format!("same-size edit of {f} keeping its mtime")
        }
        2 => {
            let f = rng.pick(REGULAR);
            let p = path(f);
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                return format!("chmod of {f} skipped (gone)");
            };
            if !meta.is_file() {
                return format!("chmod of {f} skipped (not a file)");
            }
            let mode = meta.permissions().mode() ^ 0o111;
            set_mode(&p, mode);
            format!("chmod {mode:o} {f}")
        }
        3 => {
            let f = rng.pick(TRACKED);
            let p = path(f);
            let was_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
            let _ = std::fs::remove_file(&p);
            if was_link {
                std::fs::write(&p, b"a.txt").expect("write");
                format!("symlink {f} replaced by a file holding its target")
            } else {
                std::os::unix::fs::symlink("b.txt", &p).expect("symlink");
                format!("{f} replaced by a symlink")
            }
        }
        4 => {
            let f = rng.pick(TRACKED);
            let _ = std::fs::remove_file(path(f));
            format!("delete {f}")
        }
        5 | 6 => {
            let f = rng.pick(UNTRACKED);
            write_file(root, f, b"untracked\n");
            format!("untracked {f}")
        }
        14 => {
            // Root `*.log`, and `dir/.gitignore`'s `!keep.log` re-includes it at any depth
            // below dir/ (git); libgit2's ignore rules kept it ignored.
            write_file(root, "dir/sub/keep.log", b"untracked\n");
            "untracked dir/sub/keep.log".to_owned()
        }
        15 => {
            // Root `vendor/` and `!vendor/keep.txt`: the folder is ignored whole and git does
            // not look inside, so the negation re-includes nothing.
            write_file(root, "vendor/keep.txt", b"vendored\n");
            write_file(root, "vendor/other.txt", b"vendored\n");
            "vendor/ (ignored folder) with a negated file".to_owned()
        }
        16 => {
            // info/exclude (`*.excl`, `!keep.glob`) and core.excludesFile (`*.glob`): the
            // first wins over the second.
            let f = rng.pick(&["notes.excl", "notes.glob", "keep.glob", "dir/sub/deep.glob"]);
            write_file(root, f, b"excluded?\n");
            format!("{f} under info/exclude and core.excludesFile")
        }
        17 => {
            git(root, &["init", "-q", "nested"]);
            write_file(root, "nested/inner.txt", b"nested\n");
            "a nested repository nested/".to_owned()
        }
        7 => {
            let f = rng.pick(IGNORED);
            write_file(root, f, b"ignored\n");
            format!("ignored {f}")
        }
        8 => {
            let f = rng.pick(REGULAR);
            let p = path(f);
            if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
                return format!("staged edit of {f} skipped (not a file)");
            }
            std::fs::write(&p, b"staged edit\n").expect("write");
            git(root, &["add", "--", f]);
            format!("staged edit of {f}")
        }
        9 => {
            let f = rng.pick(TRACKED);
            let p = path(f);
            let later = SystemTime::now() + Duration::from_secs(3 + rng.below(100) as u64);
            match std::fs::File::options().write(true).open(&p) {
                Ok(file) if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) => {
                    file.set_modified(later).expect("set mtime");
                    format!("touch {f} (content unchanged)")
                }
                _ => format!("touch of {f} skipped"),
            }
        }
        10 => {
            let f = rng.pick(REGULAR);
            let p = path(f);
            match std::fs::read(&p) {
                Ok(bytes) if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) => {
                    let _ = std::fs::remove_file(&p);
                    std::fs::write(&p, bytes).expect("rewrite");
                    let mode = if f == "run.sh" { 0o755 } else { 0o644 };
                    set_mode(&p, mode);
                    format!("{f} rewritten with the same content (new inode)")
                }
                _ => format!("rewrite of {f} skipped"),
            }
        }
        _ => {
            // A nested ignore file that hides its own folder, itself included.
            write_file(root, "hidden/.gitignore", b"*\n");
            write_file(root, "hidden/inner/file.txt", b"hidden\n");
            std::fs::create_dir_all(path("empty/dir")).expect("mkdir");
            "hidden/ with a `*` .gitignore, and an empty folder".to_owned()
        }
    }
}

/// git's verdict: tracked paths changed, and untracked files grouped as the helper groups them
/// (a top-level file, or a top-level folder with its file count).
fn git_verdict(root: &Path) -> (Vec<String>, BTreeMap<String, usize>) {
    let status = git(root, &["status", "--porcelain", "--untracked-files=all"]);
    let mut tracked = Vec::new();
    let mut untracked = BTreeMap::new();
    for line in status.lines() {
        let (xy, path) = line.split_at(3);
        if xy == "?? " {
            let key = match path.split_once('/') {
                Some((top, _)) => format!("{top}/"),
                None => path.to_owned(),
            };
            *untracked.entry(key).or_insert(0) += 1;
        } else {
            tracked.push(path.to_owned());
        }
    }
    tracked.sort();
    (tracked, untracked)
}

/// The helper's verdict, read from its refusal's details.
fn helper_verdict(sandbox: &Sandbox) -> Result<(Vec<String>, BTreeMap<String, usize>), String> {
    let out = sandbox.run_return_output();
    let err = stderr(&out);
    let first = err.lines().next().unwrap_or("");
    if first.starts_with("NO_NEW_COMMITS: ") {
        return Ok((Vec::new(), BTreeMap::new()));
    }
    if !first.starts_with("WORKTREE_DIRTY: ") {
        return Err(format!("unexpected answer:\n{}{err}", stdout(&out)));
    }
    let mut tracked = Vec::new();
    let mut untracked = BTreeMap::new();
    for line in err.lines().filter_map(|l| l.strip_prefix("  ")) {
        if let Some(rest) = line.strip_prefix("untracked: ") {
            let (key, n) = match rest.split_once(" (") {
                Some((key, count)) => {
                    let n = count.split(' ').next().unwrap_or("").parse().unwrap_or(0);
                    (key.to_owned(), n)
                }
                None => (rest.to_owned(), 1),
            };
            untracked.insert(key, n);
        } else if let Some((_, path)) = line.split_once(": ") {
            tracked.push(path.to_owned());
        }
    }
    tracked.sort();
    Ok((tracked, untracked))
}

/// Back to the clean task branch: tracked files written again as committed, untracked and ignored files we
/// made removed (the package's own ignored `./procoder-return` stays).
fn restore(root: &Path) {
    // Removed first: a same-size edit that kept its mtime fools `git reset --hard` too.
    for f in TRACKED {
        let _ = std::fs::remove_file(root.join(f));
    }
    git(root, &["reset", "-q", "--hard"]);
    git(root, &["clean", "-fdq"]);
    for f in IGNORED {
        let _ = std::fs::remove_file(root.join(f));
    }
    for d in ["build", "hidden", "empty", "vendor", "nested"] {
        let _ = std::fs::remove_dir_all(root.join(d));
    }
}

/// The sandbox with `*.excl` and `!keep.glob` in info/exclude, and `*.glob` in a
/// core.excludesFile.
fn excluding(sandbox: Sandbox) -> Sandbox {
    let git_dir = sandbox.root.join(".git");
    let exclude = git_dir.join("info/exclude");
    let mut lines = std::fs::read(&exclude).unwrap_or_default();
    lines.extend_from_slice(b"\n*.excl\n!keep.glob\n");
    std::fs::write(&exclude, lines).expect("info/exclude");
    let global = git_dir.join("agreement-excludes");
    std::fs::write(&global, b"*.glob\n").expect("excludes file");
    git(
        &sandbox.root,
        &["config", "core.excludesFile", &global.to_string_lossy()],
    );
    sandbox
}

#[test]
fn clean_check_agrees_with_git_status() {
    let seed: u64 = std::env::var("PROCODER_AGREEMENT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_C1EA);
    let mut rng = Rng(seed.max(1));
    let local = base_repo();
    let prepared = local.prepare();
    let mut sandbox = excluding(prepared.unzip());
    let mut dirty = 0;
    for state in 0..STATES {
        if state > 0 && state % FRESH_EVERY == 0 {
            sandbox = excluding(prepared.unzip());
        }
        let mut changes = Vec::new();
        let mut stricter = Vec::new();
        for _ in 0..rng.below(4) {
            let (what, path) = mutate(&mut rng, &sandbox.root);
            changes.push(what);
            stricter.extend(path);
        }
        // A fresh unzip's index holds the export's stat data (size and zip time, no inode):
        // the helper then trusts size and mtime as git does, and misses the edit too.
        if state % FRESH_EVERY == 0 {
            stricter.clear();
        }
        let mut want = git_verdict(&sandbox.root);
        want.0.extend(stricter);
        want.0.sort();
        want.0.dedup();
        let got = helper_verdict(&sandbox);
        assert!(
            got.as_ref() == Ok(&want),
            "seed {seed}, state {state}: {changes:?}\ngit status: {want:?}\nhelper: {got:?}"
        );
        dirty += usize::from(want != Default::default());
        restore(&sandbox.root);
    }
    assert!(
        dirty > STATES / 3,
        "too few dirty states ({dirty}) to mean much"
    );
    // The later states' listings came from the untracked cache where folders were unchanged.
    assert!(
        sandbox.root.join(".git/procoder/untracked-cache").is_file(),
        "the helper kept no untracked cache"
    );
}

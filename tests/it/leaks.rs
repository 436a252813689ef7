//! Issue 6: a task package holds the work tree at HEAD, the local heads and tags with the
//! objects they reach, procoder's own minimal `.git` files and the helper, and nothing else.
//! Each test plants secrets (each a unique marker) where a careless export would pick them up,
//! runs the real `procoder prepare`, and looks for every marker in every byte of the zip, in
//! every member inflated, in every file of the package extracted with `unzip`, and in
//! everything git reports about the extracted repository. Canaries planted where the package
//! must carry them prove that each scan sees what it looks at.

mod alternates;
mod config;
mod files;
pub(crate) mod plant;
mod refs;
pub(crate) mod scan;

use crate::common::*;
use plant::*;
use scan::{Scan, Surface};
use std::collections::BTreeSet;
use std::path::Path;

/// Checks that every secret of `plants` was really planted (in the repository, beside it, or
/// in the `elsewhere` folders), prepares `local` for real and checks the package: it holds
/// what it must (every head and tag at its object, exactly the objects they reach, the task
/// branch checked out, a clean status, `git fsck --strict`), the canaries are seen on every
/// surface they must be, and no secret is seen anywhere. Returns the extracted package.
fn audit(local: &TestRepo, plants: &Plants, canaries: &[Canary], elsewhere: &[&Path]) -> Sandbox {
    assert_planted(local, plants, elsewhere);
    let expected = expected_objects(&local.dir);
    let prepared = local.prepare();
    let markers = plants
        .markers()
        .map(str::to_owned)
        .chain(canaries.iter().map(|c| c.marker.clone()));
    let mut scan = Scan::new(markers);

    // The zip as bytes, and every member its local headers announce.
    let raw = std::fs::read(&prepared.zip).expect("read the task zip");
    scan.plain(Surface::ZipBytes, "task zip", &raw);
    scan.zlib(Surface::ZipZlib, "task zip", &raw);
    let local_headers = scan.zip_local_members("task zip", &raw);

    // Every member the central directory lists, inflated by the zip crate.
    let members = zip_members(&prepared.zip);
    assert!(
        local_headers >= members.len(),
        "{local_headers} local headers for {} members",
        members.len()
    );
    for m in &members {
        scan.plain(Surface::MemberName, &m.name, m.name.as_bytes());
        scan.deep(Surface::Member, Surface::MemberZlib, &m.name, &m.data);
    }
    let packs = members.iter().filter(|m| m.name.ends_with(".pack")).count();
    assert_eq!(packs, 1, "one pack in the package");

    // Every path, file and symlink target of the package extracted with the real `unzip`.
    let sandbox = prepared.unzip();
    check_git_dir_layout(&sandbox.root.join(".git"));
    let extracted = sandbox
        .root
        .parent()
        .expect("the top folder has a parent")
        .to_path_buf();
    scan_tree(&mut scan, &extracted, &extracted);

    // Everything git says about the extracted repository.
    let repo = &sandbox.root;
    let objects = git_output(repo, &["cat-file", "--batch-all-objects", "--batch"]);
    assert_success(&objects, "git cat-file --batch-all-objects --batch");
    scan.plain(Surface::GitObjects, "cat-file --batch", &objects.stdout);
    let refs = git(
        repo,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname) %(symref)",
        ],
    );
    scan.plain(Surface::GitRefs, "for-each-ref", refs.as_bytes());
    let config = git(repo, &["config", "--list", "--show-origin"]);
    scan.plain(Surface::GitConfig, "config --list", config.as_bytes());
    for args in [
        &["log", "--all", "--format=%H %s%n%b%n%N"][..],
        &["reflog", "show", "--all"],
        &["stash", "list"],
        &["notes", "list"],
        &["rev-list", "--all", "--objects", "--reflog"],
        &["count-objects", "-v"],
        &["worktree", "list", "--porcelain"],
        &[
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
        ],
        &["ls-files", "--stage", "--others"],
        &["check-attr", "--all", "--", "README.md"],
    ] {
        let out = git_output(repo, args);
        let place = format!("git {}", args.join(" "));
        scan.plain(Surface::Git, &place, &out.stdout);
        scan.plain(Surface::Git, &place, &out.stderr);
    }
    let pack_dir = repo.join(".git/objects/pack");
    for entry in std::fs::read_dir(&pack_dir).expect("objects/pack") {
        let path = entry.expect("a pack folder entry").path();
        if path.extension().is_some_and(|x| x == "idx") {
            let out = git_output(
                repo,
                &["verify-pack", "-v", path.to_str().expect("utf-8 path")],
            );
            assert_success(&out, "git verify-pack -v");
            scan.plain(Surface::Git, "verify-pack -v", &out.stdout);
        }
    }

    check_contents(local, &prepared, &sandbox, &expected);

    // The scan sees: every canary where it must be.
    for canary in canaries {
        let seen = scan.surfaces(&canary.marker);
        let missing: Vec<&Surface> = canary
            .surfaces
            .iter()
            .filter(|s| !seen.contains(s))
            .collect();
        assert!(
            missing.is_empty(),
            "canary {} is not seen on {missing:?}: the scan is blind there; seen:\n{}",
            canary.marker,
            scan.sightings(&canary.marker).join("\n")
        );
    }
    // Nothing leaks: no secret anywhere.
    let leaks = scan.leaked(&plants.secrets);
    assert!(
        leaks.is_empty(),
        "{} of {} planted secrets leak into the task package:\n{}",
        leaks.len(),
        plants.secrets.len(),
        leaks.join("\n")
    );
    sandbox
}

/// Every secret was really planted: the same scan finds each one in the source repository's
/// folder, the files beside it (includes, hooks, a linked worktree), the `elsewhere` folders
/// (alternates) or its objects. Without this, a secret git never stored would pass as "not leaked".
pub(crate) fn assert_planted(local: &TestRepo, plants: &Plants, elsewhere: &[&Path]) {
    let mut scan = Scan::new(plants.markers().map(str::to_owned));
    let beside = local.dir.parent().expect("the repo folder has a parent");
    for root in std::iter::once(beside).chain(elsewhere.iter().copied()) {
        scan_tree(&mut scan, root, root);
    }
    let objects = git_output(&local.dir, &["cat-file", "--batch-all-objects", "--batch"]);
    assert_success(&objects, "git cat-file --batch-all-objects --batch");
    scan.plain(Surface::GitObjects, "source objects", &objects.stdout);
    let missing: Vec<&str> = plants
        .markers()
        .filter(|m| scan.surfaces(m).is_empty())
        .collect();
    assert!(
        missing.is_empty(),
        "these secrets are nowhere in the source repository: {missing:?}"
    );
}

/// Scans every path under `dir` (relative to `root`), every file's bytes (deeply), every
/// symlink's target (never followed).
pub(crate) fn scan_tree(scan: &mut Scan, root: &Path, dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read an extracted folder") {
        let path = entry.expect("an extracted folder entry").path();
        let rel = path
            .strip_prefix(root)
            .expect("under the extraction folder")
            .to_string_lossy()
            .into_owned();
        scan.plain(Surface::ExtractedPath, &rel, rel.as_bytes());
        let meta = std::fs::symlink_metadata(&path).expect("lstat an extracted path");
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).expect("read a symlink");
            scan.plain(
                Surface::SymlinkTarget,
                &rel,
                target.as_os_str().as_encoded_bytes(),
            );
        } else if meta.is_dir() {
            scan_tree(scan, root, &path);
        } else {
            let data = std::fs::read(&path).expect("read an extracted file");
            scan.deep(Surface::ExtractedFile, Surface::ExtractedZlib, &rel, &data);
        }
    }
}

/// The extracted `.git` holds procoder's files and nothing else: no hooks, logs, modules, lfs,
/// rr-cache, worktrees, pseudo-refs (FETCH_HEAD, ORIG_HEAD, ...), message files, info files
/// besides `exclude`, alternates, refs outside heads and tags. Checked before any git command
/// runs in it (git could add files of its own).
fn check_git_dir_layout(git_dir: &Path) {
    let mut paths = Vec::new();
    list_tree(git_dir, git_dir, &mut paths);
    assert!(!paths.is_empty(), "an empty .git");
    for (rel, is_dir) in &paths {
        let allowed = if *is_dir {
            [
                "info",
                "objects",
                "objects/info",
                "objects/pack",
                "refs",
                "procoder",
            ]
            .contains(&rel.as_str())
                || ["refs/heads", "refs/tags"]
                    .iter()
                    .any(|r| rel == r || rel.starts_with(&format!("{r}/")))
        } else {
            [
                "HEAD",
                "config",
                "description",
                "index",
                "packed-refs",
                "info/exclude",
                "procoder/exchange.json",
                "procoder/symlink-probe",
                "procoder/procoder-return",
            ]
            .contains(&rel.as_str())
                || rel.starts_with("refs/heads/")
                || rel.starts_with("refs/tags/")
                || (rel.starts_with("objects/pack/pack-")
                    && (rel.ends_with(".pack") || rel.ends_with(".idx")))
        };
        assert!(
            allowed,
            ".git/{rel} is exported; a package's .git holds only procoder's files"
        );
    }
}

/// Every path under `dir`, relative to `root`, and whether it is a folder (symlinks are not).
pub(crate) fn list_tree(root: &Path, dir: &Path, out: &mut Vec<(String, bool)>) {
    for entry in std::fs::read_dir(dir).expect("read an extracted folder") {
        let path = entry.expect("an extracted folder entry").path();
        let rel = path
            .strip_prefix(root)
            .expect("under the root")
            .to_string_lossy()
            .into_owned();
        let is_dir = std::fs::symlink_metadata(&path)
            .expect("lstat an extracted path")
            .is_dir();
        out.push((rel, is_dir));
        if is_dir {
            list_tree(root, &path, out);
        }
    }
}

/// What the package must hold, so that a scan of an empty package cannot pass; and none of
/// the files a `.git` of the user may hold besides procoder's own.
fn check_contents(
    local: &TestRepo,
    prepared: &Prepared,
    sandbox: &Sandbox,
    expected: &BTreeSet<String>,
) {
    let repo = &sandbox.root;
    assert_eq!(
        sandbox.git(&["symbolic-ref", "HEAD"]),
        prepared.task_ref,
        "the task branch is checked out"
    );
    assert_eq!(sandbox.git(&["rev-parse", "HEAD"]), prepared.base_oid);
    assert_eq!(local.rev("HEAD"), prepared.base_oid);
    assert_eq!(
        sandbox.git(&["status", "--porcelain"]),
        "",
        "a clean status"
    );
    assert_eq!(
        sandbox.git(&["status", "--porcelain", "--ignored"]),
        "!! procoder-return",
        "the helper is the only ignored file of the package"
    );
    sandbox.git(&["fsck", "--strict", "--no-dangling"]);
    let heads_and_tags = local.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/heads",
        "refs/tags",
    ]);
    assert!(heads_and_tags.lines().count() >= 5, "{heads_and_tags}");
    assert_eq!(
        sandbox.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        heads_and_tags,
        "every local head and tag is exported at its object, and no other ref"
    );
    assert_eq!(
        &object_ids(repo),
        expected,
        "the export holds exactly the objects reachable from the heads and tags"
    );
    assert_eq!(
        sandbox.git(&["ls-files"]),
        local.git(&["ls-files"]),
        "the index lists the tracked files of HEAD"
    );
    let git_dir = repo.join(".git");
    let exclude = std::fs::read_to_string(git_dir.join("info/exclude")).expect("info/exclude");
    let patterns: Vec<&str> = exclude
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        patterns,
        ["procoder-return", "procoder-return-*.zip"],
        "the export's info/exclude holds procoder's lines only"
    );
    let config = git(repo, &["config", "--file", ".git/config", "--list"]);
    for line in config.lines() {
        let key = line.split('=').next().expect("a key");
        assert!(
            key.starts_with("core.")
                || ["user.name", "user.email", "commit.gpgsign"].contains(&key),
            "config key {key} is exported:\n{config}"
        );
    }
}

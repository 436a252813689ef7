//! Every refusal of `procoder apply`: exit 1, `CODE: message` first on stderr, and refs,
//! HEAD, work tree, index and object store exactly as before (the quarantine holds).

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Applies `zip` with `extra` args, checks the code, and that nothing changed; then checks
/// that `--dry-run` predicts the same failure (exit 1) and changes nothing either.
/// "Nothing changed" is [`assert_untouched`]: refs, HEAD, work tree, index, every object,
/// no temporary file under `.git/procoder/tmp`, nothing new beside the package.
pub(crate) fn refuse(local: &TestRepo, zip: &Path, extra: &[&str], code: &str) -> String {
    let zip = zip.to_str().expect("utf-8 temp path");
    let before = Untouched::take(local, Path::new(zip));
    let mut args = vec!["apply", zip];
    args.extend_from_slice(extra);
    let err = assert_code(&local.procoder(&args), code);
    before.assert(local, &format!("apply refused with {code}"));
    args.push("--dry-run");
    let dry = local.procoder(&args);
    assert_eq!(
        dry.status.code(),
        Some(1),
        "--dry-run must exit 1 when apply would fail with {code}\nstdout:\n{}\nstderr:\n{}",
        stdout(&dry),
        stderr(&dry)
    );
    before.assert(local, &format!("apply --dry-run refused with {code}"));
    local.git(&["fsck", "--strict"]);
    err
}

/// What a refused (or dry-run) apply must leave exactly as it was.
pub(crate) struct Untouched {
    snapshot: RepoSnapshot,
    objects: String,
    package_dir: PathBuf,
    package_dir_listing: Vec<String>,
}

/// Every object in the store, one `oid type size` line each, sorted.
pub(crate) fn all_objects(dir: &Path) -> String {
    git(
        dir,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check",
            "--unordered",
        ],
    )
    .lines()
    .collect::<std::collections::BTreeSet<_>>()
    .into_iter()
    .collect::<Vec<_>>()
    .join("\n")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

impl Untouched {
    pub(crate) fn take(local: &TestRepo, package: &Path) -> Self {
        let package_dir = package
            .parent()
            .expect("a package has a folder")
            .to_path_buf();
        Untouched {
            snapshot: local.snapshot(),
            objects: all_objects(&local.dir),
            package_dir_listing: listing(&package_dir),
            package_dir,
        }
    }

    pub(crate) fn assert(&self, local: &TestRepo, after: &str) {
        self.snapshot.assert_unchanged(&local.dir, after);
        assert!(
            self.objects == all_objects(&local.dir),
            "an object joined the store after {after}"
        );
        let tmp = local.dir.join(".git/procoder/tmp");
        assert_eq!(
            listing(&tmp),
            Vec::<String>::new(),
            "temporary files left in {} after {after}",
            tmp.display()
        );
        assert_eq!(
            listing(&self.package_dir),
            self.package_dir_listing,
            "files appeared beside the package after {after}"
        );
    }
}

#[test]
fn branch_moved_by_branch_force() {
    let r = Returned::new();
    let task_short = r.prepared.task_ref.trim_start_matches("refs/heads/");
    r.local.git(&["branch", "-f", task_short, "HEAD~1"]);
    let err = refuse(&r.local, &r.zip, &[], "BRANCH_MOVED");
    assert!(err.contains(&r.prepared.task_ref), "{err}");
    assert!(
        err.contains("--namespace"),
        "the hint names --namespace:\n{err}"
    );
}

#[test]
fn branch_moved_by_a_local_commit_on_the_task_branch() {
    let r = Returned::new();
    let task_short = r.prepared.task_ref.trim_start_matches("refs/heads/");
    r.local.git(&["checkout", "-q", task_short]);
    write_file(&r.local.dir, "local.txt", b"local work\n");
    r.local.git(&["add", "local.txt"]);
    r.local
        .git(&["commit", "-q", "-m", "Local work on the task branch"]);
    r.local.git(&["checkout", "-q", "main"]);
    refuse(&r.local, &r.zip, &[], "BRANCH_MOVED");
}

#[test]
fn branch_moved_can_be_imported_under_a_namespace() {
    let r = Returned::new();
    let task_short = r.prepared.task_ref.trim_start_matches("refs/heads/");
    r.local.git(&["branch", "-f", task_short, "HEAD~1"]);
    let moved = r.local.rev(&r.prepared.task_ref);
    assert_success(
        &r.apply(&["--namespace", "procoder-import"]),
        "apply --namespace",
    );
    let mapped = format!("refs/heads/procoder-import/{}/task", r.prepared.id);
    assert_eq!(r.local.rev(&mapped), r.tip);
    assert_eq!(
        r.local.rev(&r.prepared.task_ref),
        moved,
        "the moved branch is left alone"
    );
}

#[test]
fn ref_exists_for_a_created_family_branch() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    let extra = prepared.family_ref("extra");
    sandbox.git(&[
        "checkout",
        "-q",
        "-b",
        extra.trim_start_matches("refs/heads/"),
    ]);
    sandbox.commit_file("extra.txt", "extra\n");
    let zip = sandbox.run_return();
    local.git(&["branch", extra.trim_start_matches("refs/heads/"), "HEAD~1"]);
    let err = refuse(&local, &zip, &[], "REF_EXISTS");
    assert!(err.contains(&extra), "{err}");
}

#[test]
fn target_branch_checked_out() {
    let r = Returned::new();
    let task_short = r.prepared.task_ref.trim_start_matches("refs/heads/");
    r.local.git(&["checkout", "-q", task_short]);
    refuse(&r.local, &r.zip, &[], "TARGET_BRANCH_CHECKED_OUT");
}

#[test]
fn target_branch_checked_out_and_dirty_refuses_even_with_checkout() {
    let r = Returned::new();
    let task_short = r.prepared.task_ref.trim_start_matches("refs/heads/");
    r.local.git(&["checkout", "-q", task_short]);
    write_file(&r.local.dir, "notes.txt", b"uncommitted local edit\n");
    refuse(&r.local, &r.zip, &["--checkout"], "WORKTREE_DIRTY");
    assert_eq!(
        std::fs::read_to_string(r.local.dir.join("notes.txt")).expect("notes"),
        "uncommitted local edit\n"
    );
}

#[test]
fn unknown_exchange_in_a_repository_where_it_was_not_prepared() {
    let r = Returned::new();
    // Same history (fixed ids), so the base exists there: only the record is missing.
    let other = TestRepo::new();
    assert_eq!(other.rev("HEAD"), r.prepared.base_oid);
    refuse(&other, &r.zip, &[], "UNKNOWN_EXCHANGE");
}

#[test]
fn invalid_return_package_not_a_zip() {
    let r = Returned::new();
    let bogus = r.sandbox.root.join("bogus.zip");
    std::fs::write(&bogus, b"this is not a zip file\n").expect("write");
    refuse(&r.local, &bogus, &[], "INVALID_RETURN_PACKAGE");
}

/// Rewrites the return zip with the given members (name, bytes) into a new file.
pub(crate) fn rebuild(r: &Returned, name: &str, members: &[(&str, &[u8])]) -> PathBuf {
    let path = r.sandbox.root.join(name);
    write_zip(&path, members);
    path
}

pub(crate) fn documents(r: &Returned) -> (Vec<u8>, Vec<u8>) {
    let (doc, bundle) = read_return(&r.zip);
    (serde_json::to_vec_pretty(&doc).expect("serialise"), bundle)
}

#[test]
fn invalid_return_package_extra_member() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let zip = rebuild(
        &r,
        "extra-member.zip",
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
            ("extra.txt", b"unexpected"),
        ],
    );
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

#[test]
fn invalid_return_package_missing_bundle() {
    let r = Returned::new();
    let (doc, _) = documents(&r);
    let zip = rebuild(&r, "no-bundle.zip", &[("procoder-return.json", &doc)]);
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

#[test]
fn invalid_return_package_path_escape() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let zip = rebuild(
        &r,
        "escape.zip",
        &[
            ("procoder-return.json", &doc),
            ("../procoder-return.bundle", &bundle),
        ],
    );
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(!r
        .sandbox
        .root
        .parent()
        .expect("parent")
        .join("procoder-return.bundle")
        .exists());
}

#[test]
fn bundle_verify_failed_for_a_truncated_bundle() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let header_end = bundle
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a bundle header ends with a blank line")
        + 2;
    let pack_len = bundle.len() - header_end;
    assert!(pack_len > 32, "the pack has content");
    let truncated = &bundle[..header_end + pack_len / 2];
    let zip = rebuild(
        &r,
        "truncated.zip",
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", truncated),
        ],
    );
    let err = refuse(&r.local, &zip, &[], "BUNDLE_VERIFY_FAILED");
    assert!(
        err.lines().count() > 1,
        "libgit2's message is in the details:\n{err}"
    );
}

#[test]
fn not_descendant_for_a_hand_made_package() {
    // The helper refuses this, so build the package by hand: a family branch holding an
    // unrelated root commit, in a bundle git itself writes.
    let r = Returned::new();
    let orphan = r.prepared.family_ref("orphan");
    r.sandbox.git(&[
        "checkout",
        "-q",
        "--orphan",
        orphan.trim_start_matches("refs/heads/"),
    ]);
    r.sandbox.git(&["commit", "-q", "-m", "Unrelated root"]);
    let orphan_tip = r.sandbox.git(&["rev-parse", "HEAD"]);
    let bundle_path = r.sandbox.root.join(".git/orphan.bundle");
    r.sandbox.git(&[
        "bundle",
        "create",
        "-q",
        bundle_path.to_str().expect("utf-8"),
        &orphan,
    ]);
    let bundle = std::fs::read(&bundle_path).expect("read bundle");
    let (mut doc, _) = read_return(&r.zip);
    doc["updates"] = Value::Array(vec![serde_json::json!({
        "ref": orphan, "old_oid": "", "new_oid": orphan_tip,
    })]);
    let doc = serde_json::to_vec_pretty(&doc).expect("serialise");
    let zip = rebuild(
        &r,
        "orphan.zip",
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    );
    let err = refuse(&r.local, &zip, &[], "NOT_DESCENDANT");
    assert!(err.contains(&orphan), "{err}");
    assert!(
        git_output(&r.local.dir, &["cat-file", "-e", &orphan_tip])
            .status
            .code()
            != Some(0),
        "the rejected commit did not join the object store"
    );
}

#[test]
fn unsupported_protocol_in_the_return_document() {
    let r = Returned::new();
    let (mut doc, bundle) = read_return(&r.zip);
    doc["protocol"] = Value::from("procoder-return/v9");
    let doc = serde_json::to_vec_pretty(&doc).expect("serialise");
    let zip = rebuild(
        &r,
        "v9.zip",
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    );
    refuse(&r.local, &zip, &[], "UNSUPPORTED_PROTOCOL");
}

/// A family branch whose commit's tree holds `entry` (a hostile name git's fsck rejects),
/// shipped in a bundle git itself writes.
fn hostile_package(r: &Returned, entry: &str, name: &str) -> (PathBuf, String) {
    let s = &r.sandbox;
    let blob_src = s.root.join(".git/hostile-blob");
    std::fs::write(&blob_src, b"[core]\n\thooksPath = /tmp/evil\n").expect("write blob");
    let blob = s.git(&["hash-object", "-w", blob_src.to_str().expect("utf-8")]);
    let out = hermetic(
        std::process::Command::new("git")
            .args(["mktree"])
            .current_dir(&s.root)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped()),
    )
    .spawn()
    .and_then(|mut child| {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "100644 blob {blob}\t{entry}")?;
        drop(stdin);
        child.wait_with_output()
    })
    .expect("git mktree");
    assert_success(&out, "git mktree");
    let tree = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    let commit = s.git(&[
        "commit-tree",
        &tree,
        "-p",
        &r.prepared.base_oid,
        "-m",
        "Hostile tree",
    ]);
    let family = r.prepared.family_ref(name);
    s.git(&["update-ref", &family, &commit]);
    let bundle_path = s.root.join(format!(".git/{name}.bundle"));
    let range = format!("^{}", r.prepared.base_oid);
    s.git(&[
        "bundle",
        "create",
        "-q",
        bundle_path.to_str().expect("utf-8"),
        &family,
        &range,
    ]);
    let bundle = std::fs::read(&bundle_path).expect("read bundle");
    let (mut doc, _) = read_return(&r.zip);
    doc["updates"] = Value::Array(vec![serde_json::json!({
        "ref": family, "old_oid": "", "new_oid": commit,
    })]);
    let doc = serde_json::to_vec_pretty(&doc).expect("serialise");
    let zip = rebuild(
        r,
        &format!("{name}.zip"),
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    );
    (zip, commit)
}

#[test]
fn unsafe_object_tree_entry_dot_git() {
    let r = Returned::new();
    let (zip, commit) = hostile_package(&r, ".git", "dotgit");
    refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(
        !git_output(&r.local.dir, &["cat-file", "-e", &commit])
            .status
            .success(),
        "the hostile commit did not join the object store"
    );
}

#[test]
fn unsafe_object_tree_entry_case_folded_dot_git() {
    let r = Returned::new();
    let (zip, _) = hostile_package(&r, ".GIT", "dotgit-upper");
    refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
}

#[test]
fn unsafe_object_tree_entry_ntfs_short_name() {
    let r = Returned::new();
    let (zip, _) = hostile_package(&r, "git~1", "ntfs");
    refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
}

/// A mistyped path is said to be one, not a bad package to ask the agent about again.
#[test]
fn apply_of_a_path_that_does_not_exist_says_so() {
    let local = TestRepo::new();
    let before = local.snapshot();
    let missing = local.dir.join("procoder-return-nope.zip");
    let out = local.procoder(&["apply", missing.to_str().expect("utf-8")]);
    let err = assert_code(&out, "INVALID_RETURN_PACKAGE");
    assert!(
        err.contains(&format!("there is no file at {}", missing.display())),
        "{err}"
    );
    assert!(!err.contains("ask the agent"), "{err}");
    before.assert_unchanged(&local.dir, "apply of a missing path");
}

/// `--continue` / `--abort` with nothing interrupted has a code of its own, not the one that
/// means an apply *is* interrupted.
#[test]
fn continue_and_abort_with_nothing_interrupted_say_nothing_to_do() {
    let local = TestRepo::new();
    local.prepare();
    for way in ["--continue", "--abort"] {
        let err = assert_code(&local.procoder(&["apply", way]), "NOTHING_INTERRUPTED");
        assert!(err.contains("nothing to continue or abort"), "{err}");
    }
}

//! Damaged and foreign bundles.

use super::objects::*;
use super::*;

// ---- damaged and foreign bundles ----------------------------------------------------------------

#[test]
pub(super) fn bundle_bit_flipped() {
    let r = Returned::new();
    let zip = with_bundle(&r, "flipped.zip", |mut b| {
        let start = pack_start(&b);
        let at = start + (b.len() - start) / 2;
        b[at] ^= 0x40;
        b
    });
    let err = refuse(&r.local, &zip, &[], "BUNDLE_VERIFY_FAILED");
    assert!(
        err.lines().count() > 1,
        "libgit2's message is in the details:\n{err}"
    );
}

#[test]
pub(super) fn bundle_header_only() {
    let r = Returned::new();
    let zip = with_bundle(&r, "header-only.zip", |b| b[..pack_start(&b)].to_vec());
    refuse(&r.local, &zip, &[], "BUNDLE_VERIFY_FAILED");
}

#[test]
pub(super) fn bundle_advertises_a_ref_not_in_the_document() {
    let r = Returned::new();
    let extra = r.prepared.family_ref("extra");
    let tip = r.tip.clone();
    let zip = with_bundle(&r, "extra-ref.zip", |b| {
        let start = pack_start(&b);
        let mut out = b[..start - 1].to_vec();
        out.extend_from_slice(format!("{tip} {extra}\n\n").as_bytes());
        out.extend_from_slice(&b[start..]);
        out
    });
    let err = refuse(&r.local, &zip, &[], "BUNDLE_VERIFY_FAILED");
    assert!(err.contains(&r.prepared.family_ref("extra")), "{err}");
}

#[test]
pub(super) fn bundle_v3_sha256() {
    let r = Returned::new();
    let zip = with_bundle(&r, "sha256.zip", |b| {
        let rest = b
            .strip_prefix(b"# v2 git bundle\n".as_slice())
            .expect("procoder writes v2")
            .to_vec();
        let mut out = b"# v3 git bundle\n@object-format=sha256\n".to_vec();
        out.extend_from_slice(&rest);
        out
    });
    let err = refuse(&r.local, &zip, &[], "UNSUPPORTED_PROTOCOL");
    assert!(err.contains("sha256"), "{err}");
}

#[test]
pub(super) fn bundle_written_by_git_bundle_create_is_accepted() {
    // A thin pack: the changed binary file is a delta against the base's blob.
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    let mut data: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    data[100] = b'!';
    sandbox.write("assets/data.bin", &data);
    sandbox.git(&["commit", "-q", "-am", "Change one byte"]);
    let tip = sandbox.git(&["rev-parse", "HEAD"]);
    let zip = sandbox.run_return();
    let (doc, _) = read_return(&zip);
    let path = sandbox.root.join(".git/git.bundle");
    sandbox.git(&[
        "bundle",
        "create",
        "-q",
        path.to_str().expect("utf-8"),
        &prepared.task_ref,
        &format!("^{}", prepared.base_oid),
    ]);
    let bundle = std::fs::read(&path).expect("read the bundle");
    let doc = serde_json::to_vec_pretty(&doc).expect("serialise");
    let gitzip = sandbox.root.join("git-bundle.zip");
    write_zip(
        &gitzip,
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    );
    let objects = all_objects(&local.dir);
    assert_success(
        &local.procoder(&["apply", gitzip.to_str().expect("utf-8")]),
        "apply of a git-written bundle",
    );
    assert_eq!(local.rev(&prepared.task_ref), tip);
    assert_ne!(
        all_objects(&local.dir),
        objects,
        "the new objects joined the store"
    );
    local.git(&["fsck", "--strict", "--no-dangling"]);
    assert_eq!(
        std::fs::read_dir(local.dir.join(".git/procoder/tmp"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "no temporary files left"
    );
}

#[test]
pub(super) fn dry_run_of_a_valid_package_adds_no_object() {
    let r = Returned::new();
    let before = Untouched::take(&r.local, &r.zip);
    assert_success(&r.apply(&["--dry-run"]), "apply --dry-run");
    before.assert(&r.local, "apply --dry-run of a valid package");
    assert!(
        !git_output(&r.local.dir, &["cat-file", "-e", &r.tip])
            .status
            .success(),
        "the returned commit is not in the store after a dry run"
    );
}

#[test]
pub(super) fn return_with_a_new_gitlink_is_accepted() {
    // A submodule's commit lives in the submodule, not here: libgit2's indexer verification
    // expected it anyway ("packfile is missing 1 objects") until it was turned off in favour
    // of procoder's own connectivity checks, which skip gitlinks as git does.
    let r = Returned::new();
    let s = &r.sandbox;
    let sub = "1111111111111111111111111111111111111111";
    s.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{sub},vendor/lib"),
    ]);
    s.git(&["commit", "-q", "-m", "Add a submodule"]);
    let tip = s.git(&["rev-parse", "HEAD"]);
    let zip = s.run_return();
    assert_success(
        &r.local.procoder(&["apply", zip.to_str().expect("utf-8")]),
        "apply of a return with a gitlink",
    );
    assert_eq!(r.local.rev(&r.prepared.task_ref), tip);
    assert_eq!(
        r.local
            .git(&["ls-tree", &r.prepared.task_ref, "vendor/lib"]),
        format!("160000 commit {sub}\tvendor/lib")
    );
    r.local.git(&["fsck", "--strict", "--no-dangling"]);
}

#[test]
pub(super) fn tree_entry_names_an_existing_blob_as_a_subtree() {
    // Found by the pack fuzzer: objects the repository already had were trusted without a type
    // check, so a new tree could name an old blob as a directory (git fsck: broken links).
    let r = Returned::new();
    let s = &r.sandbox;
    let readme = s.git(&["rev-parse", &format!("{}:README.md", r.prepared.base_oid)]);
    let tree = raw_tree(s, &[("40000", b"dir", &readme)]);
    let commit = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, "Blob as a tree");
    let zip = hand_package(
        &r,
        "blobtree",
        &commit,
        &r.prepared.base_oid,
        &[&commit, &tree],
    );
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(err.contains("is not a tree"), "{err}");
}

#[test]
pub(super) fn tree_entry_names_an_existing_tree_as_a_file() {
    let r = Returned::new();
    let s = &r.sandbox;
    let src = s.git(&["rev-parse", &format!("{}:src", r.prepared.base_oid)]);
    let tree = raw_tree(s, &[("100644", b"file", &src)]);
    let commit = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, "Tree as a file");
    let zip = hand_package(
        &r,
        "treefile",
        &commit,
        &r.prepared.base_oid,
        &[&commit, &tree],
    );
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(err.contains("is not a blob"), "{err}");
}

#[test]
pub(super) fn commit_with_a_nul_in_its_message() {
    // Found by the pack fuzzer with git fsck as the oracle: --strict makes `nulInCommit` an error.
    let r = Returned::new();
    let s = &r.sandbox;
    let tree = s.git(&["rev-parse", "HEAD^{tree}"]);
    let blob = s.git(&["rev-parse", "HEAD:feature.txt"]);
    let tip = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, "Hidden\0text");
    let zip = hand_package(&r, "nul", &tip, &r.prepared.base_oid, &[&tip, &tree, &blob]);
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(err.contains("NUL"), "{err}");
}

#[test]
pub(super) fn gitattributes_with_a_line_git_would_not_read() {
    let line = format!("{} filter=evil\n", "x".repeat(4096));
    let (r, zip, _) = hostile_entry("100644", b".gitattributes", line.as_bytes());
    refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
}

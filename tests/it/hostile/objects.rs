//! Hand-made objects (raw trees and commits packed by git): hostile names and modes, hostile
//! `.gitmodules`, malformed commits, and tips that do not descend from the base.

use super::*;

// ---- hand-made objects: raw trees and commits, packed by git -------------------------------------

/// Runs git with `input` on stdin; returns stdout (asserting success).
pub(super) fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = hermetic(
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .spawn()
    .expect("git starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("feed git");
    let out = child.wait_with_output().expect("git runs");
    assert_success(&out, &format!("git {args:?}"));
    out.stdout
}

/// Writes any bytes as an object of `kind`, unchecked (`hash-object --literally`).
pub(super) fn raw_object(s: &Sandbox, kind: &str, data: &[u8]) -> String {
    let out = git_stdin(
        &s.root,
        &["hash-object", "-w", "--literally", "-t", kind, "--stdin"],
        data,
    );
    String::from_utf8(out).expect("hex").trim().to_owned()
}

pub(super) fn oid_bytes(hex: &str) -> Vec<u8> {
    (0..20)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// A tree object from (mode, name, oid) entries, written exactly in the order given.
pub(super) fn raw_tree(s: &Sandbox, entries: &[(&str, &[u8], &str)]) -> String {
    let mut data = Vec::new();
    for (mode, name, oid) in entries {
        data.extend_from_slice(mode.as_bytes());
        data.push(b' ');
        data.extend_from_slice(name);
        data.push(0);
        data.extend_from_slice(&oid_bytes(oid));
    }
    raw_object(s, "tree", &data)
}

/// A commit object with the given header lines after `tree` and `parent`.
pub(super) fn raw_commit(
    s: &Sandbox,
    tree: &str,
    parent: &str,
    idents: &str,
    message: &str,
) -> String {
    let text = format!("tree {tree}\nparent {parent}\n{idents}\n{message}\n");
    raw_object(s, "commit", text.as_bytes())
}

pub(super) const IDENTS: &str = "author Test Author <author@example.com> 1767225600 +0000\n\
committer Test Committer <committer@example.com> 1767225600 +0000\n";

/// A package whose only update creates family ref `name` at `tip`: the bundle is a v2 header
/// (prerequisite `prereq`) and a pack of exactly `objects`, made by `git pack-objects`, which
/// does not parse what it packs.
pub(super) fn hand_package(
    r: &Returned,
    name: &str,
    tip: &str,
    prereq: &str,
    objects: &[&str],
) -> PathBuf {
    let s = &r.sandbox;
    let list = objects.iter().map(|o| format!("{o}\n")).collect::<String>();
    let pack = git_stdin(
        &s.root,
        &["pack-objects", "-q", "--stdout"],
        list.as_bytes(),
    );
    let family = r.prepared.family_ref(name);
    let mut bundle = format!("# v2 git bundle\n-{prereq} Base\n{tip} {family}\n\n").into_bytes();
    bundle.extend_from_slice(&pack);
    let (mut doc, _) = read_return(&r.zip);
    doc["updates"] = Value::Array(vec![serde_json::json!({
        "ref": family, "old_oid": "", "new_oid": tip,
    })]);
    let doc = serde_json::to_vec_pretty(&doc).expect("serialise");
    rebuild(
        r,
        &format!("{name}.zip"),
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    )
}

/// A commit on the base whose root tree holds one entry `(mode, name)` naming a new blob.
pub(super) fn hostile_entry(
    mode: &str,
    name: &[u8],
    blob_content: &[u8],
) -> (Returned, PathBuf, String) {
    let r = Returned::new();
    let s = &r.sandbox;
    let blob = raw_object(s, "blob", blob_content);
    let tree = raw_tree(s, &[(mode, name, &blob)]);
    let commit = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, "Hostile tree");
    let zip = hand_package(
        &r,
        "hostile",
        &commit,
        &r.prepared.base_oid,
        &[&commit, &tree, &blob],
    );
    (r, zip, commit)
}

pub(super) fn unsafe_entry(mode: &str, name: &[u8]) -> String {
    let (r, zip, commit) = hostile_entry(mode, name, b"hostile\n");
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(
        !git_output(&r.local.dir, &["cat-file", "-e", &commit])
            .status
            .success(),
        "the hostile commit did not join the object store"
    );
    err
}

#[test]
pub(super) fn tree_name_dot_git_with_trailing_dot() {
    unsafe_entry("100644", b".git.");
}

#[test]
pub(super) fn tree_name_dot_git_with_trailing_space() {
    unsafe_entry("100644", b".git ");
}

#[test]
pub(super) fn tree_name_dot_git_with_an_ntfs_stream() {
    unsafe_entry("40000", b".git::$INDEX_ALLOCATION");
}

#[test]
pub(super) fn tree_name_dot_git_with_an_hfs_ignorable() {
    unsafe_entry("100644", ".g\u{200c}it".as_bytes());
}

#[test]
pub(super) fn tree_name_dot_git_followed_by_malformed_utf8() {
    // Found by the pack fuzzer with git fsck as the oracle: git reads malformed UTF-8 as the end
    // of an HFS+ name, so `.git\xbcodules` is `.git` to it.
    unsafe_entry("100644", b".git\xbcodules");
}

#[test]
pub(super) fn tree_name_dot_dot() {
    unsafe_entry("100644", b"..");
}

#[test]
pub(super) fn tree_name_dot() {
    unsafe_entry("100644", b".");
}

#[test]
pub(super) fn tree_name_empty() {
    unsafe_entry("100644", b"");
}

#[test]
pub(super) fn tree_name_with_a_slash() {
    unsafe_entry("100644", b"a/b");
}

#[test]
pub(super) fn tree_mode_group_writable() {
    let err = unsafe_entry("100664", b"file.txt");
    assert!(err.contains("mode"), "{err}");
}

#[test]
pub(super) fn tree_mode_zero_padded() {
    let r = Returned::new();
    let s = &r.sandbox;
    let blob = raw_object(s, "blob", b"x\n");
    let sub = raw_tree(s, &[("100644", b"x.txt", &blob)]);
    let tree = raw_tree(s, &[("040000", b"dir", &sub)]);
    let commit = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, "Zero-padded mode");
    let zip = hand_package(
        &r,
        "zeropad",
        &commit,
        &r.prepared.base_oid,
        &[&commit, &tree, &sub, &blob],
    );
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(err.contains("zero-padded"), "{err}");
}

#[test]
pub(super) fn tree_name_dot_git_in_a_subtree() {
    let r = Returned::new();
    let s = &r.sandbox;
    let blob = raw_object(s, "blob", b"[core]\n\thooksPath = /tmp/evil\n");
    let config = raw_tree(s, &[("100644", b"config", &blob)]);
    let inner = raw_tree(s, &[("40000", b".GIT", &config)]);
    let tree = raw_tree(s, &[("40000", b"vendor", &inner)]);
    let commit = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, "Nested .git");
    let zip = hand_package(
        &r,
        "nested",
        &commit,
        &r.prepared.base_oid,
        &[&commit, &tree, &inner, &config, &blob],
    );
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(
        err.contains("vendor/.GIT"),
        "the message names the path:\n{err}"
    );
}

#[test]
pub(super) fn tree_duplicate_names_not_adjacent() {
    // `a` (file), `a.b`, `a/` (tree) is sorted, but names `a` twice.
    let r = Returned::new();
    let s = &r.sandbox;
    let blob = raw_object(s, "blob", b"x\n");
    let sub = raw_tree(s, &[("100644", b"x", &blob)]);
    let tree = raw_tree(
        s,
        &[
            ("100644", b"a", &blob),
            ("100644", b"a.b", &blob),
            ("40000", b"a", &sub),
        ],
    );
    let commit = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, "Duplicate names");
    let zip = hand_package(
        &r,
        "dups",
        &commit,
        &r.prepared.base_oid,
        &[&commit, &tree, &sub, &blob],
    );
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(err.contains("duplicate"), "{err}");
}

// ---- hostile .gitmodules -------------------------------------------------------------------

pub(super) fn hostile_gitmodules(content: &str) -> String {
    let (r, zip, _) = hostile_entry("100644", b".gitmodules", content.as_bytes());
    refuse(&r.local, &zip, &[], "UNSAFE_OBJECT")
}

#[test]
pub(super) fn gitmodules_url_is_an_option() {
    hostile_gitmodules("[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n");
}

#[test]
pub(super) fn gitmodules_url_is_an_option_after_empty_quotes() {
    // git's config parser reads `"" --upload-pack=…` as `--upload-pack=…`.
    hostile_gitmodules(
        "[submodule \"x\"]\n\tpath = x\n\turl = \"\" --upload-pack=touch /tmp/pwned\n",
    );
}

#[test]
pub(super) fn gitmodules_path_is_an_option() {
    hostile_gitmodules("[submodule \"x\"]\n\tpath = -x\n\turl = https://example.com/x.git\n");
}

#[test]
pub(super) fn gitmodules_name_escapes() {
    hostile_gitmodules(
        "[submodule \"../../hooks\"]\n\tpath = x\n\turl = https://example.com/x.git\n",
    );
}

#[test]
pub(super) fn gitmodules_update_runs_a_command() {
    hostile_gitmodules(
        "[submodule \"x\"]\n\tpath = x\n\turl = ../x.git\n\tupdate = !touch /tmp/pwned\n",
    );
}

#[test]
pub(super) fn gitmodules_is_a_gitlink_under_an_ntfs_name() {
    // Found by the pack fuzzer with git fsck as the oracle (gitmodulesMissing).
    let r = Returned::new();
    let s = &r.sandbox;
    let sub = "1111111111111111111111111111111111111111";
    let tree = raw_tree(s, &[("160000", b"GITMOD~1", sub)]);
    let commit = raw_commit(
        s,
        &tree,
        &r.prepared.base_oid,
        IDENTS,
        "Gitlink .gitmodules",
    );
    let zip = hand_package(
        &r,
        "gitlinkmods",
        &commit,
        &r.prepared.base_oid,
        &[&commit, &tree],
    );
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(err.contains("not a file"), "{err}");
}

#[test]
pub(super) fn gitmodules_is_a_symlink() {
    let (r, zip, _) = hostile_entry("120000", b".gitmodules", b"../../outside/.gitmodules");
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(err.contains("symbolic link"), "{err}");
}

// ---- malformed commits ----------------------------------------------------------------------

/// A malformed commit on the base with a well-formed tip on top of it.
pub(super) fn malformed_below_a_good_tip(idents: &str) -> String {
    malformed_below_a_good_tip_refused(idents, &["UNSAFE_OBJECT"])
}

/// Checks that apply's first line shows one of `codes`, then `refuse`s with that code.
pub(super) fn refuse_with_one_of(local: &TestRepo, zip: &Path, codes: &[&str]) -> String {
    let out = local.procoder(&["apply", zip.to_str().expect("utf-8")]);
    let err = stderr(&out);
    let code = codes
        .iter()
        .find(|c| err.starts_with(&format!("{c}: ")))
        .unwrap_or_else(|| panic!("expected one of {codes:?}, got:\n{err}"));
    eprintln!("refused with {}", err.lines().next().unwrap_or_default());
    refuse(local, zip, &[], code)
}

pub(super) fn malformed_below_a_good_tip_refused(idents: &str, codes: &[&str]) -> String {
    let r = Returned::new();
    let s = &r.sandbox;
    let tree = s.git(&["rev-parse", "HEAD^{tree}"]);
    let bad = raw_commit(s, &tree, &r.prepared.base_oid, idents, "Malformed");
    let tip = raw_commit(s, &tree, &bad, IDENTS, "Good tip");
    let blob = s.git(&["rev-parse", "HEAD:feature.txt"]);
    let zip = hand_package(
        &r,
        "malformed",
        &tip,
        &r.prepared.base_oid,
        &[&tip, &bad, &tree, &blob],
    );
    refuse_with_one_of(&r.local, &zip, codes)
}

#[test]
pub(super) fn commit_without_author() {
    let err = malformed_below_a_good_tip(
        "committer Test Committer <committer@example.com> 1767225600 +0000\n",
    );
    assert!(err.contains("author"), "{err}");
}

#[test]
pub(super) fn commit_with_a_bad_date() {
    let err = malformed_below_a_good_tip(
        "author Test Author <author@example.com> 01767225600 +0000\n\
         committer Test Committer <committer@example.com> 1767225600 +0000\n",
    );
    assert!(err.contains("date"), "{err}");
}

#[test]
pub(super) fn commit_with_an_unparseable_date() {
    // libgit2 cannot parse this date; the raw fsck-level walk runs first and names it.
    malformed_below_a_good_tip_refused(
        "author Test Author <author@example.com> yesterday +0000\n\
         committer Test Committer <committer@example.com> 1767225600 +0000\n",
        &["UNSAFE_OBJECT"],
    );
}

#[test]
pub(super) fn commit_with_a_bad_date_at_the_tip() {
    let r = Returned::new();
    let s = &r.sandbox;
    let tree = s.git(&["rev-parse", "HEAD^{tree}"]);
    let blob = s.git(&["rev-parse", "HEAD:feature.txt"]);
    let tip = raw_commit(
        s,
        &tree,
        &r.prepared.base_oid,
        "author Test Author <author@example.com> 0123 +0000\n\
         committer Test Committer <committer@example.com> 1767225600 +0000\n",
        "Zero-padded date",
    );
    let zip = hand_package(
        &r,
        "baddate",
        &tip,
        &r.prepared.base_oid,
        &[&tip, &tree, &blob],
    );
    refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
}

#[test]
pub(super) fn commit_without_author_at_the_tip() {
    // libgit2 cannot parse this commit; the raw fsck-level walk runs first and names it.
    let r = Returned::new();
    let s = &r.sandbox;
    let tree = s.git(&["rev-parse", "HEAD^{tree}"]);
    let blob = s.git(&["rev-parse", "HEAD:feature.txt"]);
    let tip = raw_commit(
        s,
        &tree,
        &r.prepared.base_oid,
        "committer Test Committer <committer@example.com> 1767225600 +0000\n",
        "No author",
    );
    let zip = hand_package(
        &r,
        "noauthor",
        &tip,
        &r.prepared.base_oid,
        &[&tip, &tree, &blob],
    );
    refuse_with_one_of(&r.local, &zip, &["UNSAFE_OBJECT"]);
}

// ---- NOT_DESCENDANT ------------------------------------------------------------------------------

#[test]
pub(super) fn not_descendant_sibling_of_the_base() {
    let r = Returned::new();
    let s = &r.sandbox;
    let parent = s.git(&["rev-parse", &format!("{}~1", r.prepared.base_oid)]);
    let tree = s.git(&["rev-parse", &format!("{}^{{tree}}", r.prepared.base_oid)]);
    let sibling = raw_commit(s, &tree, &parent, IDENTS, "Sibling of the base");
    let zip = hand_package(&r, "sibling", &sibling, &parent, &[&sibling]);
    let err = refuse(&r.local, &zip, &[], "NOT_DESCENDANT");
    assert!(err.contains(&sibling), "{err}");
}

#[test]
pub(super) fn not_descendant_rewind_of_the_task_branch() {
    // The task branch moved back to the base's parent: an old commit, nothing new.
    let r = Returned::new();
    let s = &r.sandbox;
    let parent = r.local.rev(&format!("{}~1", r.prepared.base_oid));
    let (mut doc, _) = read_return(&r.zip);
    doc["updates"][0]["new_oid"] = Value::from(parent.clone());
    let doc = serde_json::to_vec_pretty(&doc).expect("serialise");
    let pack = git_stdin(
        &s.root,
        &["pack-objects", "-q", "--stdout"],
        format!("{parent}\n").as_bytes(),
    );
    let mut bundle = format!(
        "# v2 git bundle\n-{parent} Parent\n{parent} {}\n\n",
        r.prepared.task_ref
    )
    .into_bytes();
    bundle.extend_from_slice(&pack);
    let zip = rebuild(
        &r,
        "rewind.zip",
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    );
    refuse(&r.local, &zip, &[], "NOT_DESCENDANT");
}

#[test]
pub(super) fn unreachable_hostile_tree_riding_along() {
    // Found by the pack fuzzer with git fsck as the oracle: the fsck-level checks walk what
    // the tips reach, so a hostile tree nothing points at joined the store unchecked.
    let r = Returned::new();
    let s = &r.sandbox;
    let blob = raw_object(s, "blob", b"[core]\n\thooksPath = /tmp/evil\n");
    let hostile = raw_tree(s, &[("100644", b".git", &blob)]);
    let tree = s.git(&["rev-parse", "HEAD^{tree}"]);
    let feature = s.git(&["rev-parse", "HEAD:feature.txt"]);
    let zip = hand_package(
        &r,
        "stowaway",
        &r.tip,
        &r.prepared.base_oid,
        &[&r.tip, &tree, &feature, &hostile, &blob],
    );
    let err = refuse(&r.local, &zip, &[], "BUNDLE_VERIFY_FAILED");
    assert!(
        err.contains(&hostile),
        "the details name the object:\n{err}"
    );
}

//! Hostile return packages, one test per refusal class. Each starts from a real package (the
//! real `procoder prepare` and `./procoder-return`) and rewrites its zip, document or bundle;
//! `refuse` then checks exit 1, the `CODE: message` line, and that refs, HEAD, work tree,
//! index, every object, `.git/procoder/tmp` and the package's folder are exactly as before, for
//! apply and for `--dry-run`, and that `git fsck --strict` is clean.

use crate::apply_refusals::{all_objects, documents, rebuild, refuse, Untouched};
use crate::common::*;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DOC: &[u8] = b"procoder-return.json";
const BUNDLE: &[u8] = b"procoder-return.bundle";

/// A zip of hand-built members in the sandbox folder.
fn raw_zip(r: &Returned, name: &str, members: &[RawMember]) -> PathBuf {
    let path = r.sandbox.root.join(name);
    write_raw_zip(&path, members);
    path
}

/// The real document, and the real bundle stored under `bundle_name`.
fn with_bundle_named(r: &Returned, file: &str, bundle_name: &[u8]) -> PathBuf {
    let (doc, bundle) = documents(r);
    raw_zip(
        r,
        file,
        &[
            RawMember::stored(DOC, &doc),
            RawMember::stored(bundle_name, &bundle),
        ],
    )
}

/// The real bundle with the document edited by `edit`.
fn with_doc(r: &Returned, file: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let (mut doc, bundle) = read_return(&r.zip);
    edit(&mut doc);
    let doc = serde_json::to_vec_pretty(&doc).expect("serialise");
    rebuild(
        r,
        file,
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    )
}

/// The real document with the bundle bytes replaced by `edit(real bundle)`.
fn with_bundle(r: &Returned, file: &str, edit: impl FnOnce(Vec<u8>) -> Vec<u8>) -> PathBuf {
    let (doc, bundle) = documents(r);
    let bundle = edit(bundle);
    rebuild(
        r,
        file,
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    )
}

/// Index just past the blank line that ends a bundle header.
fn pack_start(bundle: &[u8]) -> usize {
    bundle
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a bundle header ends with a blank line")
        + 2
}

/// Nothing named like the member appeared outside the package folder.
fn assert_nothing_escaped(r: &Returned) {
    let root = &r.sandbox.root;
    for dir in [root.parent().expect("parent"), Path::new("/tmp")] {
        for name in ["procoder-return.bundle", "procoder-return.json", "evil"] {
            assert!(
                !dir.join(name).exists(),
                "{} exists after a refused apply",
                dir.join(name).display()
            );
        }
    }
}

// ---- zip slip, every form -----------------------------------------------------------------

fn zip_slip(name: &[u8]) {
    let r = Returned::new();
    let zip = with_bundle_named(&r, "slip.zip", name);
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(
        err.contains("member"),
        "the message names the member:\n{err}"
    );
    assert_nothing_escaped(&r);
}

#[test]
fn zip_slip_absolute_path() {
    zip_slip(b"/tmp/procoder-return.bundle");
}

#[test]
fn zip_slip_dot_dot_inside_a_path() {
    zip_slip(b"sub/../../procoder-return.bundle");
}

#[test]
fn zip_slip_backslash() {
    zip_slip(b"..\\procoder-return.bundle");
}

#[test]
fn zip_slip_nul_in_a_name() {
    zip_slip(b"procoder-return.bundle\0../../evil");
}

#[test]
fn zip_slip_control_character_in_a_name() {
    zip_slip(b"procoder-return.bundle\x1b[2J");
}

#[test]
fn zip_slip_directory_entry() {
    let r = Returned::new();
    let (doc, _) = documents(&r);
    let mut dir = RawMember::stored(b"procoder-return.bundle/", b"");
    dir.mode = Some(0o040755);
    let zip = raw_zip(&r, "dir.zip", &[RawMember::stored(DOC, &doc), dir]);
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

#[test]
fn zip_slip_directory_by_mode_under_a_plain_name() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut dir = RawMember::stored(BUNDLE, &bundle);
    dir.mode = Some(0o040755);
    let zip = raw_zip(&r, "dir-mode.zip", &[RawMember::stored(DOC, &doc), dir]);
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn zip_slip_symlink_entry() {
    let r = Returned::new();
    let (doc, _) = documents(&r);
    let mut link = RawMember::stored(BUNDLE, b"/etc/passwd");
    link.mode = Some(0o120777);
    let zip = raw_zip(&r, "symlink.zip", &[RawMember::stored(DOC, &doc), link]);
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("symbolic link"), "{err}");
}

#[test]
fn zip_slip_nested_document() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let zip = raw_zip(
        &r,
        "nested.zip",
        &[
            RawMember::stored(b"a/procoder-return.json", &doc),
            RawMember::stored(BUNDLE, &bundle),
        ],
    );
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

// ---- bombs ----------------------------------------------------------------------------------

/// A deflated bundle member whose real content is `content` but which declares `declared`.
fn lying_member(content: &[u8], declared: u64) -> RawMember {
    let mut m = RawMember::deflated(BUNDLE, content);
    m.size = declared;
    m
}

#[test]
fn zip_bomb_by_ratio() {
    let r = Returned::new();
    let (doc, _) = documents(&r);
    // 2 MiB of zeros deflate to about 2 KiB; declaring 1 GiB claims a ratio of 500,000:1.
    let zip = raw_zip(
        &r,
        "ratio.zip",
        &[
            RawMember::stored(DOC, &doc),
            lying_member(&vec![0u8; 2 << 20], 1 << 30),
        ],
    );
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("ratio"), "{err}");
}

#[test]
fn zip_bomb_by_lying_header() {
    // The member declares the real bundle's size, but inflates to 32 MiB more: the reader stops
    // at the declared size instead of streaming whatever the deflate stream holds.
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut content = bundle.clone();
    content.extend(std::iter::repeat_n(0u8, 32 << 20));
    let zip = raw_zip(
        &r,
        "lying.zip",
        &[
            RawMember::stored(DOC, &doc),
            lying_member(&content, bundle.len() as u64),
        ],
    );
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("larger than it declares"), "{err}");
}

#[test]
fn zip_bomb_by_lying_header_in_the_document() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut content = doc.clone();
    content.extend(std::iter::repeat_n(b' ', 8 << 20));
    let mut m = RawMember::deflated(DOC, &content);
    m.size = doc.len() as u64;
    let zip = raw_zip(
        &r,
        "lying-doc.zip",
        &[m, RawMember::stored(BUNDLE, &bundle)],
    );
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

/// Peak RSS in KiB of `procoder apply <zip>` (GNU time), and its wall time.
fn measured_apply(local: &TestRepo, zip: &Path) -> (u64, Duration, std::process::Output) {
    let report = local.dir.join("../time.txt");
    let t = Instant::now();
    let out = hermetic(
        Command::new("/usr/bin/time")
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&report)
            .arg(bin("procoder"))
            .arg("apply")
            .arg(zip)
            .current_dir(&local.dir),
    )
    .env("CI", "true")
    .output()
    .expect("/usr/bin/time runs");
    let took = t.elapsed();
    let text = std::fs::read_to_string(&report).expect("time's report");
    let kib = text
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .next_back()
        .expect("a peak RSS line");
    let _ = std::fs::remove_file(&report);
    (kib, took, out)
}

#[test]
fn zip_bomb_declaring_4_gib_is_refused_fast_in_little_memory() {
    let r = Returned::new();
    let (doc, _) = documents(&r);
    let zip = raw_zip(
        &r,
        "4gib.zip",
        &[
            RawMember::stored(DOC, &doc),
            lying_member(&vec![0u8; 1 << 20], 4 << 30),
        ],
    );
    let before = Untouched::take(&r.local, &zip);
    let t = Instant::now();
    let out = r.local.procoder(&["apply", zip.to_str().expect("utf-8")]);
    let took = t.elapsed();
    let err = assert_code(&out, "INVALID_RETURN_PACKAGE");
    assert!(took < Duration::from_secs(1), "refusing took {took:?}");
    before.assert(&r.local, "the 4 GiB bomb");
    assert!(err.contains("ratio"), "{err}");

    if Path::new("/usr/bin/time").exists() {
        // Against a refusal that reads nothing (not a zip): the bomb may cost a few MiB more.
        let junk = r.sandbox.root.join("junk.zip");
        std::fs::write(&junk, b"not a zip\n").expect("write");
        let (base_kib, _, out) = measured_apply(&r.local, &junk);
        assert_code(&out, "INVALID_RETURN_PACKAGE");
        let (bomb_kib, bomb_took, out) = measured_apply(&r.local, &zip);
        assert_code(&out, "INVALID_RETURN_PACKAGE");
        eprintln!(
            "4 GiB bomb: refused in {bomb_took:?}, peak RSS {bomb_kib} KiB (baseline refusal {base_kib} KiB)"
        );
        assert!(
            bomb_kib < base_kib + 8 * 1024,
            "the bomb cost {bomb_kib} KiB against {base_kib} KiB for a refusal that reads nothing"
        );
    }
}

// ---- zip structure ----------------------------------------------------------------------------

#[test]
fn duplicate_members() {
    // Two documents: the zip crate keeps one of them by name; `unzip` shows the other.
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let (mut other, _) = read_return(&r.zip);
    other["updates"][0]["new_oid"] = Value::from(r.prepared.base_oid.clone());
    let other = serde_json::to_vec_pretty(&other).expect("serialise");
    let zip = raw_zip(
        &r,
        "dup.zip",
        &[
            RawMember::stored(DOC, &doc),
            RawMember::stored(BUNDLE, &bundle),
            RawMember::stored(DOC, &other),
        ],
    );
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("twice"), "{err}");
}

#[test]
fn encrypted_member() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut m = RawMember::stored(BUNDLE, &bundle);
    m.flags |= 1;
    let zip = raw_zip(&r, "encrypted.zip", &[RawMember::stored(DOC, &doc), m]);
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("encrypted"), "{err}");
}

#[test]
fn unknown_compression_method() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut m = RawMember::stored(BUNDLE, &bundle);
    m.method = 77;
    let zip = raw_zip(&r, "method.zip", &[RawMember::stored(DOC, &doc), m]);
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

#[test]
fn damaged_member_crc() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut m = RawMember::stored(BUNDLE, &bundle);
    m.crc ^= 1;
    let zip = raw_zip(&r, "crc.zip", &[RawMember::stored(DOC, &doc), m]);
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

// ---- the document, field by field (representative; the unit tests cover every field) -------

fn doc_refused(edit: impl FnOnce(&mut Value, &Returned), code: &str) -> String {
    let r = Returned::new();
    let zip = with_doc(&r, "doc.zip", |v| edit(v, &r));
    refuse(&r.local, &zip, &[], code)
}

#[test]
fn document_not_json() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let zip = rebuild(
        &r,
        "notjson.zip",
        &[
            ("procoder-return.json", &doc[..doc.len() / 2]),
            ("procoder-return.bundle", &bundle),
        ],
    );
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

#[test]
fn document_bundle_file_escapes() {
    doc_refused(
        |v, _| v["bundle_file"] = Value::from("../procoder-return.bundle"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
fn document_bad_exchange_id() {
    doc_refused(
        |v, _| v["exchange_id"] = Value::from("2026-x"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
fn document_bad_created_at() {
    doc_refused(
        |v, _| v["created_at"] = Value::from("yesterday"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
fn document_created_at_not_ascii() {
    // Found by the JSON fuzzer: parse_rfc3339 sliced inside a multi-byte character and panicked.
    doc_refused(
        |v, _| v["created_at"] = Value::from("2026-11-25T01:09:51.1\u{feff}06Z"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
fn document_wrong_root_ref() {
    doc_refused(
        |v, _| v["task"]["root_ref"] = Value::from("refs/heads/main"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
fn document_base_is_not_the_recorded_base() {
    let err = doc_refused(
        |v, r| v["task"]["base_oid"] = Value::from(r.local.rev("HEAD~1")),
        "INVALID_RETURN_PACKAGE",
    );
    assert!(err.contains("base"), "{err}");
}

#[test]
fn document_without_updates() {
    doc_refused(
        |v, _| v["updates"] = Value::Array(vec![]),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
fn document_new_oid_not_an_oid() {
    doc_refused(
        |v, _| v["updates"][0]["new_oid"] = Value::from("HEAD"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
fn document_new_oid_differs_from_the_bundle() {
    doc_refused(
        |v, r| v["updates"][0]["new_oid"] = Value::from(r.local.rev("HEAD~1")),
        "BUNDLE_VERIFY_FAILED",
    );
}

// ---- hostile ref names in `updates` ------------------------------------------------------------

fn hostile_update_ref(name: impl FnOnce(&Returned) -> String) {
    let r = Returned::new();
    let name = name(&r);
    let zip = with_doc(&r, "ref.zip", |v| {
        v["updates"][0]["ref"] = Value::from(name)
    });
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

#[test]
fn update_ref_outside_the_family() {
    hostile_update_ref(|_| "refs/heads/main".into());
}

#[test]
fn update_ref_is_a_tag() {
    hostile_update_ref(|r| format!("refs/tags/procoder/{}/task", r.prepared.id));
}

#[test]
fn update_ref_with_dot_dot() {
    hostile_update_ref(|r| r.prepared.family_ref("a..b"));
}

#[test]
fn update_ref_ending_in_lock() {
    hostile_update_ref(|r| r.prepared.family_ref("task.lock"));
}

#[test]
fn update_ref_with_a_control_character() {
    hostile_update_ref(|r| r.prepared.family_ref("a\u{1}b"));
}

#[test]
fn update_ref_is_the_family_prefix_itself() {
    hostile_update_ref(|r| format!("refs/heads/procoder/{}", r.prepared.id));
}

// ---- hand-made objects: raw trees and commits, packed by git -------------------------------------

/// Runs git with `input` on stdin; returns stdout (asserting success).
fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
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
fn raw_object(s: &Sandbox, kind: &str, data: &[u8]) -> String {
    let out = git_stdin(
        &s.root,
        &["hash-object", "-w", "--literally", "-t", kind, "--stdin"],
        data,
    );
    String::from_utf8(out).expect("hex").trim().to_owned()
}

fn oid_bytes(hex: &str) -> Vec<u8> {
    (0..20)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// A tree object from (mode, name, oid) entries, written exactly in the order given.
fn raw_tree(s: &Sandbox, entries: &[(&str, &[u8], &str)]) -> String {
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
fn raw_commit(s: &Sandbox, tree: &str, parent: &str, idents: &str, message: &str) -> String {
    let text = format!("tree {tree}\nparent {parent}\n{idents}\n{message}\n");
    raw_object(s, "commit", text.as_bytes())
}

const IDENTS: &str = "author Test Author <author@example.com> 1767225600 +0000\n\
committer Test Committer <committer@example.com> 1767225600 +0000\n";

/// A package whose only update creates family ref `name` at `tip`: the bundle is a v2 header
/// (prerequisite `prereq`) and a pack of exactly `objects`, made by `git pack-objects`, which
/// does not parse what it packs.
fn hand_package(r: &Returned, name: &str, tip: &str, prereq: &str, objects: &[&str]) -> PathBuf {
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
fn hostile_entry(mode: &str, name: &[u8], blob_content: &[u8]) -> (Returned, PathBuf, String) {
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

fn unsafe_entry(mode: &str, name: &[u8]) -> String {
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
fn tree_name_dot_git_with_trailing_dot() {
    unsafe_entry("100644", b".git.");
}

#[test]
fn tree_name_dot_git_with_trailing_space() {
    unsafe_entry("100644", b".git ");
}

#[test]
fn tree_name_dot_git_with_an_ntfs_stream() {
    unsafe_entry("40000", b".git::$INDEX_ALLOCATION");
}

#[test]
fn tree_name_dot_git_with_an_hfs_ignorable() {
    unsafe_entry("100644", ".g\u{200c}it".as_bytes());
}

#[test]
fn tree_name_dot_git_followed_by_malformed_utf8() {
    // Found by the pack fuzzer with git fsck as the oracle: git reads malformed UTF-8 as the end
    // of an HFS+ name, so `.git\xbcodules` is `.git` to it.
    unsafe_entry("100644", b".git\xbcodules");
}

#[test]
fn tree_name_dot_dot() {
    unsafe_entry("100644", b"..");
}

#[test]
fn tree_name_dot() {
    unsafe_entry("100644", b".");
}

#[test]
fn tree_name_empty() {
    unsafe_entry("100644", b"");
}

#[test]
fn tree_name_with_a_slash() {
    unsafe_entry("100644", b"a/b");
}

#[test]
fn tree_mode_group_writable() {
    let err = unsafe_entry("100664", b"file.txt");
    assert!(err.contains("mode"), "{err}");
}

#[test]
fn tree_mode_zero_padded() {
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
fn tree_name_dot_git_in_a_subtree() {
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
fn tree_duplicate_names_not_adjacent() {
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

fn hostile_gitmodules(content: &str) -> String {
    let (r, zip, _) = hostile_entry("100644", b".gitmodules", content.as_bytes());
    refuse(&r.local, &zip, &[], "UNSAFE_OBJECT")
}

#[test]
fn gitmodules_url_is_an_option() {
    hostile_gitmodules("[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n");
}

#[test]
fn gitmodules_url_is_an_option_after_empty_quotes() {
    // git's config parser reads `"" --upload-pack=…` as `--upload-pack=…`.
    hostile_gitmodules(
        "[submodule \"x\"]\n\tpath = x\n\turl = \"\" --upload-pack=touch /tmp/pwned\n",
    );
}

#[test]
fn gitmodules_path_is_an_option() {
    hostile_gitmodules("[submodule \"x\"]\n\tpath = -x\n\turl = https://example.com/x.git\n");
}

#[test]
fn gitmodules_name_escapes() {
    hostile_gitmodules(
        "[submodule \"../../hooks\"]\n\tpath = x\n\turl = https://example.com/x.git\n",
    );
}

#[test]
fn gitmodules_update_runs_a_command() {
    hostile_gitmodules(
        "[submodule \"x\"]\n\tpath = x\n\turl = ../x.git\n\tupdate = !touch /tmp/pwned\n",
    );
}

#[test]
fn gitmodules_is_a_gitlink_under_an_ntfs_name() {
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
fn gitmodules_is_a_symlink() {
    let (r, zip, _) = hostile_entry("120000", b".gitmodules", b"../../outside/.gitmodules");
    let err = refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
    assert!(err.contains("symbolic link"), "{err}");
}

// ---- malformed commits ----------------------------------------------------------------------

/// A malformed commit on the base with a well-formed tip on top of it.
fn malformed_below_a_good_tip(idents: &str) -> String {
    malformed_below_a_good_tip_refused(idents, &["UNSAFE_OBJECT"])
}

/// Checks that apply's first line shows one of `codes`, then `refuse`s with that code.
fn refuse_with_one_of(local: &TestRepo, zip: &Path, codes: &[&str]) -> String {
    let out = local.procoder(&["apply", zip.to_str().expect("utf-8")]);
    let err = stderr(&out);
    let code = codes
        .iter()
        .find(|c| err.starts_with(&format!("{c}: ")))
        .unwrap_or_else(|| panic!("expected one of {codes:?}, got:\n{err}"));
    eprintln!("refused with {}", err.lines().next().unwrap_or_default());
    refuse(local, zip, &[], code)
}

fn malformed_below_a_good_tip_refused(idents: &str, codes: &[&str]) -> String {
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
fn commit_without_author() {
    let err = malformed_below_a_good_tip(
        "committer Test Committer <committer@example.com> 1767225600 +0000\n",
    );
    assert!(err.contains("author"), "{err}");
}

#[test]
fn commit_with_a_bad_date() {
    let err = malformed_below_a_good_tip(
        "author Test Author <author@example.com> 01767225600 +0000\n\
         committer Test Committer <committer@example.com> 1767225600 +0000\n",
    );
    assert!(err.contains("date"), "{err}");
}

#[test]
fn commit_with_an_unparseable_date() {
    // libgit2 cannot parse this date, so apply's ancestry check (which runs before the
    // fsck-level checks) sees no path to the base: refused as NOT_DESCENDANT (see the report:
    // UNSAFE_OBJECT would be clearer).
    malformed_below_a_good_tip_refused(
        "author Test Author <author@example.com> yesterday +0000\n\
         committer Test Committer <committer@example.com> 1767225600 +0000\n",
        &["UNSAFE_OBJECT", "NOT_DESCENDANT"],
    );
}

#[test]
fn commit_with_a_bad_date_at_the_tip() {
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
fn commit_without_author_at_the_tip() {
    // libgit2 cannot parse this commit, so apply's tip check refuses it before the fsck-level
    // checks run: a coded refusal either way (see the report: UNSAFE_OBJECT would be clearer).
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
    refuse_with_one_of(&r.local, &zip, &["UNSAFE_OBJECT", "BUNDLE_VERIFY_FAILED"]);
}

// ---- NOT_DESCENDANT ------------------------------------------------------------------------------

#[test]
fn not_descendant_sibling_of_the_base() {
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
fn not_descendant_rewind_of_the_task_branch() {
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
fn unreachable_hostile_tree_riding_along() {
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

// ---- damaged and foreign bundles ----------------------------------------------------------------

#[test]
fn bundle_bit_flipped() {
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
fn bundle_header_only() {
    let r = Returned::new();
    let zip = with_bundle(&r, "header-only.zip", |b| b[..pack_start(&b)].to_vec());
    refuse(&r.local, &zip, &[], "BUNDLE_VERIFY_FAILED");
}

#[test]
fn bundle_advertises_a_ref_not_in_the_document() {
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
fn bundle_v3_sha256() {
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
fn bundle_written_by_git_bundle_create_is_accepted() {
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
fn dry_run_of_a_valid_package_adds_no_object() {
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
fn return_with_a_new_gitlink_is_accepted() {
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
fn tree_entry_names_an_existing_blob_as_a_subtree() {
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
fn tree_entry_names_an_existing_tree_as_a_file() {
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
fn commit_with_a_nul_in_its_message() {
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
fn gitattributes_with_a_line_git_would_not_read() {
    let line = format!("{} filter=evil\n", "x".repeat(4096));
    let (r, zip, _) = hostile_entry("100644", b".gitattributes", line.as_bytes());
    refuse(&r.local, &zip, &[], "UNSAFE_OBJECT");
}

//! Zip slip in every form, bombs, and malformed zip structure.

use super::*;

// ---- zip slip, every form -----------------------------------------------------------------

pub(super) fn zip_slip(name: &[u8]) {
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
pub(super) fn zip_slip_absolute_path() {
    zip_slip(b"/tmp/procoder-return.bundle");
}

#[test]
pub(super) fn zip_slip_dot_dot_inside_a_path() {
    zip_slip(b"sub/../../procoder-return.bundle");
}

#[test]
pub(super) fn zip_slip_backslash() {
    zip_slip(b"..\\procoder-return.bundle");
}

#[test]
pub(super) fn zip_slip_nul_in_a_name() {
    zip_slip(b"procoder-return.bundle\0../../evil");
}

#[test]
pub(super) fn zip_slip_control_character_in_a_name() {
    zip_slip(b"procoder-return.bundle\x1b[2J");
}

#[test]
pub(super) fn zip_slip_directory_entry() {
    let r = Returned::new();
    let (doc, _) = documents(&r);
    let mut dir = RawMember::stored(b"procoder-return.bundle/", b"");
    dir.mode = Some(0o040755);
    let zip = raw_zip(&r, "dir.zip", &[RawMember::stored(DOC, &doc), dir]);
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

#[test]
pub(super) fn zip_slip_directory_by_mode_under_a_plain_name() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut dir = RawMember::stored(BUNDLE, &bundle);
    dir.mode = Some(0o040755);
    let zip = raw_zip(&r, "dir-mode.zip", &[RawMember::stored(DOC, &doc), dir]);
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
pub(super) fn zip_slip_symlink_entry() {
    let r = Returned::new();
    let (doc, _) = documents(&r);
    let mut link = RawMember::stored(BUNDLE, b"/etc/passwd");
    link.mode = Some(0o120777);
    let zip = raw_zip(&r, "symlink.zip", &[RawMember::stored(DOC, &doc), link]);
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("symbolic link"), "{err}");
}

#[test]
pub(super) fn zip_slip_nested_document() {
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
pub(super) fn lying_member(content: &[u8], declared: u64) -> RawMember {
    let mut m = RawMember::deflated(BUNDLE, content);
    m.size = declared;
    m
}

#[test]
pub(super) fn zip_bomb_by_ratio() {
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
pub(super) fn zip_bomb_by_lying_header() {
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
pub(super) fn zip_bomb_by_lying_header_in_the_document() {
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
pub(super) fn measured_apply(
    local: &TestRepo,
    zip: &Path,
) -> (u64, Duration, std::process::Output) {
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
pub(super) fn zip_bomb_declaring_4_gib_is_refused_fast_in_little_memory() {
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
pub(super) fn duplicate_members() {
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
pub(super) fn encrypted_member() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut m = RawMember::stored(BUNDLE, &bundle);
    m.flags |= 1;
    let zip = raw_zip(&r, "encrypted.zip", &[RawMember::stored(DOC, &doc), m]);
    let err = refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
    assert!(err.contains("encrypted"), "{err}");
}

#[test]
pub(super) fn unknown_compression_method() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut m = RawMember::stored(BUNDLE, &bundle);
    m.method = 77;
    let zip = raw_zip(&r, "method.zip", &[RawMember::stored(DOC, &doc), m]);
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

#[test]
pub(super) fn damaged_member_crc() {
    let r = Returned::new();
    let (doc, bundle) = documents(&r);
    let mut m = RawMember::stored(BUNDLE, &bundle);
    m.crc ^= 1;
    let zip = raw_zip(&r, "crc.zip", &[RawMember::stored(DOC, &doc), m]);
    refuse(&r.local, &zip, &[], "INVALID_RETURN_PACKAGE");
}

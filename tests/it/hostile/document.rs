//! The return document, field by field, and hostile ref names in its updates.

use super::*;

// ---- the document, field by field (representative; the unit tests cover every field) -------

pub(super) fn doc_refused(edit: impl FnOnce(&mut Value, &Returned), code: &str) -> String {
    let r = Returned::new();
    let zip = with_doc(&r, "doc.zip", |v| edit(v, &r));
    refuse(&r.local, &zip, &[], code)
}

#[test]
pub(super) fn document_not_json() {
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
pub(super) fn document_bundle_file_escapes() {
    doc_refused(
        |v, _| v["bundle_file"] = Value::from("../procoder-return.bundle"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn document_bad_exchange_id() {
    doc_refused(
        |v, _| v["exchange_id"] = Value::from("2026-x"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn document_bad_created_at() {
    doc_refused(
        |v, _| v["created_at"] = Value::from("yesterday"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn document_created_at_not_ascii() {
    // Found by the JSON fuzzer: parse_rfc3339 sliced inside a multi-byte character and panicked.
    doc_refused(
        |v, _| v["created_at"] = Value::from("2026-11-25T01:09:51.1\u{feff}06Z"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn document_wrong_root_ref() {
    doc_refused(
        |v, _| v["task"]["root_ref"] = Value::from("refs/heads/main"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn document_base_is_not_the_recorded_base() {
    let err = doc_refused(
        |v, r| v["task"]["base_oid"] = Value::from(r.local.rev("HEAD~1")),
        "INVALID_RETURN_PACKAGE",
    );
    assert!(err.contains("base"), "{err}");
}

#[test]
pub(super) fn document_without_updates() {
    doc_refused(
        |v, _| v["updates"] = Value::Array(vec![]),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn document_new_oid_not_an_oid() {
    doc_refused(
        |v, _| v["updates"][0]["new_oid"] = Value::from("HEAD"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn document_new_oid_differs_from_the_bundle() {
    doc_refused(
        |v, r| v["updates"][0]["new_oid"] = Value::from(r.local.rev("HEAD~1")),
        "BUNDLE_VERIFY_FAILED",
    );
}

// ---- hostile ref names in `updates` ------------------------------------------------------------

pub(super) fn hostile_update_ref(name: impl FnOnce(&Returned) -> String, code: &str) {
    let r = Returned::new();
    let name = name(&r);
    let zip = with_doc(&r, "ref.zip", |v| {
        v["updates"][0]["ref"] = Value::from(name)
    });
    refuse(&r.local, &zip, &[], code);
}

#[test]
pub(super) fn update_ref_outside_the_family() {
    hostile_update_ref(|_| "refs/heads/main".into(), "REF_OUT_OF_SCOPE");
}

#[test]
pub(super) fn update_ref_is_a_tag() {
    hostile_update_ref(
        |r| format!("refs/tags/procoder/{}/task", r.prepared.id),
        "REF_OUT_OF_SCOPE",
    );
}

#[test]
pub(super) fn update_ref_with_dot_dot() {
    hostile_update_ref(|r| r.prepared.family_ref("a..b"), "INVALID_RETURN_PACKAGE");
}

#[test]
pub(super) fn update_ref_ending_in_lock() {
    hostile_update_ref(
        |r| r.prepared.family_ref("task.lock"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn update_ref_with_a_control_character() {
    hostile_update_ref(
        |r| r.prepared.family_ref("a\u{1}b"),
        "INVALID_RETURN_PACKAGE",
    );
}

#[test]
pub(super) fn update_ref_is_the_family_prefix_itself() {
    hostile_update_ref(
        |r| format!("refs/heads/procoder/{}", r.prepared.id),
        "REF_OUT_OF_SCOPE",
    );
}

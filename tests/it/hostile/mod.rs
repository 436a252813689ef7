//! Hostile return packages, one test per refusal class. Each starts from a real package (the
//! real `procoder prepare` and `./procoder-return`) and rewrites its zip, document or bundle;
//! `refuse` then checks exit 1, the `CODE: message` line, and that refs, HEAD, work tree,
//! index, every object, `.git/procoder/tmp` and the package's folder are exactly as before, for
//! apply and for `--dry-run`, and that `git fsck --strict` is clean.

mod agreement;
mod bombs;
mod bundles;
mod document;
mod objects;
mod zip;

pub(super) use crate::apply_refusals::{all_objects, documents, rebuild, refuse, Untouched};
pub(super) use crate::common::*;
pub(super) use serde_json::Value;
pub(super) use std::io::Write;
pub(super) use std::path::{Path, PathBuf};
pub(super) use std::process::{Command, Stdio};
pub(super) use std::time::{Duration, Instant};

pub(super) const DOC: &[u8] = b"procoder-return.json";
pub(super) const BUNDLE: &[u8] = b"procoder-return.bundle";

/// A zip of hand-built members in the sandbox folder.
pub(super) fn raw_zip(r: &Returned, name: &str, members: &[RawMember]) -> PathBuf {
    let path = r.sandbox.root.join(name);
    write_raw_zip(&path, members);
    path
}

/// The real document, and the real bundle stored under `bundle_name`.
pub(super) fn with_bundle_named(r: &Returned, file: &str, bundle_name: &[u8]) -> PathBuf {
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
pub(super) fn with_doc(r: &Returned, file: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
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
pub(super) fn with_bundle(
    r: &Returned,
    file: &str,
    edit: impl FnOnce(Vec<u8>) -> Vec<u8>,
) -> PathBuf {
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
pub(super) fn pack_start(bundle: &[u8]) -> usize {
    bundle
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a bundle header ends with a blank line")
        + 2
}

/// Nothing named like the member appeared outside the package folder.
pub(super) fn assert_nothing_escaped(r: &Returned) {
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

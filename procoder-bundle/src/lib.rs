//! git bundles and packs on libgit2, and both packages' zip layouts.
//!
//! libgit2 has no bundle support (libgit2 #1718), so this crate owns the format: the header
//! (`header`), writing a bundle from a ref range (`write`), and reading one into a quarantine
//! object directory whose objects join the repository only after every check passed
//! (`quarantine`). It also writes the task package (`export`: the export pack, the `.git`
//! skeleton and index, the work tree) and reads and writes the return package (`package`).
//! It is the only crate that knows the bundle, pack and zip layouts; it never prints and never
//! shells out to git.
#![warn(missing_docs)]

pub mod base_trees;
pub mod checkout;
mod delta;
mod enumerate;
pub mod export;
mod fsck;
mod header;
pub mod host;
mod inflate_bound;
pub mod layout;
mod lex;
pub mod package;
mod packcopy;
mod progress;
mod quarantine;
mod write;

pub use base_trees::BaseTrees;
pub use enumerate::{reachable, Reachable};
pub use fsck::{check_new_objects, check_sandbox_commits, Fault};
pub use header::{BundleHeader, BundleVersion, Prerequisite};
pub use packcopy::{
    estimate_export_pack, pack_in_progress, write_export_pack, ExportPack, PackEstimate,
};
pub use progress::{Phase, Progress, Silent, WithTotal};
pub use quarantine::{read_bundle, Quarantine};
pub use write::{write_bundle, BundleStats};

use procoder_manifest::{ErrorCode, Failure, ObjectId};

/// Converts between the documents' ids and libgit2's.
pub fn to_git(oid: ObjectId) -> git2::Oid {
    git2::Oid::from_bytes(oid.as_bytes()).expect("20 bytes is always a valid sha1 oid")
}

/// Converts a libgit2 id into the documents' id (sha1 repositories only).
pub fn from_git(oid: git2::Oid) -> ObjectId {
    let mut bytes = [0u8; 20];
    bytes.copy_from_slice(&oid.as_bytes()[..20]);
    ObjectId::from_bytes(bytes)
}

/// The object database of `repo` (or of a quarantine's view of it).
pub(crate) fn odb(repo: &git2::Repository) -> procoder_manifest::Result<git2::Odb<'_>> {
    repo.odb()
        .map_err(git_err("cannot open the object database"))
}

/// Wraps an unexpected libgit2 error as `INTERNAL` with what was being done.
pub(crate) fn git_err(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Failure {
    let context = context.into();
    move |e| Failure::internal(context, e)
}

/// Wraps an I/O error as `INTERNAL` with what was being done.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Failure {
    let context = context.into();
    move |e| Failure::internal(context, e)
}

/// `BUNDLE_VERIFY_FAILED` with a message.
pub(crate) fn verify_failed(message: impl Into<String>) -> Failure {
    Failure::new(ErrorCode::BundleVerifyFailed, message)
}

/// `BUNDLE_VERIFY_FAILED` for an object the bundle should have brought, with libgit2's word
/// in the details. The message is made only on failure: the walks read every new object.
pub(crate) fn missing(message: impl FnOnce() -> String) -> impl FnOnce(git2::Error) -> Failure {
    move |e| verify_failed(message()).detail(e.message().to_owned())
}

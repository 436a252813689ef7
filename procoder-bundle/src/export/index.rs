//! The exported `.git/index` (version 2), written from what the work tree walk knows: every
//! entry carries its file's size and the zip's time, so that with `core.checkStat=minimal`
//! (which compares only those two, plus the mode) the sandbox's `git status` trusts the
//! extracted files as it trusts a fresh checkout, instead of hashing every one of them.
//! Trusting matters beyond speed: a blob committed with CRLF under an explicit `text`
//! attribute reads as modified once re-hashed, in a fresh clone as much as here.

use sha1::{Digest, Sha1};

/// One index entry.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// Path from the work tree root, as stored in the tree.
    pub(super) path: Vec<u8>,
    /// 0o100644, 0o100755, 0o120000 or 0o160000.
    pub(super) mode: u32,
    pub(super) oid: git2::Oid,
    /// Bytes the work tree file will hold (0 for a gitlink).
    pub(super) size: u64,
    /// Whether the work tree file holds this entry's blob, so its size and time may be
    /// recorded. An archive's uncommitted change gets neither: git then reads the file
    /// rather than trusting it, and reports the change.
    pub(super) trusted: bool,
}

/// The index file's bytes for `entries`, each stamped with `mtime`.
pub(super) fn encode(mut entries: Vec<Entry>, mtime: u32) -> Vec<u8> {
    // git orders entries by the bytes of their full path (then stage, always 0 here).
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = Vec::with_capacity(12 + entries.len() * 96);
    out.extend_from_slice(b"DIRC");
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for e in &entries {
        let start = out.len();
        let stat = |t: u32| [t, 0];
        let gitlink = e.mode == 0o160000;
        let time = if gitlink || !e.trusted { 0 } else { mtime };
        let size = if e.trusted { e.size as u32 } else { 0 };
        for field in stat(time).into_iter().chain(stat(time)) {
            out.extend_from_slice(&field.to_be_bytes()); // ctime, then mtime: seconds, nanoseconds
        }
        // dev, ino, mode, uid, gid, size (git keeps the size modulo 2^32).
        for field in [0, 0, e.mode, 0, 0, size] {
            out.extend_from_slice(&field.to_be_bytes());
        }
        out.extend_from_slice(e.oid.as_bytes());
        let name_len = e.path.len().min(0xfff) as u16;
        out.extend_from_slice(&name_len.to_be_bytes());
        out.extend_from_slice(&e.path);
        // NUL-terminated and padded to a multiple of 8 bytes.
        let len = out.len() - start;
        let padded = (len + 8) & !7;
        out.resize(start + padded, 0);
    }
    let digest = Sha1::digest(&out);
    out.extend_from_slice(&digest);
    out
}

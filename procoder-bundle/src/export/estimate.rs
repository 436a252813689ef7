//! The task package's size before it is written, so prepare can refuse one that will not fit
//! the sandbox's upload limit without spending the time to build it. The pack is counted from
//! the source packs' entries ([`estimate_export_pack`]); each work tree file from what its
//! blob deflates to there (a zip entry and a whole pack entry are the same deflate at the
//! same level, less zlib's six bytes); the helper as deflated once for both; the zip's own headers
//! from the names.

use crate::{estimate_export_pack, Reachable};
use procoder_manifest::Result;
use std::collections::{BTreeSet, HashSet};

/// What the estimate says the package will take, and where the bytes go.
#[derive(Debug, Clone, Default)]
pub struct SizeEstimate {
    /// The whole zip.
    pub bytes: u64,
    /// Of that, the pack and its index.
    pub pack: u64,
    /// The work tree files (deflated), their folders and the index.
    pub worktree: u64,
    /// The helper's two copies.
    pub helper: u64,
    /// The largest objects of the export pack (any type), by their bytes in the pack.
    pub largest: Vec<(git2::Oid, u64)>,
    /// HEAD's largest files: path, bytes in the package (work tree copy and pack entry).
    pub largest_at_head: Vec<(String, u64)>,
}

/// Local header (30) and central directory record (46) of one zip entry, each with the name
/// and a 9-byte extended timestamp.
fn entry_overhead(name_len: usize) -> u64 {
    (30 + 46 + 2 * name_len + 2 * 9) as u64
}

/// The package of `found` (the export's objects, reachable from `refs`) with the work tree of
/// `head` (HEAD's tree as an index) under `top/`, and `helper` twice.
pub fn estimate(
    repo: &git2::Repository,
    found: &Reachable,
    head: &git2::Index,
    refs: &[(String, git2::Oid)],
    top: &str,
    helper: &super::DeflatedHelper,
) -> Result<SizeEstimate> {
    let watch: HashSet<git2::Oid> = head
        .iter()
        .filter(|e| e.mode != 0o160000)
        .map(|e| e.id)
        .collect();
    let pack = estimate_export_pack(repo, &found.objects, &watch)?;
    let mut est = SizeEstimate {
        pack: pack.pack_zipped + pack.idx_zipped,
        largest: pack.largest.clone(),
        ..SizeEstimate::default()
    };
    let in_pack: std::collections::HashMap<git2::Oid, u64> = pack.largest.iter().copied().collect();
    let prefix = top.len() + 1;
    let mut dirs: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut index_bytes = 12u64 + 20;
    let mut at_head: Vec<(String, u64)> = Vec::new();
    for e in head.iter() {
        let path = &e.path;
        let mut at = 0;
        while let Some(i) = path[at..].iter().position(|&b| b == b'/') {
            dirs.insert(path[..at + i].to_vec());
            at += i + 1;
        }
        // Entry header (62 bytes) and name, padded to 8 bytes.
        index_bytes += (62 + path.len() as u64 + 8) & !7;
        let data = match e.mode {
            0o160000 => 0,
            0o120000 => pack.watched.get(&e.id).map_or(0, |&(_, inflated)| inflated),
            _ => pack.watched.get(&e.id).map_or(0, |&(deflated, _)| deflated),
        };
        est.worktree +=
            entry_overhead(prefix + path.len() + usize::from(e.mode == 0o160000)) + data;
        if e.mode != 0o160000 {
            let bytes = data + in_pack.get(&e.id).copied().unwrap_or(0);
            at_head.push((String::from_utf8_lossy(path).into_owned(), bytes));
        }
    }
    est.worktree += dirs
        .iter()
        .map(|d| entry_overhead(prefix + d.len() + 1))
        .sum::<u64>();
    // The index deflates well but for its object ids: count those whole, the rest at a quarter.
    let ids = head.len() as u64 * 20;
    est.worktree += ids + index_bytes.saturating_sub(ids) / 4;
    at_head.sort_unstable_by_key(|a| std::cmp::Reverse(a.1));
    at_head.truncate(10);
    est.largest_at_head = at_head;

    let helper_deflated = helper.compressed_size();
    let helper_name = top.len() + 1 + crate::layout::HELPER.len();
    let copy_name = top.len() + 6 + crate::layout::HELPER_COPY.len();
    est.helper = 2 * helper_deflated + entry_overhead(helper_name) + entry_overhead(copy_name);
    // The `.git` skeleton, the record and the zip's end record: a few KB; `packed-refs`, a
    // line a ref (and its peeled line), its hex deflating to about half.
    let packed_refs: u64 = refs.iter().map(|(name, _)| 42 + name.len() as u64).sum();
    let skeleton = 16 * entry_overhead(prefix + 40) + 4096 + packed_refs / 2;
    est.bytes = est.pack + est.worktree + est.helper + skeleton;
    Ok(est)
}

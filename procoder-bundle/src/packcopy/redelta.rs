//! An object whose delta base is not exported (a base reachable only from a ref prepare does
//! not export, or cut off by `--depth`) need not be written whole: its chain, followed back
//! through the source pack, often reaches an entry that is exported, and a delta against
//! that one is encoded afresh (`delta::encode`, git's diff-delta). The writer and the
//! estimate walk the same chains with this same code, so they make the same plan.

use super::idx::PackIndex;
use super::{read_entry_header, Base};
use std::collections::HashMap;
use std::io::{BufReader, Seek, SeekFrom};

/// Hops followed back from the missing base: the chain's deltas are summed for the estimate,
/// and a far ancestor rarely gives a small delta.
pub const MAX_HOPS: usize = 32;
/// Objects larger than this are written whole: encoding reads the object and its new base.
pub const MAX_SIZE: u64 = 8 << 20;

/// The nearest written entry, and the compressed bytes of the chain's deltas up to it.
type Found = Option<(usize, u64)>;

/// Offset delta chains of one source pack, read by headers only.
pub struct Chains<'a> {
    file: std::fs::File,
    index: &'a PackIndex,
    /// Entries not exported, each with what the walk from it found. Entries before the
    /// writer's position are settled, so what was found stays true.
    memo: HashMap<usize, Found>,
}

impl<'a> Chains<'a> {
    pub fn new(pack: &std::path::Path, index: &'a PackIndex) -> std::io::Result<Self> {
        Ok(Self {
            file: std::fs::File::open(pack)?,
            index,
            memo: HashMap::new(),
        })
    }

    /// From entry `at`, a delta base that is not written, back along its chain to the
    /// nearest entry `written` holds, within [`MAX_HOPS`]; with the bytes the deltas from
    /// `at` to it take in the source pack (`at`'s included, the found entry's not).
    pub fn nearest(
        &mut self,
        at: usize,
        written: &dyn Fn(usize) -> bool,
    ) -> std::io::Result<Found> {
        let mut path: Vec<(usize, u64)> = Vec::new();
        let mut k = at;
        let end: Found = loop {
            if written(k) {
                break Some((k, 0));
            }
            if let Some(&found) = self.memo.get(&k) {
                break found;
            }
            if path.len() >= MAX_HOPS {
                break None;
            }
            let entry = self.index.by_offset[k];
            self.file.seek(SeekFrom::Start(entry.offset))?;
            let mut r = BufReader::with_capacity(64, &mut self.file);
            let header = read_entry_header(&mut r, self.index, entry.offset)?;
            let next = self
                .index
                .by_offset
                .get(k + 1)
                .map_or(self.index.data_end, |e| e.offset);
            path.push((k, next.saturating_sub(entry.offset + header.len)));
            match header.base {
                Some(Base::Offset(base)) => k = base,
                // A whole entry that is not written, or a ref delta: nothing to reach.
                _ => break None,
            }
        };
        let mut found = end;
        for &(k, bytes) in path.iter().rev() {
            found = found.map(|(anc, sum)| (anc, sum + bytes));
            self.memo.insert(k, found);
        }
        Ok(found)
    }
}

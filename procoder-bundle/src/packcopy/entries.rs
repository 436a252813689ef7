//! One source pack's entries read in offset order, skipping those the export does not take:
//! the writer copies from them and the size estimate reads only their headers, so both walk
//! them the same way.

use super::idx::PackIndex;
use super::{read_entry_header, EntryHeader};
use crate::io_err;
use procoder_manifest::{Failure, Result};
use std::io::{BufReader, Read};
use std::path::Path;

/// A pack opened for a forward walk; reads through it (an entry's data) keep its position.
pub(super) struct Entries<'a> {
    reader: BufReader<std::fs::File>,
    pos: u64,
    index: &'a PackIndex,
    path: &'a Path,
}

/// One entry's header, the reader standing at its data.
pub(super) struct At {
    pub(super) header: EntryHeader,
    /// The bytes of its (compressed) data, up to the next entry or the trailer.
    pub(super) data: u64,
}

impl<'a> Entries<'a> {
    /// `capacity`: the read buffer (large to copy, small to read headers far apart).
    pub(super) fn open(path: &'a Path, index: &'a PackIndex, capacity: usize) -> Result<Self> {
        let file =
            std::fs::File::open(path).map_err(io_err(format!("cannot open {}", path.display())))?;
        Ok(Self {
            reader: BufReader::with_capacity(capacity, file),
            pos: 0,
            index,
            path,
        })
    }

    /// The header of entry `k` (in offset order, after any entry read before).
    pub(super) fn header(&mut self, k: usize) -> Result<At> {
        let entry = self.index.by_offset[k];
        let end = self
            .index
            .by_offset
            .get(k + 1)
            .map_or(self.index.data_end, |e| e.offset);
        self.reader
            .seek_relative(entry.offset as i64 - self.pos as i64)
            .map_err(io_err("cannot seek in a pack"))?;
        self.pos = entry.offset;
        let header = read_entry_header(self, self.index, entry.offset).map_err(self.read_err())?;
        let data = end.checked_sub(self.pos).ok_or_else(|| {
            Failure::internal(
                "a pack index disagrees with its pack",
                std::io::Error::other("bad offsets"),
            )
        })?;
        Ok(At { header, data })
    }

    /// `cannot read <pack>`.
    pub(super) fn read_err(&self) -> impl FnOnce(std::io::Error) -> Failure {
        io_err(format!("cannot read {}", self.path.display()))
    }
}

impl Read for Entries<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

//! Writing a pack and its v2 index. Every byte passes through one SHA-1 (the pack trailer)
//! and a per-entry CRC32 (for the index); objects themselves are never re-hashed.

use sha1::{Digest, Sha1};
use std::io::{self, Write};

/// (oid, CRC32 of the entry bytes, offset): what an index needs of each entry.
pub type Entry = ([u8; 20], u32, u64);

/// Object type numbers of the pack format.
pub const OBJ_OFS_DELTA: u8 = 6;
pub const OBJ_REF_DELTA: u8 = 7;

/// A pack being written.
pub struct PackWriter<W: Write> {
    out: W,
    sha: Sha1,
    crc: crc32fast::Hasher,
    offset: u64,
    /// (oid, crc, offset) of every entry written.
    pub entries: Vec<Entry>,
}

impl<W: Write> PackWriter<W> {
    pub fn new(out: W, count: u32) -> io::Result<Self> {
        let mut w = Self {
            out,
            sha: Sha1::new(),
            crc: crc32fast::Hasher::new(),
            offset: 0,
            entries: Vec::new(),
        };
        let mut header = Vec::with_capacity(12);
        header.extend_from_slice(b"PACK");
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&count.to_be_bytes());
        w.raw(&header)?;
        Ok(w)
    }

    fn raw(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)?;
        self.sha.update(buf);
        self.crc.update(buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// Starts an entry at the current offset.
    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn begin(&mut self) -> u64 {
        self.crc = crc32fast::Hasher::new();
        self.offset
    }

    /// Writes the type-and-size header, and for an offset delta the distance to its base.
    pub fn header(&mut self, kind: u8, size: u64, ofs_distance: Option<u64>) -> io::Result<()> {
        let mut buf = Vec::with_capacity(32);
        let mut size_left = size >> 4;
        let mut c = (kind << 4) | (size & 0x0f) as u8;
        while size_left != 0 {
            buf.push(c | 0x80);
            c = (size_left & 0x7f) as u8;
            size_left >>= 7;
        }
        buf.push(c);
        if let Some(mut ofs) = ofs_distance {
            let mut tmp = [0u8; 10];
            let mut pos = tmp.len() - 1;
            tmp[pos] = (ofs & 0x7f) as u8;
            ofs >>= 7;
            while ofs != 0 {
                ofs -= 1;
                pos -= 1;
                tmp[pos] = 0x80 | (ofs & 0x7f) as u8;
                ofs >>= 7;
            }
            buf.extend_from_slice(&tmp[pos..]);
        }
        self.raw(&buf)
    }

    /// The header of a delta against the object `base` (anywhere: in this pack or, in a thin
    /// pack, at the receiver).
    pub fn ref_delta_header(&mut self, delta_size: u64, base: &[u8; 20]) -> io::Result<()> {
        self.header(OBJ_REF_DELTA, delta_size, None)?;
        self.raw(base)
    }

    /// Entry payload bytes (already compressed).
    pub fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.raw(buf)
    }

    /// Ends the entry that began at `start`.
    pub fn end(&mut self, oid: [u8; 20], start: u64) {
        let crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        self.entries.push((oid, crc, start));
    }

    /// Writes the trailer; returns the pack checksum and the entries.
    pub fn finish(mut self) -> io::Result<([u8; 20], Vec<Entry>, W)> {
        let sum: [u8; 20] = self.sha.finalize_reset().into();
        self.out.write_all(&sum)?;
        self.out.flush()?;
        Ok((sum, self.entries, self.out))
    }
}

impl<W: Write> PackWriter<std::io::BufWriter<W>> {
    /// Bytes written through the buffer to the file so far.
    pub fn on_disk(&self) -> u64 {
        self.offset - self.out.buffer().len() as u64
    }
}

/// Writes a version 2 `.idx` for `entries` of the pack with checksum `pack_sum`.
pub fn write_idx(
    out: &mut impl Write,
    mut entries: Vec<Entry>,
    pack_sum: &[u8; 20],
) -> io::Result<()> {
    entries.sort_unstable_by_key(|e| e.0);
    let mut buf = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    buf.extend_from_slice(&[0xff, b't', b'O', b'c', 0, 0, 0, 2]);
    let mut fanout = [0u32; 256];
    for (oid, _, _) in &entries {
        fanout[oid[0] as usize] += 1;
    }
    let mut total = 0u32;
    for count in fanout {
        total += count;
        buf.extend_from_slice(&total.to_be_bytes());
    }
    for (oid, _, _) in &entries {
        buf.extend_from_slice(oid);
    }
    for (_, crc, _) in &entries {
        buf.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for (_, _, offset) in &entries {
        if *offset < 0x8000_0000 {
            buf.extend_from_slice(&(*offset as u32).to_be_bytes());
        } else {
            buf.extend_from_slice(&(0x8000_0000 | large.len() as u32).to_be_bytes());
            large.push(*offset);
        }
    }
    for offset in large {
        buf.extend_from_slice(&offset.to_be_bytes());
    }
    buf.extend_from_slice(pack_sum);
    let sum: [u8; 20] = Sha1::digest(&buf).into();
    buf.extend_from_slice(&sum);
    out.write_all(&buf)
}

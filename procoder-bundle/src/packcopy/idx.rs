//! Reading pack `.idx` files (version 2, what git has written since 2007). A pack whose
//! index we cannot read is not copied from: its objects are written whole instead.

use std::io::Read;
use std::path::Path;

/// One object of a source pack.
#[derive(Debug, Clone, Copy)]
pub struct IdxEntry {
    pub oid: git2::Oid,
    pub offset: u64,
}

/// Every object of one pack, sorted by offset, and the pack's data length (without trailer).
pub struct PackIndex {
    pub by_offset: Vec<IdxEntry>,
    pub data_end: u64,
}

impl PackIndex {
    /// Reads `<name>.idx` for `<name>.pack`. `None` for a version we do not read.
    pub fn read(idx_path: &Path, pack_len: u64) -> std::io::Result<Option<Self>> {
        let mut bytes = Vec::new();
        std::fs::File::open(idx_path)?.read_to_end(&mut bytes)?;
        if bytes.len() < 8 + 256 * 4 + 40
            || bytes[..4] != [0xff, b't', b'O', b'c']
            || be32(&bytes[4..8]) != 2
        {
            return Ok(None);
        }
        let n = be32(&bytes[8 + 255 * 4..8 + 256 * 4]) as usize;
        let oids = 8 + 256 * 4;
        let offsets = oids + n * 20 + n * 4;
        let large = offsets + n * 4;
        if bytes.len() < large + 40 {
            return Ok(None);
        }
        let mut by_offset = Vec::with_capacity(n);
        for i in 0..n {
            let oid = git2::Oid::from_bytes(&bytes[oids + i * 20..oids + i * 20 + 20])
                .expect("20 bytes make a sha1 id");
            let small = be32(&bytes[offsets + i * 4..offsets + i * 4 + 4]);
            let offset = if small & 0x8000_0000 == 0 {
                u64::from(small)
            } else {
                let at = large + (small & 0x7fff_ffff) as usize * 8;
                match bytes.get(at..at + 8) {
                    Some(b) => u64::from_be_bytes(b.try_into().expect("slice of 8")),
                    None => return Ok(None),
                }
            };
            by_offset.push(IdxEntry { oid, offset });
        }
        by_offset.sort_unstable_by_key(|e| e.offset);
        Ok(Some(Self {
            by_offset,
            data_end: pack_len.saturating_sub(20),
        }))
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

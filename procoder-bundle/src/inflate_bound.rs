//! Bounds on what a received pack inflates to, checked as its bytes stream past on the way
//! to libgit2's indexer. libgit2 allocates each object whole when it resolves deltas (at
//! `commit`), and a delta of a few bytes can declare, and produce, gigabytes (a copy
//! instruction of one byte copies 64 KiB of its base). Every entry's header states its size,
//! and a delta's own header states the size of its result, so both are known before anything
//! is allocated for them: this reader follows the pack entry by entry (inflating each entry's
//! zlib stream only to find where it ends) and refuses the pack as soon as a declared size
//! passes a bound.

use procoder_manifest::{ErrorCode, Failure, Result};

/// One object may inflate to this much, or to `OBJECT_RATIO` times the pack bytes read so far
/// if that is more. No return an agent makes comes near: a 256 MiB file is beyond what the
/// sandbox's 512 MB upload would carry back in any other form.
pub const OBJECT_FLOOR: u64 = 256 << 20;
pub const OBJECT_RATIO: u64 = 64;
/// Every object of the pack together, likewise: source code deflates 3 to 10 times.
pub const TOTAL_FLOOR: u64 = 1 << 30;
pub const TOTAL_RATIO: u64 = 256;

/// Objects one pack may declare: the Linux kernel's whole history holds about 10 million.
pub const MAX_OBJECTS: u32 = 1 << 24;

const OBJ_OFS_DELTA: u8 = 6;
const OBJ_REF_DELTA: u8 = 7;

/// Where in the pack the reader is.
enum State {
    /// The 12-byte `PACK` header.
    PackHeader,
    /// An entry's type-and-size varint.
    EntryHeader { kind: u8, size: u64, shift: u32 },
    /// An offset delta's base offset (a varint).
    OfsBase,
    /// A reference delta's 20-byte base id.
    RefBase { left: usize },
    /// An entry's zlib stream.
    Data,
    /// Past the last entry: the trailer, and nothing this reader checks.
    Done,
}

pub struct InflateBound {
    state: State,
    header: Vec<u8>,
    entries_left: u32,
    kind: u8,
    declared: u64,
    produced: u64,
    /// The start of a delta's output: its base and result sizes (two varints).
    delta_head: Vec<u8>,
    delta_checked: bool,
    inflate: flate2::Decompress,
    seen: u64,
    total: u64,
}

impl Default for InflateBound {
    fn default() -> Self {
        Self::new()
    }
}

impl InflateBound {
    pub fn new() -> Self {
        Self {
            state: State::PackHeader,
            header: Vec::with_capacity(12),
            entries_left: 0,
            kind: 0,
            declared: 0,
            produced: 0,
            delta_head: Vec::with_capacity(20),
            delta_checked: false,
            inflate: flate2::Decompress::new(true),
            seen: 0,
            total: 0,
        }
    }

    /// How much every object together declared so far.
    #[cfg(test)]
    fn total(&self) -> u64 {
        self.total
    }

    /// Follows the next bytes of the pack. A malformed pack is left to the indexer to name;
    /// only a bound passed is an error here.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<()> {
        self.seen += data.len() as u64;
        while !data.is_empty() {
            match &mut self.state {
                State::Done => return Ok(()),
                State::PackHeader => {
                    let take = (12 - self.header.len()).min(data.len());
                    self.header.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.header.len() == 12 {
                        if &self.header[..4] != b"PACK" {
                            self.state = State::Done; // the indexer says what is wrong
                            return Ok(());
                        }
                        let count = &self.header[8..12];
                        self.entries_left =
                            u32::from_be_bytes([count[0], count[1], count[2], count[3]]);
                        // libgit2's indexer allocates a vector for every declared object as
                        // soon as it reads this header (a fuzz finding: 1.65 billion declared objects
                        // made it ask for 13 GB).
                        if self.entries_left > MAX_OBJECTS {
                            return Err(too_large(format!(
                                "the return's pack declares {} objects (the bound is {MAX_OBJECTS})",
                                self.entries_left
                            )));
                        }
                        self.next_entry();
                    }
                }
                State::EntryHeader { kind, size, shift } => {
                    let b = data[0];
                    data = &data[1..];
                    if *shift == 0 {
                        *kind = (b >> 4) & 7;
                        *size = u64::from(b & 0x0f);
                        *shift = 4;
                    } else if *shift > 60 {
                        self.state = State::Done; // a corrupt size: the indexer refuses it
                        return Ok(());
                    } else {
                        *size |= u64::from(b & 0x7f) << *shift;
                        *shift += 7;
                    }
                    if b & 0x80 == 0 {
                        let (kind, size) = (*kind, *size);
                        self.start_entry(kind, size)?;
                    }
                }
                State::OfsBase => {
                    let b = data[0];
                    data = &data[1..];
                    if b & 0x80 == 0 {
                        self.state = State::Data;
                    }
                }
                State::RefBase { left } => {
                    let take = (*left).min(data.len());
                    *left -= take;
                    data = &data[take..];
                    if *left == 0 {
                        self.state = State::Data;
                    }
                }
                State::Data => {
                    let used = self.inflate_some(data)?;
                    data = &data[used..];
                }
            }
        }
        Ok(())
    }

    fn next_entry(&mut self) {
        self.state = if self.entries_left == 0 {
            State::Done
        } else {
            State::EntryHeader {
                kind: 0,
                size: 0,
                shift: 0,
            }
        };
    }

    fn start_entry(&mut self, kind: u8, size: u64) -> Result<()> {
        self.kind = kind;
        self.declared = size;
        self.produced = 0;
        self.delta_head.clear();
        self.delta_checked = false;
        self.inflate.reset(true);
        match kind {
            OBJ_OFS_DELTA => self.state = State::OfsBase,
            OBJ_REF_DELTA => self.state = State::RefBase { left: 20 },
            _ => {
                self.admit(size)?;
                self.state = State::Data;
            }
        }
        Ok(())
    }

    /// Counts an object of `size` bytes against both bounds.
    fn admit(&mut self, size: u64) -> Result<()> {
        let object_bound = OBJECT_FLOOR.max(OBJECT_RATIO.saturating_mul(self.seen));
        if size > object_bound {
            return Err(too_large(format!(
                "an object of the return's pack inflates to {} (the bound is {} for a pack of {} so far)",
                bytes(size),
                bytes(object_bound),
                bytes(self.seen)
            )));
        }
        self.total = self.total.saturating_add(size);
        let total_bound = TOTAL_FLOOR.max(TOTAL_RATIO.saturating_mul(self.seen));
        if self.total > total_bound {
            return Err(too_large(format!(
                "the return's pack inflates to more than {} (the bound for a pack of {} so far)",
                bytes(total_bound),
                bytes(self.seen)
            )));
        }
        Ok(())
    }

    /// Inflates part of the current entry's stream; returns the input bytes used.
    fn inflate_some(&mut self, data: &[u8]) -> Result<usize> {
        let mut out = [0u8; 16 * 1024];
        let before_in = self.inflate.total_in();
        let before_out = self.inflate.total_out();
        let status = self
            .inflate
            .decompress(data, &mut out, flate2::FlushDecompress::None);
        let used = (self.inflate.total_in() - before_in) as usize;
        let made = (self.inflate.total_out() - before_out) as usize;
        self.produced += made as u64;
        if matches!(self.kind, OBJ_OFS_DELTA | OBJ_REF_DELTA) && !self.delta_checked {
            let room = 20 - self.delta_head.len();
            self.delta_head.extend_from_slice(&out[..made.min(room)]);
            if let Some(result) = delta_result_size(&self.delta_head) {
                self.delta_checked = true;
                self.admit(result)?;
            }
        }
        match status {
            // An entry that inflates past its own declared size is corrupt; stop here rather
            // than inflate the rest of a bomb (the indexer names the corruption).
            Ok(_) if self.produced > self.declared => self.state = State::Done,
            Ok(flate2::Status::StreamEnd) => {
                self.entries_left -= 1;
                self.next_entry();
            }
            Ok(_) if used == 0 && made == 0 => self.state = State::Done,
            Ok(_) => {}
            Err(_) => self.state = State::Done,
        }
        Ok(used)
    }
}

/// A delta starts with its base's size and its result's size, as git's varints (7 bits per
/// byte, least significant first). Returns the result size once both are complete.
fn delta_result_size(head: &[u8]) -> Option<u64> {
    let mut it = head.iter();
    let mut varint = || -> Option<u64> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let b = *it.next()?;
            if shift > 63 {
                return Some(u64::MAX);
            }
            value |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
    };
    varint()?;
    varint()
}

fn too_large(message: String) -> Failure {
    Failure::new(ErrorCode::PackTooLarge, message).hint(
        "do not apply it: nothing was imported. No real return comes near these bounds \
         (README, \"Resource bounds\"); ask the agent what it committed",
    )
}

fn bytes(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.1} GiB", n as f64 / f64::from(1u32 << 30))
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target pack_objects' over-allocation: libgit2 sized its object vector from
    /// this header's count before any object arrived.
    #[test]
    fn a_pack_declaring_too_many_objects_is_refused_at_its_header() {
        let err = InflateBound::new()
            .feed(b"PACK\0\0\0\x02\x62\x70\x00\x00")
            .expect_err("1.65 billion objects");
        assert_eq!(err.code, ErrorCode::PackTooLarge);
        InflateBound::new()
            .feed(b"PACK\0\0\0\x02\x01\x00\x00\x00")
            .expect("16,777,216 objects pass the header");
    }

    #[test]
    fn delta_sizes_are_read_as_git_writes_them() {
        assert_eq!(delta_result_size(&[0x05, 0x80, 0x01]), Some(128));
        assert_eq!(delta_result_size(&[0x05]), None);
        assert_eq!(delta_result_size(&[0x80]), None);
    }

    #[test]
    fn a_huge_declared_object_is_refused_and_a_small_one_admitted() {
        let mut b = InflateBound::new();
        let mut pack = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
        // A blob (type 3) declaring 8 GiB: 0b0011_xxxx continuation bytes.
        let mut size = 8u64 << 30;
        let mut first = 0x30 | (size & 0x0f) as u8;
        size >>= 4;
        if size > 0 {
            first |= 0x80;
        }
        pack.push(first);
        while size > 0 {
            let mut byte = (size & 0x7f) as u8;
            size >>= 7;
            if size > 0 {
                byte |= 0x80;
            }
            pack.push(byte);
        }
        let err = b.feed(&pack).expect_err("8 GiB is past every bound");
        assert_eq!(err.code, ErrorCode::PackTooLarge);

        let mut small = InflateBound::new();
        small
            .feed(b"PACK\0\0\0\x02\0\0\0\x01\x35")
            .expect("a 5-byte blob is admitted");
        assert_eq!(small.total(), 5);
    }
}

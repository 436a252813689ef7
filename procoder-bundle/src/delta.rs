//! git's delta encoding (the pack format's `REF_DELTA`/`OFS_DELTA` payload), written from the
//! algorithm of git's `diff-delta.c`: the source is indexed in 16-byte blocks, the target is
//! scanned with a rolling hash, and each hit is extended forwards and backwards into a copy.
//! No maintained Rust crate encodes git deltas; git's own decoder checks ours in the tests.

const BLOCK: usize = 16;
/// Largest copy of one instruction that every git reads (pack v2 limit).
const MAX_COPY: usize = 0x10000;
/// Candidates kept per hash bucket: bounds the work on repetitive sources.
const MAX_BUCKET: usize = 64;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// Builds the delta that turns `source` into `target`, or `None` when it would not be smaller
/// than `limit` bytes (the caller's budget: storing the target whole is then better).
pub fn encode(source: &[u8], target: &[u8], limit: usize) -> Option<Vec<u8>> {
    if source.len() < BLOCK || target.is_empty() {
        return None;
    }
    // An edit inside a large file (the common case) leaves a long common prefix and suffix:
    // they are copied whole and only the source between them is indexed. Building the index
    // (random writes into a table the size of the source) was four fifths of the encoding of
    // a one-line edit in a 1 MB file. When the two share less, the whole source is indexed.
    let prefix = common_prefix(source, target);
    // The suffix may reach back over source bytes the prefix copied too (a copy can name any
    // source bytes): a tree entry inserted before one of the same mode shares "40000 " with
    // both its neighbours, and git copies it from the suffix side.
    let suffix = common_suffix(source, &target[prefix..]);
    let trimmed = prefix + suffix >= target.len() - target.len() / 8;
    let s_end = source.len() - suffix;
    let (index, t_end) = match trimmed {
        true => (
            Index::new(&source[prefix.min(s_end)..s_end], prefix.min(s_end)),
            target.len() - suffix,
        ),
        false => (Index::new(source, 0), target.len()),
    };
    let mut ops = Ops::default();
    if prefix > 0 {
        ops.copy(0, 0, prefix);
    }
    let mut literal_start = prefix;
    let mut i = prefix;
    let mut hash = if i + BLOCK <= t_end {
        block_hash(&target[i..i + BLOCK])
    } else {
        0
    };
    let top = PRIME.wrapping_pow(BLOCK as u32 - 1);
    // Where the previous copy ended in the source: an edit of equal length continues there.
    let mut next_source = prefix;
    while i + BLOCK <= t_end {
        let mut best: Option<(usize, usize)> = None; // (source offset, length)
        let mut consider = |s: usize| {
            if s + BLOCK <= source.len() && source[s..s + BLOCK] == target[i..i + BLOCK] {
                let len = BLOCK + common_prefix(&source[s + BLOCK..], &target[i + BLOCK..]);
                if best.is_none_or(|(_, l)| len > l) {
                    best = Some((s, len));
                }
            }
        };
        consider(next_source + (i - literal_start));
        for s in index.candidates(hash) {
            consider(s);
        }
        match best {
            Some((s, len)) => {
                let (s, start, len) = ops.extend_back(source, target, s, i, len, literal_start);
                // When the match swallowed copies before it, `start` lies before `literal_start`
                // and there is no literal to emit.
                ops.literal(&target[literal_start.min(start)..start]);
                ops.copy(s, start, len);
                i = start + len;
                literal_start = i;
                next_source = s + len;
                if ops.size() >= limit {
                    return None;
                }
                if i + BLOCK <= t_end {
                    hash = block_hash(&target[i..i + BLOCK]);
                }
            }
            None => {
                if i + BLOCK < t_end {
                    hash = hash
                        .wrapping_sub(u64::from(target[i]).wrapping_mul(top))
                        .wrapping_mul(PRIME)
                        .wrapping_add(u64::from(target[i + BLOCK]));
                }
                i += 1;
                if i - literal_start > 4096 && ops.size() + (i - literal_start) >= limit {
                    return None;
                }
            }
        }
    }
    if literal_start < t_end {
        ops.literal(&target[literal_start..t_end]);
        literal_start = t_end;
    }
    // The common suffix, from wherever the last copy stopped (it may have run into it).
    if literal_start < target.len() {
        let len = target.len() - literal_start;
        ops.copy(source.len() - len, literal_start, len);
    }
    let out = ops.encode(source.len(), target);
    (out.len() < limit).then_some(out)
}

/// The instructions so far, kept symbolic so a later match can take bytes back from a short
/// copy before it (a repetitive file often offers a wrong short match before the right one).
#[derive(Default)]
struct Ops {
    /// (source offset, target offset, length) for copies; `usize::MAX` source for literals.
    list: Vec<(usize, usize, usize)>,
    bytes: usize,
}

impl Ops {
    fn size(&self) -> usize {
        self.bytes
    }

    fn literal(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.bytes += bytes.len() + bytes.len().div_ceil(127);
            self.list.push((usize::MAX, 0, bytes.len()));
        }
    }

    fn copy(&mut self, s: usize, t: usize, len: usize) {
        self.bytes += 8 * len.div_ceil(MAX_COPY);
        self.list.push((s, t, len));
    }

    /// Extends a match backwards over pending literal bytes and then over whole short copies
    /// just before it that it covers too. Returns the new (source, target, length).
    #[allow(clippy::too_many_arguments)]
    fn extend_back(
        &mut self,
        source: &[u8],
        target: &[u8],
        mut s: usize,
        mut t: usize,
        mut len: usize,
        mut floor: usize,
    ) -> (usize, usize, usize) {
        loop {
            while t > floor && s > 0 && source[s - 1] == target[t - 1] {
                s -= 1;
                t -= 1;
                len += 1;
            }
            if t != floor {
                return (s, t, len);
            }
            let Some(&(ps, pt, plen)) = self.list.last() else {
                return (s, t, len);
            };
            if ps == usize::MAX
                || plen > 64
                || s < plen
                || source[s - plen..s] != target[pt..pt + plen]
            {
                return (s, t, len);
            }
            self.list.pop();
            self.bytes -= 8;
            s -= plen;
            t = pt;
            len += plen;
            floor = pt;
        }
    }

    fn encode(&self, source_len: usize, target: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes + 16);
        push_varint(&mut out, source_len as u64);
        push_varint(&mut out, target.len() as u64);
        let mut t = 0usize;
        for &(s, pt, len) in &self.list {
            if s == usize::MAX {
                push_literal(&mut out, &target[t..t + len]);
            } else {
                debug_assert_eq!(pt, t);
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(MAX_COPY);
                    push_copy(&mut out, s + done, n);
                    done += n;
                }
            }
            t += len;
        }
        out
    }
}

/// Source offsets by block hash: a flat chained table (4 bytes an entry) rather than a map of
/// vectors, which cost 35 MiB on a 300 KB source.
struct Index {
    /// First entry of each bucket (`NONE` when empty); buckets are `hash & mask`.
    heads: Vec<u32>,
    /// Next entry in the same bucket, per entry.
    next: Vec<u32>,
    /// Source offset, per entry.
    offsets: Vec<u32>,
    mask: u64,
}

const NONE: u32 = u32::MAX;

impl Index {
    /// Indexes `source`, a part of the whole source starting at `offset`.
    fn new(source: &[u8], offset: usize) -> Self {
        // Small sources are indexed at every byte (exact matches right after an edit); larger
        // ones more sparsely, down to git's every 16 bytes, to bound memory.
        let step = (source.len() / (256 << 10)).clamp(1, BLOCK);
        let entries = source.len().saturating_sub(BLOCK) / step + 1;
        let buckets = entries.next_power_of_two().max(16);
        let mut index = Self {
            heads: vec![NONE; buckets],
            next: Vec::with_capacity(entries),
            offsets: Vec::with_capacity(entries),
            mask: buckets as u64 - 1,
        };
        let mut counts = vec![0u8; buckets];
        if source.len() < BLOCK {
            return index;
        }
        // Walk backwards so that each chain lists offsets in ascending order.
        let last = (source.len() - BLOCK) / step * step;
        let mut at = last as isize;
        while at >= 0 {
            let pos = at as usize;
            let bucket = (block_hash(&source[pos..pos + BLOCK]) & index.mask) as usize;
            if (counts[bucket] as usize) < MAX_BUCKET {
                counts[bucket] += 1;
                index.next.push(index.heads[bucket]);
                index.offsets.push((offset + pos) as u32);
                index.heads[bucket] = (index.offsets.len() - 1) as u32;
            }
            at -= step as isize;
        }
        index
    }

    /// Candidate source offsets for a block hash (a superset: callers compare the bytes).
    fn candidates(&self, hash: u64) -> impl Iterator<Item = usize> + '_ {
        let mut at = self.heads[(hash & self.mask) as usize];
        std::iter::from_fn(move || {
            if at == NONE {
                return None;
            }
            let offset = self.offsets[at as usize] as usize;
            at = self.next[at as usize];
            Some(offset)
        })
    }
}

fn block_hash(block: &[u8]) -> u64 {
    block.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(PRIME).wrapping_add(u64::from(b))
    })
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    // Eight bytes at a time: matches run for hundreds of kilobytes.
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n && a[i..i + 8] == b[i..i + 8] {
        i += 8;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + 8 <= n && a[n - i - 8..n - i] == b[n - i - 8..n - i] {
        i += 8;
    }
    i + a[..n - i]
        .iter()
        .rev()
        .zip(b[..n - i].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn push_literal(out: &mut Vec<u8>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = bytes.len().min(127);
        out.push(n as u8);
        out.extend_from_slice(&bytes[..n]);
        bytes = &bytes[n..];
    }
}

/// A copy instruction: offset in up to 4 bytes, size in up to 3 (0 means 0x10000).
fn push_copy(out: &mut Vec<u8>, offset: usize, size: usize) {
    let at = out.len();
    out.push(0x80);
    let mut flags = 0x80u8;
    for i in 0..4 {
        let byte = (offset >> (8 * i)) as u8;
        if byte != 0 {
            flags |= 1 << i;
            out.push(byte);
        }
    }
    let size = if size == MAX_COPY { 0 } else { size };
    for i in 0..3 {
        let byte = (size >> (8 * i)) as u8;
        if byte != 0 {
            flags |= 0x10 << i;
            out.push(byte);
        }
    }
    out[at] = flags;
}

/// Applies a delta: the tests' check of our own output.
#[cfg(test)]
pub fn apply(source: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut pos = 0;
    let varint = |pos: &mut usize| -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *delta.get(*pos)?;
            *pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    };
    if varint(&mut pos)? != source.len() as u64 {
        return None;
    }
    let size = varint(&mut pos)? as usize;
    let mut out = Vec::with_capacity(size);
    while pos < delta.len() {
        let op = delta[pos];
        pos += 1;
        if op & 0x80 != 0 {
            let mut offset = 0usize;
            let mut len = 0usize;
            for i in 0..4 {
                if op & (1 << i) != 0 {
                    offset |= usize::from(*delta.get(pos)?) << (8 * i);
                    pos += 1;
                }
            }
            for i in 0..3 {
                if op & (0x10 << i) != 0 {
                    len |= usize::from(*delta.get(pos)?) << (8 * i);
                    pos += 1;
                }
            }
            if len == 0 {
                len = MAX_COPY;
            }
            out.extend_from_slice(source.get(offset..offset.checked_add(len)?)?);
        } else if op != 0 {
            out.extend_from_slice(delta.get(pos..pos + usize::from(op))?);
            pos += usize::from(op);
        } else {
            return None;
        }
    }
    (out.len() == size).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: usize, edit: Option<usize>) -> Vec<u8> {
        (0..lines)
            .map(|i| {
                if Some(i) == edit {
                    format!("edited line {i}\n")
                } else {
                    format!("line number {i} of the file\n")
                }
            })
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn one_line_edit_is_a_tiny_delta() {
        let source = text(8000, None);
        let target = text(8000, Some(4000));
        let delta = encode(&source, &target, target.len()).expect("similar files delta well");
        assert!(
            delta.len() < 100,
            "delta of a one-line edit is {} bytes",
            delta.len()
        );
        assert_eq!(apply(&source, &delta).expect("applies"), target);
    }

    /// Edits inside a large file, where only the part between the common prefix and suffix
    /// is indexed: a line inserted, one deleted, a byte changed next to either end, and a
    /// target that only grows or only shrinks at its end.
    #[test]
    fn edits_inside_a_large_file_are_tiny_deltas() {
        let source = text(60_000, None);
        assert!(source.len() > 1 << 20);
        let mid = source.len() / 2;
        let mut cases: Vec<Vec<u8>> = Vec::new();
        let mut inserted = source[..mid].to_vec();
        inserted.extend_from_slice(b"a line the agent added\n");
        inserted.extend_from_slice(&source[mid..]);
        cases.push(inserted);
        let mut deleted = source[..mid].to_vec();
        deleted.extend_from_slice(&source[mid + 40..]);
        cases.push(deleted);
        for at in [0, 1, source.len() - 2, source.len() - 1] {
            let mut t = source.clone();
            t[at] ^= 0x20;
            cases.push(t);
        }
        // A tree entry inserted before one that starts with the same bytes.
        let at = mid - mid % 64;
        let mut shared = source[..at].to_vec();
        shared.extend_from_slice(&source[at - 30..at]);
        shared.extend_from_slice(&source[at..]);
        cases.push(shared);
        let mut grown = source.clone();
        grown.extend_from_slice(b"appended\n");
        cases.push(grown);
        cases.push(source[..source.len() - 100].to_vec());
        for target in cases {
            let delta = encode(&source, &target, target.len()).expect("similar files delta well");
            // Copies split at 64 KiB: a megabyte is 17 or so instructions of up to 8 bytes.
            assert!(
                delta.len() < 250,
                "a small edit made a {}-byte delta",
                delta.len()
            );
            assert_eq!(apply(&source, &delta).expect("applies"), target);
        }
    }

    /// ripgrep's top tree after the agent's `agent-notes/`: an entry inserted before one of
    /// the same mode. Its "40000 " is copied with the next entry, as git copies it; only its
    /// name and id are new (the delta was 6 bytes longer than git's).
    #[test]
    fn an_inserted_entry_shares_its_mode_with_the_next_one() {
        let entry = |name: String, id: u8| {
            let mut e = format!("40000 {name}\0").into_bytes();
            e.extend([id; 20]);
            e
        };
        let head: Vec<u8> = (0..30).flat_map(|i| entry(format!("a{i:02}"), i)).collect();
        let tail: Vec<u8> = (0..10)
            .flat_map(|i| entry(format!("c{i:02}"), 100 + i))
            .collect();
        let source = [head.clone(), tail.clone()].concat();
        let target = [head, entry("b-new".into(), 99), tail].concat();
        let delta = encode(&source, &target, target.len()).expect("delta");
        assert_eq!(apply(&source, &delta).expect("applies"), target);
        // Two sizes, a copy, the literal's length byte and the new name and id, a copy.
        let literal = "b-new\0".len() + 20;
        assert!(
            delta.len() <= 4 + 3 + 1 + literal + 5,
            "{} bytes",
            delta.len()
        );
    }

    #[test]
    fn round_trips_insertions_deletions_and_moves() {
        let source = text(3000, None);
        let mut target = source[1000..20_000].to_vec();
        target.extend_from_slice(b"inserted bytes that were never in the source\n");
        target.extend_from_slice(&source[..1000]);
        target.extend_from_slice(&source[50_000..]);
        let delta = encode(&source, &target, target.len()).expect("delta");
        assert_eq!(apply(&source, &delta).expect("applies"), target);
    }

    #[test]
    fn long_copies_split_at_the_v2_limit() {
        let source: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut target = source.clone();
        target[150_000] ^= 0xff;
        let delta = encode(&source, &target, target.len()).expect("delta");
        assert_eq!(apply(&source, &delta).expect("applies"), target);
    }

    /// Repetitive sources with random edits: the path where a match takes back earlier copies.
    #[test]
    fn random_edits_of_repetitive_text_round_trip() {
        let base: Vec<u8> = (0..5000)
            .flat_map(|i| {
                format!("fn item_{i}() -> usize {{ {i} }} // a line of source text\n").into_bytes()
            })
            .collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..80 {
            let mut target = base.clone();
            for _ in 0..1 + next(5) {
                let at = next(target.len());
                match next(3) {
                    0 => target
                        .splice(at..at, b"_edited".iter().copied())
                        .for_each(drop),
                    1 => target
                        .drain(at..(at + next(200)).min(target.len()))
                        .for_each(drop),
                    _ => target[at] = b'#',
                }
            }
            let delta = encode(&base, &target, usize::MAX)
                .unwrap_or_else(|| panic!("round {round}: no delta"));
            assert_eq!(
                apply(&base, &delta).expect("applies"),
                target,
                "round {round}"
            );
        }
    }

    #[test]
    fn unrelated_content_gives_no_delta() {
        let source: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let target: Vec<u8> = (0..10_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
            .collect();
        assert!(encode(&source, &target, target.len() / 2).is_none());
    }
}

//! The export pack's size, known before it is written: the same plan as
//! [`write_export_pack`](super::write_export_pack) (each object taken from the first pack
//! holding it, a delta copied when its base is written from the same pack, a delta whose
//! base is not exported rebased, anything else written whole), with only the entry headers
//! read. Copied entries are counted to the byte; an object written whole is counted from
//! what its content deflates to in the source packs; one rebased on an exported entry of its
//! chain (`redelta`) from the chain's deltas up to it.

use super::entries::{At, Entries};
use super::idx::PackIndex;
use super::{read_entry_header, redelta, source_packs, Base};
use crate::{git_err, io_err};
use procoder_manifest::Result;
use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read};

/// How many of the largest entries the estimate keeps, for a refusal to name.
const LARGEST: usize = 64;

/// A deflated size per inflated byte, for content that is not stored whole in any pack:
/// measured over the whole entries the estimate sees (blobs apart from the rest).
#[derive(Debug, Clone, Copy, Default)]
struct Ratio {
    deflated: u64,
    inflated: u64,
}

impl Ratio {
    fn add(&mut self, deflated: u64, inflated: u64) {
        self.deflated += deflated;
        self.inflated += inflated;
    }

    fn apply(self, inflated: u64, fallback: Ratio) -> u64 {
        let r = if self.inflated >= 4096 {
            self
        } else {
            fallback
        };
        if r.inflated == 0 {
            // Nothing whole to learn from: text-like content deflates to about a third.
            return inflated / 3;
        }
        (inflated as u128 * r.deflated as u128 / r.inflated as u128) as u64
    }
}

/// What the export pack will take, and what the work tree's copies of `watch` (HEAD's blobs)
/// deflate to.
#[derive(Debug, Default)]
pub struct PackEstimate {
    /// The `.pack` file's bytes.
    pub pack_bytes: u64,
    /// What the `.pack` file deflates to in the zip: `pack_bytes` at the ratio a sample of
    /// the source packs deflates at.
    pub pack_zipped: u64,
    /// The `.idx` file's bytes (exact).
    pub idx_bytes: u64,
    /// What the `.idx` file deflates to in the zip.
    pub idx_zipped: u64,
    /// The largest entries, by their bytes in the pack, largest first.
    pub largest: Vec<(git2::Oid, u64)>,
    /// For each watched blob: its deflated size (raw deflate, as a zip entry holds it) and
    /// its inflated size.
    pub watched: HashMap<git2::Oid, (u64, u64)>,
}

/// An object not yet sized: a delta written whole, a loose object, a watched delta.
struct Pending {
    oid: git2::Oid,
    inflated: u64,
    /// Counted in the pack (written whole), not only watched.
    whole: bool,
    /// How its delta chain's whole entry (or its loose file) deflated, when known: a file's
    /// versions deflate alike, where the repository's average would be skewed by one large
    /// binary.
    ratio: Option<Ratio>,
    /// Where `ratio` comes from.
    source: Source,
    /// Its bytes as a delta against an exported entry of its chain, when it has one.
    delta: Option<u64>,
}

/// The size of the export pack of `objects`, reading the source packs' indexes and entry
/// headers only.
pub fn estimate_export_pack(
    repo: &git2::Repository,
    objects: &HashSet<git2::Oid>,
    watch: &HashSet<git2::Oid>,
) -> Result<PackEstimate> {
    let mut est = PackEstimate::default();
    let mut taken: HashSet<git2::Oid> = HashSet::with_capacity(objects.len());
    let (mut blobs, mut rest) = (Ratio::default(), Ratio::default());
    let mut pending: Vec<Pending> = Vec::new();
    let mut whole_watched: Vec<(git2::Oid, u64, u64)> = Vec::new();
    let mut samples: [Sample; 3] = Default::default();
    let mut sizes: Vec<(git2::Oid, u64)> = Vec::new();
    let mut large_offsets = 0u64;
    let mut offset = 12u64;
    let mut zipped = Ratio::default();
    for (pack_path, index) in source_packs(repo)? {
        let take: Vec<bool> = index
            .by_offset
            .iter()
            .map(|e| objects.contains(&e.oid) && taken.insert(e.oid))
            .collect();
        if !take.iter().any(|&t| t) {
            continue;
        }
        let cant_read = || io_err(format!("cannot read {}", pack_path.display()));
        let (deflated, read) = deflate_sample(&pack_path, index.data_end).map_err(cant_read())?;
        zipped.add(deflated, read);
        // A handle of its own: a shared one would move the walk's position.
        let mut chains = Chains {
            file: std::fs::File::open(&pack_path).map_err(cant_read())?,
            index: &index,
            memo: HashMap::new(),
        };
        // Small reads: only headers are wanted, and most entries are far apart.
        let mut reader = Entries::open(&pack_path, &index, 4096)?;
        let mut rebase = redelta::Chains::new(&pack_path, &index).map_err(cant_read())?;
        // Entries written from this pack, copied or whole: a delta on one of them is copied.
        let mut written = vec![false; index.by_offset.len()];
        for (k, entry) in index.by_offset.iter().enumerate() {
            if !take[k] {
                continue;
            }
            let At { header, data } = reader.header(k)?;
            let watched = watch.contains(&entry.oid);
            written[k] = true;
            let copy = match header.base {
                None => true,
                Some(Base::Offset(at)) => written[at],
                Some(Base::Ref) => false,
            };
            if header.base.is_none() {
                match header.kind == 3 {
                    true => blobs.add(data, header.size),
                    false => rest.add(data, header.size),
                }
                if watched {
                    whole_watched.push((entry.oid, data, header.size));
                }
                samples[Source::Whole as usize].offer(entry.oid, data, header.size);
            } else if !copy || watched {
                // Its content is needed: whole in the pack, or deflated in the work tree.
                let inflated = delta_result_size(&mut reader, data).map_err(cant_read())?;
                let ratio = match header.base {
                    Some(Base::Offset(at)) => chains.ratio(at).map_err(cant_read())?,
                    _ => None,
                };
                // Rebased as the writer does: a delta smaller than the chain's deltas from the
                // exported entry it reaches, their edits overlapping (git.git --depth 1: 7,321
                // objects rebased to 10.92 MB, their chains' deltas 12.99 MB), or whole.
                let delta = match header.base {
                    Some(Base::Offset(at)) if !copy => {
                        let found = rebase.nearest(at, &|k| written[k]).map_err(cant_read())?;
                        found
                            .filter(|_| inflated <= redelta::MAX_SIZE)
                            .map(|(_, bytes)| header.len + (data + bytes) * 84 / 100)
                    }
                    _ => None,
                };
                pending.push(Pending {
                    oid: entry.oid,
                    inflated,
                    whole: !copy,
                    ratio,
                    source: Source::Chain,
                    delta,
                });
                if !copy {
                    continue;
                }
            }
            // Copied as it is (a delta whose base is not written went to `pending` above).
            let here = header.len + data;
            est.pack_bytes += here;
            sizes.push((entry.oid, here));
            large_offsets += u64::from(offset > 0x7fff_ffff);
            offset += here;
        }
    }
    // Loose objects (and objects of packs without a readable index) are written whole; a
    // loose object's file is its deflated content.
    let odb = crate::odb(repo)?;
    let objects_dir = repo.path().join("objects");
    for &oid in objects.iter().filter(|o| !taken.contains(o)) {
        let (size, _) = odb
            .read_header(oid)
            .map_err(git_err(format!("cannot read {oid}")))?;
        let hex = oid.to_string();
        let file = objects_dir.join(&hex[..2]).join(&hex[2..]);
        let ratio = std::fs::metadata(file).ok().map(|m| Ratio {
            deflated: m.len(),
            inflated: size as u64,
        });
        pending.push(Pending {
            oid,
            inflated: size as u64,
            whole: true,
            ratio,
            source: Source::Loose,
            delta: None,
        });
    }
    // Each object's size in source units: its pack entry's deflate, or its content at the
    // ratio of its chain or loose file, or of the packs' whole entries.
    let sized: Vec<(Pending, u64)> = pending
        .into_iter()
        .map(|p| {
            let deflated = match p.ratio {
                Some(r) if r.inflated > 0 => {
                    (p.inflated as u128 * r.deflated as u128 / r.inflated as u128) as u64
                }
                _ => {
                    let is_blob = watch.contains(&p.oid)
                        || odb
                            .read_header(p.oid)
                            .is_ok_and(|(_, kind)| kind == git2::ObjectType::Blob);
                    match is_blob {
                        true => blobs.apply(p.inflated, rest),
                        false => rest.apply(p.inflated, blobs),
                    }
                }
            };
            (p, deflated)
        })
        .collect();
    for (p, deflated) in &sized {
        samples[p.source as usize].offer(p.oid, *deflated, p.inflated);
    }
    // What the zip and `write_whole` make of the same content, measured on samples of each
    // source: a chain's whole entry may be an older version that deflated worse (git.git's
    // HEAD files came out 6% smaller than their chains' ratios said).
    let [whole, chain, loose] = samples.map(|s| s.measure(&odb));
    let levels = |source: Source| match source {
        Source::Whole => whole,
        Source::Chain => chain.or(whole),
        Source::Loose => loose.or(chain).or(whole),
    };
    for (oid, data, size) in whole_watched {
        est.watched
            .insert(oid, (levels(Source::Whole).zip(data), size));
    }
    for (p, deflated) in sized {
        let levels = levels(p.source);
        if watch.contains(&p.oid) {
            est.watched
                .insert(p.oid, (levels.zip(deflated), p.inflated));
        }
        if p.whole {
            let whole = 3 + levels.whole(deflated);
            let here = p.delta.map_or(whole, |d| d.min(whole));
            est.pack_bytes += here;
            sizes.push((p.oid, here));
            large_offsets += u64::from(offset > 0x7fff_ffff);
            offset += here;
        }
    }
    est.pack_bytes += 12 + 20;
    est.pack_zipped = match zipped.inflated {
        0 => est.pack_bytes,
        n => (est.pack_bytes as u128 * zipped.deflated as u128 / n as u128) as u64,
    };
    let n = objects.len() as u64;
    est.idx_bytes = 8 + 256 * 4 + n * (20 + 4 + 4) + large_offsets * 8 + 40;
    // Deflated in the zip, object ids and CRCs do not shrink; the fan-out table and the
    // offsets do a little (git.git's 11.40 MB index: 160 KB off, 0.4 bytes an object).
    est.idx_zipped = est.idx_bytes.saturating_sub(640 + n * 2 / 5);
    let largest_first = |a: &(git2::Oid, u64), b: &(git2::Oid, u64)| b.1.cmp(&a.1);
    if sizes.len() > LARGEST {
        sizes.select_nth_unstable_by(LARGEST, largest_first);
        sizes.truncate(LARGEST);
    }
    sizes.sort_unstable_by(largest_first);
    est.largest = sizes;
    Ok(est)
}

/// Entries of at most this size are sampled: a few large files would otherwise decide.
const SAMPLE_MAX: u64 = 1 << 20;
/// Content deflated to measure the levels, for each source.
const SAMPLE_BYTES: u64 = 512 << 10;
/// Candidates kept: the smallest ids, a deterministic random sample.
const SAMPLE_KEEP: usize = 256;

/// Objects of one `Source`, kept to learn how their estimate in source units compares with
/// the zip's deflate (raw, level 6) and `write_whole`'s (zlib, level 4): a pack written with
/// another `pack.compression` or by an older git, a loose object at level 1, or a chain's
/// older version each deflate differently from what the export will write.
#[derive(Default)]
struct Sample {
    kept: std::collections::BinaryHeap<(git2::Oid, u64, u64)>,
}

/// Where an object's estimate in source units comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Its own whole entry in a source pack.
    Whole = 0,
    /// Its content at the ratio of its delta chain's whole entry.
    Chain = 1,
    /// Its content at the ratio of its loose file (zlib level 1 by git's default).
    Loose = 2,
}

/// Source units scaled to the export's two deflates, learned from a sample (`measured`
/// false when there was nothing to sample).
#[derive(Debug, Clone, Copy)]
struct Levels {
    zip: f64,
    whole: f64,
    measured: bool,
}

impl Levels {
    fn or(self, other: Levels) -> Levels {
        if self.measured {
            self
        } else {
            other
        }
    }

    fn zip(self, source: u64) -> u64 {
        (source as f64 * self.zip) as u64
    }

    fn whole(self, source: u64) -> u64 {
        (source as f64 * self.whole) as u64
    }
}

impl Sample {
    /// `oid`, estimated at `data` source bytes for `size` bytes of content.
    fn offer(&mut self, oid: git2::Oid, data: u64, size: u64) {
        if !(512..=SAMPLE_MAX).contains(&size) {
            return;
        }
        self.kept.push((oid, data, size));
        if self.kept.len() > SAMPLE_KEEP {
            self.kept.pop();
        }
    }

    /// Deflates the kept entries' content both ways, up to `SAMPLE_BYTES` of it.
    fn measure(self, odb: &git2::Odb<'_>) -> Levels {
        use std::io::Write;
        let (mut source, mut zip, mut whole, mut read) = (0u64, 0u64, 0u64, 0u64);
        for (oid, data, _) in self.kept.into_sorted_vec() {
            let Ok(obj) = odb.read(oid) else { continue };
            let deflate = |level: u32, zlib: bool| -> Option<u64> {
                let mut out = Vec::with_capacity(obj.len() / 2 + 64);
                let level = flate2::Compression::new(level);
                if zlib {
                    let mut z = flate2::write::ZlibEncoder::new(&mut out, level);
                    z.write_all(obj.data()).ok()?;
                    z.finish().ok()?;
                } else {
                    let mut z = flate2::write::DeflateEncoder::new(&mut out, level);
                    z.write_all(obj.data()).ok()?;
                    z.finish().ok()?;
                }
                Some(out.len() as u64)
            };
            let (Some(z6), Some(z4)) = (deflate(6, false), deflate(super::WHOLE_LEVEL, true))
            else {
                continue;
            };
            source += data;
            zip += z6;
            whole += z4;
            read += obj.len() as u64;
            if read >= SAMPLE_BYTES {
                break;
            }
        }
        if source == 0 {
            // Nothing to learn from: the same level as git's default, less zlib's six bytes.
            return Levels {
                zip: 1.0,
                whole: 1.03,
                measured: false,
            };
        }
        Levels {
            zip: zip as f64 / source as f64,
            whole: whole as f64 / source as f64,
            measured: true,
        }
    }
}

/// Windows of a pack deflated to learn what the whole pack deflates to in the zip: 24 of
/// 256 KiB spread over it (the whole pack when smaller), at the zip entry's level. Measured
/// against deflating the whole pack: git.git 2.7% off for 3.0%, libgit2 4.7% for 4.6%,
/// ripgrep 3.3% for 3.3%; smaller windows learn less (64 KiB: 2.4% on git.git).
const SAMPLE_WINDOWS: u64 = 24;
const SAMPLE_WINDOW: u64 = 256 << 10;

/// (deflated, inflated) bytes of the sample of the pack at `path` whose entries end at `end`.
fn deflate_sample(path: &std::path::Path, end: u64) -> std::io::Result<(u64, u64)> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let (windows, len) = match end <= SAMPLE_WINDOWS * SAMPLE_WINDOW {
        true => (1, end),
        false => (SAMPLE_WINDOWS, SAMPLE_WINDOW),
    };
    let level = flate2::Compression::new(crate::export::PACK_LEVEL);
    let mut buf = vec![0u8; len as usize];
    let mut out = Vec::with_capacity(buf.len() + 1024);
    let (mut deflated, mut inflated) = (0u64, 0u64);
    for w in 0..windows {
        let at = match windows {
            1 => 0,
            _ => (end - len) * w / (windows - 1),
        };
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut buf)?;
        let mut z = flate2::Compress::new(level, false);
        out.clear();
        let status = z
            .compress_vec(&buf, &mut out, flate2::FlushCompress::Finish)
            .map_err(std::io::Error::other)?;
        // Not finished means it did not fit `out`: it did not shrink.
        deflated += match status {
            flate2::Status::StreamEnd => z.total_out(),
            _ => len,
        };
        inflated += len;
    }
    Ok((deflated, inflated))
}

/// The deflate ratio of each delta chain's whole entry, looked up by following offset deltas
/// back through one pack (entries the export does not take included).
struct Chains<'a> {
    file: std::fs::File,
    index: &'a PackIndex,
    memo: HashMap<usize, Option<Ratio>>,
}

impl Chains<'_> {
    /// The ratio of the whole entry at the end of the chain through entry `at`; `None` when
    /// it ends in a ref delta.
    fn ratio(&mut self, at: usize) -> std::io::Result<Option<Ratio>> {
        use std::io::{Seek, SeekFrom};
        let mut path = Vec::new();
        let mut k = at;
        let found = loop {
            if let Some(r) = self.memo.get(&k) {
                break *r;
            }
            if path.len() > 10_000 {
                break None;
            }
            path.push(k);
            let entry = self.index.by_offset[k];
            self.file.seek(SeekFrom::Start(entry.offset))?;
            let mut r = BufReader::with_capacity(64, &mut self.file);
            let header = read_entry_header(&mut r, self.index, entry.offset)?;
            match header.base {
                Some(Base::Offset(base)) => k = base,
                Some(Base::Ref) => break None,
                None => {
                    let end = self
                        .index
                        .by_offset
                        .get(k + 1)
                        .map_or(self.index.data_end, |e| e.offset);
                    break Some(Ratio {
                        deflated: end.saturating_sub(entry.offset + header.len),
                        inflated: header.size,
                    });
                }
            }
        };
        for k in path {
            self.memo.insert(k, found);
        }
        Ok(found)
    }
}

/// The result size a delta's data declares (its second varint), from its first bytes (a
/// dynamic Huffman block's tables come first, so the bytes are fed a chunk at a time until the
/// two varints are out).
fn delta_result_size(r: &mut impl Read, data_len: u64) -> std::io::Result<u64> {
    let mut z = flate2::Decompress::new(true);
    let mut out = [0u8; 24];
    let mut chunk = [0u8; 256];
    let mut read = 0u64;
    while read < data_len {
        let n = (data_len - read).min(chunk.len() as u64) as usize;
        r.read_exact(&mut chunk[..n])?;
        read += n as u64;
        let mut fed = 0;
        while fed < n && (z.total_out() as usize) < out.len() {
            let before = z.total_in();
            let done = z.total_out() as usize;
            let status = z
                .decompress(
                    &chunk[fed..n],
                    &mut out[done..],
                    flate2::FlushDecompress::Sync,
                )
                .map_err(std::io::Error::other)?;
            fed += (z.total_in() - before) as usize;
            if status == flate2::Status::StreamEnd || z.total_in() == before {
                break;
            }
        }
        if let Some(size) = second_varint(&out[..z.total_out() as usize]) {
            return Ok(size);
        }
    }
    Err(std::io::Error::other("a delta too short to name its size"))
}

/// The second of the varints at the start of `bytes`, once both are complete.
fn second_varint(bytes: &[u8]) -> Option<u64> {
    let mut it = bytes.iter();
    let mut next = || -> Option<u64> {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let b = *it.next()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 || shift > 56 {
                return Some(v);
            }
            shift += 7;
        }
    };
    next().and_then(|_base| next())
}

//! The export pack, made by copying: every reachable object's compressed entry is copied out
//! of the repository's packs (deltas kept; an offset delta's distance rewritten), and the
//! `.idx` is written from the offsets and CRCs already known. An object whose delta base is
//! not exported is rebased on an exported entry of its chain (`redelta`) or, like a loose
//! object, written whole. libgit2's packbuilder would re-deltify everything instead (134 s and
//! 812 MiB on git.git).

mod entries;
mod estimate;
mod idx;
mod redelta;
pub(crate) mod writer;

pub use estimate::{estimate_export_pack, PackEstimate};

use crate::{from_git, git_err, io_err, Phase, Progress};
use idx::PackIndex;
use procoder_manifest::{Failure, Result};
use std::collections::HashSet;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use writer::{PackWriter, OBJ_OFS_DELTA, OBJ_REF_DELTA};

/// A pack and its index written for an export.
#[derive(Debug, Clone)]
pub struct ExportPack {
    /// `pack-<hash>.pack`
    pub pack: PathBuf,
    /// `pack-<hash>.idx`
    pub idx: PathBuf,
    /// Objects in the pack.
    pub objects: usize,
    /// Of those, entries copied as they were (deltas included).
    pub copied: usize,
    /// Of those, objects whose base was not exported, written against an exported entry of
    /// their chain (as a delta, or whole when the delta was not smaller than half).
    pub rebased: usize,
}

/// Where [`write_export_pack`] writes the pack into `dir` before naming it.
pub fn pack_in_progress(dir: &Path) -> PathBuf {
    dir.join("tmp-export.pack")
}

/// Packs `objects` (what [`reachable`](crate::reachable) found) into `dir`, copying pack
/// entries where it can. Which objects to export is the walk's to say, with its depth limit
/// and shallow commits; this only packs them. `on_disk` is told, as the pack is written (at
/// [`pack_in_progress`]), how many of its bytes are in the file, the last call with its whole
/// length.
pub fn write_export_pack(
    repo: &git2::Repository,
    objects: HashSet<git2::Oid>,
    dir: &Path,
    progress: &mut dyn Progress,
    on_disk: &mut dyn FnMut(u64),
) -> Result<ExportPack> {
    // `remaining` starts as every object to export; each is taken by the first pack holding
    // it, and what is left at the end (loose objects) is written whole.
    let mut remaining = objects;
    let count = u32::try_from(remaining.len())
        .map_err(|e| Failure::internal("too many objects for one pack", e))?;
    let mut plans: Vec<(PathBuf, PackIndex, Vec<bool>)> = Vec::new();
    for (pack_path, index) in source_packs(repo)? {
        let take: Vec<bool> = index
            .by_offset
            .iter()
            .map(|e| remaining.remove(&e.oid))
            .collect();
        if take.iter().any(|&t| t) {
            plans.push((pack_path, index, take));
        }
    }

    std::fs::create_dir_all(dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
    let tmp_path = pack_in_progress(dir);
    let file = std::fs::File::create(&tmp_path).map_err(io_err("cannot create the export pack"))?;
    let mut out = PackWriter::new(BufWriter::with_capacity(1 << 20, file), count)
        .map_err(io_err("cannot write the export pack"))?;
    let odb = crate::odb(repo)?;
    let mut copied = 0usize;
    let mut rebased = 0usize;
    let odb_sizes = &odb;
    // Bytes to copy, known from the source indexes; loose objects add a little on top.
    let planned: u64 = plans
        .iter()
        .map(|(_, index, take)| {
            let ends = index.by_offset.iter().skip(1).map(|e| e.offset);
            let ends = ends.chain(std::iter::once(index.data_end));
            index
                .by_offset
                .iter()
                .zip(ends)
                .zip(take)
                .filter(|(_, &t)| t)
                .map(|((e, end), _)| end.saturating_sub(e.offset))
                .sum::<u64>()
        })
        .sum();
    // Loose objects are written whole: their inflated size bounds what they add.
    let loose: u64 = remaining
        .iter()
        .filter_map(|oid| odb_sizes.read_header(*oid).ok())
        .map(|(size, _)| size as u64)
        .sum();
    let planned = planned + loose;
    progress.phase(Phase::Exporting, Some(planned));

    for (pack_path, index, take) in &plans {
        let mut reader = entries::Entries::open(pack_path, index, 1 << 20)?;
        let mut chains = redelta::Chains::new(pack_path, index)
            .map_err(io_err(format!("cannot open {}", pack_path.display())))?;
        // New offset of each entry of this pack once written: an offset delta may then point at it.
        let mut new_offset: Vec<Option<u64>> = vec![None; index.by_offset.len()];
        for (k, entry) in index.by_offset.iter().enumerate() {
            if !take[k] {
                continue;
            }
            let entries::At { header, data: len } = reader.header(k)?;
            let base_at = match header.base {
                // Offset deltas are kept when their base was written from this pack; ref deltas
                // (rare outside thin packs) are always stored whole.
                Some(Base::Offset(at)) => new_offset[at].map(Some),
                Some(Base::Ref) => None,
                None => Some(None),
            };
            let start = match (base_at, &header.base) {
                (None, Some(Base::Offset(at))) => {
                    let written = |k: usize| new_offset[k].is_some();
                    let found = chains
                        .nearest(*at, &written)
                        .map_err(io_err(format!("cannot read {}", pack_path.display())))?;
                    let base = found.and_then(|(k, _)| {
                        new_offset[k].map(|offset| (index.by_offset[k].oid, offset))
                    });
                    if base.is_some() {
                        rebased += 1;
                    }
                    write_delta_or_whole(&mut out, &odb, entry.oid, base)?
                }
                (None, _) => write_whole(&mut out, &odb, entry.oid)?,
                (Some(base), _) => {
                    let start = out.begin();
                    let distance = base.map(|b| start - b);
                    let kind = if base.is_some() {
                        OBJ_OFS_DELTA
                    } else {
                        header.kind
                    };
                    out.header(kind, header.size, distance)
                        .map_err(io_err("cannot write the export pack"))?;
                    copy_exact(&mut reader, &mut out, len)
                        .map_err(io_err(format!("cannot copy from {}", pack_path.display())))?;
                    out.end(*from_git(entry.oid).as_bytes(), start);
                    copied += 1;
                    start
                }
            };
            new_offset[k] = Some(start);
            if out.entries.len() % 256 == 0 {
                progress.advance(out.offset().min(planned));
                on_disk(out.on_disk());
            }
        }
    }
    // Loose objects and objects of packs we cannot read, in id order: the set's own order
    // changes from run to run, and the same repository must give the same package bytes.
    let mut remaining: Vec<git2::Oid> = remaining.into_iter().collect();
    remaining.sort_unstable();
    for oid in remaining {
        write_whole(&mut out, &odb, oid)?;
    }
    progress.advance(out.offset().min(planned));
    let length = out.offset() + 20;
    let (sum, entries, file) = out
        .finish()
        .map_err(io_err("cannot finish the export pack"))?;
    file.into_inner()
        .map_err(|e| Failure::internal("cannot flush the export pack", e.into_error()))?
        .sync_all()
        .map_err(io_err("cannot sync the export pack"))?;
    on_disk(length);
    let name: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    let pack = dir.join(format!("pack-{name}.pack"));
    let idx = dir.join(format!("pack-{name}.idx"));
    std::fs::rename(&tmp_path, &pack).map_err(io_err("cannot name the export pack"))?;
    let mut idx_file = BufWriter::new(
        std::fs::File::create(&idx).map_err(io_err("cannot create the export index"))?,
    );
    let objects = entries.len();
    writer::write_idx(&mut idx_file, entries, &sum)
        .and_then(|()| idx_file.flush())
        .map_err(io_err("cannot write the export index"))?;
    Ok(ExportPack {
        pack,
        idx,
        objects,
        copied,
        rebased,
    })
}

/// Packs of the repository and of its alternates, each with a readable v2 index.
fn source_packs(repo: &git2::Repository) -> Result<Vec<(PathBuf, PackIndex)>> {
    let mut dirs = vec![repo.commondir().join("objects")];
    let mut i = 0;
    while i < dirs.len() && dirs.len() < 16 {
        if let Ok(text) = std::fs::read_to_string(dirs[i].join("info").join("alternates")) {
            for line in text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let p = Path::new(line);
                let alt = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    dirs[i].join(p)
                };
                if !dirs.contains(&alt) {
                    dirs.push(alt);
                }
            }
        }
        i += 1;
    }
    let mut packs = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("pack")) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pack"))
            .collect();
        names.sort();
        for pack in names {
            let Ok(meta) = std::fs::metadata(&pack) else {
                continue;
            };
            if let Ok(Some(index)) = PackIndex::read(&pack.with_extension("idx"), meta.len()) {
                packs.push((pack, index));
            }
        }
    }
    Ok(packs)
}

enum Base {
    /// Index (in offset order) of the base entry in the same pack.
    Offset(usize),
    Ref,
}

struct EntryHeader {
    kind: u8,
    size: u64,
    len: u64,
    base: Option<Base>,
}

/// Parses an entry header (type, inflated size, delta base) at `offset`.
fn read_entry_header(
    r: &mut impl Read,
    index: &PackIndex,
    offset: u64,
) -> std::io::Result<EntryHeader> {
    let mut byte = [0u8; 1];
    r.read_exact(&mut byte)?;
    let mut len = 1u64;
    let kind = (byte[0] >> 4) & 7;
    let mut size = u64::from(byte[0] & 0x0f);
    let mut shift = 4;
    while byte[0] & 0x80 != 0 {
        r.read_exact(&mut byte)?;
        len += 1;
        if shift > 57 {
            return Err(std::io::Error::other("pack entry size overflows"));
        }
        size |= u64::from(byte[0] & 0x7f) << shift;
        shift += 7;
    }
    let base = match kind {
        OBJ_OFS_DELTA => {
            r.read_exact(&mut byte)?;
            len += 1;
            let mut ofs = u64::from(byte[0] & 0x7f);
            while byte[0] & 0x80 != 0 {
                r.read_exact(&mut byte)?;
                len += 1;
                ofs = ((ofs + 1) << 7) | u64::from(byte[0] & 0x7f);
            }
            let base_offset = offset
                .checked_sub(ofs)
                .ok_or_else(|| std::io::Error::other("offset delta points before the pack"))?;
            let at = index
                .by_offset
                .binary_search_by_key(&base_offset, |e| e.offset)
                .map_err(|_| std::io::Error::other("offset delta base is not an entry"))?;
            Some(Base::Offset(at))
        }
        OBJ_REF_DELTA => {
            let mut oid = [0u8; 20];
            r.read_exact(&mut oid)?;
            len += 20;
            Some(Base::Ref)
        }
        _ => None,
    };
    Ok(EntryHeader {
        kind,
        size,
        len,
        base,
    })
}

fn copy_exact<W: Write>(
    r: &mut impl Read,
    out: &mut PackWriter<W>,
    mut len: u64,
) -> std::io::Result<()> {
    let mut buf = [0u8; 64 * 1024];
    while len > 0 {
        let n = (len as usize).min(buf.len());
        r.read_exact(&mut buf[..n])?;
        out.data(&buf[..n])?;
        len -= n as u64;
    }
    Ok(())
}

/// The zlib level of objects written whole and of rebased deltas (see `deflate`).
pub(crate) const WHOLE_LEVEL: u32 = 4;

/// Writes an object whole (its inflated content, deflated again); returns its offset.
fn write_whole<W: Write>(
    out: &mut PackWriter<W>,
    odb: &git2::Odb<'_>,
    id: git2::Oid,
) -> Result<u64> {
    write_delta_or_whole(out, odb, id, None)
}

/// Writes an object as a delta against `base` (an entry already written: its id and offset)
/// when one is smaller than half the object, as git's pack-objects asks, else whole; returns
/// its offset.
fn write_delta_or_whole<W: Write>(
    out: &mut PackWriter<W>,
    odb: &git2::Odb<'_>,
    id: git2::Oid,
    base: Option<(git2::Oid, u64)>,
) -> Result<u64> {
    let obj = odb.read(id).map_err(git_err(format!("cannot read {id}")))?;
    if let Some((base_id, base_at)) = base.filter(|_| obj.len() as u64 <= redelta::MAX_SIZE) {
        let source = odb
            .read(base_id)
            .map_err(git_err(format!("cannot read {base_id}")))?;
        if source.kind() == obj.kind() {
            if let Some(delta) = crate::delta::encode(source.data(), obj.data(), obj.len() / 2) {
                let data = deflate(&delta)?;
                let start = out.begin();
                out.header(OBJ_OFS_DELTA, delta.len() as u64, Some(start - base_at))
                    .and_then(|()| out.data(&data))
                    .map_err(io_err("cannot write the export pack"))?;
                out.end(*from_git(id).as_bytes(), start);
                return Ok(start);
            }
        }
    }
    let kind = match obj.kind() {
        git2::ObjectType::Commit => 1,
        git2::ObjectType::Tree => 2,
        git2::ObjectType::Blob => 3,
        git2::ObjectType::Tag => 4,
        other => {
            return Err(Failure::internal(
                format!("object {id} has type {other:?}"),
                std::io::Error::other("bad type"),
            ))
        }
    };
    let data = deflate(obj.data())?;
    let start = out.begin();
    out.header(kind, obj.len() as u64, None)
        .and_then(|()| out.data(&data))
        .map_err(io_err("cannot write the export pack"))?;
    out.end(*from_git(id).as_bytes(), start);
    Ok(start)
}

/// Deflates an entry's content or delta.
fn deflate(bytes: &[u8]) -> Result<Vec<u8>> {
    // Level 4, not zlib's default 6: a --depth export writes many objects whole (their delta
    // bases are cut off) and deflate was 79% of its time. git.git with --depth 1 (76,234
    // objects): level 6 took 19.3 s for 289 MB, level 4 11.9 s for 297 MB, level 1 10.0 s for
    // 323 MB. A full export writes few objects whole and does not change.
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(bytes.len() / 2 + 64),
        flate2::Compression::new(WHOLE_LEVEL),
    );
    z.write_all(bytes)
        .map_err(io_err("cannot compress an object"))?;
    z.finish().map_err(io_err("cannot compress an object"))
}

//! Writing a v2 bundle whose pack is thin and exact, as `git bundle create` writes them and
//! better: the objects are exactly those reachable from the refs and not from the
//! prerequisites' trees (a renamed directory ships its new trees, not its unchanged blobs),
//! and each new blob or tree may be a delta against the prerequisite's object at the same path
//! (which the receiver has) or against the previous version of that path in this pack.
//! libgit2's packbuilder can write neither thin packs (#5367) nor that exact list.

use crate::base_trees::BaseTrees;
use crate::delta;
use crate::header::prerequisite_of;
use crate::lex::{self, Kind};
use crate::packcopy::writer::PackWriter;
use crate::{from_git, git_err, io_err, BundleHeader, Phase, Progress};
use procoder_manifest::{Failure, Result};
use std::collections::{HashMap, HashSet};
use std::io::Write;

/// What a written bundle holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleStats {
    /// Objects in the pack.
    pub objects: usize,
    /// Of those, stored as deltas.
    pub deltas: usize,
    /// Bytes written, header included.
    pub bytes: u64,
}

/// Longest delta chain we build (git's default `pack.depth`).
const MAX_DEPTH: u32 = 50;
/// Objects larger than this are stored whole: delta search would cost more than it saves.
const MAX_DELTA_SOURCE: usize = 64 << 20;

/// Writes a bundle advertising `refs` (name, tip) for a receiver that has `have` (the
/// prerequisites, whose trees it holds). `git bundle verify` and `git fetch` accept the result.
pub fn write_bundle<W: Write + ?Sized>(
    repo: &git2::Repository,
    have: &BaseTrees,
    refs: &[(String, git2::Oid)],
    out: &mut W,
    progress: &mut dyn Progress,
) -> Result<BundleStats> {
    let odb = crate::odb(repo)?;
    let mut header = BundleHeader {
        version: crate::BundleVersion::V2,
        prerequisites: Vec::new(),
        refs: Vec::new(),
    };
    let prerequisites = have.commits();
    for &oid in prerequisites {
        let commit = repo
            .find_commit(oid)
            .map_err(git_err(format!("prerequisite {oid} is not a commit")))?;
        header.prerequisites.push(prerequisite_of(&commit));
    }
    header.refs = refs
        .iter()
        .map(|(name, oid)| (name.clone(), from_git(*oid)))
        .collect();

    progress.phase(Phase::Counting, None);
    let list = list_objects(repo, &odb, prerequisites, refs, have)?;
    let mut counting = Counter {
        inner: out,
        bytes: 0,
    };
    header
        .write(&mut counting)
        .map_err(io_err("cannot write the bundle header"))?;
    progress.phase(Phase::Writing, Some(list.len() as u64));
    let count = u32::try_from(list.len())
        .map_err(|e| Failure::internal("too many objects for one pack", e))?;
    let mut pack =
        PackWriter::new(&mut counting, count).map_err(io_err("cannot write the bundle pack"))?;
    let mut last_at_path: HashMap<Vec<u8>, (git2::Oid, u32)> = HashMap::new();
    // Offsets of entries written so far: a delta against one of them is an offset delta
    // (a distance of a few bytes instead of a 20-byte id).
    let mut offsets: HashMap<git2::Oid, u64> = HashMap::new();
    let mut last_commit: Option<(git2::Oid, u32)> = None;
    let mut deltas = 0;
    let mut reads = Reads::new(&odb);
    for (n, item) in list.iter().enumerate() {
        let obj = reads
            .get(item.oid)
            .map_err(git_err(format!("cannot read {}", item.oid)))?;
        let (kind, data) = (obj.0, obj.1.as_slice());
        let mut bases: Vec<(git2::Oid, u32)> = Vec::new();
        // Commits delta well against the commit before them (same headers, similar messages),
        // as git's pack-objects finds.
        if kind == git2::ObjectType::Commit {
            bases.extend(last_commit);
        }
        if let Some(path) = &item.path {
            if let Some(&prev) = last_at_path.get(path) {
                bases.push(prev);
            }
            if let Some((oid, kind)) = have.at_path(path) {
                if kind == Some(obj.0) {
                    bases.push((oid, 0));
                }
            }
        }
        let mut best: Option<(git2::Oid, u32, Vec<u8>)> = None;
        if data.len() <= MAX_DELTA_SOURCE {
            for (base, depth) in bases {
                if depth >= MAX_DEPTH || base == item.oid {
                    continue;
                }
                let Ok(source) = reads.get(base) else {
                    continue;
                };
                if source.0 != kind || source.1.len() > MAX_DELTA_SOURCE {
                    continue;
                }
                // Worth it only when clearly smaller than the object itself (git uses half).
                let limit = best.as_ref().map_or(data.len() / 2, |b| b.2.len());
                if let Some(d) = delta::encode(&source.1, data, limit) {
                    best = Some((base, depth + 1, d));
                }
            }
        }
        let start = pack.begin();
        let io = |e| Failure::internal("cannot write the bundle pack", e);
        let depth = match best {
            Some((base, depth, d)) => {
                match offsets.get(&base) {
                    Some(&at) => pack
                        .header(
                            crate::packcopy::writer::OBJ_OFS_DELTA,
                            d.len() as u64,
                            Some(start - at),
                        )
                        .map_err(io)?,
                    None => pack
                        .ref_delta_header(d.len() as u64, from_git(base).as_bytes())
                        .map_err(io)?,
                }
                pack.data(&deflate(&d)?).map_err(io)?;
                deltas += 1;
                depth
            }
            None => {
                pack.header(type_number(kind)?, data.len() as u64, None)
                    .map_err(io)?;
                pack.data(&deflate(data)?).map_err(io)?;
                0
            }
        };
        pack.end(*from_git(item.oid).as_bytes(), start);
        offsets.insert(item.oid, start);
        if kind == git2::ObjectType::Commit {
            last_commit = Some((item.oid, depth));
        }
        if let Some(path) = &item.path {
            last_at_path.insert(path.clone(), (item.oid, depth));
        }
        progress.advance(n as u64 + 1);
    }
    pack.finish()
        .map_err(io_err("cannot finish the bundle pack"))?;
    counting
        .flush()
        .map_err(io_err("cannot write the bundle"))?;
    Ok(BundleStats {
        objects: list.len(),
        deltas,
        bytes: counting.bytes,
    })
}

/// Trees and commits read for the bundle, kept for their next use as a delta base: each new
/// root tree of a 30-commit return is compared with the base's (a deep delta chain in the
/// package's pack) and with the one before it. Blobs are read each time (a large one would
/// stay in memory for nothing), and so is everything past `BUDGET`.
struct Reads<'o> {
    odb: &'o git2::Odb<'o>,
    kept: HashMap<git2::Oid, std::rc::Rc<(git2::ObjectType, Vec<u8>)>>,
    bytes: usize,
}

impl<'o> Reads<'o> {
    const BUDGET: usize = 8 << 20;

    fn new(odb: &'o git2::Odb<'o>) -> Self {
        Self {
            odb,
            kept: HashMap::new(),
            bytes: 0,
        }
    }

    fn get(
        &mut self,
        oid: git2::Oid,
    ) -> std::result::Result<std::rc::Rc<(git2::ObjectType, Vec<u8>)>, git2::Error> {
        if let Some(obj) = self.kept.get(&oid) {
            return Ok(obj.clone());
        }
        let raw = self.odb.read(oid)?;
        let obj = std::rc::Rc::new((raw.kind(), raw.data().to_vec()));
        if obj.0 != git2::ObjectType::Blob && self.bytes + obj.1.len() <= Self::BUDGET {
            self.bytes += obj.1.len();
            self.kept.insert(oid, obj.clone());
        }
        Ok(obj)
    }
}

struct Item {
    oid: git2::Oid,
    /// Where the object sits in its commit's tree (None for commits and tags).
    path: Option<Vec<u8>>,
}

/// New commits oldest first, each followed by the trees and blobs it introduces.
fn list_objects(
    repo: &git2::Repository,
    odb: &git2::Odb<'_>,
    prerequisites: &[git2::Oid],
    refs: &[(String, git2::Oid)],
    have: &BaseTrees,
) -> Result<Vec<Item>> {
    let mut walk = repo
        .revwalk()
        .map_err(git_err("cannot start a revision walk"))?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .map_err(git_err("cannot sort the walk"))?;
    for (name, oid) in refs {
        walk.push(*oid)
            .map_err(git_err(format!("cannot walk from {name}")))?;
    }
    for &oid in prerequisites {
        walk.hide(oid)
            .map_err(git_err(format!("cannot hide {oid}")))?;
    }
    let mut seen: HashSet<git2::Oid> = HashSet::new();
    let mut list = Vec::new();
    for commit in walk {
        let commit = commit.map_err(git_err("cannot walk the new commits"))?;
        if !seen.insert(commit) {
            continue;
        }
        list.push(Item {
            oid: commit,
            path: None,
        });
        let tree = repo
            .find_commit(commit)
            .map_err(git_err(format!("cannot read commit {commit}")))?
            .tree_id();
        let mut stack = vec![(tree, Vec::new())];
        while let Some((tree, path)) = stack.pop() {
            if seen.contains(&tree) || have.holds(tree, &path) {
                continue; // the receiver has this tree, hence everything below it
            }
            seen.insert(tree);
            list.push(Item {
                oid: tree,
                path: Some(path.clone()),
            });
            let obj = odb
                .read(tree)
                .map_err(git_err(format!("cannot read tree {tree}")))?;
            for entry in lex::tree_entries(obj.data()) {
                let entry = entry.map_err(|_| truncated(tree))?;
                let child = join(&path, entry.name);
                match entry.kind() {
                    Kind::Tree => stack.push((entry.oid, child)),
                    Kind::Blob if !seen.contains(&entry.oid) && !have.holds(entry.oid, &child) => {
                        seen.insert(entry.oid);
                        list.push(Item {
                            oid: entry.oid,
                            path: Some(child),
                        })
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(list)
}

/// A tree of the sandbox's repository: a truncated one means the repository is corrupt.
pub(crate) fn truncated(tree: git2::Oid) -> Failure {
    Failure::internal(
        format!("tree {tree} is truncated"),
        std::io::Error::other("corrupt tree"),
    )
}

/// `dir/name`, or `name` at the root.
fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + name.len() + 1);
    if !dir.is_empty() {
        p.extend_from_slice(dir);
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

fn type_number(kind: git2::ObjectType) -> Result<u8> {
    match kind {
        git2::ObjectType::Commit => Ok(1),
        git2::ObjectType::Tree => Ok(2),
        git2::ObjectType::Blob => Ok(3),
        git2::ObjectType::Tag => Ok(4),
        other => Err(Failure::internal(
            format!("cannot pack an object of type {other:?}"),
            std::io::Error::other("bad type"),
        )),
    }
}

fn deflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        flate2::Compression::default(),
    );
    z.write_all(data)
        .map_err(io_err("cannot compress an object"))?;
    z.finish().map_err(io_err("cannot compress an object"))
}

struct Counter<'a, W: Write + ?Sized> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write + ?Sized> Write for Counter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

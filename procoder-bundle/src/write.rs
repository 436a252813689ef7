//! Writing a v2 bundle: the objects reachable from the refs and not from the prerequisites.

use crate::header::prerequisite_of;
use crate::{from_git, git_err, io_err, BundleHeader, Phase, Progress};
use procoder_manifest::{Failure, Result};
use std::io::Write;

/// What a written bundle holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleStats {
    /// Objects in the pack.
    pub objects: usize,
    /// Bytes written, header included.
    pub bytes: u64,
}

/// Writes a bundle advertising `refs` (name, tip) that assumes the receiver has `prerequisites`.
/// `git bundle verify` and `git fetch` accept the result.
pub fn write_bundle(
    repo: &git2::Repository,
    prerequisites: &[git2::Oid],
    refs: &[(String, git2::Oid)],
    out: &mut impl Write,
    progress: &mut dyn Progress,
) -> Result<BundleStats> {
    let mut header = BundleHeader {
        version: crate::BundleVersion::V2,
        prerequisites: Vec::new(),
        refs: Vec::new(),
    };
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
    let mut walk = repo
        .revwalk()
        .map_err(git_err("cannot start a revision walk"))?;
    for (name, oid) in refs {
        walk.push(*oid)
            .map_err(git_err(format!("cannot walk from {name}")))?;
    }
    for &oid in prerequisites {
        walk.hide(oid)
            .map_err(git_err(format!("cannot hide {oid}")))?;
    }
    let mut pb = repo
        .packbuilder()
        .map_err(git_err("cannot create a pack builder"))?;
    // insert_walk also marks the prerequisites' trees uninteresting, so unchanged blobs stay out.
    pb.insert_walk(&mut walk)
        .map_err(git_err("cannot collect the objects to send"))?;
    let objects = pb.object_count();

    let mut counting = Counter {
        inner: out,
        bytes: 0,
    };
    header
        .write(&mut counting)
        .map_err(io_err("cannot write the bundle header"))?;
    progress.phase(Phase::Writing, None);
    let mut io_error = None;
    pb.foreach(|chunk| match counting.write_all(chunk) {
        Ok(()) => true,
        Err(e) => {
            io_error = Some(e);
            false
        }
    })
    .map_err(|e| match io_error.take() {
        Some(io) => Failure::internal("cannot write the bundle pack", io),
        None => Failure::internal("cannot build the bundle pack", e),
    })?;
    progress.advance(counting.bytes);
    counting
        .flush()
        .map_err(io_err("cannot write the bundle"))?;
    Ok(BundleStats {
        objects,
        bytes: counting.bytes,
    })
}

struct Counter<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for Counter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

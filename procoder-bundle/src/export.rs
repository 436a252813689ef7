//! The export pack of a task package: every object reachable from the local heads and tags.

use crate::{git_err, io_err, Phase, Progress};
use procoder_manifest::{ErrorCode, Failure, Result};
use std::path::{Path, PathBuf};

/// A pack and its index written for an export.
#[derive(Debug, Clone)]
pub struct ExportPack {
    /// `pack-<hash>.pack`
    pub pack: PathBuf,
    /// `pack-<hash>.idx`
    pub idx: PathBuf,
    /// Objects in the pack.
    pub objects: usize,
}

/// Packs every object reachable from `tips` (commits, or annotated tags whose chains end
/// anywhere) into `dir`. Nothing else reaches the pack: no unreachable objects, no stash,
/// no objects only remotes or reflogs know.
pub fn write_export_pack(
    repo: &git2::Repository,
    tips: &[git2::Oid],
    dir: &Path,
    progress: &mut dyn Progress,
) -> Result<ExportPack> {
    progress.phase(Phase::Counting, None);
    let mut pb = repo
        .packbuilder()
        .map_err(git_err("cannot create a pack builder"))?;
    let mut walk = repo
        .revwalk()
        .map_err(git_err("cannot start a revision walk"))?;
    for &tip in tips {
        let mut object = repo
            .find_object(tip, None)
            .map_err(git_err(format!("cannot read {tip}")))?;
        // Follow tag chains: each tag object travels, and so does what it finally names.
        while let Some(tag) = object.as_tag() {
            pb.insert_object(tag.id(), None)
                .map_err(git_err(format!("cannot pack tag {}", tag.id())))?;
            object = tag.target().map_err(git_err(format!(
                "cannot read the target of tag {}",
                tag.id()
            )))?;
        }
        match object.kind() {
            Some(git2::ObjectType::Commit) => walk
                .push(object.id())
                .map_err(git_err(format!("cannot walk {}", object.id())))?,
            _ => pb
                .insert_recursive(object.id(), None)
                .map_err(git_err(format!("cannot pack {}", object.id())))?,
        }
    }
    pb.insert_walk(&mut walk)
        .map_err(git_err("cannot collect the objects to export"))?;
    let objects = pb.object_count();
    progress.phase(Phase::Writing, Some(objects as u64));
    std::fs::create_dir_all(dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
    pb.write(dir, 0o444)
        .map_err(git_err("cannot write the export pack"))?;
    let name = pb
        .name()
        .ok()
        .flatten()
        .ok_or_else(|| {
            Failure::new(
                ErrorCode::Internal,
                "the pack builder wrote a pack without a name",
            )
        })?
        .to_owned();
    progress.advance(objects as u64);
    Ok(ExportPack {
        pack: dir.join(format!("pack-{name}.pack")),
        idx: dir.join(format!("pack-{name}.idx")),
        objects,
    })
}

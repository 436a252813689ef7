//! Which files the archive takes from disk besides HEAD's, and which of HEAD's differ from it:
//! read from the status git would print (`git status --untracked-files=all`), ignored files
//! left out. The index is compared too, because the archive's index is HEAD's: a staged change
//! is, in the archive, a change of the work tree.

use procoder_manifest::{Failure, Result};
use std::collections::HashSet;

/// What the status says.
#[derive(Debug, Default)]
pub struct Selection {
    /// Paths not in HEAD that are on disk and not ignored (untracked, or staged as new).
    pub extra: Vec<Vec<u8>>,
    /// Paths of HEAD with any change, staged or not (deleted, modified, mode or type changed).
    pub changed: HashSet<Vec<u8>>,
    /// Untracked folders that are repositories of their own: git lists them, not their
    /// files, and neither does the archive.
    pub nested: Vec<String>,
}

/// Reads the status of `repo` without writing anything (libgit2 refreshes no index here).
pub fn select(repo: &git2::Repository) -> Result<Selection> {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true)
        .renames_head_to_index(false)
        .include_unmodified(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(|e| Failure::internal("cannot read the work tree status", e))?;
    let mut out = Selection::default();
    let in_head = git2::Status::INDEX_MODIFIED
        | git2::Status::INDEX_DELETED
        | git2::Status::INDEX_TYPECHANGE
        | git2::Status::WT_MODIFIED
        | git2::Status::WT_DELETED
        | git2::Status::WT_TYPECHANGE;
    for entry in statuses.iter() {
        let path = entry.path_bytes().to_vec();
        let s = entry.status();
        if s.intersects(git2::Status::WT_NEW | git2::Status::INDEX_NEW)
            && !s.contains(git2::Status::WT_DELETED)
        {
            if path.ends_with(b"/") {
                out.nested.push(String::from_utf8_lossy(&path).into_owned());
                continue;
            }
            out.extra.push(path.clone());
        }
        if s.intersects(in_head) || s.contains(git2::Status::CONFLICTED) {
            out.changed.insert(path);
        }
    }
    Ok(out)
}

/// `UNSUPPORTED_PATH` for names that are not UTF-8, as prepare refuses them: the sandbox's
/// extractors cannot write them back.
pub fn check_names<P: AsRef<[u8]>>(paths: impl IntoIterator<Item = P>) -> Result<()> {
    crate::prepare::utf8_names(
        paths,
        "in the work tree",
        "rename them to UTF-8 names (git mv <old> <new> for tracked files), then run procoder archive again",
    )
}

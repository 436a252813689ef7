//! The work tree must be clean: uncommitted work would silently stay behind in the sandbox.

use crate::RERUN;
use procoder_manifest::{ErrorCode, Exchange, Failure, Result};

/// Refuses staged, unstaged and untracked (not ignored) changes, listing each path.
pub fn check_clean(repo: &git2::Repository, exchange: &Exchange) -> Result<()> {
    let mut opts = git2::StatusOptions::new();
    // The exported index has no stat data (it cannot know the extracted files' inodes), so
    // the first check hashes every file; writing the refreshed index back, as `git status`
    // does, makes every later run a stat per file; libgit2 does not write it by default.
    opts.update_index(true);
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(|e| Failure::internal("cannot read the work tree status", e))?;
    let mut lines = Vec::new();
    for entry in statuses.iter() {
        let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
        let s = entry.status();
        let tag = if s.is_wt_new() && !s.is_index_new() {
            "untracked"
        } else if s.intersects(
            git2::Status::INDEX_NEW
                | git2::Status::INDEX_MODIFIED
                | git2::Status::INDEX_DELETED
                | git2::Status::INDEX_RENAMED
                | git2::Status::INDEX_TYPECHANGE,
        ) {
            "staged"
        } else if s.is_conflicted() {
            "conflicted"
        } else {
            "modified"
        };
        lines.push(format!("{tag}: {path}"));
    }
    if lines.is_empty() {
        return Ok(());
    }
    let task = exchange.task.root_ref.trim_start_matches("refs/heads/");
    Err(Failure::new(ErrorCode::WorktreeDirty, format!("the work tree has {} uncommitted change(s)", lines.len()))
        .details(lines)
        .hint(format!("commit the work on {task} (git add -A && git commit -m \"<message>\") or discard it, {RERUN}")))
}

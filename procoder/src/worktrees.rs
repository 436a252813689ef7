//! The worktrees of the repository and the branch each has checked out. apply moves a
//! checked-out branch only under `--checkout`, and abort never deletes one; both ask here.

use crate::context::Context;
use procoder_manifest::{Failure, Result};
use std::path::PathBuf;

/// One worktree, with its own repository handle (its HEAD and index are its own).
pub struct Worktree {
    pub path: PathBuf,
    pub repo: git2::Repository,
}

impl Worktree {
    /// The branch checked out here, or `None` when HEAD is detached or unreadable.
    pub fn branch(&self) -> Option<String> {
        self.repo
            .find_reference("HEAD")
            .ok()?
            .symbolic_target_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// The main worktree and every linked one.
pub fn list(ctx: &Context) -> Result<Vec<Worktree>> {
    let mut out = Vec::new();
    let main = git2::Repository::open(ctx.repo.commondir())
        .map_err(|e| Failure::internal("cannot open the main worktree", e))?;
    if let Some(dir) = main.workdir() {
        out.push(Worktree {
            path: dir.to_path_buf(),
            repo: git2::Repository::open(dir)
                .map_err(|e| Failure::internal("cannot open the main worktree", e))?,
        });
    }
    if let Ok(names) = main.worktrees() {
        for name in names.iter().filter_map(|n| n.ok().flatten()) {
            if let Ok(wt) = main.find_worktree(name) {
                if let Ok(repo) = git2::Repository::open_from_worktree(&wt) {
                    out.push(Worktree {
                        path: wt.path().to_path_buf(),
                        repo,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Every branch checked out in some worktree.
pub fn checked_out_branches(ctx: &Context) -> Result<Vec<String>> {
    Ok(list(ctx)?.iter().filter_map(Worktree::branch).collect())
}

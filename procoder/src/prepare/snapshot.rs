//! `prepare --include-uncommitted`: the task starts from a commit of the work tree as it is
//! now, on top of HEAD. It is made as `git stash create` makes its commits: from a second
//! handle's in-memory index, reset to HEAD and updated from the disk (with git's filters and
//! `core.fileMode`), written as trees and a commit into the object store, and never written
//! back as the index. The user's branch, index, work tree and stash are not touched; the new
//! objects are unreachable again once the exchange is aborted, as a dropped stash's are.

use crate::archive::files;
use procoder_manifest::{count, ErrorCode, Failure, Result};

/// The snapshot commit and what it holds beyond HEAD.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub oid: git2::Oid,
    pub tree: git2::Oid,
    /// Paths of HEAD changed or deleted (staged or not).
    pub changed: usize,
    /// Paths not in HEAD: untracked (not ignored) or staged as new.
    pub added: usize,
}

/// A merge, rebase, cherry-pick or revert in progress, or a conflict in the index, is refused:
/// their state lives in the index and `.git`, which a snapshot of the files cannot carry.
fn refuse_in_progress(repo: &git2::Repository) -> Result<()> {
    let state = repo.state();
    if state != git2::RepositoryState::Clean {
        return Err(Failure::new(
            ErrorCode::WorktreeDirty,
            format!(
                "a {} is in progress; --include-uncommitted snapshots files, not that state",
                describe(state)
            ),
        )
        .hint("finish it (git commit, or git rebase --continue) or give it up (git merge --abort, git rebase --abort), then run procoder prepare again"));
    }
    let index = repo
        .index()
        .map_err(|e| Failure::internal("cannot read the index", e))?;
    if index.has_conflicts() {
        let paths: Vec<String> = index
            .conflicts()
            .map_err(|e| Failure::internal("cannot read the index conflicts", e))?
            .filter_map(|c| c.ok())
            .filter_map(|c| c.our.or(c.their).or(c.ancestor))
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect();
        return Err(Failure::new(
            ErrorCode::WorktreeDirty,
            format!("the index has {}", count(paths.len(), "conflicted path")),
        )
        .details(paths.into_iter().map(|p| format!("conflict: {p}")))
        .hint("resolve them (edit, then git add), then run procoder prepare again"));
    }
    Ok(())
}

fn describe(state: git2::RepositoryState) -> &'static str {
    use git2::RepositoryState::*;
    match state {
        Merge => "merge",
        Revert | RevertSequence => "revert",
        CherryPick | CherryPickSequence => "cherry-pick",
        Bisect => "bisect",
        Rebase | RebaseInteractive | RebaseMerge => "rebase",
        ApplyMailbox | ApplyMailboxOrRebase => "git am",
        Clean => "clean state",
    }
}

/// Makes the snapshot commit on `head` (on `branch`), or returns `None` when the work tree
/// has nothing HEAD lacks.
pub fn take(repo: &git2::Repository, head: git2::Oid, branch: &str) -> Result<Option<Snapshot>> {
    refuse_in_progress(repo)?;
    let selection = files::select(repo)?;
    if selection.extra.is_empty() && selection.changed.is_empty() {
        return Ok(None);
    }
    // Every path is checked before the first object is written.
    for path in selection.changed.iter().chain(&selection.extra) {
        bytes_path(path)?;
    }
    let internal = |what: &'static str| move |e: git2::Error| Failure::internal(what, e);
    // A second handle: its index is this function's own, and is dropped unwritten.
    let other =
        git2::Repository::open(repo.path()).map_err(internal("cannot reopen the repository"))?;
    let head_commit = other
        .find_commit(head)
        .map_err(internal("cannot read HEAD"))?;
    let head_tree = head_commit
        .tree()
        .map_err(internal("cannot read HEAD's tree"))?;
    let mut index = other.index().map_err(internal("cannot read the index"))?;
    index
        .read_tree(&head_tree)
        .map_err(internal("cannot reset the snapshot's index to HEAD"))?;
    let workdir = other
        .workdir()
        .ok_or_else(|| Failure::new(ErrorCode::NotGitRepo, "the repository has no work tree"))?
        .to_path_buf();
    let mut changed = 0;
    for path in &selection.changed {
        let p = bytes_path(path)?;
        let on_disk = std::fs::symlink_metadata(workdir.join(p)).ok();
        // A submodule's folder keeps HEAD's gitlink: its own commits are not the snapshot's.
        let gitlink = index.get_path(p, 0).is_some_and(|e| e.mode == 0o160000);
        if gitlink {
            continue;
        }
        match on_disk {
            Some(m) if !m.is_dir() => index
                .add_path(p)
                .map_err(internal("cannot add a changed file to the snapshot"))?,
            _ => index
                .remove_path(p)
                .map_err(internal("cannot remove a deleted file from the snapshot"))?,
        }
        changed += 1;
    }
    for path in &selection.extra {
        index
            .add_path(bytes_path(path)?)
            .map_err(internal("cannot add an untracked file to the snapshot"))?;
    }
    let tree = index
        .write_tree()
        .map_err(internal("cannot write the snapshot's tree"))?;
    let tree_obj = other
        .find_tree(tree)
        .map_err(internal("cannot read the snapshot's tree"))?;
    let sig = other
        .signature()
        .or_else(|_| git2::Signature::now("procoder", "procoder@localhost"))
        .map_err(internal("cannot make a signature"))?;
    let short = &branch.strip_prefix("refs/heads/").unwrap_or(branch);
    let message = format!(
        "procoder: snapshot of the uncommitted work on {short}\n\n\
         Taken by `procoder prepare --include-uncommitted` so the task starts from the work tree\n\
         as it was: {} of tracked files (staged or not) and {}, on top of {}.\n\
         The branch {short}, the index, the work tree and the stash were left as they were.\n",
        count(changed, "change"),
        count(selection.extra.len(), "untracked or newly staged file"),
        head
    );
    let oid = other
        .commit(None, &sig, &sig, &message, &tree_obj, &[&head_commit])
        .map_err(internal("cannot write the snapshot commit"))?;
    Ok(Some(Snapshot {
        oid,
        tree,
        changed,
        added: selection.extra.len(),
    }))
}

fn bytes_path(path: &[u8]) -> Result<&std::path::Path> {
    std::str::from_utf8(path)
        .map(std::path::Path::new)
        .map_err(|_| {
            Failure::new(
                ErrorCode::UnsupportedPath,
                format!(
                    "{:?} is not valid UTF-8, which the sandbox's unzip cannot recreate",
                    String::from_utf8_lossy(path)
                ),
            )
            .hint("rename it to a UTF-8 name, then run procoder prepare again")
        })
}

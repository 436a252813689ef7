//! prepare's refusals: a branch with a commit checked out, nothing uncommitted, nothing untracked.

use procoder_manifest::{count, ErrorCode, Failure, Result};

/// The checked-out branch and its commit.
pub struct Head {
    pub branch: String,
    pub oid: git2::Oid,
}

/// `UNBORN_HEAD` / `DETACHED_HEAD` unless HEAD is a branch with a commit.
pub fn head(repo: &git2::Repository) -> Result<Head> {
    if repo.head_detached().unwrap_or(false) {
        return Err(Failure::new(ErrorCode::DetachedHead, "HEAD is detached; procoder prepares from a branch")
            .hint("check out a branch (git switch <branch>, or git switch -c <new-branch>), then run procoder prepare again"));
    }
    let head = repo.head().map_err(|e| {
        if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound {
            Failure::new(ErrorCode::UnbornHead, "the current branch has no commits yet").hint("make a first commit (git add -A && git commit -m \"Initial commit\"), then run procoder prepare again")
        } else {
            Failure::internal("cannot read HEAD", e)
        }
    })?;
    let branch = String::from_utf8_lossy(head.name_bytes()).into_owned();
    let oid = head
        .target()
        .ok_or_else(|| Failure::new(ErrorCode::DetachedHead, "HEAD does not point at a commit"))?;
    Ok(Head { branch, oid })
}

/// `WORKTREE_DIRTY` for staged or unstaged changes (with the untracked files too, when there
/// are both), else `UNTRACKED_FILES_PRESENT`.
pub fn clean(repo: &git2::Repository) -> Result<()> {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(|e| Failure::internal("cannot read the work tree status", e))?;
    let mut dirty = Vec::new();
    let mut untracked = Vec::new();
    for entry in statuses.iter() {
        let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
        let s = entry.status();
        if s == git2::Status::WT_NEW {
            untracked.push(path);
        } else {
            let staged = s.intersects(
                git2::Status::INDEX_NEW
                    | git2::Status::INDEX_MODIFIED
                    | git2::Status::INDEX_DELETED
                    | git2::Status::INDEX_RENAMED
                    | git2::Status::INDEX_TYPECHANGE,
            );
            dirty.push(format!(
                "{}: {path}",
                if staged { "staged" } else { "modified" }
            ));
        }
    }
    if !dirty.is_empty() && !untracked.is_empty() {
        // Both at once, so one fix clears the way rather than one refusal per run.
        let message = format!(
            "the work tree has {} and {}",
            count(dirty.len(), "uncommitted change"),
            count(untracked.len(), "untracked file")
        );
        let mut details = dirty;
        details.extend(untracked.into_iter().map(|p| format!("untracked: {p}")));
        return Err(Failure::new(ErrorCode::WorktreeDirty, message)
            .details(details)
            .hint("commit them all (git add -A && git commit), or stash them all (git stash --include-untracked); untracked files may instead be deleted or listed in .gitignore; then run procoder prepare again. To hand the work over as it is: procoder prepare --include-uncommitted"));
    }
    if !dirty.is_empty() {
        return Err(Failure::new(
            ErrorCode::WorktreeDirty,
            format!(
                "the work tree has {}",
                count(dirty.len(), "uncommitted change")
            ),
        )
        .details(dirty)
        .hint("commit or stash them (git stash), then run procoder prepare again; or hand them over as they are: procoder prepare --include-uncommitted"));
    }
    if !untracked.is_empty() {
        return Err(Failure::new(
            ErrorCode::UntrackedFilesPresent,
            format!(
                "the work tree has {}",
                count(untracked.len(), "untracked file")
            ),
        )
        .details(untracked)
        .hint(
            "commit them, delete them, or list them in .gitignore, then run procoder prepare again; or hand them over as they are: procoder prepare --include-uncommitted",
        ));
    }
    Ok(())
}

/// `UNSUPPORTED_PATH` for names that are not UTF-8. A zip entry can carry any bytes, but the
/// sandbox's extractors cannot write them back: Debian's `unzip` 6.0 drops the invalid bytes
/// (`bad\xff` becomes `bad`) with or without the UTF-8 flag, with -U and -UU, in the C and C.UTF-8 locales
/// alike, and Python's `zipfile` decodes them as CP437. The sandbox would start dirty.
pub fn names(index: &git2::Index) -> Result<()> {
    utf8_names(
        index.iter().map(|e| e.path),
        "at HEAD",
        "rename them to UTF-8 names (git mv <old> <new> && git commit), then run procoder prepare again",
    )
}

/// `UNSUPPORTED_PATH` unless every one of `paths` is UTF-8; `place` says where they are.
pub(crate) fn utf8_names<P: AsRef<[u8]>>(
    paths: impl IntoIterator<Item = P>,
    place: &str,
    hint: &str,
) -> Result<()> {
    let bad: Vec<String> = paths
        .into_iter()
        .filter(|p| std::str::from_utf8(p.as_ref()).is_err())
        .map(|p| format!("{:?}", String::from_utf8_lossy(p.as_ref())))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        ErrorCode::UnsupportedPath,
        format!(
            "{} {place} {} not valid UTF-8, which the sandbox's unzip cannot recreate",
            count(bad.len(), "path"),
            if bad.len() == 1 { "is" } else { "are" }
        ),
    )
    .details(bad)
    .hint(hint))
}

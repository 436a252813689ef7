//! The work tree must be clean: uncommitted work would silently stay behind in the sandbox.

use crate::RERUN;
use procoder_manifest::{ErrorCode, Exchange, Failure, Result};

/// Refuses staged, unstaged and untracked (not ignored) changes, listing each path.
pub fn check_clean(repo: &git2::Repository, exchange: &Exchange) -> Result<()> {
    trust_exported_stat(repo)?;
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
        if s == git2::Status::WT_MODIFIED && as_checked_out(repo, entry.path_bytes()) {
            continue;
        }
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
    Err(Failure::new(ErrorCode::WorktreeDirty, format!("the work tree has {}", procoder_manifest::count(lines.len(), "uncommitted change")))
        .details(lines)
        .hint(format!("commit the work on {task} (git add -A && git commit -m \"<message>\") or discard it, {RERUN}")))
}

/// True when the file holds exactly what `git checkout` writes for its index entry. Such a file
/// is clean for git, which trusts the exported index's stat data, but libgit2 compares inode
/// numbers, re-hashes it, and a blob committed with CRLF under an explicit `text` attribute
/// then hashes differently: a bare WORKTREE_DIRTY that `git status` would not confirm.
fn as_checked_out(repo: &git2::Repository, path: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let rel = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
    let (Some(workdir), Ok(index)) = (repo.workdir(), repo.index()) else {
        return false;
    };
    let Some(entry) = index.get_path(rel, 0) else {
        return false;
    };
    if entry.mode != 0o100644 && entry.mode != 0o100755 {
        return false;
    }
    use std::os::unix::fs::PermissionsExt;
    let file = workdir.join(rel);
    let Ok(meta) = std::fs::symlink_metadata(&file) else {
        return false;
    };
    let exec = meta.permissions().mode() & 0o111 != 0;
    if !meta.is_file() || exec != (entry.mode == 0o100755) {
        return false;
    }
    let (Ok(blob), Ok(disk)) = (repo.find_blob(entry.id), std::fs::read(&file)) else {
        return false;
    };
    let flags = git2::AttrCheckFlags::FILE_THEN_INDEX;
    procoder_bundle::checkout::Conversion::lookup(repo, rel, flags)
        .is_ok_and(|c| *c.to_worktree(blob.content(), entry.id) == *disk)
}

/// `entry` with the stat data of `meta` (the file it describes), as `git update-index
/// --refresh` records it; git and libgit2 then trust the entry without hashing the file.
pub(crate) fn with_stat(mut entry: git2::IndexEntry, meta: &std::fs::Metadata) -> git2::IndexEntry {
    use std::os::unix::fs::MetadataExt;
    entry.mtime = git2::IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32);
    entry.ctime = git2::IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32);
    entry.dev = meta.dev() as u32;
    entry.ino = meta.ino() as u32;
    entry.uid = meta.uid();
    entry.gid = meta.gid();
    entry.file_size = meta.size() as u32;
    entry
}

/// Gives index entries still carrying the export's stat data (no inode) the file's full stat
/// data when its size and whole-second mtime match, as `core.checkStat=minimal` tells git to
/// trust them. libgit2 ignores that setting and compares inode numbers, so without this the
/// helper's first status hashed every file (0.4 s on git.git, 1.2 s on libgit2's 15,606).
fn trust_exported_stat(repo: &git2::Repository) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Some(workdir) = repo.workdir() else {
        return Ok(());
    };
    let mut index = repo
        .index()
        .map_err(|e| Failure::internal("cannot read the index", e))?;
    let mut trusted = Vec::new();
    for entry in index.iter() {
        if entry.ino != 0 || entry.dev != 0 || entry.mode == 0o160000 {
            continue;
        }
        use std::os::unix::ffi::OsStrExt;
        let path = workdir.join(std::ffi::OsStr::from_bytes(&entry.path));
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let kind_matches = match entry.mode {
            0o120000 => meta.file_type().is_symlink(),
            0o100755 => meta.is_file() && meta.permissions().mode() & 0o111 != 0,
            _ => meta.is_file() && meta.permissions().mode() & 0o111 == 0,
        };
        if !kind_matches
            || meta.size() as u32 != entry.file_size
            || meta.mtime() as i32 != entry.mtime.seconds()
        {
            continue;
        }
        trusted.push(with_stat(entry, &meta));
    }
    if trusted.is_empty() {
        return Ok(());
    }
    for e in &trusted {
        index
            .add(e)
            .map_err(|err| Failure::internal("cannot refresh the index", err))?;
    }
    index
        .write()
        .map_err(|e| Failure::internal("cannot write the index", e))
}

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
    let mut dirty = Dirty::default();
    for entry in statuses.iter() {
        let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
        let s = entry.status();
        if s == git2::Status::WT_MODIFIED && as_checked_out(repo, entry.path_bytes()) {
            continue;
        }
        if s.is_wt_new() && !s.is_index_new() {
            dirty.untracked(path);
            continue;
        }
        let tag = if s.intersects(
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
            dirty.unstaged = true;
            "modified"
        };
        dirty.lines.push(format!("{tag}: {path}"));
    }
    if dirty.is_empty() {
        return Ok(());
    }
    let task = exchange.task.root_ref.trim_start_matches("refs/heads/");
    Err(dirty.failure(task, reattach(repo, exchange)))
}

/// `git checkout -B <task>` when HEAD is detached on the base or on commits beyond it that
/// the task branch can take without losing any of its own: taken before the commit, it puts
/// the commit on the task branch, where committing on the detached HEAD would leave the agent
/// a second refusal (`NO_NEW_COMMITS`). `-B` at HEAD's own commit never touches the work tree.
fn reattach(repo: &git2::Repository, exchange: &Exchange) -> Option<String> {
    if !repo.head_detached().unwrap_or(false) {
        return None;
    }
    let head = repo.head().ok()?.target()?;
    let base = procoder_bundle::to_git(exchange.task.base_oid);
    let task = repo.refname_to_id(&exchange.task.root_ref).unwrap_or(base);
    let contains =
        |tip: git2::Oid| tip == head || repo.graph_descendant_of(head, tip).unwrap_or(false);
    (contains(base) && contains(task)).then(|| {
        format!(
            "git checkout -B {}",
            exchange.task.root_ref.trim_start_matches("refs/heads/")
        )
    })
}

/// Directory names that hold build or dependency output in common toolchains. Committing them
/// would put megabytes of generated files into the user's branch, so the hint keeps them out.
const BUILD_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "dist",
    "build",
    "out",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".cache",
    ".gradle",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".parcel-cache",
    ".turbo",
    "coverage",
    ".eggs",
    ".terraform",
    ".dart_tool",
    ".build",
    "obj",
    "CMakeFiles",
    "bazel-bin",
    "bazel-out",
    ".stack-work",
    "_build",
    "deps",
    ".zig-cache",
    "zig-out",
];

fn is_build_dir(name: &str) -> bool {
    BUILD_DIRS.contains(&name) || name.ends_with(".egg-info") || name.starts_with("cmake-build-")
}

/// The dirty paths, with untracked ones grouped: a `node_modules/` is one line, not hundreds.
#[derive(Default)]
struct Dirty {
    /// `staged: …`, `modified: …`, `conflicted: …` lines.
    lines: Vec<String>,
    /// Tracked files changed but not staged: the commit needs `git add -u`.
    unstaged: bool,
    /// Untracked groups (a top-level file, a top-level directory, or a build directory at
    /// any depth) → how many files, in first-seen order.
    groups: Vec<(String, usize, bool)>,
}

impl Dirty {
    fn untracked(&mut self, path: String) {
        let parts: Vec<&str> = path.split('/').collect();
        let build = parts[..parts.len() - 1]
            .iter()
            .position(|p| is_build_dir(p));
        let key = match build {
            Some(i) => format!("{}/", parts[..=i].join("/")),
            None if parts.len() > 1 => format!("{}/", parts[0]),
            None => path,
        };
        match self.groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1 += 1,
            None => self.groups.push((key, 1, build.is_some())),
        }
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.groups.is_empty()
    }

    /// The refusal: the one command that commits the work and keeps build output out.
    fn failure(self, task: &str, reattach: Option<String>) -> Failure {
        let files: usize = self.groups.iter().map(|g| g.1).sum::<usize>() + self.lines.len();
        let mut details = Vec::new();
        let (mut exclude, mut add) = (Vec::new(), Vec::new());
        for (key, n, build) in &self.groups {
            let what = match (key.ends_with('/'), build) {
                (_, true) => format!(
                    " ({}, looks like build or dependency output)",
                    procoder_manifest::count(*n, "file")
                ),
                (true, false) => format!(" ({})", procoder_manifest::count(*n, "file")),
                (false, false) => String::new(),
            };
            details.push(format!("untracked: {key}{what}"));
            if *build {
                exclude.push(sh_quote(key));
            } else {
                add.push(sh_quote(key));
            }
        }
        details.extend(self.lines);
        let detached = match reattach.is_some() {
            true => " (HEAD is detached: the checkout puts it back on the branch first)",
            false => "",
        };
        let mut steps: Vec<String> = reattach.into_iter().collect();
        if !exclude.is_empty() {
            // `.git/info/exclude` is the sandbox's own ignore list: it never reaches the user.
            steps.push(format!(
                "printf '%s\\n' {} >> .git/info/exclude",
                exclude.join(" ")
            ));
        }
        if !add.is_empty() {
            steps.push(format!("git add -- {}", add.join(" ")));
        }
        if self.unstaged {
            steps.push("git add -u".to_owned());
        }
        steps.push("git commit -m \"Add the remaining work\"".to_owned());
        let keep_out = if exclude.is_empty() {
            String::new()
        } else {
            " (the exclude line keeps the build or dependency output out of the user's branch)"
                .to_owned()
        };
        Failure::new(
            ErrorCode::WorktreeDirty,
            format!(
                "the work tree has {}",
                procoder_manifest::count(files, "uncommitted change")
            ),
        )
        .details(details)
        .hint(format!(
            "run `{}` to commit the work on {task}{detached}{keep_out}, {RERUN}",
            steps.join(" && ")
        ))
    }
}

/// `s` as one shell word: bare when it is plainly safe, else single-quoted.
pub(crate) fn sh_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:@%,".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
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

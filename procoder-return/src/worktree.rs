//! The work tree must be clean: uncommitted work would silently stay behind in the sandbox.

use crate::RERUN;
use procoder_manifest::{ErrorCode, Exchange, Failure, Result};
use std::collections::{BTreeMap, HashSet};

/// Refuses staged, unstaged and untracked (not ignored) changes, listing each path.
pub fn check_clean(repo: &git2::Repository, exchange: &Exchange) -> Result<()> {
    let settings = crate::tracked::Settings::read(repo);
    let index = crate::index_file::IndexFile::read(repo)
        .map_err(|e| Failure::internal("cannot read the index", e))?;
    let Some(root) = repo.workdir() else {
        return Ok(());
    };
    // The untracked walk reads every directory and the tracked check stats every file:
    // neither reads what the other writes (the walk never reads .git/index), so they run side
    // by side, as git's preload-index stats beside its status.
    let ignores = crate::untracked::ignores(repo);
    let git_dir = repo.path();
    let (tracked, untracked) = std::thread::scope(|s| {
        let walk = s.spawn(|| {
            let mut found = Vec::new();
            crate::untracked::walk(root, git_dir, ignores, &index, &mut |p| {
                found.push(p.to_vec())
            });
            found
        });
        let tracked = crate::tracked::check(repo, &index, &settings);
        (tracked, walk.join())
    });
    let tracked = tracked?;
    // A walk that panicked found nothing it can vouch for: never report the tree clean then.
    let untracked = untracked.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let staged = crate::staged::staged(repo, &index)?;
    let mut dirty = Dirty::default();
    // A path staged as deleted whose file is still there is one untracked file, as libgit2's
    // status paired the two (and as the refusal always listed it).
    let deleted: HashSet<&[u8]> = staged
        .iter()
        .filter(|(_, deleted)| *deleted)
        .map(|(p, _)| p.as_slice())
        .collect();
    let mut deleted_but_present = HashSet::new();
    for path in &untracked {
        if deleted.contains(path.as_slice()) {
            deleted_but_present.insert(path.clone());
        }
        dirty.untracked(String::from_utf8_lossy(path).into_owned());
    }
    // One line a path, in path order: conflicted before staged before modified.
    let mut lines: BTreeMap<&[u8], &str> = BTreeMap::new();
    for path in &tracked.modified {
        lines.insert(path, "modified");
    }
    for (path, _) in &staged {
        if !deleted_but_present.contains(path) {
            lines.insert(path, "staged");
        }
    }
    for path in &tracked.conflicted {
        lines.insert(path, "conflicted");
    }
    for (path, tag) in lines {
        dirty.unstaged |= tag == "modified";
        dirty
            .lines
            .push(format!("{tag}: {}", String::from_utf8_lossy(path)));
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
pub(crate) fn as_checked_out(repo: &git2::Repository, path: &[u8]) -> bool {
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

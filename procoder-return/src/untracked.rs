//! Untracked files, as `git status --untracked-files=all` lists them: each directory read once,
//! in git's path order, beside a cursor into the (sorted) index that tells tracked paths; git's
//! ignore rules from each directory's `.gitignore`, `.git/info/exclude` and
//! `core.excludesFile`, matched by gix-ignore (git's wildmatch, tested on git's own suite:
//! libgit2's rules keep `dir/sub/keep.log` ignored under `*.log` and `dir/.gitignore`'s
//! `!keep.log`, where git lists it). An ignored directory is not entered, as in git; a nested
//! repository is one entry, `dir/`.

use bstr::ByteSlice;
use gix_ignore::glob::pattern::Case;
use gix_ignore::glob::search::pattern::List;
use gix_ignore::search::Ignore;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Calls `found` with the path of every untracked, not ignored file (and `dir/` for a nested
/// repository), in git's order. Directories that cannot be read are passed over, as git does.
pub(crate) fn walk(repo: &git2::Repository, index: &git2::Index, found: &mut dyn FnMut(&[u8])) {
    let Some(root) = repo.workdir() else {
        return;
    };
    let mut buf = Vec::new();
    let search = gix_ignore::Search::from_git_dir(
        repo.path(),
        excludes_file(repo),
        &mut buf,
        Ignore::default(),
    )
    .unwrap_or_default();
    let mut walk = Walk {
        root: root.to_path_buf(),
        index,
        len: index.len(),
        pos: 0,
        at: None,
        search,
        found,
    };
    walk.dir(&mut Vec::new());
}

/// `core.excludesFile`, else git's default `$XDG_CONFIG_HOME/git/ignore` (or
/// `~/.config/git/ignore`).
fn excludes_file(repo: &git2::Repository) -> Option<PathBuf> {
    if let Some(path) = repo
        .config()
        .ok()
        .and_then(|c| c.get_path("core.excludesfile").ok())
    {
        return Some(path);
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty());
    match xdg {
        Some(dir) => Some(PathBuf::from(dir).join("git/ignore")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/git/ignore")),
    }
}

const GITLINK: u32 = 0o160000;

struct Walk<'a> {
    root: PathBuf,
    index: &'a git2::Index,
    len: usize,
    /// The cursor: the first entry not before the paths still to visit.
    pos: usize,
    /// The path of the entry at `pos`, once read.
    at: Option<Vec<u8>>,
    search: gix_ignore::Search,
    found: &'a mut dyn FnMut(&[u8]),
}

#[derive(PartialEq)]
enum Kind {
    Dir,
    /// Files and symlinks; git passes over fifos, sockets and devices.
    File,
}

impl Walk<'_> {
    /// The first index path not before `key`, moving the cursor there.
    fn seek(&mut self, key: &[u8]) -> Option<&[u8]> {
        loop {
            if self.at.is_none() {
                if self.pos >= self.len {
                    return None;
                }
                self.at = self.index.get(self.pos).map(|e| e.path);
                if self.at.is_none() {
                    self.pos += 1;
                    continue;
                }
            }
            if self.at.as_deref().is_some_and(|at| at < key) {
                self.pos += 1;
                self.at = None;
                continue;
            }
            return self.at.as_deref();
        }
    }

    /// A submodule: its gitlink is tracked, its files are its own. (Looked up by path: the
    /// cursor has passed `sub` when it visited `sub-x` or `sub.txt`, which sort before `sub/`.)
    fn gitlink(&self, path: &[u8]) -> bool {
        self.index
            .get_path(Path::new(OsStr::from_bytes(path)), 0)
            .is_some_and(|e| e.mode == GITLINK)
    }

    fn ignored(&self, path: &[u8], is_dir: bool) -> bool {
        self.search
            .pattern_matching_relative_path(path.as_bstr(), Some(is_dir), Case::Sensitive)
            .is_some_and(|m| !m.pattern.is_negative())
    }

    /// Visits the directory `rel` (empty for the top, else ending in `/`).
    fn dir(&mut self, rel: &mut Vec<u8>) {
        let dir = self.root.join(OsStr::from_bytes(rel));
        let Ok(read) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut entries: Vec<(Vec<u8>, Kind)> = Vec::new();
        let mut gitignore = false;
        for entry in read.flatten() {
            let name = entry.file_name().as_bytes().to_vec();
            let Ok(ft) = entry.file_type() else {
                continue;
            };
            let kind = if ft.is_dir() {
                Kind::Dir
            } else if ft.is_file() || ft.is_symlink() {
                Kind::File
            } else {
                continue;
            };
            if name == b".git" {
                continue;
            }
            gitignore |= name == b".gitignore" && ft.is_file();
            entries.push((name, kind));
        }
        // git's order: a directory sorts as its name followed by '/'.
        let key = |(name, kind): &(Vec<u8>, Kind)| {
            let mut k = name.clone();
            if *kind == Kind::Dir {
                k.push(b'/');
            }
            k
        };
        entries.sort_by_cached_key(key);
        let pushed = gitignore && self.push_gitignore(&dir, rel);
        let base = rel.len();
        for (name, kind) in entries {
            rel.truncate(base);
            rel.extend_from_slice(&name);
            match kind {
                Kind::File => {
                    let tracked = self.seek(rel) == Some(rel.as_slice());
                    if tracked || self.ignored(rel, false) {
                        continue;
                    }
                    (self.found)(rel);
                }
                Kind::Dir => {
                    let len = rel.len();
                    rel.push(b'/');
                    let tracked = self.seek(rel).is_some_and(|at| at.starts_with(rel));
                    if self.ignored(&rel[..len], true) || (!tracked && self.gitlink(&rel[..len])) {
                        continue;
                    }
                    if !tracked && nested_repo(&self.root.join(OsStr::from_bytes(rel))) {
                        (self.found)(rel);
                        continue;
                    }
                    self.dir(rel);
                }
            }
        }
        rel.truncate(base);
        if pushed {
            self.search.patterns.pop();
        }
    }

    fn push_gitignore(&mut self, dir: &Path, rel: &[u8]) -> bool {
        let Ok(bytes) = std::fs::read(dir.join(".gitignore")) else {
            return false;
        };
        let mut source = rel.to_vec();
        source.extend_from_slice(b".gitignore");
        let source = PathBuf::from(OsStr::from_bytes(&source));
        self.search.patterns.push(List::from_bytes(
            &bytes,
            source,
            Some(Path::new("")),
            Ignore::default(),
        ));
        true
    }
}

/// A directory holding a repository of its own (`.git` as a directory with a HEAD, or a
/// `.git` file pointing elsewhere), which git lists as one entry and does not enter.
fn nested_repo(dir: &Path) -> bool {
    let dot_git = dir.join(".git");
    match std::fs::symlink_metadata(&dot_git) {
        Ok(m) if m.is_file() => true,
        Ok(m) if m.is_dir() => dot_git.join("HEAD").exists(),
        _ => false,
    }
}

//! Untracked files, as `git status --untracked-files=all` lists them: each directory read once,
//! in git's path order, beside a cursor into the (sorted) index that tells tracked paths; git's
//! ignore rules from each directory's `.gitignore`, `.git/info/exclude` and
//! `core.excludesFile`, matched by gix-ignore (git's wildmatch, tested on git's own suite:
//! libgit2's rules keep `dir/sub/keep.log` ignored under `*.log` and `dir/.gitignore`'s
//! `!keep.log`, where git lists it). An ignored directory is not entered, as in git; a nested
//! repository is one entry, `dir/`.

use crate::dir_cache::{DirCache, Kind};
use crate::index_file::IndexFile;
use bstr::ByteSlice;
use gix_ignore::glob::pattern::Case;
use gix_ignore::glob::search::pattern::List;
use gix_ignore::search::Ignore;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The ignore rules of the repository: `.git/info/exclude` and `core.excludesFile` (each
/// directory's `.gitignore` joins them during the walk).
pub(crate) fn ignores(repo: &git2::Repository) -> gix_ignore::Search {
    let mut buf = Vec::new();
    gix_ignore::Search::from_git_dir(
        repo.path(),
        excludes_file(repo),
        &mut buf,
        Ignore::default(),
    )
    .unwrap_or_default()
}

/// Calls `found` with the path of every untracked, not ignored file under the work tree
/// `root` (and `dir/` for a nested repository), in git's order. Directories that cannot be
/// read are passed over, as git does. Listings come from, and go to, the cache in `git_dir`.
pub(crate) fn walk(
    root: &Path,
    git_dir: &Path,
    ignores: gix_ignore::Search,
    index: &IndexFile,
    found: &mut dyn FnMut(&[u8]),
) {
    let mut walk = Walk {
        root: root.to_path_buf(),
        entries: &index.entries,
        index,
        pos: 0,
        search: ignores,
        cache: DirCache::load(git_dir),
        found,
    };
    walk.dir(&mut Vec::new());
    walk.cache.save();
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
    index: &'a IndexFile,
    entries: &'a [git2::IndexEntry],
    /// The cursor: the first entry not before the paths still to visit.
    pos: usize,
    search: gix_ignore::Search,
    cache: DirCache,
    found: &'a mut dyn FnMut(&[u8]),
}

impl<'a> Walk<'a> {
    /// The first index path not before `key`, moving the cursor there.
    fn seek(&mut self, key: &[u8]) -> Option<&'a [u8]> {
        let entries = self.entries;
        while entries
            .get(self.pos)
            .is_some_and(|e| e.path.as_slice() < key)
        {
            self.pos += 1;
        }
        entries.get(self.pos).map(|e| e.path.as_slice())
    }

    /// A submodule: its gitlink is tracked, its files are its own. (Looked up by path: the
    /// cursor has passed `sub` when it visited `sub-x` or `sub.txt`, which sort before `sub/`.)
    fn gitlink(&self, path: &[u8]) -> bool {
        self.index.get(path).is_some_and(|e| e.mode == GITLINK)
    }

    fn ignored(&self, path: &[u8], is_dir: bool) -> bool {
        self.search
            .pattern_matching_relative_path(path.as_bstr(), Some(is_dir), Case::Sensitive)
            .is_some_and(|m| !m.pattern.is_negative())
    }

    /// Visits the directory `rel` (empty for the top, else ending in `/`).
    fn dir(&mut self, rel: &mut Vec<u8>) {
        let dir = self.root.join(OsStr::from_bytes(rel));
        let Some(listing) = self.cache.list(&dir, rel) else {
            return;
        };
        let pushed = listing.gitignore && self.push_gitignore(&dir, rel);
        let base = rel.len();
        for (name, kind) in listing.entries() {
            rel.truncate(base);
            rel.extend_from_slice(name);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, content: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }

    /// A submodule `sub` whose gitlink the cursor has passed (tracked `sub-x` sorts between
    /// `sub` and `sub/`) stays out; a nested repository is one entry; tracked paths, ignored
    /// ones and `.git` are passed over; the order is git's.
    #[test]
    fn walk_lists_what_git_lists_in_its_order() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path();
        let repo = git2::Repository::init(root).expect("init");
        std::fs::create_dir(repo.path().join("procoder")).expect("mkdir .git/procoder");
        for f in ["sub-x", "a-b", "dir/t.txt"] {
            write(root, f, f);
        }
        write(root, ".gitignore", "*.o\n");
        let mut index = repo.index().expect("index");
        for f in ["sub-x", "a-b", "dir/t.txt", ".gitignore"] {
            index.add_path(Path::new(f)).expect("add");
        }
        let mut gitlink = index.get_path(Path::new("sub-x"), 0).expect("entry");
        gitlink.path = b"sub".to_vec();
        gitlink.mode = GITLINK;
        index.add(&gitlink).expect("gitlink");
        write(root, "sub/.git", "gitdir: elsewhere\n");
        write(root, "sub/inner.txt", "the submodule's");
        write(root, "nest/.git/HEAD", "ref: refs/heads/main\n");
        write(root, "nest/file.txt", "the nested repository's");
        for f in ["a/u.txt", "dir/new.txt", "dir/x.o", "sub.txt", "z.txt"] {
            write(root, f, f);
        }
        index.write().expect("write the index");
        let index = IndexFile::read(&repo).expect("read it back");
        let root = repo.workdir().expect("a work tree");
        let run = || {
            let mut found = Vec::new();
            walk(root, repo.path(), ignores(&repo), &index, &mut |p| {
                found.push(String::from_utf8_lossy(p).into_owned())
            });
            found
        };
        // Folders last changed a minute ago: the first walk caches every listing, the second
        // takes them from the cache and must list the same, the third sees a new file.
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for d in ["", "a", "dir", "sub", "nest"] {
            std::fs::File::open(root.join(d))
                .and_then(|f| f.set_modified(past))
                .expect("set a folder's mtime");
        }
        let want = ["a/u.txt", "dir/new.txt", "nest/", "sub.txt", "z.txt"];
        assert_eq!(run(), want);
        assert!(repo.path().join("procoder/untracked-cache").is_file());
        assert_eq!(run(), want);
        write(root, "dir/later.txt", "later");
        assert_eq!(
            run(),
            [
                "a/u.txt",
                "dir/later.txt",
                "dir/new.txt",
                "nest/",
                "sub.txt",
                "z.txt"
            ]
        );
    }
}

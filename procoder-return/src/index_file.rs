//! The index file read directly (git's `Documentation/gitformat-index.txt`): versions 2 to 4,
//! the checksum verified, and the cache tree's root, which names the tree `git write-tree`
//! would write without hashing one.
//!
//! libgit2's reader costs a sixth of the helper on libgit2's own repository (15,600 entries):
//! it verifies the checksum with collision-detecting SHA-1 and puts every entry in a hash map
//! that the helper never asks. gix-index would read it as fast, but brings fifteen crates
//! (objects, commit graphs, revision walks, dates) into a helper that must stay small. An index
//! this reader does not take (a split index, a sparse one, an extension it does not know that
//! git marks as required) is left to libgit2, as before.

use sha1::{Digest, Sha1};

/// What the helper reads of the index.
pub(crate) struct IndexFile {
    /// In index order: by path, then stage.
    pub(crate) entries: Vec<git2::IndexEntry>,
    /// The tree the stage-0 entries describe, when the cache tree holds its root.
    pub(crate) tree: Option<git2::Oid>,
}

impl IndexFile {
    /// The index of the repository at `git_dir`; an absent one is empty, as in git.
    pub(crate) fn read(repo: &git2::Repository) -> Result<Self, git2::Error> {
        let path = repo.path().join("index");
        match std::fs::read(&path) {
            Ok(bytes) => match parse(&bytes) {
                Some(index) => Ok(index),
                None => Self::from_libgit2(repo),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                entries: Vec::new(),
                tree: None,
            }),
            Err(_) => Self::from_libgit2(repo),
        }
    }

    fn from_libgit2(repo: &git2::Repository) -> Result<Self, git2::Error> {
        let index = repo.index()?;
        Ok(Self {
            entries: index.iter().collect(),
            tree: None,
        })
    }

    /// The stage-0 entry at `path`.
    pub(crate) fn get(&self, path: &[u8]) -> Option<&git2::IndexEntry> {
        let at = self.entries.partition_point(|e| e.path.as_slice() < path);
        self.entries
            .get(at)
            .filter(|e| e.path == path && e.flags & STAGE_MASK == 0)
    }
}

/// A copy of `e` (git2's entry is not `Clone`).
pub(crate) fn copy(e: &git2::IndexEntry) -> git2::IndexEntry {
    git2::IndexEntry {
        path: e.path.clone(),
        ..*e
    }
}

const STAGE_MASK: u16 = 0x3000;
const EXTENDED: u16 = 0x4000;
const NAME_MASK: u16 = 0x0fff;
const HASH: usize = 20;

/// The index in `bytes`, or `None` for one to leave to libgit2 (including a corrupt one, so
/// that the refusal is libgit2's, as before).
fn parse(bytes: &[u8]) -> Option<IndexFile> {
    let body_len = bytes.len().checked_sub(HASH)?;
    let (body, checksum) = bytes.split_at(body_len);
    // `index.skipHash` writes a null checksum, which git accepts unverified.
    if checksum.iter().any(|&b| b != 0) && Sha1::digest(body).as_slice() != checksum {
        return None;
    }
    let mut r = Reader { data: body, at: 0 };
    if r.take(4)? != b"DIRC" {
        return None;
    }
    let version = r.u32()?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = r.u32()? as usize;
    let mut entries = Vec::with_capacity(count.min(body.len() / 62));
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = r.at;
        let mut stat = [0u32; 10];
        for field in &mut stat {
            *field = r.u32()?;
        }
        let id = git2::Oid::from_bytes(r.take(HASH)?).ok()?;
        let flags = r.u16()?;
        let flags_extended = match flags & EXTENDED != 0 {
            true if version >= 3 => r.u16()?,
            true => return None,
            false => 0,
        };
        let path = match version {
            4 => {
                let strip = r.varint()?;
                let keep = previous.len().checked_sub(strip)?;
                let mut path = previous[..keep].to_vec();
                path.extend_from_slice(r.until_nul()?);
                path
            }
            _ => {
                let name = r.until_nul()?.to_vec();
                // NUL-padded so that the entry is a multiple of 8 bytes long (1 to 8 NULs).
                let len = r.at - start;
                r.take((8 - len % 8) % 8)?;
                name
            }
        };
        let short = flags & NAME_MASK;
        if short != NAME_MASK && usize::from(short) != path.len() {
            return None;
        }
        let time = |s: u32, ns: u32| git2::IndexTime::new(s as i32, ns);
        previous.clone_from(&path);
        entries.push(git2::IndexEntry {
            ctime: time(stat[0], stat[1]),
            mtime: time(stat[2], stat[3]),
            dev: stat[4],
            ino: stat[5],
            mode: stat[6],
            uid: stat[7],
            gid: stat[8],
            file_size: stat[9],
            id,
            flags,
            flags_extended,
            path,
        });
    }
    let mut tree = None;
    while r.at < body.len() {
        let signature = r.take(4)?;
        let size = r.u32()? as usize;
        let data = r.take(size)?;
        match signature {
            b"TREE" => tree = cache_tree_root(data),
            // Upper-case first letter: optional, skipped (git's rule). `link` (a split index)
            // and `sdir` (a sparse one) change what the entries mean.
            [b'A'..=b'Z', ..] => {}
            _ => return None,
        }
    }
    Some(IndexFile { entries, tree })
}

/// The root of the `TREE` extension: `<path>\0<entry count> <subtrees>\n<id>`, the id only
/// when the count is not -1 (invalidated since the tree was last written).
fn cache_tree_root(data: &[u8]) -> Option<git2::Oid> {
    let mut r = Reader { data, at: 0 };
    if !r.until_nul()?.is_empty() {
        return None;
    }
    let line = r.until(b'\n')?;
    let count = std::str::from_utf8(line.split(|&b| b == b' ').next()?).ok()?;
    if count.parse::<i64>().ok()? < 0 {
        return None;
    }
    git2::Oid::from_bytes(r.take(HASH)?).ok()
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.data.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    /// The bytes before the next `end`, which is consumed too.
    fn until(&mut self, end: u8) -> Option<&'a [u8]> {
        let rest = self.data.get(self.at..)?;
        let len = rest.iter().position(|&b| b == end)?;
        self.at += len + 1;
        Some(&rest[..len])
    }

    fn until_nul(&mut self) -> Option<&'a [u8]> {
        self.until(0)
    }

    /// git's offset varint (`varint.c`): each continuation adds one before shifting.
    fn varint(&mut self) -> Option<usize> {
        let mut c = *self.take(1)?.first()?;
        let mut value = usize::from(c & 0x7f);
        while c & 0x80 != 0 {
            value = value.checked_add(1)?.checked_mul(128)?;
            c = *self.take(1)?.first()?;
            value = value.checked_add(usize::from(c & 0x7f))?;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// What both readers must agree on: path, mode, id, stage, the extended flags git
    /// writes, size and mtime.
    type Seen = (Vec<u8>, u32, git2::Oid, u16, u16, u32, i32);

    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    /// A repository whose index git wrote: nested folders, an executable, a symlink, a path
    /// longer than the 12-bit name length, an intent-to-add entry (an extended flag).
    fn repo() -> (tempfile::TempDir, git2::Repository) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        git(dir.path(), &["init", "-q"]);
        crate::write_test_files(dir.path(), &["a.txt", "a/b/c.txt", "a-b", "run.sh"]);
        git(dir.path(), &["add", "."]);
        // Only in the index (no file system takes it): a path over the 12-bit name length.
        let long = format!("{}x.txt", "d/".repeat(2100));
        let blob = "8d14cbf983b3fad683171c9418998d9f68340823"; // a.txt's
        git(
            dir.path(),
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("100644,{blob},{long}"),
            ],
        );
        let repo = git2::Repository::open(dir.path()).expect("open");
        (dir, repo)
    }

    fn seen(e: git2::IndexEntry) -> Seen {
        let ext = e.flags_extended & 0x6000;
        let (stage, size, mtime) = (e.flags & STAGE_MASK, e.file_size, e.mtime.seconds());
        (e.path, e.mode, e.id, stage, ext, size, mtime)
    }

    fn libgit2_entries(repo: &git2::Repository) -> Vec<Seen> {
        // A handle of its own: libgit2 keeps a handle's index, and a rewrite within the same
        // second may not look changed to it.
        let fresh = git2::Repository::open(repo.path()).expect("open");
        let index = fresh.index().expect("libgit2 reads it");
        index.iter().map(seen).collect()
    }

    fn ours(repo: &git2::Repository) -> (Vec<Seen>, Option<git2::Oid>) {
        let bytes = std::fs::read(repo.path().join("index")).expect("an index");
        let index = parse(&bytes).expect("read directly, not left to libgit2");
        let entries = index.entries.into_iter().map(seen).collect();
        (entries, index.tree)
    }

    #[test]
    fn versions_2_3_and_4_read_as_libgit2_reads_them() {
        let (dir, repo) = repo();
        git(dir.path(), &["commit", "-qm", "one"]);
        std::fs::write(dir.path().join("new.txt"), "later").expect("write");
        git(dir.path(), &["add", "-N", "new.txt"]);
        let mut v3 = Vec::new();
        for version in ["3", "4", "2"] {
            if version == "2" {
                git(dir.path(), &["rm", "-q", "--cached", "new.txt"]);
            }
            git(dir.path(), &["update-index", "--index-version", version]);
            let bytes = std::fs::read(repo.path().join("index")).expect("an index");
            assert_eq!(
                u32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes")).to_string(),
                version
            );
            let (entries, _) = ours(&repo);
            match version {
                // libgit2 refuses this version 4 index ("invalid entry", the long path): the
                // same entries rewritten by git must read as they did in version 3.
                "4" => assert_eq!(entries, v3),
                _ => assert_eq!(entries, libgit2_entries(&repo), "version {version}"),
            }
            if version == "3" {
                v3.clone_from(&entries);
            }
            assert_eq!(entries.len(), if version == "2" { 6 } else { 7 });
        }
    }

    #[test]
    fn the_cache_tree_root_is_the_tree_git_writes() {
        let (dir, repo) = repo();
        // `git add` leaves the cache tree invalid; `write-tree` fills it in.
        assert_eq!(ours(&repo).1, None);
        git(dir.path(), &["write-tree"]);
        let written = repo
            .index()
            .expect("index")
            .write_tree()
            .expect("write-tree");
        assert_eq!(ours(&repo).1, Some(written));
        std::fs::write(dir.path().join("a.txt"), "changed").expect("write");
        git(dir.path(), &["add", "a.txt"]);
        assert_eq!(ours(&repo).1, None, "invalidated by the add");
    }

    #[test]
    fn a_corrupt_or_split_index_is_left_to_libgit2() {
        let (dir, repo) = repo();
        let path = repo.path().join("index");
        let mut bytes = std::fs::read(&path).expect("an index");
        assert!(parse(&bytes).is_some());
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        assert!(parse(&bytes).is_none(), "the checksum no longer matches");
        git(dir.path(), &["update-index", "--split-index"]);
        assert!(parse(&std::fs::read(&path).expect("an index")).is_none());
        assert_eq!(
            IndexFile::read(&repo).map(|i| i.entries.len()).ok(),
            repo.index().ok().map(|i| i.len()),
            "libgit2's reading, whatever it makes of a split index"
        );
    }
}

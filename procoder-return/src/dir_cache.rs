//! Directory listings kept between runs (`.git/procoder/untracked-cache`), as git's untracked
//! cache keeps them: adding, removing or renaming an entry changes its directory's mtime, so a
//! directory whose inode and mtime are what they were when it was read lists what it listed
//! then. One `stat` replaces opening and reading it: on libgit2's 5,900 folders, 29,500 system
//! calls become 5,900. Only the raw listing is kept; which entries are tracked and which are
//! ignored is decided afresh every run from the index and the ignore files, which can change
//! without touching a directory.
//!
//! The racy case, as git's: a listing is kept only when the directory's mtime is older than
//! the moment (on the filesystem's own clock) before it was read, so a change made during or
//! after the read always moves the mtime past what was kept. A filesystem that is seen not to
//! move a directory's mtime when a file is created in it gets no cache at all.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"procoder untracked cache 1\n";
const CACHE: &str = "procoder/untracked-cache";

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Kind {
    Dir,
    /// Files and symlinks; git passes over fifos, sockets and devices.
    File,
}

/// A directory's entries but `.git`, in git's order (a folder sorts as its name and '/'),
/// encoded as the cache holds them: a kind byte, a 4-byte length and the name, each.
pub(crate) struct Listing {
    /// `.gitignore` is a regular file here.
    pub(crate) gitignore: bool,
    raw: Vec<u8>,
}

impl Listing {
    pub(crate) fn entries(&self) -> Entries<'_> {
        Entries(&self.raw)
    }
}

pub(crate) struct Entries<'a>(&'a [u8]);

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a [u8], Kind);

    fn next(&mut self) -> Option<Self::Item> {
        let mut r = Reader(self.0);
        let [kind] = r.take()?;
        let name = r.bytes()?;
        self.0 = r.0;
        Some((name, if kind == DIR { Kind::Dir } else { Kind::File }))
    }
}

const DIR: u8 = 1;

#[derive(Clone, Copy, PartialEq, Debug)]
struct Stamp {
    ino: u64,
    mtime: (i64, i64),
}

/// One directory's record in the cache file: its path, stamp, `.gitignore` flag and listing.
/// On disk: a 4-byte length, these fields, and a CRC-32 of them (a damaged or cut record ends
/// the cache there).
struct Record<'a> {
    rel: &'a [u8],
    stamp: Stamp,
    gitignore: bool,
    raw: &'a [u8],
}

/// The old cache, read in step with the walk (both go in git's path order) a buffer at a
/// time: its memory is the largest record, not the file.
struct Old {
    file: File,
    /// The file's length: a record's length field is checked against it before a buffer
    /// grows to hold the record (a damaged field must not ask for gigabytes).
    len: u64,
    /// Past the last whole record: nothing more is looked up, but `file` stays open for the
    /// records already taken.
    ended: bool,
    buf: Vec<u8>,
    /// The first byte of `buf` not yet passed, and `buf[0]`'s offset in the file.
    pos: usize,
    offset: u64,
}

/// The cache read at the start and what this run found, written as the walk goes once a
/// listing is read from its directory (until then, the old records it took are remembered).
pub(crate) struct DirCache {
    git_dir: PathBuf,
    old: Option<Old>,
    /// The old records taken before `out` began, as ranges of the old file.
    taken: Vec<std::ops::Range<u64>>,
    out: Option<std::io::BufWriter<File>>,
    /// The filesystem's time before the first directory this run read; `Some(None)` when it
    /// is unknown or the filesystem does not move directory mtimes (nothing read is kept).
    before: Option<Option<(i64, i64)>>,
    /// The file that took that time, written and renamed over the cache by `save`.
    tmp: Option<PathBuf>,
    /// Writing `out` failed: the cache is not replaced.
    broken: bool,
}

const BUF: usize = 64 * 1024;

impl Old {
    fn open(path: &Path) -> Option<Self> {
        let file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut old = Self {
            file,
            len,
            ended: false,
            buf: Vec::new(),
            pos: 0,
            offset: 0,
        };
        (old.fill(MAGIC.len())? && old.buf.starts_with(MAGIC)).then(|| {
            old.pos = MAGIC.len();
            old
        })
    }

    /// Makes `want` bytes from `pos` on available; false at the end of the file.
    fn fill(&mut self, want: usize) -> Option<bool> {
        use std::os::unix::fs::FileExt;
        if self.buf.len() - self.pos >= want {
            return Some(true);
        }
        self.buf.drain(..self.pos);
        self.offset += self.pos as u64;
        self.pos = 0;
        while self.buf.len() < want {
            let have = self.buf.len();
            self.buf.resize(have + want.max(BUF), 0);
            let n = self
                .file
                .read_at(&mut self.buf[have..], self.offset + have as u64)
                .ok()?;
            self.buf.truncate(have + n);
            if n == 0 {
                return Some(false);
            }
        }
        Some(true)
    }

    /// The record at `pos` and its length in the file, if whole and undamaged.
    fn peek(&mut self) -> Option<(Record<'_>, usize)> {
        if self.ended {
            return None;
        }
        self.fill(4).filter(|&whole| whole)?;
        let len = u32::from_le_bytes(self.buf[self.pos..][..4].try_into().ok()?) as usize;
        let total = len.checked_add(8)?;
        let here = self.offset + self.pos as u64;
        if here + total as u64 > self.len {
            return None;
        }
        self.fill(total).filter(|&whole| whole)?;
        let bytes = &self.buf[self.pos..self.pos + total];
        let body = &bytes[4..4 + len];
        let sum = u32::from_le_bytes(bytes[4 + len..].try_into().ok()?);
        if crc32fast::hash(body) != sum {
            return None;
        }
        let mut r = Reader(body);
        let rel = r.bytes()?;
        let stamp = Stamp {
            ino: u64::from_le_bytes(r.take()?),
            mtime: (i64::from_le_bytes(r.take()?), i64::from_le_bytes(r.take()?)),
        };
        let [gitignore] = r.take()?;
        let raw = r.bytes()?;
        let record = Record {
            rel,
            stamp,
            gitignore: gitignore == 1,
            raw,
        };
        Some((record, total))
    }
}

impl DirCache {
    /// The cache of the repository at `git_dir` (none when it is missing or damaged).
    pub(crate) fn load(git_dir: &Path) -> Self {
        Self {
            git_dir: git_dir.to_path_buf(),
            old: Old::open(&git_dir.join(CACHE)),
            taken: Vec::new(),
            out: None,
            before: None,
            tmp: None,
            broken: false,
        }
    }

    /// The listing of `dir` (the work tree's `rel`, empty or ending in '/'), asked for in
    /// git's path order; `None` when it cannot be read.
    pub(crate) fn list(&mut self, dir: &Path, rel: &[u8]) -> Option<Listing> {
        // Stat first, then read: a change after the stat moves the mtime past the one kept.
        let meta = std::fs::symlink_metadata(dir).ok()?;
        let stamp = Stamp {
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        };
        if let Some(listing) = self.cached(rel, stamp) {
            return Some(listing);
        }
        let before = self.before();
        let listing = read(dir)?;
        // A listing read in the tick its directory last changed in could miss a change made
        // later in that same tick: read again next run.
        if before.is_some_and(|t| stamp.mtime < t) {
            let mut record = Vec::with_capacity(rel.len() + listing.raw.len() + 40);
            encode(&mut record, rel, stamp, &listing);
            self.write(&record);
        }
        Some(listing)
    }

    /// `rel`'s listing from the old cache when its stamp still holds, passing the records of
    /// directories before it (this run did not visit them).
    fn cached(&mut self, rel: &[u8], stamp: Stamp) -> Option<Listing> {
        loop {
            let old = self.old.as_mut()?;
            let Some((record, len)) = old.peek() else {
                old.ended = true;
                old.buf = Vec::new();
                return None;
            };
            if record.rel > rel {
                return None;
            }
            let same = record.rel == rel;
            let hit = (same && record.stamp == stamp).then(|| Listing {
                gitignore: record.gitignore,
                raw: record.raw.to_vec(),
            });
            let start = old.pos;
            old.pos += len;
            if !same {
                continue;
            }
            if hit.is_some() {
                if let Some(out) = self.out.as_mut() {
                    use std::io::Write;
                    self.broken |= out.write_all(&old.buf[start..start + len]).is_err();
                } else {
                    let at = old.offset + start as u64;
                    self.taken.push(at..at + len as u64);
                }
            }
            return hit;
        }
    }

    /// Appends a record to the new cache, starting it (with the old records taken so far)
    /// on the first.
    fn write(&mut self, record: &[u8]) {
        use std::io::Write;
        if self.broken {
            return;
        }
        if self.out.is_none() {
            self.out = self.start();
            if self.out.is_none() {
                self.broken = true;
                return;
            }
        }
        let written = self.out.as_mut().map(|out| out.write_all(record));
        self.broken |= !matches!(written, Some(Ok(())));
    }

    fn start(&mut self) -> Option<std::io::BufWriter<File>> {
        use std::io::Write;
        use std::os::unix::fs::FileExt;
        let file = File::options().write(true).open(self.tmp.as_ref()?).ok()?;
        let mut out = std::io::BufWriter::with_capacity(BUF, file);
        out.write_all(MAGIC).ok()?;
        let mut bytes = Vec::new();
        for range in std::mem::take(&mut self.taken) {
            let old = &self.old.as_ref()?.file;
            bytes.resize((range.end - range.start) as usize, 0);
            old.read_exact_at(&mut bytes, range.start).ok()?;
            out.write_all(&bytes).ok()?;
        }
        Some(out)
    }

    /// The filesystem's time now, taken once per run from a new file's mtime (the clock
    /// directory mtimes are set by).
    fn before(&mut self) -> Option<(i64, i64)> {
        if let Some(before) = self.before {
            return before;
        }
        let before = self.probe();
        self.before = Some(before);
        before
    }

    /// Creates the file `save` will fill; its mtime is the time, and its folder's mtime must
    /// have moved to at least that time, or the filesystem is one the cache cannot trust.
    fn probe(&mut self) -> Option<(i64, i64)> {
        let dir = self.git_dir.join("procoder");
        let tmp = dir.join(format!("untracked-cache.{}.tmp", std::process::id()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .ok()?;
        self.tmp = Some(tmp);
        let created = file.metadata().ok()?;
        let folder = std::fs::metadata(&dir).ok()?;
        let now = (created.mtime(), created.mtime_nsec());
        ((folder.mtime(), folder.mtime_nsec()) >= now).then_some(now)
    }

    /// Puts the new cache in place when a listing was read and kept this run (renamed over
    /// the old: a reader sees one whole cache or the other).
    pub(crate) fn save(&mut self) {
        let Some(tmp) = self.tmp.take() else {
            return;
        };
        if let Some(out) = self.out.take().filter(|_| !self.broken) {
            let flushed = out.into_inner().map_err(|e| e.into_error());
            if flushed.is_ok() && std::fs::rename(&tmp, self.git_dir.join(CACHE)).is_ok() {
                return;
            }
        }
        let _ = std::fs::remove_file(tmp);
    }
}

impl Drop for DirCache {
    /// A run that ends before `save` leaves no file behind.
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Reads `dir`, sorted in git's order.
fn read(dir: &Path) -> Option<Listing> {
    let mut entries: Vec<(Vec<u8>, Kind)> = Vec::new();
    let mut gitignore = false;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
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
        let name = entry.file_name().as_bytes().to_vec();
        if name == b".git" {
            continue;
        }
        gitignore |= name == b".gitignore" && ft.is_file();
        entries.push((name, kind));
    }
    entries.sort_by(|(a, ak), (b, bk)| {
        let a = a.iter().chain((*ak == Kind::Dir).then_some(&b'/'));
        a.cmp(b.iter().chain((*bk == Kind::Dir).then_some(&b'/')))
    });
    let mut raw = Vec::new();
    for (name, kind) in &entries {
        raw.push(if *kind == Kind::Dir { DIR } else { 0 });
        put(&mut raw, name);
    }
    Some(Listing { gitignore, raw })
}

/// Appends `bytes` after their length (4 bytes: a name is at most 255 bytes on Linux, a
/// listing or path far less than 4 GiB).
fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn encode(out: &mut Vec<u8>, rel: &[u8], stamp: Stamp, listing: &Listing) {
    out.extend_from_slice(&[0; 4]);
    put(out, rel);
    out.extend_from_slice(&stamp.ino.to_le_bytes());
    out.extend_from_slice(&stamp.mtime.0.to_le_bytes());
    out.extend_from_slice(&stamp.mtime.1.to_le_bytes());
    out.push(u8::from(listing.gitignore));
    put(out, &listing.raw);
    let len = out.len() - 4;
    out[..4].copy_from_slice(&(len as u32).to_le_bytes());
    let sum = crc32fast::hash(&out[4..]);
    out.extend_from_slice(&sum.to_le_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.take()?) as usize;
        let (head, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    /// A work tree `w/` with `a.txt`, `sub/b.txt`, `sub/deep/c.txt`, and `.git/procoder/`.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for d in [".git/procoder", "w/sub/deep"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        for f in ["w/a.txt", "w/sub/b.txt", "w/sub/deep/c.txt", "w/.gitignore"] {
            std::fs::write(dir.path().join(f), f).expect("write");
        }
        dir
    }

    /// `tree()` with every folder of `w/` last changed a minute ago, and that time.
    fn settled_tree() -> (tempfile::TempDir, SystemTime) {
        let dir = tree();
        let past = SystemTime::now() - Duration::from_secs(60);
        for d in ["", "sub", "sub/deep"] {
            set_mtime(&dir.path().join("w").join(d), past);
        }
        (dir, past)
    }

    fn set_mtime(path: &Path, mtime: SystemTime) {
        File::open(path)
            .and_then(|f| f.set_modified(mtime))
            .expect("set the mtime");
    }

    fn mtime(path: &Path) -> SystemTime {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .expect("an mtime")
    }

    /// One run over `w/`'s folders in git's order: each folder's names, `/` after folders.
    fn run(dir: &Path) -> Vec<String> {
        let mut cache = DirCache::load(&dir.join(".git"));
        let mut seen = Vec::new();
        for rel in ["", "sub/", "sub/deep/"] {
            let listing = cache.list(&dir.join("w").join(rel), rel.as_bytes());
            let names: Vec<String> = listing
                .iter()
                .flat_map(|l| l.entries())
                .map(|(name, kind)| {
                    let slash = if kind == Kind::Dir { "/" } else { "" };
                    format!("{}{slash}", String::from_utf8_lossy(name))
                })
                .collect();
            seen.push(format!("{rel}: {}", names.join(" ")));
        }
        cache.save();
        seen
    }

    /// Folders last changed a minute ago are kept; a later run takes their listings from the
    /// cache (shown by a file added behind the folder's back: its mtime put back, as only
    /// `touch -d` would, the cache does not see it) and sees a file added the usual way.
    #[test]
    fn listings_are_reused_while_the_folder_mtime_holds() {
        let (dir, past) = settled_tree();
        let w = dir.path().join("w");
        let first = run(dir.path());
        assert_eq!(
            first,
            [
                ": .gitignore a.txt sub/",
                "sub/: b.txt deep/",
                "sub/deep/: c.txt"
            ]
        );
        assert!(dir.path().join(".git/procoder/untracked-cache").is_file());
        let leftovers = std::fs::read_dir(dir.path().join(".git/procoder"))
            .expect("read")
            .count();
        assert_eq!(leftovers, 1, "the temporary file is renamed, not left");

        std::fs::write(w.join("sub/hidden.txt"), "added").expect("write");
        set_mtime(&w.join("sub"), past);
        std::fs::write(w.join("sub/deep/new.txt"), "added").expect("write");
        assert_eq!(
            run(dir.path()),
            [
                ": .gitignore a.txt sub/",
                "sub/: b.txt deep/",
                "sub/deep/: c.txt new.txt"
            ]
        );
    }

    /// A folder changed at or after the moment its listing was read is read again next time
    /// (git's racy rule), and so is every folder when the cache file is damaged.
    #[test]
    fn racy_folders_and_damaged_caches_are_read_again() {
        let dir = tree();
        let w = dir.path().join("w");
        let past = SystemTime::now() - Duration::from_secs(60);
        let future = SystemTime::now() + Duration::from_secs(3600);
        set_mtime(&w, past);
        set_mtime(&w.join("sub"), future);
        set_mtime(&w.join("sub/deep"), past);
        run(dir.path());
        for (d, when) in [("sub", future), ("sub/deep", past)] {
            std::fs::write(w.join(d).join("new.txt"), "added").expect("write");
            set_mtime(&w.join(d), when);
        }
        let seen = run(dir.path());
        assert_eq!(seen[1], "sub/: b.txt deep/ new.txt", "racy: read again");
        assert_eq!(seen[2], "sub/deep/: c.txt", "kept: from the cache");

        let cache = dir.path().join(".git/procoder/untracked-cache");
        let before = mtime(&cache);
        let mut bytes = std::fs::read(&cache).expect("read");
        let at = bytes.len() / 2;
        bytes[at] ^= 0x20;
        std::fs::write(&cache, bytes).expect("damage");
        assert_eq!(run(dir.path())[2], "sub/deep/: c.txt new.txt");
        assert!(mtime(&cache) >= before, "rewritten whole");
        assert!(DirCache::load(&dir.path().join(".git")).old.is_some());
    }

    /// A folder read after the old cache's last record (it was racy last time) is kept too,
    /// with the records taken before it copied from the old file.
    #[test]
    fn a_folder_read_after_the_last_record_is_kept() {
        let (dir, past) = settled_tree();
        let w = dir.path().join("w");
        std::fs::create_dir(w.join("zz")).expect("mkdir");
        set_mtime(&w.join("zz"), SystemTime::now() + Duration::from_secs(3600));
        set_mtime(&w, past);
        let list = |rels: &[&str]| {
            let mut cache = DirCache::load(&dir.path().join(".git"));
            let counts: Vec<usize> = rels
                .iter()
                .map(|rel| {
                    let listing = cache.list(&w.join(rel), rel.as_bytes());
                    listing.map_or(0, |l| l.entries().count())
                })
                .collect();
            cache.save();
            counts
        };
        let rels = ["", "sub/", "sub/deep/", "zz/"];
        assert_eq!(list(&rels), [4, 2, 1, 0]);
        set_mtime(&w.join("zz"), past);
        assert_eq!(list(&rels), [4, 2, 1, 0], "zz/ read again, now kept");
        for d in ["sub/deep", "zz"] {
            std::fs::write(w.join(d).join("hidden.txt"), "added").expect("write");
            set_mtime(&w.join(d), past);
        }
        assert_eq!(list(&rels), [4, 2, 1, 0], "every listing from the cache");
    }

    /// Nothing is written when every listing came from the cache, nor without a
    /// `.git/procoder/` to write in (the walk still lists everything).
    #[test]
    fn unchanged_runs_write_nothing_and_missing_folders_only_skip_the_cache() {
        let (dir, past) = settled_tree();
        let w = dir.path().join("w");
        run(dir.path());
        let cache = dir.path().join(".git/procoder/untracked-cache");
        let old = past - Duration::from_secs(60);
        set_mtime(&cache, old);
        run(dir.path());
        assert_eq!(mtime(&cache), old, "not rewritten");

        std::fs::remove_dir_all(dir.path().join(".git/procoder")).expect("rm");
        std::fs::write(w.join("sub/new.txt"), "added").expect("write");
        assert_eq!(run(dir.path())[1], "sub/: b.txt deep/ new.txt");
        assert!(!dir.path().join(".git/procoder").exists());
    }
}

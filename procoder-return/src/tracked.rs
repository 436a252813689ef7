//! Tracked files against the index, as `git status` refreshes them: one `lstat` per entry,
//! compared with the entry's stat data; a file is read and hashed only when they differ or the
//! entry is racily clean. Entries found unchanged by their content get the file's stat data,
//! and the index is written back, so that the next run is a stat per file.

use crate::index_file::IndexFile;
use procoder_bundle::checkout::Conversion;
use procoder_manifest::{Failure, Result};
use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const GITLINK: u32 = 0o160000;
const LINK: u32 = 0o120000;
const EXEC: u32 = 0o100755;
const FILE: u32 = 0o100644;
/// `flags`: the merge stage, and git's assume-unchanged bit (never checked, as in git).
const STAGE_MASK: u16 = 0x3000;
const ASSUME_VALID: u16 = 0x8000;
/// `flags_extended`: sparse checkout's skip-worktree bit (no file expected).
const SKIP_WORKTREE: u16 = 1 << 14;

/// The repository settings the comparison follows, read from its config.
pub(crate) struct Settings {
    /// `core.checkStat=minimal`: an exported entry (no inode) is trusted on size and mtime.
    minimal: bool,
    /// `core.fileMode` (default true): the exec bit counts.
    filemode: bool,
    /// `core.trustCtime` (default true).
    trust_ctime: bool,
    /// `core.autocrlf` set: every hash goes through libgit2's filters.
    autocrlf: bool,
    /// The index file's mtime when read: entries as new are racily clean (git's rule).
    index_mtime: Option<(i64, i64)>,
}

impl Settings {
    pub(crate) fn read(repo: &git2::Repository) -> Self {
        let config = repo.config().ok();
        let string = |key: &str| {
            config
                .as_ref()
                .and_then(|c| c.get_string(key).ok())
                .map(|s| s.to_ascii_lowercase())
        };
        let flag = |key: &str| match string(key).as_deref() {
            Some("false" | "no" | "off" | "0" | "") => false,
            Some(_) | None => true,
        };
        let index_mtime = std::fs::metadata(repo.path().join("index"))
            .ok()
            .map(|m| (m.mtime(), m.mtime_nsec()));
        Self {
            minimal: string("core.checkstat").as_deref() == Some("minimal"),
            filemode: flag("core.filemode"),
            trust_ctime: flag("core.trustctime"),
            autocrlf: string("core.autocrlf").is_some() && flag("core.autocrlf"),
            index_mtime,
        }
    }

    fn racy(&self, entry: &git2::IndexEntry) -> bool {
        let mtime = (
            i64::from(entry.mtime.seconds()),
            i64::from(entry.mtime.nanoseconds()),
        );
        self.index_mtime.is_some_and(|index| mtime >= index)
    }
}

/// Tracked paths that differ from the index, in index order.
#[derive(Default)]
pub(crate) struct Tracked {
    /// Changed, deleted, type or mode changed in the work tree.
    pub(crate) modified: Vec<Vec<u8>>,
    /// Paths with entries at a merge stage.
    pub(crate) conflicted: Vec<Vec<u8>>,
}

enum Verdict {
    Clean,
    /// Clean, with stat data the entry does not hold yet.
    Refresh(Metadata),
    Modified,
}

/// Compares every stage-0 entry but gitlinks with its file; writes the refreshed index back.
pub(crate) fn check(
    repo: &git2::Repository,
    index: &IndexFile,
    settings: &Settings,
) -> Result<Tracked> {
    let mut out = Tracked::default();
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        return Ok(out);
    };
    let mut refreshed = Vec::new();
    let mut compared = Vec::new();
    for entry in &index.entries {
        if entry.flags & STAGE_MASK != 0 {
            if out.conflicted.last() != Some(&entry.path) {
                out.conflicted.push(entry.path.clone());
            }
            continue;
        }
        if entry.mode == GITLINK
            || entry.flags & ASSUME_VALID != 0
            || entry.flags_extended & SKIP_WORKTREE != 0
        {
            continue;
        }
        compared.push(entry);
    }
    for (entry, quick) in stat_all(&workdir, &compared, settings) {
        let verdict = match quick {
            Quick::Clean => Verdict::Clean,
            Quick::Modified => Verdict::Modified,
            Quick::Check(meta) => compare(repo, &workdir, entry, meta, settings),
        };
        match verdict {
            Verdict::Clean => {}
            Verdict::Modified => out.modified.push(entry.path.clone()),
            Verdict::Refresh(meta) => {
                refreshed.push(crate::worktree::with_stat(
                    crate::index_file::copy(entry),
                    &meta,
                ));
            }
        }
    }
    if !refreshed.is_empty() {
        // Written through libgit2, which keeps every extension it read.
        let mut index = repo
            .index()
            .map_err(|e| Failure::internal("cannot read the index", e))?;
        for entry in &refreshed {
            index
                .add(entry)
                .map_err(|e| Failure::internal("cannot refresh the index", e))?;
        }
        index
            .write()
            .map_err(|e| Failure::internal("cannot write the index", e))?;
    }
    Ok(out)
}

/// What an `lstat` alone tells of an entry; `Check` needs the repository (attributes, the
/// checked-out form, the content's hash), which only one thread may use.
enum Quick {
    Clean,
    Modified,
    Check(Metadata),
}

/// Below this many entries one thread stats them all; above, two share them, as git's
/// preload-index does (the walk of untracked files runs beside them on its own).
const PARALLEL_FROM: usize = 4096;

/// `quick` for every entry: those it does not find clean, in order.
fn stat_all<'e>(
    workdir: &Path,
    entries: &[&'e git2::IndexEntry],
    settings: &Settings,
) -> Vec<(&'e git2::IndexEntry, Quick)> {
    let stat = |part: &[&'e git2::IndexEntry]| -> Vec<_> {
        part.iter()
            .map(|&e| (e, quick(workdir, e, settings)))
            .filter(|(_, q)| !matches!(q, Quick::Clean))
            .collect()
    };
    if entries.len() < PARALLEL_FROM {
        return stat(entries);
    }
    let (first, second) = entries.split_at(entries.len() / 2);
    std::thread::scope(|s| {
        let later = s.spawn(|| stat(second));
        let mut all = stat(first);
        // A panic in the other half is this thread's panic: no half-checked tree is clean.
        all.extend(
            later
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
        );
        all
    })
}

fn quick(workdir: &Path, entry: &git2::IndexEntry, settings: &Settings) -> Quick {
    let file = workdir.join(OsStr::from_bytes(&entry.path));
    let Ok(meta) = std::fs::symlink_metadata(&file) else {
        return Quick::Modified;
    };
    let kind = meta.file_type();
    let mode = if kind.is_symlink() {
        LINK
    } else if !kind.is_file() {
        return Quick::Modified;
    } else if !settings.filemode && (entry.mode == EXEC || entry.mode == FILE) {
        entry.mode
    } else if meta.mode() & 0o100 != 0 {
        // git and libgit2 read the owner's bit only.
        EXEC
    } else {
        FILE
    };
    if mode != entry.mode {
        return Quick::Modified;
    }
    let size = meta.size() as u32;
    if size != entry.file_size && entry.file_size != 0 {
        return Quick::Check(meta);
    }
    // The export cannot know the extracted files' inodes: under core.checkStat=minimal git
    // trusts size and whole-second mtime, and so does the helper for those entries only.
    let exported = entry.ino == 0 && entry.dev == 0;
    let trusted = stat_matches(entry, &meta, settings.trust_ctime)
        || (exported
            && settings.minimal
            && size == entry.file_size
            && meta.mtime() as i32 == entry.mtime.seconds());
    // Trusted on its stat data, the entry is left as it is, as git's refresh leaves an entry
    // `ie_match_stat` passes: an exported entry trusted under core.checkStat=minimal keeps its
    // export's stat data (no inode), and the index is not rewritten. Rewriting all 15,600 of
    // libgit2's entries through libgit2 was the first run's largest cost (0.12 s and 23.1 MB,
    // against 0.07 s and 10.9 MB without), and the agent often runs the helper once.
    if trusted && !settings.racy(entry) {
        return Quick::Clean;
    }
    Quick::Check(meta)
}

/// An entry `quick` could not settle: a size that differs, or stat data that cannot be
/// trusted (changed, or racily clean).
fn compare(
    repo: &git2::Repository,
    workdir: &Path,
    entry: &git2::IndexEntry,
    meta: Metadata,
    settings: &Settings,
) -> Verdict {
    let rel = Path::new(OsStr::from_bytes(&entry.path));
    let file = workdir.join(rel);
    // A size the index knows (not 0, "unknown") that differs is a change without hashing the
    // file, as git and libgit2 decide it (but for the exemption of a file as checked out).
    if meta.size() as u32 != entry.file_size && entry.file_size != 0 {
        return match crate::worktree::as_checked_out(repo, &entry.path) {
            true => Verdict::Clean,
            false => Verdict::Modified,
        };
    }
    let same_content = same_content(repo, rel, &file, entry, &meta, settings);
    let clean = match stat_matches(entry, &meta, settings.trust_ctime) {
        true => Verdict::Clean,
        false => Verdict::Refresh(meta),
    };
    if same_content {
        clean
    } else if crate::worktree::as_checked_out(repo, &entry.path) {
        Verdict::Clean
    } else {
        Verdict::Modified
    }
}

/// The stat data libgit2 compares (git compares the device too, only when built to).
fn stat_matches(entry: &git2::IndexEntry, meta: &Metadata, trust_ctime: bool) -> bool {
    let time = |t: git2::IndexTime| (i64::from(t.seconds()), i64::from(t.nanoseconds()));
    // The index keeps times and sizes as 32-bit fields.
    let truncated = |s: i64, ns: i64| (i64::from(s as i32), i64::from(ns as u32));
    time(entry.mtime) == truncated(meta.mtime(), meta.mtime_nsec())
        && (!trust_ctime || time(entry.ctime) == truncated(meta.ctime(), meta.ctime_nsec()))
        && entry.file_size == meta.size() as u32
        && entry.ino == meta.ino() as u32
        && entry.uid == meta.uid()
        && entry.gid == meta.gid()
}

/// True when the file hashes to the entry's blob, with `git add`'s conversions applied.
fn same_content(
    repo: &git2::Repository,
    rel: &Path,
    file: &Path,
    entry: &git2::IndexEntry,
    meta: &Metadata,
    settings: &Settings,
) -> bool {
    if meta.file_type().is_symlink() {
        return std::fs::read_link(file).is_ok_and(|target| {
            git2::Oid::hash_object(git2::ObjectType::Blob, target.as_os_str().as_bytes())
                .is_ok_and(|oid| oid == entry.id)
        });
    }
    let plain = !settings.autocrlf
        && Conversion::lookup(repo, rel, git2::AttrCheckFlags::FILE_THEN_INDEX)
            .is_ok_and(|c| !c.cleans());
    if plain {
        return git2::Oid::hash_file(git2::ObjectType::Blob, file).is_ok_and(|oid| oid == entry.id);
    }
    // Line-ending or ident conversion: libgit2 hashes through its filters, as its status did.
    let changed = git2::Status::WT_MODIFIED
        | git2::Status::WT_DELETED
        | git2::Status::WT_TYPECHANGE
        | git2::Status::WT_NEW;
    repo.status_file(rel)
        .is_ok_and(|status| !status.intersects(changed))
}

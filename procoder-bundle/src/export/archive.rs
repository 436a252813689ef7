//! The repository archive (`procoder archive`): a task package without the helper, the
//! exchange record and the task branch, whose work tree is taken from disk as it is now
//! (uncommitted changes and untracked files included) instead of from HEAD. Its `.git` is the
//! task package's: every local head and tag, exactly the objects they (and HEAD) reach, core
//! config and identity only. Its index is HEAD's tree, so `git status` in the unzipped archive
//! shows what was uncommitted as uncommitted. Which paths to take, and which of them differ
//! from HEAD, is the caller's (it asks git's status); this module only writes.

use super::index::Entry;
use super::worktree::Stamp;
use super::{
    buffered, head_index, index_member, ioerr, pack, skeleton, unbuffer, zerr, Opts, Skeleton,
};
use crate::Progress;
use procoder_manifest::{Failure, Result};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{Seek, Write};
use std::path::Path;
use zip::CompressionMethod;

/// Everything an archive is made of.
pub struct ArchiveInput<'a> {
    /// The user's repository.
    pub repo: &'a git2::Repository,
    /// Its work tree, where the files are read.
    pub workdir: &'a Path,
    /// The folder name inside the zip.
    pub top: &'a str,
    /// The branch HEAD names (`refs/heads/...`), or None when HEAD is detached.
    pub head_ref: Option<&'a str>,
    /// The commit HEAD is at (None on an unborn branch).
    pub head_oid: Option<git2::Oid>,
    /// Every exported ref (local heads and tags) and its target.
    pub refs: &'a [(String, git2::Oid)],
    /// Paths HEAD does not hold that the archive carries from disk (untracked, not ignored;
    /// staged new files).
    pub extra: &'a [Vec<u8>],
    /// Paths of HEAD whose disk file may not hold HEAD's blob (any status at all): their index
    /// entries carry no size or time, so git reads the file and sees the change.
    pub changed: &'a HashSet<Vec<u8>>,
    /// Scratch space for the pack, removed by the caller.
    pub scratch: &'a Path,
    /// The time of every entry.
    pub unix_time: i64,
}

/// What went into the archive.
#[derive(Debug, Default)]
pub struct ArchiveStats {
    /// Files and symlinks written.
    pub files: usize,
    /// Objects in the pack.
    pub objects: usize,
    /// Submodule paths: gitlinks over empty folders, their contents left out.
    pub submodules: Vec<String>,
    /// Paths left out because they are neither a file, a symlink nor a folder (sockets, fifos).
    pub skipped: Vec<String>,
}

const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

/// Writes the archive into `out`.
pub fn write_archive<W: Write + Seek>(
    input: &ArchiveInput<'_>,
    out: W,
    progress: &mut dyn Progress,
) -> Result<(W, ArchiveStats)> {
    let mut zip = zip::ZipWriter::new(buffered(out));
    let opts = Opts::at(input.unix_time);
    let top = input.top;
    let git = format!("{top}/.git");
    let mut stats = ArchiveStats::default();

    let head_line = match (input.head_ref, input.head_oid) {
        (Some(branch), _) => format!("ref: {branch}"),
        (None, Some(oid)) => oid.to_string(),
        (None, None) => "ref: refs/heads/main".to_owned(),
    };
    let what = Skeleton {
        head_line: &head_line,
        description: b"procoder repository archive\n",
        exclude: None,
        extra_dirs: &[],
    };
    skeleton(&mut zip, opts, &git, input.repo, input.refs, &what)?;

    // HEAD's commit too: a detached HEAD may be reachable from no ref.
    let mut tips: Vec<git2::Oid> = input.refs.iter().map(|(_, oid)| *oid).collect();
    tips.extend(input.head_oid);
    let mut deflating = None;
    if !tips.is_empty() {
        let found = crate::reachable(input.repo, &tips, None, progress)?;
        let (packing, name);
        (packing, name, stats.objects, _) = pack(
            &mut zip,
            opts,
            &git,
            input.repo,
            found,
            input.scratch,
            progress,
        )?;
        deflating = Some((packing, name));
    }

    // HEAD's entries by path: what the index holds and where disk files are compared.
    let mut head: BTreeMap<Vec<u8>, (u32, git2::Oid)> = BTreeMap::new();
    if let Some(oid) = input.head_oid {
        let tree = input
            .repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(|e| Failure::internal("cannot read the HEAD commit", e))?
            .id();
        for e in head_index(input.repo, tree)?.iter() {
            head.insert(e.path, (e.mode, e.id));
        }
    }
    let mut paths: BTreeSet<&[u8]> = head.keys().map(Vec::as_slice).collect();
    paths.extend(input.extra.iter().map(Vec::as_slice));
    progress.phase(crate::Phase::Packaging, Some(paths.len() as u64));

    let stamp = Stamp {
        unix: input.unix_time,
    };
    let disk_modes = cfg!(unix)
        && input
            .repo
            .config()
            .and_then(|c| c.get_bool("core.filemode"))
            .unwrap_or(true);
    let mut dirs: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut written: BTreeMap<&[u8], u64> = BTreeMap::new();
    for (done, path) in paths.iter().enumerate() {
        progress.advance(done as u64);
        let in_head = head.get(*path);
        let shown = || String::from_utf8_lossy(path).into_owned();
        if let Some((0o160000, _)) = in_head {
            stats.submodules.push(shown());
            directory(&mut zip, stamp, top, path, &mut dirs)?;
            continue;
        }
        let full = input.workdir.join(crate::host::git_path(path));
        let Ok(meta) = std::fs::symlink_metadata(&full) else {
            continue; // deleted (or its folder became a file): the index says so
        };
        if meta.is_dir() {
            continue; // a tracked file turned folder: its files are in `extra`
        }
        if !meta.is_file() && !meta.file_type().is_symlink() {
            stats.skipped.push(shown());
            continue;
        }
        if let Some(parent) = path.iter().rposition(|&b| b == b'/') {
            directory(&mut zip, stamp, top, &path[..parent], &mut dirs)?;
        }
        let mut name = format!("{top}/").into_bytes();
        name.extend_from_slice(path);
        let size = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full).map_err(read_err(&full))?;
            let target = link_bytes(&target);
            let opts = stamp
                .options(&name)?
                .compression_method(CompressionMethod::Stored)
                .external_attributes((S_IFLNK | 0o777) << 16);
            zip.start_file_with_options(opts)
                .map_err(zerr("a symlink"))?;
            zip.write_all(&target).map_err(ioerr("a symlink"))?;
            target.len() as u64
        } else {
            let exec = if disk_modes {
                is_exec(&meta)
            } else {
                matches!(in_head, Some((0o100755, _)))
            };
            let opts = stamp
                .options(&name)?
                .compression_method(CompressionMethod::Deflated)
                .unix_permissions(if exec { 0o755 } else { 0o644 })
                .large_file(meta.len() >= u64::from(u32::MAX));
            zip.start_file_with_options(opts).map_err(zerr("a file"))?;
            let mut src = std::fs::File::open(&full).map_err(read_err(&full))?;
            std::io::copy(&mut src, &mut zip).map_err(read_err(&full))?
        };
        written.insert(path, size);
        stats.files += 1;
    }

    let entries = head
        .iter()
        .map(|(path, &(mode, oid))| {
            let size = written.get(path.as_slice()).copied();
            Entry {
                path: path.clone(),
                mode,
                oid,
                size: size.unwrap_or(0),
                trusted: size.is_some() && !input.changed.contains(path),
            }
        })
        .collect();
    if input.head_oid.is_some() {
        index_member(&mut zip, &git, entries, input.unix_time)?;
    }
    if let Some((deflating, name)) = deflating {
        deflating.finish(&mut zip, &name)?;
    }
    let out = unbuffer(zip.finish().map_err(zerr("the zip directory"))?)?;
    Ok((out, stats))
}

/// A folder entry for `path` and each of its parents not written yet.
fn directory<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    stamp: Stamp,
    top: &str,
    path: &[u8],
    done: &mut BTreeSet<Vec<u8>>,
) -> Result<()> {
    let mut ends: Vec<usize> = path
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'/')
        .map(|(i, _)| i)
        .collect();
    ends.push(path.len());
    for end in ends {
        let dir = &path[..end];
        if dir.is_empty() || !done.insert(dir.to_vec()) {
            continue;
        }
        let mut name = format!("{top}/").into_bytes();
        name.extend_from_slice(dir);
        name.push(b'/');
        let opts = stamp
            .options(&name)?
            .compression_method(CompressionMethod::Stored)
            .external_attributes(((S_IFDIR | 0o755) << 16) | 0x10);
        zip.start_file_with_options(opts)
            .map_err(zerr("a directory"))?;
    }
    Ok(())
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> Failure + '_ {
    move |e| Failure::internal(format!("cannot read {}", path.display()), e)
}

#[cfg(unix)]
fn is_exec(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

#[cfg(not(unix))]
fn is_exec(_: &std::fs::Metadata) -> bool {
    false
}

/// A symlink's target as the bytes git stores.
fn link_bytes(target: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        target.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        target.to_string_lossy().replace('\\', "/").into_bytes()
    }
}

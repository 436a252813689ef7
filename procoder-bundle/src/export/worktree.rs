//! The work tree at HEAD, written straight into the zip as `git checkout` would have written
//! it: modes, symlinks (to files, directories, dangling, absolute), line endings and `$Id$`
//! from `.gitattributes`, names as raw bytes (a zip name need not be UTF-8: Info-ZIP's
//! `unzip` writes the bytes as they are), submodules as empty directories. Each file's size
//! and time go into the index, so the sandbox's first `git status` trusts them as git trusts a
//! fresh checkout.

use super::attrs::Attrs;
use super::index::Entry;
use crate::Progress;
use procoder_manifest::{Failure, Result};
use std::io::{Seek, Write};
use zip::write::FullFileOptions;
use zip::CompressionMethod;

/// The zip's time for every work tree entry (seconds since the epoch).
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp {
    pub(super) unix: i64,
}

impl Stamp {
    pub(super) fn options(self, name: &[u8]) -> Result<FullFileOptions<'static, '_>> {
        zip::write::SimpleFileOptions::default()
            .last_modified_time(crate::package::zip_time(self.unix))
            // Info-ZIP reads this UTC time; without it, the DOS time above is taken as the
            // sandbox's local time and the index's times would be off by its UTC offset.
            .with_extended_timestamp(u32::try_from(self.unix).ok(), None, None)
            .map(|o| o.name(name))
            .map_err(|e| Failure::internal("cannot stamp a zip entry", e))
    }
}

/// What the walk found beyond the files themselves.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// One index entry per file, symlink and gitlink.
    pub(super) entries: Vec<Entry>,
    /// Submodule paths (exported as gitlinks with empty directories).
    pub(super) submodules: Vec<String>,
    /// Paths whose `filter` attribute names a driver (`lfs` and others), with the driver.
    pub(super) filtered: Vec<(String, String)>,
    /// Paths with a `working-tree-encoding` attribute (written as stored).
    pub(super) encoded: Vec<String>,
}

const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

/// Writes every entry of the tree `root` under `top/`.
pub(super) fn write<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    repo: &git2::Repository,
    root: git2::Oid,
    top: &str,
    stamp: Stamp,
    attrs: &Attrs,
    progress: &mut dyn Progress,
) -> Result<Walk> {
    let mut walk = Walk::default();
    let mut stack: Vec<(git2::Oid, Vec<u8>)> = vec![(root, Vec::new())];
    let zerr = |path: &[u8]| {
        let path = String::from_utf8_lossy(path).into_owned();
        move |e: zip::result::ZipError| {
            Failure::internal(format!("cannot write {path} into the task package"), e)
        }
    };
    while let Some((tree_id, prefix)) = stack.pop() {
        let tree = repo
            .find_tree(tree_id)
            .map_err(|e| Failure::internal(format!("cannot read tree {tree_id}"), e))?;
        for entry in tree.iter() {
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(entry.name_bytes());
            let mut name = format!("{top}/").into_bytes();
            name.extend_from_slice(&path);
            let mode = entry.filemode() as u32;
            match mode {
                0o040000 | 0o160000 => {
                    name.push(b'/');
                    let opts = stamp
                        .options(&name)?
                        .compression_method(CompressionMethod::Stored)
                        .external_attributes(((S_IFDIR | 0o755) << 16) | 0x10);
                    zip.start_file_with_options(opts).map_err(zerr(&path))?;
                    if mode == 0o040000 {
                        stack.push((entry.id(), path));
                        continue;
                    }
                    walk.submodules
                        .push(String::from_utf8_lossy(&path).into_owned());
                    walk.entries.push(Entry {
                        path,
                        mode,
                        oid: entry.id(),
                        size: 0,
                        trusted: true,
                    });
                    continue;
                }
                _ => {}
            }
            let blob = repo.find_blob(entry.id()).map_err(|e| {
                Failure::internal(format!("cannot read {}", String::from_utf8_lossy(&path)), e)
            })?;
            let size = if mode == S_IFLNK {
                let opts = stamp
                    .options(&name)?
                    .compression_method(CompressionMethod::Stored)
                    .external_attributes((S_IFLNK | 0o777) << 16);
                zip.start_file_with_options(opts).map_err(zerr(&path))?;
                zip.write_all(blob.content()).map_err(|e| {
                    Failure::internal(
                        format!("cannot write {}", String::from_utf8_lossy(&path)),
                        e,
                    )
                })?;
                blob.size()
            } else {
                let conversion = attrs.conversion(&path)?;
                let shown = || String::from_utf8_lossy(&path).into_owned();
                if let Some(driver) = &conversion.filter {
                    walk.filtered.push((shown(), driver.clone()));
                }
                if conversion.encoding.is_some() {
                    walk.encoded.push(shown());
                }
                let content = conversion.to_worktree(blob.content(), entry.id());
                let perm = if mode == 0o100755 { 0o755 } else { 0o644 };
                let opts = stamp
                    .options(&name)?
                    .compression_method(CompressionMethod::Deflated)
                    .unix_permissions(perm)
                    .large_file(content.len() as u64 >= u32::MAX as u64);
                zip.start_file_with_options(opts).map_err(zerr(&path))?;
                zip.write_all(&content)
                    .map_err(|e| Failure::internal(format!("cannot write {}", shown()), e))?;
                content.len()
            };
            walk.entries.push(Entry {
                path,
                mode,
                oid: entry.id(),
                size: size as u64,
                trusted: true,
            });
            progress.advance(walk.entries.len() as u64);
        }
    }
    Ok(walk)
}

//! Reading a bundle into a quarantine: a temporary object directory, as git's receive-pack
//! uses. Its objects are visible to checks through a separate repository handle and join the
//! repository only through [`Quarantine::promote`]; dropping it removes everything.

use crate::lex::{self, Kind};
use crate::{git_err, io_err, missing, verify_failed, BundleHeader, Phase, Progress};
use procoder_manifest::Result;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

/// Objects received from a bundle, kept apart from the repository's object store.
pub struct Quarantine {
    root: PathBuf,
    objects: PathBuf,
    promoted: bool,
}

/// Reads the header from `bundle`, then indexes its pack into a new quarantine directory under
/// `parent` (which must be on the repository's file system, so that promotion is a rename).
/// Thin packs resolve their bases from `repo`. A corrupt or truncated pack is
/// `BUNDLE_VERIFY_FAILED` with libgit2's message in the details.
pub fn read_bundle<R: BufRead + ?Sized>(
    repo: &git2::Repository,
    bundle: &mut R,
    parent: &Path,
    progress: &mut dyn Progress,
) -> Result<(BundleHeader, Quarantine)> {
    let header = BundleHeader::read(bundle)?;
    header.check_prerequisites(repo)?;
    let quarantine = Quarantine::create(parent)?;
    quarantine.index_pack(repo, bundle, progress)?;
    quarantine.check_reachability(repo, &header)?;
    Ok((header, quarantine))
}

impl Quarantine {
    fn create(parent: &Path) -> Result<Self> {
        std::fs::create_dir_all(parent)
            .map_err(io_err(format!("cannot create {}", parent.display())))?;
        let root = tempfile::Builder::new()
            .prefix("quarantine-")
            .tempdir_in(parent)
            .map_err(io_err(format!(
                "cannot create a quarantine in {}",
                parent.display()
            )))?
            .keep();
        let objects = root.join("objects");
        std::fs::create_dir_all(objects.join("pack"))
            .map_err(io_err("cannot create the quarantine object directory"))?;
        Ok(Self {
            root,
            objects,
            promoted: false,
        })
    }

    fn index_pack<R: Read + ?Sized>(
        &self,
        repo: &git2::Repository,
        pack: &mut R,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        let odb = crate::odb(repo)?;
        // verify=false: libgit2's connectivity check expects every tree entry's object,
        // gitlinks included (libgit2 1.9 indexer.c, check_object_connectivity), so any return
        // whose new trees hold a submodule failed with "packfile is missing 1 objects"; it
        // also buffered each whole object in memory. `check_reachability` (commits) and
        // `check_new_objects` (trees, blobs) check connectivity from the returned tips instead,
        // skipping gitlinks as git does.
        let mut indexer = git2::Indexer::new(Some(&odb), &self.objects.join("pack"), 0o444, false)
            .map_err(git_err("cannot start indexing the bundle pack"))?;
        progress.phase(Phase::Indexing, None);
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        let mut bound = crate::inflate_bound::InflateBound::new();
        loop {
            let n = match pack.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(verify_failed("cannot read the bundle pack")
                        .detail(e.to_string())
                        .with_source(e))
                }
            };
            // Before the indexer sees the bytes: a bomb is refused before it is allocated.
            bound.feed(&buf[..n])?;
            indexer.write_all(&buf[..n]).map_err(|e| {
                verify_failed("the bundle pack is corrupt")
                    .detail(e.to_string())
                    .with_source(e)
            })?;
            total += n as u64;
            progress.advance(total);
        }
        if total == 0 {
            return Err(verify_failed("the bundle has no pack data"));
        }
        indexer.commit().map_err(|e| {
            verify_failed("the bundle pack is corrupt or truncated")
                .detail(e.message().to_owned())
                .with_source(e)
        })?;
        Ok(())
    }

    /// Every commit between the advertised tips and what the repository has is present, as
    /// `git bundle verify` requires, and the pack holds nothing else that is new.
    ///
    /// The indexer's own check is off (see `index_pack`); without the walk a pack missing a
    /// commit surfaced later as `NOT_DESCENDANT`. Parents and tree entries are read from the
    /// raw bytes, not parsed by libgit2: a malformed object is present, and is the fsck-level
    /// checks' to refuse as `UNSAFE_OBJECT`. Those checks see only what the tips reach, so an
    /// object the tips do not reach (a hostile tree riding along) would have joined the store
    /// unchecked and made `git fsck --strict` fail there: such a pack is refused.
    fn check_reachability(&self, repo: &git2::Repository, header: &BundleHeader) -> Result<()> {
        let view = self.view(repo)?;
        let main = crate::odb(repo)?;
        let odb = crate::odb(&view)?;
        let mut reached = std::collections::HashSet::new();
        let mut trees = Vec::new();
        let tips: Vec<git2::Oid> = header.refs.iter().map(|(_, o)| crate::to_git(*o)).collect();
        let mut todo = tips.clone();
        while let Some(oid) = todo.pop() {
            if main.exists(oid) || !reached.insert(oid) {
                continue;
            }
            let raw = odb.read(oid).map_err(missing(|| {
                format!("the bundle's history is incomplete: commit {oid} is missing")
            }))?;
            if raw.kind() != git2::ObjectType::Commit {
                return Err(verify_failed(format!(
                    "the bundle's history is incomplete: {oid} is a {}, not a commit",
                    raw.kind()
                )));
            }
            let links = lex::commit_links(raw.data());
            trees.extend(links.tree().and_then(lex::hex_id));
            todo.extend(links.parents().filter_map(lex::hex_id));
        }
        while let Some(tree) = trees.pop() {
            if main.exists(tree) || !reached.insert(tree) {
                continue;
            }
            let Ok(raw) = odb.read(tree) else {
                continue; // missing or not a tree: the fsck-level checks say which
            };
            // What follows a truncated entry is fsck's to refuse with the tree.
            for entry in lex::tree_entries(raw.data()).map_while(|e| e.ok()) {
                match entry.kind() {
                    Kind::Gitlink => {}
                    Kind::Tree => trees.push(entry.oid),
                    Kind::Blob => {
                        reached.insert(entry.oid);
                    }
                }
            }
        }
        let pack_only = git2::Odb::new().map_err(git_err("cannot open the quarantine"))?;
        pack_only
            .add_disk_alternate(self.objects.to_str().unwrap_or_default())
            .map_err(git_err("cannot open the quarantine"))?;
        let mut stray = Vec::new();
        pack_only
            .foreach(|oid| {
                if !reached.contains(oid) && !main.exists(*oid) {
                    stray.push(*oid);
                }
                stray.len() < 10
            })
            .or_else(|e| {
                if e.code() == git2::ErrorCode::User {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(git_err("cannot list the quarantine"))?;
        if !stray.is_empty() {
            // A malformed object the tips do reach (a commit without a valid tree line, a tree
            // entry cut short) leaves what it meant to name unreached: name that fault, as
            // git's fsck does, rather than its consequence. The base exists in the repository,
            // so the walk stops there without it.
            crate::fsck::check_new_objects(&view, repo, &tips, git2::Oid::ZERO_SHA1)?;
            return Err(verify_failed(
                "the bundle's pack holds objects that its refs do not reach",
            )
            .details(stray.iter().map(|o| format!("unreachable object: {o}"))));
        }
        Ok(())
    }

    /// A handle on the repository that also sees the quarantined objects.
    pub fn view(&self, repo: &git2::Repository) -> Result<git2::Repository> {
        // Bare, over an empty index: the view only reads objects and refs. Otherwise libgit2's
        // diff looks up each file's diff driver in the work tree's and the index's
        // `.gitattributes`, loading the whole index (15% of apply on libgit2's repository) for
        // the review's diffstat, which then goes by content (and `info/attributes`).
        let view = git2::Repository::open_bare(repo.path())
            .and_then(|view| {
                view.set_index(&mut git2::Index::new()?)?;
                Ok(view)
            })
            .map_err(git_err("cannot reopen the repository"))?;
        self.attach(&view)?;
        Ok(view)
    }

    /// Lets `handle` (a handle of its own, such as a worktree's) see the quarantined objects.
    pub fn attach(&self, handle: &git2::Repository) -> Result<()> {
        let path = self.objects.to_str().ok_or_else(|| {
            procoder_manifest::Failure::new(
                procoder_manifest::ErrorCode::Internal,
                "the quarantine path is not UTF-8",
            )
        })?;
        // The alternate lives on this handle's object database only; the repository never sees it.
        handle
            .odb()
            .and_then(|odb| odb.add_disk_alternate(path))
            .map_err(git_err("cannot attach the quarantine"))
    }

    /// Moves the quarantined pack into the repository (pack before index, so a reader never
    /// sees an index without its pack), synced to disk.
    pub fn promote(mut self, repo: &git2::Repository) -> Result<()> {
        // The common directory: a linked worktree's own git directory has no object store.
        let dest = repo.commondir().join("objects").join("pack");
        std::fs::create_dir_all(&dest).map_err(io_err("cannot create objects/pack"))?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.objects.join("pack"))
            .map_err(io_err("cannot list the quarantine"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pack" || x == "idx"))
            .collect();
        files.sort_by_key(|p| p.extension().is_some_and(|x| x == "idx"));
        for src in files {
            let name = src.file_name().expect("read_dir entries have names");
            let target = dest.join(name);
            if target.exists() {
                continue; // the same pack (same checksum) is already there
            }
            std::fs::File::open(&src)
                .and_then(|f| f.sync_all())
                .map_err(io_err(format!("cannot sync {}", src.display())))?;
            std::fs::rename(&src, &target).map_err(io_err(format!(
                "cannot move {} into the repository",
                src.display()
            )))?;
        }
        std::fs::File::open(&dest)
            .and_then(|d| d.sync_all())
            .map_err(io_err("cannot sync objects/pack"))?;
        self.promoted = true;
        repo.odb()
            .and_then(|o| o.refresh())
            .map_err(git_err("cannot refresh the object database"))?;
        Ok(())
    }
}

impl Drop for Quarantine {
    fn drop(&mut self) {
        // Best effort: a leftover quarantine is inert (nothing points at it) and `status`
        // reports stray temporary directories.
        let _ = std::fs::remove_dir_all(&self.root);
        let _ = self.promoted;
    }
}

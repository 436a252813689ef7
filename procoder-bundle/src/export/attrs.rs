//! Attributes as the sandbox's git will read them: from the `.gitattributes` files of the
//! exported tree only. The user's `info/attributes`, `core.attributesFile` and system file
//! are not exported, so they must not decide how files are written either. libgit2 reads
//! them from any repository it opens, so lookups go through a scratch repository that has
//! none of them, the user's objects (as an alternate) and an index of the exported tree.

use crate::checkout::Conversion;
use procoder_manifest::{Failure, Result};
use std::path::Path;

/// Attribute lookups for the exported tree.
pub(super) struct Attrs {
    /// None when the tree has no `.gitattributes`: every file is written as stored.
    repo: Option<git2::Repository>,
}

impl Attrs {
    /// Lookups for `tree` of `user`, with scratch space under `scratch`.
    /// `index` holds the exported tree (see [`super::head_index`]).
    pub(super) fn new(
        user: &git2::Repository,
        mut index: git2::Index,
        scratch: &Path,
    ) -> Result<Self> {
        let fail = |what: &'static str| move |e| Failure::internal(what, e);
        let any = index
            .iter()
            .any(|e| e.path == b".gitattributes" || e.path.ends_with(b"/.gitattributes"));
        if !any {
            return Ok(Self { repo: None });
        }
        let dir = scratch.join("attrs.git");
        let repo = git2::Repository::init_bare(&dir)
            .map_err(fail("cannot create the attribute scratch repository"))?;
        let none = scratch.join("no-attributes");
        std::fs::write(&none, b"")
            .map_err(|e| Failure::internal("cannot write a scratch file", e))?;
        let mut config = repo.config().map_err(fail("cannot open scratch config"))?;
        // A local value hides the user's global core.attributesFile.
        config
            .set_str("core.attributesFile", &none.to_string_lossy())
            .map_err(fail("cannot write scratch config"))?;
        repo.odb()
            .and_then(|odb| odb.add_disk_alternate(&user.path().join("objects").to_string_lossy()))
            .map_err(fail("cannot reach the repository's objects"))?;
        repo.set_index(&mut index)
            .map_err(fail("cannot attach the export index"))?;
        Ok(Self { repo: Some(repo) })
    }

    /// The checkout conversion for `path` (no conversion when the tree has no attributes).
    pub(super) fn conversion(&self, path: &[u8]) -> Result<Conversion> {
        let Some(repo) = &self.repo else {
            return Ok(Conversion::default());
        };
        let flags = git2::AttrCheckFlags::INDEX_ONLY | git2::AttrCheckFlags::NO_SYSTEM;
        Conversion::lookup(repo, &crate::host::git_path(path), flags).map_err(|e| {
            Failure::internal(
                format!(
                    "cannot read the attributes of {}",
                    String::from_utf8_lossy(path)
                ),
                e,
            )
        })
    }
}

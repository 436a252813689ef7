//! What the sandbox's base already holds, asked of the objects a return adds: is this tree or
//! blob one of the base's? The helper's object check trusts what the base holds and the bundle
//! leaves it out.
//!
//! Walking the base's whole tree to answer costs more than the rest of a small return
//! (libgit2's repository has 5,900 directories), so the walk is the last resort. An object the
//! base holds at the same path is answered from that path alone. A loose object is new: the
//! package's objects are all packed, and git writes no loose copy of an object it already has.
//! Only a packed object found at no matching path (a file copied, a directory moved, anything
//! after the agent ran `git gc`) makes the walk, once: the helper makes one `BaseTrees` for
//! both its object check and its bundle.

use crate::write::truncated;
use crate::{enumerate, git_err};
use procoder_manifest::Result;
use std::cell::OnceCell;
use std::collections::HashSet;
use std::path::PathBuf;

/// The trees of a return's prerequisites (the sandbox's base), asked which objects they hold.
pub struct BaseTrees<'r> {
    commits: Vec<git2::Oid>,
    odb: git2::Odb<'r>,
    roots: Vec<git2::Tree<'r>>,
    objects_dir: PathBuf,
    /// Every object of the roots, once something needed it. A tree that cannot be read leaves
    /// the set short: what it misses is then treated as new, which only checks or ships more.
    walked: OnceCell<HashSet<git2::Oid>>,
}

impl<'r> BaseTrees<'r> {
    /// The trees of `commits` in `repo`; nothing is walked yet.
    pub fn new(repo: &'r git2::Repository, commits: &[git2::Oid]) -> Result<Self> {
        let roots = commits
            .iter()
            .map(|&oid| {
                repo.find_commit(oid)
                    .and_then(|c| c.tree())
                    .map_err(git_err(format!("cannot read the tree of {oid}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            commits: commits.to_vec(),
            odb: crate::odb(repo)?,
            roots,
            objects_dir: repo.commondir().join("objects"),
            walked: OnceCell::new(),
        })
    }

    /// The commits whose trees these are.
    pub fn commits(&self) -> &[git2::Oid] {
        &self.commits
    }

    /// The base's object at `path` (the root tree for the empty path), from the first root
    /// that has one.
    pub(crate) fn at_path(&self, path: &[u8]) -> Option<(git2::Oid, Option<git2::ObjectType>)> {
        self.roots.iter().find_map(|root| {
            if path.is_empty() {
                return Some((root.id(), Some(git2::ObjectType::Tree)));
            }
            let entry = root.get_path(&crate::host::git_path(path)).ok()?;
            Some((entry.id(), entry.kind()))
        })
    }

    /// Whether the base holds `oid`, found by a return at `path`.
    pub(crate) fn holds(&self, oid: git2::Oid, path: &[u8]) -> bool {
        if self.at_path(path).is_some_and(|(at, _)| at == oid) {
            return true;
        }
        if self.is_loose(oid) {
            return false;
        }
        self.walked
            .get_or_init(|| {
                let mut objects = HashSet::new();
                let mut stack: Vec<git2::Oid> = self.roots.iter().map(|r| r.id()).collect();
                // An unreadable tree ends the walk early; see `walked`.
                let _ = enumerate::walk_trees(&self.odb, &mut stack, &mut objects, truncated);
                objects
            })
            .contains(&oid)
    }

    fn is_loose(&self, oid: git2::Oid) -> bool {
        let hex = oid.to_string();
        self.objects_dir.join(&hex[..2]).join(&hex[2..]).is_file()
    }
}

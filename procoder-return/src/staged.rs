//! Staged changes: the index against HEAD's tree. The index's own tree is hashed first, in
//! memory and in one pass over the sorted entries (what `git write-tree` would write, nothing
//! written): when it is HEAD's tree, nothing is staged and no tree of HEAD is read. Only
//! otherwise does libgit2's tree-to-index diff name the paths.

use crate::index_file::IndexFile;
use procoder_manifest::{Failure, Result};

const STAGE_MASK: u16 = 0x3000;
/// `flags_extended`: `git add -N`, an entry that is not in the tree git would write.
const INTENT_TO_ADD: u16 = 1 << 13;

/// Paths whose index entry differs from HEAD's tree, and whether the index deletes them.
pub(crate) fn staged(repo: &git2::Repository, index: &IndexFile) -> Result<Vec<(Vec<u8>, bool)>> {
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let tree = match no_conflicts(&index.entries) {
        // The cache tree is what git commit writes from; without it, hash the entries.
        true => index.tree.or_else(|| index_tree(&index.entries)),
        false => None,
    };
    if let (Some(head), Some(tree)) = (&head, tree) {
        if head.id() == tree {
            return Ok(Vec::new());
        }
    }
    let index = repo
        .index()
        .map_err(|e| Failure::internal("cannot read the index", e))?;
    let mut opts = git2::DiffOptions::new();
    opts.include_typechange(true).ignore_submodules(true);
    let diff = repo
        .diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut opts))
        .map_err(|e| Failure::internal("cannot compare the index with HEAD", e))?;
    let mut out = Vec::new();
    for delta in diff.deltas() {
        if delta.status() == git2::Delta::Conflicted {
            continue;
        }
        let file = match delta.new_file().path_bytes() {
            Some(p) => p,
            None => match delta.old_file().path_bytes() {
                Some(p) => p,
                None => continue,
            },
        };
        out.push((file.to_vec(), delta.status() == git2::Delta::Deleted));
    }
    Ok(out)
}

/// No entry at a merge stage or added with intent (`git add -N`): the entries are a tree.
/// Otherwise the diff decides.
fn no_conflicts(entries: &[git2::IndexEntry]) -> bool {
    entries
        .iter()
        .all(|e| e.flags & STAGE_MASK == 0 && e.flags_extended & INTENT_TO_ADD == 0)
}

/// The id of the tree the entries describe (all at stage 0). Index order is tree order (a
/// directory sorts as its name and '/'), so one stack of open directories suffices.
fn index_tree(entries: &[git2::IndexEntry]) -> Option<git2::Oid> {
    // (the directory's path with its trailing '/', its tree's bytes so far)
    let mut open: Vec<(Vec<u8>, Vec<u8>)> = vec![(Vec::new(), Vec::new())];
    for entry in entries {
        let path = &entry.path;
        while open.len() > 1 && !open.last().is_some_and(|(dir, _)| path.starts_with(dir)) {
            close(&mut open)?;
        }
        let mut start = open.last()?.0.len();
        while let Some(slash) = path[start..].iter().position(|&b| b == b'/') {
            open.push((path[..start + slash + 1].to_vec(), Vec::new()));
            start += slash + 1;
        }
        push_entry(
            &mut open.last_mut()?.1,
            entry.mode,
            &path[start..],
            entry.id,
        );
    }
    while open.len() > 1 {
        close(&mut open)?;
    }
    let (_, root) = open.pop()?;
    git2::Oid::hash_object(git2::ObjectType::Tree, &root).ok()
}

/// Hashes the innermost open directory and enters it into its parent.
fn close(open: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Option<()> {
    let (dir, bytes) = open.pop()?;
    let oid = git2::Oid::hash_object(git2::ObjectType::Tree, &bytes).ok()?;
    let (parent, parent_bytes) = open.last_mut()?;
    let name = &dir[parent.len()..dir.len() - 1];
    push_entry(parent_bytes, 0o40000, name, oid);
    Some(())
}

fn push_entry(tree: &mut Vec<u8>, mode: u32, name: &[u8], oid: git2::Oid) {
    tree.extend_from_slice(format!("{mode:o} ").as_bytes());
    tree.extend_from_slice(name);
    tree.push(0);
    tree.extend_from_slice(oid.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-memory tree is the one libgit2 writes from the same index, for names that sort
    /// around a directory's '/' (`a-b`, `a.txt`, `a0` beside `a/`), nested folders, an
    /// executable and a symlink.
    #[test]
    fn the_index_tree_is_the_tree_git_writes() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let repo = git2::Repository::init(dir.path()).expect("init");
        let files = [
            "a-b",
            "a.txt",
            "a0",
            "a/x",
            "a/b/c/d.txt",
            "a/b-c",
            "z/y",
            "run.sh",
        ];
        crate::write_test_files(dir.path(), &files);
        let mut index = repo.index().expect("index");
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .expect("add");
        let written = index.write_tree().expect("write-tree");
        let entries = |index: &git2::Index| index.iter().collect::<Vec<_>>();
        assert_eq!(index_tree(&entries(&index)), Some(written));
        // One blob changed: another tree.
        std::fs::write(dir.path().join("a0"), "changed").expect("write");
        index.add_path(std::path::Path::new("a0")).expect("re-add");
        assert_ne!(index_tree(&entries(&index)), Some(written));
        assert_eq!(
            index_tree(&entries(&index)),
            Some(index.write_tree().expect("write-tree"))
        );
    }
}

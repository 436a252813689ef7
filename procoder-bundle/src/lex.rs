//! Lexing raw objects: the entries of a tree, the links at the top of a commit and the target
//! of a tag, read from the bytes the object database hands out. The walks that read every tree
//! of a history (enumeration, the thin bundle's object list, the quarantine's reachability,
//! fsck) all read them here, so that they cannot disagree on where an entry ends.
//!
//! Lexing judges nothing: a mode comes back as its bytes and an id as its hex, and what is
//! acceptable is each caller's to say (fsck is strict; walks over a repository we trust are
//! lenient). The iterators borrow the object's bytes and allocate nothing, because those walks
//! meet every tree of git.git; on hostile bytes they end with an error instead of panicking.

use procoder_manifest::ObjectId;

/// What a tree entry names, read from its mode as leniently as the walks need: `40000` (and
/// the zero-padded `040000` some old tools wrote) is a tree, `160000` a gitlink, anything
/// else a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tree,
    /// A file or a symlink.
    Blob,
    /// A submodule commit, which lives in another repository.
    Gitlink,
}

/// One entry of a raw tree: `<mode> <name>\0<20-byte id>`.
#[derive(Debug, Clone, Copy)]
pub struct TreeEntry<'a> {
    /// The mode as written, unchecked.
    pub mode: &'a [u8],
    /// The name as written: any bytes but NUL.
    pub name: &'a [u8],
    pub oid: git2::Oid,
}

impl TreeEntry<'_> {
    pub fn kind(&self) -> Kind {
        match self.mode {
            b"40000" | b"040000" => Kind::Tree,
            b"160000" => Kind::Gitlink,
            _ => Kind::Blob,
        }
    }
}

/// Where a tree's bytes ran out in the middle of an entry, with what was read of it: fsck
/// names the mode or the entry in its refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncated<'a> {
    /// No space ends a mode.
    Mode,
    /// No NUL ends the name after `mode`.
    Name { mode: &'a [u8] },
    /// Fewer than 20 bytes of id follow the name.
    Id { mode: &'a [u8], name: &'a [u8] },
}

/// The entries of a raw tree, in the order written. After a [`Truncated`] entry it yields
/// nothing more: what follows cannot be told apart from the broken entry.
pub fn tree_entries(data: &[u8]) -> TreeEntries<'_> {
    TreeEntries { data }
}

/// The iterator of [`tree_entries`].
pub struct TreeEntries<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for TreeEntries<'a> {
    type Item = Result<TreeEntry<'a>, Truncated<'a>>;

    /// The mode ends at the first space and the name at the first NUL after it, as git reads
    /// an entry; a NUL inside the mode is part of the mode (fsck refuses it as a bad mode).
    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        // Taken, and put back only past a whole entry: after a broken one, nothing is read.
        let data = std::mem::take(&mut self.data);
        let Some(sp) = data.iter().position(|&c| c == b' ') else {
            return Some(Err(Truncated::Mode));
        };
        let (mode, rest) = (&data[..sp], &data[sp + 1..]);
        let Some(nul) = rest.iter().position(|&c| c == 0) else {
            return Some(Err(Truncated::Name { mode }));
        };
        let name = &rest[..nul];
        let Some(id) = rest.get(nul + 1..nul + 21) else {
            return Some(Err(Truncated::Id { mode, name }));
        };
        self.data = &rest[nul + 21..];
        let oid = git2::Oid::from_bytes(id).expect("20 bytes make a sha1 id");
        Some(Ok(TreeEntry { mode, name, oid }))
    }
}

/// The lines of a commit, as `split` at `\n` yields them. Not `split` itself: a nameable
/// `Split` stores its test as a `fn` pointer, called for every byte of every commit read.
struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match rest.iter().position(|&c| c == b'\n') {
            Some(end) => {
                self.rest = Some(&rest[end + 1..]);
                Some(&rest[..end])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// The links at the top of a raw commit: its first line, which names the tree as
/// `tree <hex>`, and the run of `parent <hex>` lines right after it. Nothing past that run
/// is read unless asked for ([`Parents::after`]).
pub fn commit_links(data: &[u8]) -> CommitLinks<'_> {
    let mut lines = Lines { rest: Some(data) };
    let first = lines.next().unwrap_or_default();
    CommitLinks {
        tree: first.strip_prefix(b"tree "),
        lines,
    }
}

/// What [`commit_links`] found.
pub struct CommitLinks<'a> {
    tree: Option<&'a [u8]>,
    lines: Lines<'a>,
}

impl<'a> CommitLinks<'a> {
    /// The hex after `tree `, or `None` when the first line is not a tree line.
    pub fn tree(&self) -> Option<&'a [u8]> {
        self.tree
    }

    /// The hex of each `parent ` line after the first line, up to the first other line.
    pub fn parents(self) -> Parents<'a> {
        Parents {
            lines: self.lines,
            after: None,
        }
    }
}

/// The iterator of [`CommitLinks::parents`].
pub struct Parents<'a> {
    lines: Lines<'a>,
    /// The line that ended the run, once met.
    after: Option<&'a [u8]>,
}

impl<'a> Iterator for Parents<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.after.is_some() {
            return None;
        }
        let line = self.lines.next()?;
        let hex = line.strip_prefix(b"parent ");
        if hex.is_none() {
            self.after = Some(line);
        }
        hex
    }
}

impl<'a> Parents<'a> {
    /// The lines after the parents (the author line comes first), skipping any parents not
    /// yet read.
    pub fn after(mut self) -> impl Iterator<Item = &'a [u8]> {
        self.by_ref().for_each(drop);
        self.after.into_iter().chain(self.lines)
    }
}

/// The hex after `object ` on a raw tag's first line.
pub fn tag_target(data: &[u8]) -> Option<&[u8]> {
    Lines { rest: Some(data) }.next()?.strip_prefix(b"object ")
}

/// An id spelled as exactly 40 hex digits of either case, as libgit2 reads them.
pub fn hex_id(hex: &[u8]) -> Option<git2::Oid> {
    let hex = std::str::from_utf8(hex).ok()?;
    if hex.len() != 40 {
        return None; // from_str would take a shorter prefix
    }
    git2::Oid::from_str(hex).ok()
}

/// An id spelled as exactly 40 lowercase hex digits, as git writes them and fsck requires.
pub fn lower_hex_id(hex: &[u8]) -> Option<git2::Oid> {
    let hex = std::str::from_utf8(hex).ok()?;
    ObjectId::parse(hex).ok().map(crate::to_git)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mode: &str, name: &str, id: u8) -> Vec<u8> {
        let mut raw = format!("{mode} {name}\0").into_bytes();
        raw.extend_from_slice(&[id; 20]);
        raw
    }

    #[test]
    fn tree_entries_and_their_kinds() {
        let mut raw = entry("100644", "a", 1);
        raw.extend(entry("040000", "b", 2));
        raw.extend(entry("160000", "c d", 3));
        let read: Vec<_> = tree_entries(&raw)
            .map(|e| e.map(|e| (e.kind(), e.name, e.oid.as_bytes()[0])))
            .collect();
        assert_eq!(
            read,
            [
                Ok((Kind::Blob, &b"a"[..], 1)),
                Ok((Kind::Tree, &b"b"[..], 2)),
                Ok((Kind::Gitlink, &b"c d"[..], 3)),
            ]
        );
    }

    #[test]
    fn a_truncated_entry_ends_the_tree() {
        let good = entry("100644", "a", 1);
        for (cut, want) in [
            (3, Truncated::Mode),
            (8, Truncated::Name { mode: b"100644" }),
            (
                20,
                Truncated::Id {
                    mode: b"100644",
                    name: b"a",
                },
            ),
        ] {
            let mut raw = good.clone();
            raw.extend_from_slice(&good[..cut]);
            let read: Vec<_> = tree_entries(&raw).collect();
            assert_eq!(read.len(), 2, "cut at {cut}");
            assert_eq!(read[1].err(), Some(want), "cut at {cut}");
        }
    }

    #[test]
    fn hostile_trees_end_without_panicking() {
        let mut raw = entry("100644", "a", 1);
        for b in [0u8, b' ', 0xff, b'\n'] {
            for n in 0..raw.len() {
                let mut hostile = raw.clone();
                hostile.insert(n, b);
                assert!(tree_entries(&hostile).count() <= hostile.len());
                hostile.truncate(n);
                assert!(tree_entries(&hostile).count() <= 2);
            }
        }
        raw.clear();
        assert_eq!(tree_entries(&raw).count(), 0);
    }

    #[test]
    fn commit_links_and_what_follows_them() {
        let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        let raw = format!("tree {tree}\nparent {tree}\nparent x\nauthor A\nparent y\n\nmsg");
        let links = commit_links(raw.as_bytes());
        assert_eq!(links.tree(), Some(tree.as_bytes()));
        let mut parents = links.parents();
        assert_eq!(parents.next(), Some(tree.as_bytes()));
        let after: Vec<_> = parents.after().collect();
        assert_eq!(after[0], b"author A");
        assert_eq!(after[1], b"parent y");
        assert_eq!(commit_links(b"").tree(), None);
        assert_eq!(commit_links(b"parent x").parents().count(), 0);
    }

    #[test]
    fn tag_targets_and_hex_ids() {
        let hex = "4B825dc642cb6eb9a060e54bf8d69288fbee4904";
        let raw = format!("object {hex}\ntype tree\n");
        assert_eq!(tag_target(raw.as_bytes()), Some(hex.as_bytes()));
        assert_eq!(tag_target(b"type tree\nobject x"), None);
        let id = hex_id(hex.as_bytes()).expect("either case");
        assert_eq!(id.to_string(), hex.to_ascii_lowercase());
        assert_eq!(lower_hex_id(hex.as_bytes()), None);
        assert_eq!(lower_hex_id(hex.to_ascii_lowercase().as_bytes()), Some(id));
        for bad in [&hex.as_bytes()[..39], b"", &[0xff; 40]] {
            assert_eq!(hex_id(bad), None);
        }
    }
}

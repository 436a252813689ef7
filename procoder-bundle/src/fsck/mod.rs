//! fsck-level checks of received objects (git's `fsck.c` with `--strict`): every commit and
//! tree new to the repository is parsed from its raw bytes, every path name and mode is
//! checked, and `.gitmodules` blobs are checked for option injection and path escapes.
//! Objects the repository already had are trusted and not re-read.

use crate::lex::{self, Truncated};
use crate::{git_err, missing};
use procoder_manifest::{ErrorCode, Failure, Result};
use std::collections::HashSet;

mod names;
mod sandbox;
mod special_files;
#[cfg(test)]
mod tests;

use names::{check_name, is_gitattributes, is_gitmodules};
use special_files::{check_gitattributes, check_gitmodules};

pub use sandbox::check_sandbox_commits;

/// Checks every object reachable from `tips` and not from `base` that `main` lacks, reading
/// them through `view` (the repository plus its quarantine). Returns how many were checked.
/// A missing object is `BUNDLE_VERIFY_FAILED`; a hostile one is `UNSAFE_OBJECT`.
pub fn check_new_objects(
    view: &git2::Repository,
    main: &git2::Repository,
    tips: &[git2::Oid],
    base: git2::Oid,
) -> Result<usize> {
    let main_odb = crate::odb(main)?;
    let odb = crate::odb(view)?;
    // `exists` on the main store misses for every new object, and on a miss libgit2 rescans
    // the pack directory: 1,456 getdents for a 30-commit return. The store does not change
    // under our lock, so no refresh is needed.
    // Only the repository's objects are trusted, not where a new tree puts them: a new tree
    // may name an old tree as a file, so every file's type is read (`FileAt` is never trusted).
    let trusted = |oid: git2::Oid, kind: Trust, _: &str| {
        kind != Trust::FileAt && main_odb.exists_ext(oid, git2::OdbLookupFlags::NO_REFRESH)
    };
    walk(&odb, &trusted, tips, base, &mut Walked::default()).map_err(|fault| fault.failure)
}

/// What the walk is asked to trust: a commit (and with it its history) or a tree or blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trust {
    Commit,
    Tree,
    Blob,
    /// A file entry naming this object at this path, as a trusted tree names it: its type
    /// needs no reading (git.git's top tree names 500 files, each a delta chain to resolve).
    FileAt,
}

/// A refused object and the new commit whose tree led to it (`None` for a commit's own
/// header or a missing commit), so that the sandbox can name the commit to rewrite.
#[derive(Debug)]
pub struct Fault {
    /// `UNSAFE_OBJECT` naming the object, or `BUNDLE_VERIFY_FAILED` for a missing one.
    pub failure: Failure,
    /// The commit whose tree holds the object, or the faulty commit itself.
    pub commit: git2::Oid,
}

/// What earlier walks over the same repository have already checked.
#[derive(Debug, Default)]
pub(super) struct Walked {
    commits: HashSet<git2::Oid>,
    // Trees and blobs are remembered apart: with one set, an entry of blob mode naming an
    // object already walked as a tree (or the reverse) skipped its type check.
    trees: HashSet<git2::Oid>,
    blobs: HashSet<git2::Oid>,
    /// Entry names already found valid and neither `.gitmodules` nor `.gitattributes` (in any
    /// spelling git equates): their checks depend on the name alone, and each new commit's
    /// trees repeat their parents' names (git.git's top tree: 500 entries, 30 commits).
    plain_names: HashSet<Vec<u8>>,
}

pub(super) fn walk(
    odb: &git2::Odb<'_>,
    trusted: &dyn Fn(git2::Oid, Trust, &str) -> bool,
    tips: &[git2::Oid],
    base: git2::Oid,
    seen: &mut Walked,
) -> std::result::Result<usize, Fault> {
    // Commits are walked from their raw bytes, not with libgit2's revwalk: a commit libgit2
    // cannot parse must be reported as UNSAFE_OBJECT, not as a broken history. The walk stops
    // at trusted commits (they and their ancestors are trusted).
    let mut commits: Vec<git2::Oid> = tips.to_vec();
    // (tree, its path, the commit that led to it): commits are popped newest first and their
    // trees last in first out, so a tree is credited to the oldest new commit holding it.
    let mut trees = Vec::new();
    let mut checked = 0usize;
    while let Some(commit) = commits.pop() {
        if commit == base || !seen.commits.insert(commit) || trusted(commit, Trust::Commit, "") {
            continue;
        }
        let at = |failure| Fault { failure, commit };
        let raw = odb
            .read(commit)
            .map_err(missing(|| {
                format!("commit {commit} is missing: the returned history is incomplete")
            }))
            .map_err(at)?;
        if raw.kind() != git2::ObjectType::Commit {
            return Err(at(unsafe_object(commit, "", "is not a commit")));
        }
        let tree = check_commit(commit, raw.data()).map_err(at)?;
        checked += 1;
        trees.push((tree, String::new(), commit));
        // check_commit accepted every parent line.
        commits.extend(
            lex::commit_links(raw.data())
                .parents()
                .filter_map(lex::lower_hex_id),
        );
    }
    while let Some((tree, path, commit)) = trees.pop() {
        let at = |failure| Fault { failure, commit };
        if !seen.trees.insert(tree) {
            continue;
        }
        if trusted(tree, Trust::Tree, &path) {
            // Its contents are trusted, but a new tree may name an old object of another
            // type as a subtree (git fsck: "broken links"); the checkout would then fail.
            let (_, kind) = odb
                .read_header(tree)
                .map_err(git_err("cannot read an object header"))
                .map_err(at)?;
            if kind != git2::ObjectType::Tree {
                return Err(at(unsafe_object(tree, &path, "is not a tree")));
            }
            continue;
        }
        let raw = odb
            .read(tree)
            .map_err(missing(|| {
                format!("tree {tree} ({}) is missing", display(&path))
            }))
            .map_err(at)?;
        if raw.kind() != git2::ObjectType::Tree {
            return Err(at(unsafe_object(tree, &path, "is not a tree")));
        }
        checked += 1;
        checked += check_entries(
            odb,
            trusted,
            seen,
            tree,
            &path,
            raw.data(),
            &mut |oid, child| trees.push((oid, child, commit)),
        )
        .map_err(at)?;
    }
    Ok(checked)
}

/// Checks one tree's entries and the blobs they name; subtrees go to `subtree`. Returns how
/// many untrusted blobs it checked.
fn check_entries(
    odb: &git2::Odb<'_>,
    trusted: &dyn Fn(git2::Oid, Trust, &str) -> bool,
    seen: &mut Walked,
    tree: git2::Oid,
    path: &str,
    data: &[u8],
    subtree: &mut dyn FnMut(git2::Oid, String),
) -> Result<usize> {
    let mut checked = 0;
    for entry in parse_tree(tree, path, data, &seen.plain_names)? {
        let plain = seen.plain_names.contains(entry.name);
        if !plain {
            special_kind(tree, path, &entry)?;
        }
        match entry.mode {
            Mode::Tree => subtree(entry.oid, join(path, entry.name)),
            Mode::Gitlink => {}
            Mode::File | Mode::Exec | Mode::Symlink => {
                checked += check_blob(odb, trusted, seen, path, &entry)?;
            }
        }
        if !plain && !special_content(odb, tree, path, &entry)? {
            seen.plain_names.insert(entry.name.to_vec());
        }
    }
    Ok(checked)
}

/// git's fsck reads whatever a `.gitmodules` entry names as the file (`gitmodulesBlob`,
/// `gitmodulesMissing`; found by the pack fuzzer as a gitlink named `gitmod~1`), and
/// `.gitattributes` the same (`gitattributesBlob`, `gitattributesMissing`).
fn special_kind(tree: git2::Oid, path: &str, entry: &TreeEntry<'_>) -> Result<()> {
    if matches!(entry.mode, Mode::Tree | Mode::Gitlink) {
        let child = || join(path, entry.name);
        if is_gitmodules(entry.name) {
            return Err(unsafe_object(tree, &child(), ".gitmodules is not a file"));
        }
        if is_gitattributes(entry.name) {
            return Err(unsafe_object(
                tree,
                &child(),
                ".gitattributes is not a file",
            ));
        }
    }
    Ok(())
}

/// Checks what a `.gitmodules` or `.gitattributes` file entry holds; false for any other name.
fn special_content(
    odb: &git2::Odb<'_>,
    tree: git2::Oid,
    path: &str,
    entry: &TreeEntry<'_>,
) -> Result<bool> {
    let (modules, attributes) = (is_gitmodules(entry.name), is_gitattributes(entry.name));
    if !matches!(entry.mode, Mode::File | Mode::Exec | Mode::Symlink) {
        return Ok(modules || attributes);
    }
    let child = join(path, entry.name);
    if attributes && entry.mode != Mode::Symlink {
        let blob = odb
            .read(entry.oid)
            .map_err(git_err("cannot read .gitattributes"))?;
        check_gitattributes(entry.oid, &child, blob.data())?;
    }
    if modules {
        if entry.mode == Mode::Symlink {
            return Err(unsafe_object(
                tree,
                &child,
                ".gitmodules is a symbolic link",
            ));
        }
        let blob = odb
            .read(entry.oid)
            .map_err(git_err("cannot read .gitmodules"))?;
        check_gitmodules(entry.oid, &child, blob.data())?;
    }
    Ok(modules || attributes)
}

/// The type of a blob entry's object, checked for objects the repository already has too: a
/// new tree may name an old tree or commit as a file. Returns 1 for a blob not trusted.
fn check_blob(
    odb: &git2::Odb<'_>,
    trusted: &dyn Fn(git2::Oid, Trust, &str) -> bool,
    seen: &mut Walked,
    path: &str,
    entry: &TreeEntry<'_>,
) -> Result<usize> {
    if !seen.blobs.insert(entry.oid) {
        return Ok(0);
    }
    let child = || join(path, entry.name);
    if trusted(entry.oid, Trust::FileAt, &child()) {
        return Ok(0);
    }
    let (_, kind) = odb.read_header(entry.oid).map_err(missing(|| {
        format!("blob {} ({}) is missing", entry.oid, display(&child()))
    }))?;
    if kind != git2::ObjectType::Blob {
        return Err(unsafe_object(entry.oid, &child(), "is not a blob"));
    }
    Ok(usize::from(!trusted(entry.oid, Trust::Blob, &child())))
}

pub(super) fn unsafe_object(oid: git2::Oid, path: &str, why: &str) -> Failure {
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" at {}", display(path))
    };
    Failure::new(ErrorCode::UnsafeObject, format!("object {oid}{at}: {why}"))
        .hint("the return package was refused and nothing was imported; ask the agent to rewrite the offending commit")
}

pub(super) fn display(path: &str) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        path.escape_debug().to_string()
    }
}

pub(super) fn join(dir: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if dir.is_empty() {
        name.into_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Checks a commit's header (tree, parents, author, committer) and returns its tree.
pub(super) fn check_commit(oid: git2::Oid, data: &[u8]) -> Result<git2::Oid> {
    let bad = |why: &str| unsafe_object(oid, "", why);
    let header_end = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|p| p + 1)
        .unwrap_or(data.len());
    // git's fsck refuses a NUL in the header (`nulInHeader`; libgit2 would read such a header
    // differently from git) and, under --strict, in the message too (`nulInCommit`, a warning
    // that --strict makes an error; found by the pack fuzzer with git fsck as the oracle).
    // git's `verify_headers`: a header must end in a blank line, or the object in a newline
    // (a commit without a message); libgit2 cannot parse one that does neither.
    if header_end == data.len() && !data.ends_with(b"\n") {
        return Err(bad("commit header is unterminated"));
    }
    if data[..header_end].contains(&0) {
        return Err(bad("commit header holds a NUL byte"));
    }
    if data.contains(&0) {
        return Err(bad("commit message holds a NUL byte"));
    }
    let links = lex::commit_links(&data[..header_end]);
    let tree = links
        .tree()
        .and_then(lex::lower_hex_id)
        .ok_or_else(|| bad("commit has no valid tree line"))?;
    let mut parents = links.parents();
    for parent in parents.by_ref() {
        lex::lower_hex_id(parent).ok_or_else(|| bad("commit has a malformed parent line"))?;
    }
    let mut lines = parents.after();
    for (key, who) in [(&b"author "[..], "author"), (b"committer ", "committer")] {
        let ident = lines
            .next()
            .unwrap_or_default()
            .strip_prefix(key)
            .ok_or_else(|| bad(&format!("commit has no {who}")))?;
        check_ident(ident).map_err(|why| bad(&format!("commit {who} is malformed: {why}")))?;
    }
    Ok(tree)
}

/// `Name <email> 1234567890 +0000`, as git's `fsck_ident` reads it.
pub(super) fn check_ident(ident: &[u8]) -> std::result::Result<(), &'static str> {
    if ident.first() == Some(&b'<') {
        return Err("no name before the email");
    }
    let lt = ident
        .iter()
        .position(|&c| matches!(c, b'<' | b'>'))
        .ok_or("no email")?;
    if ident[lt] == b'>' {
        return Err("bad name");
    }
    if lt == 0 || ident[lt - 1] != b' ' {
        return Err("no space before the email");
    }
    let rest = &ident[lt + 1..];
    let gt = rest
        .iter()
        .position(|&c| matches!(c, b'<' | b'>'))
        .ok_or("bad email")?;
    if rest[gt] != b'>' {
        return Err("bad email");
    }
    let date = rest[gt + 1..]
        .strip_prefix(b" ")
        .ok_or("no space before the date")?;
    let (secs, zone) = date.split_at(date.iter().position(|&c| c == b' ').ok_or("bad date")?);
    if secs.is_empty()
        || !secs.iter().all(u8::is_ascii_digit)
        || (secs.len() > 1 && secs[0] == b'0')
        || secs.len() > 19
    {
        return Err("bad date");
    }
    match zone {
        [b' ', b'+' | b'-', d @ ..] if d.len() == 4 && d.iter().all(u8::is_ascii_digit) => Ok(()),
        _ => Err("bad time zone"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    File,
    Exec,
    Symlink,
    Tree,
    Gitlink,
}

impl Mode {
    /// The five modes `git fsck --strict` accepts, spelled exactly as git writes them.
    fn parse(mode: &[u8]) -> std::result::Result<Self, String> {
        Ok(match mode {
            b"100644" => Mode::File,
            b"100755" => Mode::Exec,
            b"120000" => Mode::Symlink,
            b"40000" => Mode::Tree,
            b"160000" => Mode::Gitlink,
            other => {
                let why = if other.first() == Some(&b'0') {
                    "zero-padded file mode"
                } else {
                    "bad file mode"
                };
                return Err(format!("{why} {}", String::from_utf8_lossy(other)));
            }
        })
    }
}

pub(super) struct TreeEntry<'a> {
    mode: Mode,
    name: &'a [u8],
    oid: git2::Oid,
}

/// Parses raw tree bytes, refusing what `git fsck --strict` refuses.
pub(super) fn parse_tree<'a>(
    oid: git2::Oid,
    path: &str,
    data: &'a [u8],
    valid_names: &HashSet<Vec<u8>>,
) -> Result<Vec<TreeEntry<'a>>> {
    let bad = |name: &[u8], why: &str| unsafe_object(oid, &join(path, name), why);
    let mode_of = |mode: &[u8]| Mode::parse(mode).map_err(|why| bad(b"", &why));
    let mut entries: Vec<TreeEntry<'a>> = Vec::new();
    // A file `a` and a tree `a` need not be adjacent (`a`, `a.b`, `a/` is sorted), so comparing
    // neighbours misses that duplicate; git's fsck (`duplicateEntries`) catches it.
    let mut names: HashSet<&[u8]> = HashSet::new();
    for entry in lex::tree_entries(data) {
        let entry = entry.map_err(|cut| {
            // A bad mode is named before a truncation after it, as git's fsck reads an entry.
            let (mode, name) = match cut {
                Truncated::Mode => (None, &b""[..]),
                Truncated::Name { mode } => (Some(mode), &b""[..]),
                Truncated::Id { mode, name } => (Some(mode), name),
            };
            mode.and_then(|m| mode_of(m).err())
                .unwrap_or_else(|| bad(name, "tree is truncated"))
        })?;
        let (mode, name) = (mode_of(entry.mode)?, entry.name);
        if !valid_names.contains(name) {
            check_name(name).map_err(|why| bad(name, why))?;
        }
        // `nullSha1`, a warning that --strict makes an error (a gitlink may otherwise name any id).
        if entry.oid.is_zero() {
            return Err(bad(name, "tree entry names the null object id"));
        }
        if let Some(prev) = entries.last() {
            match tree_order(prev.name, prev.mode, name, mode) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(bad(name, "duplicate tree entry")),
                std::cmp::Ordering::Greater => {
                    return Err(bad(name, "tree entries are not sorted"))
                }
            }
        }
        if !names.insert(name) {
            return Err(bad(name, "duplicate tree entry"));
        }
        entries.push(TreeEntry {
            mode,
            name,
            oid: entry.oid,
        });
    }
    Ok(entries)
}

/// git sorts tree entries by name, comparing a tree's name as if it ended in '/'.
pub(super) fn tree_order(a: &[u8], am: Mode, b: &[u8], bm: Mode) -> std::cmp::Ordering {
    if a == b {
        return std::cmp::Ordering::Equal;
    }
    // Compared in place: this runs for every entry of every new tree.
    let slash = |m: Mode| -> &'static [u8] {
        if m == Mode::Tree {
            b"/"
        } else {
            b""
        }
    };
    a.iter().chain(slash(am)).cmp(b.iter().chain(slash(bm)))
}

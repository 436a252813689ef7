//! fsck-level checks of received objects (git's `fsck.c` with `--strict`): every commit and
//! tree new to the repository is parsed from its raw bytes, every path name and mode is
//! checked, and `.gitmodules` blobs are checked for option injection and path escapes.
//! Objects the repository already had are trusted and not re-read.

use crate::{git_err, verify_failed};
use procoder_manifest::{ErrorCode, Failure, Result};
use std::collections::HashSet;

/// Checks every object reachable from `tips` and not from `base` that `main` lacks, reading
/// them through `view` (the repository plus its quarantine). Returns how many were checked.
/// A missing object is `BUNDLE_VERIFY_FAILED`; a hostile one is `UNSAFE_OBJECT`.
pub fn check_new_objects(
    view: &git2::Repository,
    main: &git2::Repository,
    tips: &[git2::Oid],
    base: git2::Oid,
) -> Result<usize> {
    let main_odb = main
        .odb()
        .map_err(git_err("cannot open the object database"))?;
    let odb = view
        .odb()
        .map_err(git_err("cannot open the object database"))?;
    let mut walk = view
        .revwalk()
        .map_err(git_err("cannot start a revision walk"))?;
    for &tip in tips {
        walk.push(tip).map_err(|e| {
            verify_failed(format!("returned tip {tip} is missing or not a commit"))
                .detail(e.message().to_owned())
        })?;
    }
    walk.hide(base).map_err(git_err("cannot hide the base"))?;
    let mut seen = HashSet::new();
    let mut trees = Vec::new();
    let mut checked = 0usize;
    for commit in walk {
        let commit = commit.map_err(|e| {
            verify_failed("the returned history is incomplete").detail(e.message().to_owned())
        })?;
        if main_odb.exists(commit) {
            continue;
        }
        let raw = odb.read(commit).map_err(|e| {
            verify_failed(format!("commit {commit} is missing")).detail(e.message().to_owned())
        })?;
        if raw.kind() != git2::ObjectType::Commit {
            return Err(unsafe_object(commit, "", "is not a commit"));
        }
        let tree = check_commit(commit, raw.data())?;
        checked += 1;
        trees.push((tree, String::new()));
    }
    while let Some((tree, path)) = trees.pop() {
        if !seen.insert(tree) || main_odb.exists(tree) {
            continue;
        }
        let raw = odb.read(tree).map_err(|e| {
            verify_failed(format!("tree {tree} ({}) is missing", display(&path)))
                .detail(e.message().to_owned())
        })?;
        if raw.kind() != git2::ObjectType::Tree {
            return Err(unsafe_object(tree, &path, "is not a tree"));
        }
        checked += 1;
        for entry in parse_tree(tree, &path, raw.data())? {
            let child = join(&path, &entry.name);
            match entry.mode {
                Mode::Tree => trees.push((entry.oid, child)),
                Mode::Gitlink => {}
                Mode::File | Mode::Exec | Mode::Symlink => {
                    if seen.insert(entry.oid) && !main_odb.exists(entry.oid) {
                        let (_, kind) = odb.read_header(entry.oid).map_err(|e| {
                            verify_failed(format!(
                                "blob {} ({}) is missing",
                                entry.oid,
                                display(&child)
                            ))
                            .detail(e.message().to_owned())
                        })?;
                        if kind != git2::ObjectType::Blob {
                            return Err(unsafe_object(entry.oid, &child, "is not a blob"));
                        }
                        checked += 1;
                    }
                    if is_gitmodules(&entry.name) {
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
                }
            }
        }
    }
    Ok(checked)
}

fn unsafe_object(oid: git2::Oid, path: &str, why: &str) -> Failure {
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" at {}", display(path))
    };
    Failure::new(ErrorCode::UnsafeObject, format!("object {oid}{at}: {why}"))
        .hint("the return package was refused and nothing was imported; ask the agent to rewrite the offending commit")
}

fn display(path: &str) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        path.escape_debug().to_string()
    }
}

fn join(dir: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if dir.is_empty() {
        name.into_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Checks a commit's header (tree, parents, author, committer) and returns its tree.
fn check_commit(oid: git2::Oid, data: &[u8]) -> Result<git2::Oid> {
    let bad = |why: &str| unsafe_object(oid, "", why);
    let header_end = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|p| p + 1)
        .unwrap_or(data.len());
    let mut lines = data[..header_end].split(|&b| b == b'\n');
    let tree_line = lines.next().unwrap_or_default();
    let tree = tree_line
        .strip_prefix(b"tree ")
        .and_then(hex_oid)
        .ok_or_else(|| bad("commit has no valid tree line"))?;
    let mut line = lines.next().unwrap_or_default();
    while let Some(rest) = line.strip_prefix(b"parent ") {
        hex_oid(rest).ok_or_else(|| bad("commit has a malformed parent line"))?;
        line = lines.next().unwrap_or_default();
    }
    let author = line
        .strip_prefix(b"author ")
        .ok_or_else(|| bad("commit has no author"))?;
    check_ident(author).map_err(|why| bad(&format!("commit author is malformed: {why}")))?;
    let committer = lines
        .next()
        .unwrap_or_default()
        .strip_prefix(b"committer ")
        .ok_or_else(|| bad("commit has no committer"))?;
    check_ident(committer).map_err(|why| bad(&format!("commit committer is malformed: {why}")))?;
    Ok(tree)
}

fn hex_oid(hex: &[u8]) -> Option<git2::Oid> {
    let s = std::str::from_utf8(hex).ok()?;
    procoder_manifest::ObjectId::parse(s)
        .ok()
        .map(crate::to_git)
}

/// `Name <email> 1234567890 +0000`, as git's `fsck_ident` reads it.
fn check_ident(ident: &[u8]) -> std::result::Result<(), &'static str> {
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
enum Mode {
    File,
    Exec,
    Symlink,
    Tree,
    Gitlink,
}

struct TreeEntry {
    mode: Mode,
    name: Vec<u8>,
    oid: git2::Oid,
}

/// Parses raw tree bytes, refusing what `git fsck --strict` refuses.
fn parse_tree(oid: git2::Oid, path: &str, mut data: &[u8]) -> Result<Vec<TreeEntry>> {
    let bad = |name: &[u8], why: &str| unsafe_object(oid, &join(path, name), why);
    let mut entries: Vec<TreeEntry> = Vec::new();
    while !data.is_empty() {
        let sp = data
            .iter()
            .position(|&c| c == b' ')
            .ok_or_else(|| bad(b"", "tree is truncated"))?;
        let mode = match &data[..sp] {
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
                return Err(bad(
                    b"",
                    &format!("{why} {}", String::from_utf8_lossy(other)),
                ));
            }
        };
        let rest = &data[sp + 1..];
        let nul = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or_else(|| bad(b"", "tree is truncated"))?;
        let name = rest[..nul].to_vec();
        let raw_oid = rest
            .get(nul + 1..nul + 21)
            .ok_or_else(|| bad(&name, "tree is truncated"))?;
        let entry_oid =
            git2::Oid::from_bytes(raw_oid).map_err(git_err("cannot read a tree entry id"))?;
        data = &rest[nul + 21..];
        check_name(&name).map_err(|why| bad(&name, why))?;
        if let Some(prev) = entries.last() {
            match tree_order(&prev.name, prev.mode, &name, mode) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(bad(&name, "duplicate tree entry")),
                std::cmp::Ordering::Greater => {
                    return Err(bad(&name, "tree entries are not sorted"))
                }
            }
        }
        entries.push(TreeEntry {
            mode,
            name,
            oid: entry_oid,
        });
    }
    Ok(entries)
}

/// git sorts tree entries by name, comparing a tree's name as if it ended in '/'.
fn tree_order(a: &[u8], am: Mode, b: &[u8], bm: Mode) -> std::cmp::Ordering {
    let key = |n: &[u8], m: Mode| {
        let mut k = n.to_vec();
        if m == Mode::Tree {
            k.push(b'/');
        }
        k
    };
    if a == b {
        return std::cmp::Ordering::Equal;
    }
    key(a, am).cmp(&key(b, bm))
}

/// Names git refuses in a tree: empty, `/`, NUL, `.`, `..`, and `.git` in every spelling
/// that some file system folds to `.git` (case, NTFS short names and trailing dots or
/// spaces, HFS+ ignorable code points).
fn check_name(name: &[u8]) -> std::result::Result<(), &'static str> {
    match name {
        b"" => return Err("empty file name"),
        b"." => return Err("file name '.'"),
        b".." => return Err("file name '..'"),
        _ => {}
    }
    if name.contains(&b'/') {
        return Err("file name contains '/'");
    }
    if name.contains(&0) {
        return Err("file name contains NUL");
    }
    if is_dotgit(name) {
        return Err("file name is a spelling of .git");
    }
    Ok(())
}

fn is_dotgit(name: &[u8]) -> bool {
    is_ntfs_equivalent(name, b".git", b"git~1") || hfs_folded(name).as_deref() == Some(".git")
}

fn is_gitmodules(name: &[u8]) -> bool {
    is_ntfs_equivalent(name, b".gitmodules", b"gitmod~1")
        || hfs_folded(name).as_deref() == Some(".gitmodules")
}

/// NTFS: each `\`-separated part, up to a `:` stream name, equals `long` or `short`
/// case-insensitively with any trailing spaces and dots.
fn is_ntfs_equivalent(name: &[u8], long: &[u8], short: &[u8]) -> bool {
    name.split(|&c| c == b'\\').any(|part| {
        let part = part.split(|&c| c == b':').next().unwrap_or_default();
        [long, short].iter().any(|want| {
            part.len() >= want.len()
                && part[..want.len()].eq_ignore_ascii_case(want)
                && part[want.len()..].iter().all(|&c| c == b' ' || c == b'.')
        })
    })
}

/// HFS+: the name with ignorable code points removed, lowercased; `None` when not UTF-8.
fn hfs_folded(name: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(name).ok()?;
    let ignorable =
        |c: char| matches!(c as u32, 0x200C..=0x200F | 0x202A..=0x202E | 0x206A..=0x206F | 0xFEFF);
    Some(
        s.chars()
            .filter(|&c| !ignorable(c))
            .flat_map(char::to_lowercase)
            .collect(),
    )
}

/// `.gitmodules`: no submodule name that escapes (`..`), no url or path that git could read
/// as an option (CVE-2018-17456), no url with control characters (CVE-2020-5260).
fn check_gitmodules(oid: git2::Oid, path: &str, data: &[u8]) -> Result<()> {
    let bad = |why: String| unsafe_object(oid, path, &why);
    let text = String::from_utf8_lossy(data);
    for raw_line in text.lines() {
        let line = raw_line.trim();
        if let Some(section) = line.strip_prefix('[') {
            let Some(name) = section
                .strip_prefix("submodule")
                .map(str::trim_start)
                .and_then(|s| s.strip_prefix('"'))
            else {
                continue;
            };
            let name = name.split('"').next().unwrap_or_default();
            if name.split(['/', '\\']).any(|part| part == "..") {
                return Err(bad(format!(
                    "submodule name {name:?} escapes the repository"
                )));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim().trim_matches('"');
        if (key == "url" || key == "path") && value.starts_with('-') {
            return Err(bad(format!(
                "submodule {key} {value:?} could be read as a command-line option"
            )));
        }
        if key == "url" && value.chars().any(|c| c.is_control()) {
            return Err(bad(format!(
                "submodule url {value:?} holds a control character"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_dotgit_is_refused() {
        for name in [
            ".git",
            ".GIT",
            ".Git",
            "git~1",
            "GIT~1",
            ".git.",
            ".git ",
            ".git. . ",
            ".git::$INDEX_ALLOCATION",
            "a\\.git",
            ".g\u{200c}it",
            "\u{feff}.GIT",
        ] {
            assert!(check_name(name.as_bytes()).is_err(), "{name:?}");
        }
        for name in [".", "..", "", "a/b", "a\0b"] {
            assert!(check_name(name.as_bytes()).is_err(), "{name:?}");
        }
        for name in [
            ".gitignore",
            ".github",
            "git",
            "x.git",
            ".git~1x",
            ".gitmodules",
        ] {
            assert!(check_name(name.as_bytes()).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn gitmodules_spellings_and_contents() {
        assert!(
            is_gitmodules(b".gitmodules")
                && is_gitmodules(b".GITMODULES ")
                && is_gitmodules(b"GITMOD~1")
        );
        let oid = git2::Oid::ZERO_SHA1;
        check_gitmodules(
            oid,
            ".gitmodules",
            b"[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.com/lib.git\n",
        )
        .expect("ordinary");
        for hostile in [
            "[submodule \"../../hooks\"]\n\tpath = x\n",
            "[submodule \"x\"]\n\turl = --upload-pack=touch /tmp/pwned\n",
            "[submodule \"x\"]\n\tpath = -x\n",
        ] {
            assert!(
                check_gitmodules(oid, ".gitmodules", hostile.as_bytes()).is_err(),
                "{hostile}"
            );
        }
    }

    #[test]
    fn idents_like_git() {
        check_ident(b"A U Thor <a@example.com> 1234567890 +0000").expect("ordinary");
        for bad in [
            &b"<a@example.com> 1 +0000"[..],
            b"A <a@x> 0123 +0000",
            b"A<a@x> 1 +0000",
            b"A <a@x> 1",
            b"A <a@x 1 +0000",
            b"A <a@x> x +0000",
        ] {
            assert!(
                check_ident(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

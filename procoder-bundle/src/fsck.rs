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
    // Trees and blobs are remembered apart: with one set, an entry of blob mode naming an
    // object already walked as a tree (or the reverse) skipped its type check.
    let mut seen_trees = HashSet::new();
    let mut seen_blobs = HashSet::new();
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
        if !seen_trees.insert(tree) {
            continue;
        }
        if main_odb.exists(tree) {
            // Its contents are trusted, but a new tree may name an old object of another
            // type as a subtree (git fsck: "broken links"); the checkout would then fail.
            let (_, kind) = main_odb
                .read_header(tree)
                .map_err(git_err("cannot read an object header"))?;
            if kind != git2::ObjectType::Tree {
                return Err(unsafe_object(tree, &path, "is not a tree"));
            }
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
            // git's fsck reads whatever a `.gitmodules` entry names as the file
            // (`gitmodulesBlob`, `gitmodulesMissing`); found by the pack fuzzer as a gitlink
            // named `gitmod~1`.
            if matches!(entry.mode, Mode::Tree | Mode::Gitlink) && is_gitmodules(&entry.name) {
                return Err(unsafe_object(tree, &child, ".gitmodules is not a file"));
            }
            match entry.mode {
                Mode::Tree => trees.push((entry.oid, child)),
                Mode::Gitlink => {}
                Mode::File | Mode::Exec | Mode::Symlink => {
                    // The type is checked for objects the repository already has too: a
                    // new tree may name an old tree or commit as a file.
                    if seen_blobs.insert(entry.oid) {
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
                        if !main_odb.exists(entry.oid) {
                            checked += 1;
                        }
                    }
                    if is_gitattributes(&entry.name) && entry.mode != Mode::Symlink {
                        let blob = odb
                            .read(entry.oid)
                            .map_err(git_err("cannot read .gitattributes"))?;
                        check_gitattributes(entry.oid, &child, blob.data())?;
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
    // git's fsck refuses a NUL in the header (`nulInHeader`; libgit2 would read such a header
    // differently from git) and, under --strict, in the message too (`nulInCommit`, a warning
    // that --strict makes an error; found by the pack fuzzer with git fsck as the oracle).
    if data[..header_end].contains(&0) {
        return Err(bad("commit header holds a NUL byte"));
    }
    if data.contains(&0) {
        return Err(bad("commit message holds a NUL byte"));
    }
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
    // A file `a` and a tree `a` need not be adjacent (`a`, `a.b`, `a/` is sorted), so comparing
    // neighbours misses that duplicate; git's fsck (`duplicateEntries`) catches it.
    let mut names: HashSet<Vec<u8>> = HashSet::new();
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
        // `nullSha1`, a warning that --strict makes an error (a gitlink may otherwise name any id).
        if entry_oid.is_zero() {
            return Err(bad(&name, "tree entry names the null object id"));
        }
        if let Some(prev) = entries.last() {
            match tree_order(&prev.name, prev.mode, &name, mode) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(bad(&name, "duplicate tree entry")),
                std::cmp::Ordering::Greater => {
                    return Err(bad(&name, "tree entries are not sorted"))
                }
            }
        }
        if !names.insert(name.clone()) {
            return Err(bad(&name, "duplicate tree entry"));
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
        || is_ntfs_gitmodules_short_name(name)
        || hfs_folded(name).as_deref() == Some(".gitmodules")
}

fn is_gitattributes(name: &[u8]) -> bool {
    is_ntfs_equivalent(name, b".gitattributes", b"gitatt~1")
        || hfs_folded(name).as_deref() == Some(".gitattributes")
}

/// git's fsck (2.40+) refuses a `.gitattributes` larger than 100 MB or with a line of 2048 bytes
/// or more (`gitattributesLarge`, `gitattributesLineLength`): git would not read it.
fn check_gitattributes(oid: git2::Oid, path: &str, data: &[u8]) -> Result<()> {
    if data.len() > 100 * 1024 * 1024 {
        return Err(unsafe_object(
            oid,
            path,
            ".gitattributes is larger than 100 MB",
        ));
    }
    if data.split(|&c| c == b'\n').any(|line| line.len() >= 2048) {
        return Err(unsafe_object(
            oid,
            path,
            ".gitattributes has a line of 2048 bytes or more",
        ));
    }
    Ok(())
}

/// The other NTFS 8.3 names of `.gitmodules` that git's `is_ntfs_dotgitmodules` knows:
/// `gitmod~1`..`gitmod~4` and the hashed fall-back (`gi7eba~N`, a prefix of `gi7eba`, a tilde
/// and digits filling eight characters), each with trailing spaces, dots or a `:stream`.
/// Without this a `.gitmodules` spelled `GITMOD~2` escaped the content checks below.
fn is_ntfs_gitmodules_short_name(name: &[u8]) -> bool {
    let tail_ok = |t: &[u8]| {
        t.iter()
            .take_while(|&&c| c != b':')
            .all(|&c| c == b' ' || c == b'.')
    };
    name.split(|&c| c == b'\\').any(|part| {
        if part.len() >= 8
            && part[..6].eq_ignore_ascii_case(b"gitmod")
            && part[6] == b'~'
            && (b'1'..=b'4').contains(&part[7])
        {
            return tail_ok(&part[8..]);
        }
        // git's fall-back loop over the first eight characters, as written in fsck.c.
        let prefix = b"gi7eba";
        let mut saw_tilde = false;
        let mut i = 0;
        while i < 8 {
            let Some(&c) = part.get(i) else {
                return false;
            };
            if saw_tilde {
                if !c.is_ascii_digit() {
                    return false;
                }
            } else if c == b'~' {
                i += 1;
                if !part.get(i).is_some_and(|d| (b'1'..=b'9').contains(d)) {
                    return false;
                }
                saw_tilde = true;
            } else if i >= 6 || c & 0x80 != 0 || c.to_ascii_lowercase() != prefix[i] {
                return false;
            }
            i += 1;
        }
        saw_tilde && tail_ok(part.get(i..).unwrap_or_default())
    })
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

/// HFS+: the name with ignorable code points removed, lowercased. Like git's
/// `next_hfs_char`, malformed UTF-8 ends the name: git's fsck reads `.git\xbc…` as `.git`
/// (found by the pack fuzzer with `git fsck --strict` as the oracle; this returned `None`).
fn hfs_folded(name: &[u8]) -> Option<String> {
    let valid = match std::str::from_utf8(name) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&name[..e.valid_up_to()]).ok()?,
    };
    let s = valid;
    let ignorable =
        |c: char| matches!(c as u32, 0x200C..=0x200F | 0x202A..=0x202E | 0x206A..=0x206F | 0xFEFF);
    Some(
        s.chars()
            .filter(|&c| !ignorable(c))
            .flat_map(char::to_lowercase)
            .collect(),
    )
}

/// `.gitmodules`: no submodule name that is empty or escapes (`..`), no url or path that git
/// could read as an option (CVE-2018-17456), no url with control characters or an encoded
/// newline (CVE-2020-5260), no `update = !command` (CVE-2019-19604), as git's
/// `fsck_gitmodules_fn` checks. The blob is read the way git's config parser reads it (quotes,
/// escapes, line continuations, comments): a line-based reading let `url = "" -x` and
/// `url = \<newline>-x` through, which git reads as `-x`.
fn check_gitmodules(oid: git2::Oid, path: &str, data: &[u8]) -> Result<()> {
    let bad = |why: String| unsafe_object(oid, path, &why);
    // Like git, check what parses before a syntax error; git stops reading there too.
    let (entries, _) = config_entries(data);
    for e in entries {
        // git hands its callback `section.subsection.key` and the value as C strings, so a NUL
        // cuts them short, and splits the name as `parse_config_key` does: the subsection is
        // what lies between the first and the last dot (found by the pack fuzzer: a subsection
        // `.\0…` is the empty name to git).
        let mut var = e.section.to_ascii_lowercase();
        if let Some(sub) = &e.subsection {
            var.push(b'.');
            var.extend_from_slice(sub);
        }
        var.push(b'.');
        var.extend(e.key.to_ascii_lowercase());
        let var = &var[..var.iter().position(|&c| c == 0).unwrap_or(var.len())];
        let Some(rest) = var.strip_prefix(b"submodule.") else {
            continue;
        };
        let Some(dot) = rest.iter().rposition(|&c| c == b'.') else {
            continue; // no subsection: not about a submodule
        };
        let (name, key) = (&rest[..dot], rest[dot + 1..].to_vec());
        let name_text = String::from_utf8_lossy(name);
        if name.is_empty() || name.split(|&c| c == b'/' || c == b'\\').any(|p| p == b"..") {
            return Err(bad(format!(
                "submodule name {name_text:?} escapes the repository"
            )));
        }
        let Some(value) = &e.value else { continue };
        let value = &value[..value.iter().position(|&c| c == 0).unwrap_or(value.len())];
        let shown = String::from_utf8_lossy(value);
        if (key == b"url" || key == b"path") && value.first() == Some(&b'-') {
            return Err(bad(format!(
                "submodule {} {shown:?} could be read as a command-line option",
                String::from_utf8_lossy(&key)
            )));
        }
        if key == b"url"
            && (value.iter().any(u8::is_ascii_control)
                || value.windows(3).any(|w| {
                    w[0] == b'%' && w[1] == b'0' && matches!(w[2], b'a' | b'A' | b'd' | b'D')
                }))
        {
            return Err(bad(format!(
                "submodule url {shown:?} holds a control character"
            )));
        }
        if key == b"url"
            && (value.starts_with(b"./")
                || value.starts_with(b"../")
                || value.starts_with(b"git://"))
        {
            // git's check_submodule_url: a relative url whose leading `../` climb past its
            // root into `:` or `/` can rewrite the host (CVE-2020-11008); found by the pack
            // fuzzer as `..//ib.git`.
            let (mut rest, mut dotdots) = (value, 0);
            loop {
                if let Some(r) = rest.strip_prefix(b"../") {
                    (rest, dotdots) = (r, dotdots + 1);
                } else if let Some(r) = rest.strip_prefix(b"./") {
                    rest = r;
                } else {
                    break;
                }
            }
            if dotdots > 0 && matches!(rest.first(), Some(b':' | b'/')) {
                return Err(bad(format!(
                    "submodule url {shown:?} climbs out of its root"
                )));
            }
        }
        if key == b"update" && !matches!(value, b"checkout" | b"rebase" | b"merge" | b"none") {
            return Err(bad(format!(
                "submodule update {shown:?} is not checkout, rebase, merge or none"
            )));
        }
    }
    Ok(())
}

/// One `section.subsection.key=value` of a git config file; `value` is `None` for a bare key.
struct ConfigEntry {
    section: Vec<u8>,
    subsection: Option<Vec<u8>>,
    key: Vec<u8>,
    value: Option<Vec<u8>>,
}

/// Parses a config blob as git's `config.c` does, returning the entries read and whether the
/// whole blob parsed.
fn config_entries(data: &[u8]) -> (Vec<ConfigEntry>, bool) {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let mut p = ConfigParser { data, pos: 0 };
    let mut out = Vec::new();
    let mut section: Option<(Vec<u8>, Option<Vec<u8>>)> = None;
    let mut comment = false;
    loop {
        let Some(c) = p.next() else {
            return (out, true);
        };
        if c == b'\n' {
            comment = false;
            continue;
        }
        if comment || c.is_ascii_whitespace() {
            continue;
        }
        if c == b'#' || c == b';' {
            comment = true;
            continue;
        }
        if c == b'[' {
            match p.section_header() {
                Some(s) => section = Some(s),
                None => return (out, false),
            }
            continue;
        }
        let Some((sec, sub)) = section.clone() else {
            return (out, false); // a key before any section
        };
        if !c.is_ascii_alphabetic() {
            return (out, false);
        }
        let mut key = vec![c];
        while let Some(&k) = p.peek() {
            if k.is_ascii_alphanumeric() || k == b'-' {
                key.push(k);
                p.pos += 1;
            } else {
                break;
            }
        }
        while matches!(p.peek(), Some(b' ' | b'\t')) {
            p.pos += 1;
        }
        let value = match p.next() {
            None | Some(b'\n') => None,
            Some(b'=') => match p.value() {
                Some(v) => Some(v),
                None => return (out, false),
            },
            Some(_) => return (out, false),
        };
        out.push(ConfigEntry {
            section: sec,
            subsection: sub,
            key,
            value,
        });
    }
}

struct ConfigParser<'a> {
    data: &'a [u8],
    pos: usize,
}

impl ConfigParser<'_> {
    /// The next byte, with `\r\n` read as `\n` (git's `get_next_char`). A 0xFF byte ends
    /// the input: git reads the blob through a signed `char`, so 0xFF is its `EOF` (found by
    /// the pack fuzzer: `[submodule.. "/.."]` then `p\xff` is a `../..` entry to git).
    fn next(&mut self) -> Option<u8> {
        let c = *self.data.get(self.pos)?;
        if c == 0xFF {
            self.pos = self.data.len();
            return None;
        }
        self.pos += 1;
        if c == b'\r' && self.data.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
            return Some(b'\n');
        }
        Some(c)
    }

    fn peek(&self) -> Option<&u8> {
        self.data.get(self.pos)
    }

    /// After `[`: `section]`, `section "subsection"]` or legacy `section.subsection]`.
    fn section_header(&mut self) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        let mut name = Vec::new();
        loop {
            let c = self.next()?;
            if c == b']' {
                break;
            }
            if c == b' ' || c == b'\t' {
                // `[section "sub"]`: spaces, a quoted subsection with `\` escapes, `]`.
                while matches!(self.peek(), Some(b' ' | b'\t')) {
                    self.pos += 1;
                }
                if self.next()? != b'"' {
                    return None;
                }
                let mut sub = Vec::new();
                loop {
                    match self.next()? {
                        b'\n' => return None,
                        b'"' => break,
                        b'\\' => match self.next()? {
                            b'\n' => return None,
                            e => sub.push(e),
                        },
                        o => sub.push(o),
                    }
                }
                if self.next()? != b']' {
                    return None;
                }
                name.push(b'.');
                name.extend(sub);
                break;
            }
            if !(c.is_ascii_alphanumeric() || c == b'.' || c == b'-') {
                return None;
            }
            name.push(c.to_ascii_lowercase());
        }
        // As git's `parse_config_key` splits `section.sub.key`: the subsection is everything
        // after the first dot, so `[submodule.. "/.."]` names the submodule `../..`.
        match name.iter().position(|&c| c == b'.') {
            Some(dot) => Some((name[..dot].to_vec(), Some(name[dot + 1..].to_vec()))),
            None => Some((name, None)),
        }
    }

    /// After `=`: git's `parse_value`.
    fn value(&mut self) -> Option<Vec<u8>> {
        let (mut quote, mut comment) = (false, false);
        let mut spaces = 0usize;
        let mut v = Vec::new();
        loop {
            let c = self.next().unwrap_or(b'\n');
            if c == b'\n' {
                return (!quote).then_some(v);
            }
            if comment {
                continue;
            }
            if c.is_ascii_whitespace() && !quote {
                if !v.is_empty() {
                    spaces += 1;
                }
                continue;
            }
            if !quote && (c == b';' || c == b'#') {
                comment = true;
                continue;
            }
            v.extend(std::iter::repeat_n(b' ', spaces));
            spaces = 0;
            match c {
                b'\\' => match self.next().unwrap_or(b'\n') {
                    b'\n' => {}
                    b't' => v.push(b'\t'),
                    b'b' => v.push(8),
                    b'n' => v.push(b'\n'),
                    e @ (b'\\' | b'"') => v.push(e),
                    _ => return None,
                },
                b'"' => quote = !quote,
                _ => v.push(c),
            }
        }
    }
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
        for name in [
            &b".git\xbc"[..],
            b".GIT\xffmodules",
            b".g\xe2\x80\x8cit\x80",
        ] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
        assert!(is_gitmodules(b".gitmodules\xff"));
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
            ".gitx\u{e9}",
        ] {
            assert!(check_name(name.as_bytes()).is_ok(), "{name:?}");
        }
        assert!(
            check_name(b".gi\xff").is_ok(),
            "a prefix of .git is not .git"
        );
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
            // What a line-based reading missed: git reads each of these as hostile.
            "[submodule \"x\"]\n\turl = \"\" --upload-pack=touch /tmp/pwned\n",
            "[submodule \"x\"]\n\turl = \\\n--upload-pack=touch /tmp/pwned\n",
            "[submodule \"x\"]\r\n\tpath = \"-x\" ; comment\r\n",
            "[submodule \"x\"]\n\tupdate = !touch /tmp/pwned\n",
            "[submodule.. \"/..\"]\n\tpath = x\n",
            "[SubModule \"..\\\\hooks\"]\n\tpath = x\n",
            "[submodule \"\"]\n\tpath = x\n",
            "[submodule \"x\"]\n\turl = https://a%0a@example.com/x\n",
            "\u{feff}[submodule \"../x\"]\n\tpath = x\n",
        ] {
            assert!(
                check_gitmodules(oid, ".gitmodules", hostile.as_bytes()).is_err(),
                "{hostile}"
            );
        }
    }

    #[test]
    fn gitmodules_byte_ff_ends_the_input_as_in_git() {
        let blob = b"[submodule.. \"/..\"]\n\tp\xff\xff\x7f\0";
        assert!(check_gitmodules(git2::Oid::ZERO_SHA1, ".gitmodules", blob).is_err());
    }

    #[test]
    fn gitmodules_relative_urls_like_git() {
        let oid = git2::Oid::ZERO_SHA1;
        for bad in ["..//ib.git", "../../:x", "./../../..//host/x"] {
            let blob = format!("[submodule \"x\"]\n\turl = {bad}\n");
            assert!(
                check_gitmodules(oid, ".gitmodules", blob.as_bytes()).is_err(),
                "{bad}"
            );
        }
        for ok in ["../lib.git", "./x/../y", "../../org/lib.git"] {
            let blob = format!("[submodule \"x\"]\n\turl = {ok}\n");
            check_gitmodules(oid, ".gitmodules", blob.as_bytes()).expect(ok);
        }
    }

    #[test]
    fn gitmodules_nul_cuts_names_as_in_git() {
        let blob = b"[submodule \".\0\x80ks\"]\n\tpath = x\n";
        assert!(check_gitmodules(git2::Oid::ZERO_SHA1, ".gitmodules", blob).is_err());
        let blob = b"[submodule \"x\"]\n\tpath = \"ok\0\"\n";
        check_gitmodules(git2::Oid::ZERO_SHA1, ".gitmodules", blob).expect("git reads `ok`");
    }

    #[test]
    fn gitmodules_that_git_reads_as_harmless() {
        let oid = git2::Oid::ZERO_SHA1;
        for ok in [
            "# comment\n[core]\n\tbare = false\n[submodule \"lib\"]\n\tpath = lib ; -x\n\turl = ../lib.git\n\tupdate = rebase\n",
            "[submodule \"a.b\"]\n\tpath = \" -x\"\n\tbranch\n",
            "[submodule.lib]\n\tpath = lib\n",
            "[submodule \"x\"]\n\turl = \"unterminated\n", // git cannot parse it: ignored
        ] {
            check_gitmodules(oid, ".gitmodules", ok.as_bytes()).expect(ok);
        }
    }

    #[test]
    fn ntfs_short_names_of_gitmodules() {
        for name in [
            "GITMOD~2",
            "gitmod~4 . ",
            "gi7eba~1",
            "GI7EBA~9:x",
            "gi7eb~12",
            "gi~12345",
        ] {
            assert!(is_gitmodules(name.as_bytes()), "{name}");
        }
        for name in [
            "gitmod~5",
            "gi7eba~0",
            "gi7eba~12",
            "gitmodules",
            "gi7ebb~1",
        ] {
            assert!(!is_gitmodules(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn duplicate_names_need_not_be_adjacent() {
        let mut raw = Vec::new();
        for (mode, name) in [("100644", "a"), ("100644", "a.b"), ("40000", "a")] {
            raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            raw.extend_from_slice(&[7u8; 20]);
        }
        let err = parse_tree(git2::Oid::ZERO_SHA1, "", &raw)
            .err()
            .expect("a file and a tree named a");
        assert!(err.message.contains("duplicate"), "{}", err.message);
    }

    #[test]
    fn nul_in_a_commit() {
        let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        let ok = format!("tree {tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\n\nmsg\n");
        check_commit(git2::Oid::ZERO_SHA1, ok.as_bytes()).expect("ordinary");
        let in_message = format!(
            "tree {tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\n\nmsg\0 body\n"
        );
        assert!(check_commit(git2::Oid::ZERO_SHA1, in_message.as_bytes()).is_err());
        let bad = format!(
            "tree {tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\nx \0y\n\nmsg\n"
        );
        assert!(check_commit(git2::Oid::ZERO_SHA1, bad.as_bytes()).is_err());
    }

    #[test]
    fn gitattributes_git_would_not_read() {
        let oid = git2::Oid::ZERO_SHA1;
        check_gitattributes(oid, ".gitattributes", b"*.bin binary\n").expect("ordinary");
        let long = format!("{} binary\n", "x".repeat(2048));
        assert!(check_gitattributes(oid, ".gitattributes", long.as_bytes()).is_err());
        assert!(is_gitattributes(b".GITATTRIBUTES") && is_gitattributes(b"gitatt~1"));
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

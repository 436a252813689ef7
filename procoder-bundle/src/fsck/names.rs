//! What a tree entry may be called: git's `verify_path` rules for `.git` in every spelling a
//! file system folds to it, and the special names `.gitmodules` and `.gitattributes`.

/// Names git refuses in a tree: empty, `/`, NUL, `.`, `..`, and `.git` in every spelling
/// that some file system folds to `.git` (case, NTFS short names and trailing dots or
/// spaces, HFS+ ignorable code points).
pub(super) fn check_name(name: &[u8]) -> std::result::Result<(), &'static str> {
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

pub(super) fn is_dotgit(name: &[u8]) -> bool {
    is_ntfs_equivalent(name, b".git", b"git~1") || hfs_folded(name).as_deref() == Some(".git")
}

pub(super) fn is_gitmodules(name: &[u8]) -> bool {
    is_ntfs_equivalent(name, b".gitmodules", b"gitmod~1")
        || is_ntfs_gitmodules_short_name(name)
        || hfs_folded(name).as_deref() == Some(".gitmodules")
}

pub(super) fn is_gitattributes(name: &[u8]) -> bool {
    is_ntfs_equivalent(name, b".gitattributes", b"gitatt~1")
        || hfs_folded(name).as_deref() == Some(".gitattributes")
}

/// The other NTFS 8.3 names of `.gitmodules` that git's `is_ntfs_dotgitmodules` knows:
/// `gitmod~1`..`gitmod~4` and the hashed fall-back (`gi7eba~N`, a prefix of `gi7eba`, a tilde
/// and digits filling eight characters), each with trailing spaces, dots or a `:stream`.
/// Without this a `.gitmodules` spelled `GITMOD~2` escaped the content checks below.
pub(super) fn is_ntfs_gitmodules_short_name(name: &[u8]) -> bool {
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
pub(super) fn is_ntfs_equivalent(name: &[u8], long: &[u8], short: &[u8]) -> bool {
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
pub(super) fn hfs_folded(name: &[u8]) -> Option<String> {
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

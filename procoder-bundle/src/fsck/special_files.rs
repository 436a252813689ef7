//! The contents git's fsck checks: `.gitattributes` it would refuse to read, and `.gitmodules`
//! read with git's own config rules.

use super::unsafe_object;
use procoder_manifest::Result;

/// git's fsck (2.40+) refuses a `.gitattributes` larger than 100 MB or with a line of 2048 bytes
/// or more (`gitattributesLarge`, `gitattributesLineLength`): git would not read it.
pub(super) fn check_gitattributes(oid: git2::Oid, path: &str, data: &[u8]) -> Result<()> {
    if data.len() > 100 * 1024 * 1024 {
        return Err(unsafe_object(
            oid,
            path,
            ".gitattributes is larger than 100 MB",
        ));
    }
    // git reads the blob as a C string: its line check stops at the first NUL.
    let data = &data[..data.iter().position(|&c| c == 0).unwrap_or(data.len())];
    if data.split(|&c| c == b'\n').any(|line| line.len() >= 2048) {
        return Err(unsafe_object(
            oid,
            path,
            ".gitattributes has a line of 2048 bytes or more",
        ));
    }
    Ok(())
}

/// `.gitmodules`: no submodule name that is empty or escapes (`..`), no url or path that git
/// could read as an option (CVE-2018-17456), no url with control characters or an encoded
/// newline (CVE-2020-5260), no `update = !command` (CVE-2019-19604), as git's
/// `fsck_gitmodules_fn` checks. The blob is read the way git's config parser reads it (quotes,
/// escapes, line continuations, comments): a line-based reading let `url = "" -x` and
/// `url = \<newline>-x` through, which git reads as `-x`.
pub(super) fn check_gitmodules(oid: git2::Oid, path: &str, data: &[u8]) -> Result<()> {
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
pub(super) struct ConfigEntry {
    section: Vec<u8>,
    subsection: Option<Vec<u8>>,
    key: Vec<u8>,
    value: Option<Vec<u8>>,
}

/// Parses a config blob as git's `config.c` does, returning the entries read and whether the
/// whole blob parsed.
pub(super) fn config_entries(data: &[u8]) -> (Vec<ConfigEntry>, bool) {
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

pub(super) struct ConfigParser<'a> {
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

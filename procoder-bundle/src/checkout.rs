//! What `git checkout` writes into the work tree for a blob: line endings (the `text`, `crlf`
//! and `eol` attributes) and `$Id$` expansion (`ident`), decided as git 2.47's convert.c does
//! with `core.autocrlf` and `core.eol` unset, which is the exported repository's config.
//! Filter drivers (LFS, git-crypt) and `working-tree-encoding` are not run: the sandbox has
//! neither the drivers nor their config, so their files are written as stored, and the caller
//! names them in a warning.

use std::borrow::Cow;
use std::path::Path;

/// The checkout conversions for one path, from its attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversion {
    crlf: Crlf,
    ident: bool,
    /// The `filter` attribute's driver name, when set (not applied; see the module comment).
    pub filter: Option<String>,
    /// The `working-tree-encoding` attribute, when set (not applied).
    pub encoding: Option<String>,
}

/// git's `convert_crlf_action`, after the `eol` attribute has been folded in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // git's own names: CRLF_TEXT_CRLF, CRLF_AUTO_CRLF
enum Crlf {
    #[default]
    Undefined,
    Binary,
    Text,
    TextInput,
    TextCrlf,
    Auto,
    AutoInput,
    AutoCrlf,
}

/// The attribute names [`Conversion::from_attrs`] reads, in its argument order.
pub(crate) const ATTRIBUTES: [&str; 6] = [
    "text",
    "crlf",
    "eol",
    "ident",
    "filter",
    "working-tree-encoding",
];

impl Conversion {
    /// Decides the conversion from the raw values of [`ATTRIBUTES`] (as libgit2 returns them).
    pub(crate) fn from_attrs(values: [Option<&[u8]>; 6]) -> Self {
        let [text, crlf, eol, ident, filter, encoding] = values.map(attr_value);
        let mut action = crlf_of(&text);
        if action == Crlf::Undefined {
            action = crlf_of(&crlf);
        }
        if action != Crlf::Binary {
            let eol = match eol {
                git2::AttrValue::String("lf") | git2::AttrValue::Bytes(b"lf") => Some(false),
                git2::AttrValue::String("crlf") | git2::AttrValue::Bytes(b"crlf") => Some(true),
                _ => None,
            };
            action = match (action, eol) {
                (Crlf::Auto, Some(false)) => Crlf::AutoInput,
                (Crlf::Auto, Some(true)) => Crlf::AutoCrlf,
                (_, Some(false)) => Crlf::TextInput,
                (_, Some(true)) => Crlf::TextCrlf,
                (a, None) => a,
            };
        }
        let named = |v: git2::AttrValue<'_>| match v {
            git2::AttrValue::String(s) => Some(s.to_owned()),
            git2::AttrValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        };
        Self {
            crlf: action,
            ident: matches!(ident, git2::AttrValue::True),
            filter: named(filter),
            encoding: named(encoding),
        }
    }

    /// Looks the attributes of `path` up in `repo` with `flags`.
    pub fn lookup(
        repo: &git2::Repository,
        path: &Path,
        flags: git2::AttrCheckFlags,
    ) -> Result<Self, git2::Error> {
        let mut values: [Option<Vec<u8>>; 6] = Default::default();
        for (value, name) in values.iter_mut().zip(ATTRIBUTES) {
            *value = repo.get_attr_bytes(path, name, flags)?.map(<[u8]>::to_vec);
        }
        Ok(Self::from_attrs(values.each_ref().map(|v| v.as_deref())))
    }

    /// True when checkout may write something other than the blob's bytes.
    pub fn converts(&self) -> bool {
        self.ident || matches!(self.crlf, Crlf::TextCrlf | Crlf::AutoCrlf)
    }

    /// True when `git add` may store something other than the file's bytes (CRLF turned into
    /// LF, `$Id$` collapsed): the file's plain hash then need not be its blob's id.
    pub fn cleans(&self) -> bool {
        self.ident || !matches!(self.crlf, Crlf::Undefined | Crlf::Binary)
    }

    /// The bytes `git checkout` writes for `blob` (whose id is `oid`).
    pub fn to_worktree<'a>(&self, blob: &'a [u8], oid: git2::Oid) -> Cow<'a, [u8]> {
        let mut out = Cow::Borrowed(blob);
        if self.ident {
            if let Some(expanded) = expand_ident(&out, oid) {
                out = Cow::Owned(expanded);
            }
        }
        if matches!(self.crlf, Crlf::TextCrlf | Crlf::AutoCrlf) {
            let stats = Stats::of(&out);
            let auto = self.crlf == Crlf::AutoCrlf;
            if stats.lone_lf > 0
                && !(auto && (stats.lone_cr > 0 || stats.crlf > 0 || stats.binary()))
            {
                out = Cow::Owned(lf_to_crlf(&out, stats.lone_lf));
            }
        }
        out
    }
}

/// libgit2's value for an attribute. `git2::AttrValue::from_bytes` tells set from unset by the
/// address of libgit2's own marker strings, which a copied value no longer has; the markers'
/// text is compared here instead.
fn attr_value(value: Option<&[u8]>) -> git2::AttrValue<'_> {
    match value {
        None | Some(b"[internal]__UNSET__") => git2::AttrValue::Unspecified,
        Some(b"[internal]__TRUE__") => git2::AttrValue::True,
        Some(b"[internal]__FALSE__") => git2::AttrValue::False,
        Some(v) => match std::str::from_utf8(v) {
            Ok(s) => git2::AttrValue::String(s),
            Err(_) => git2::AttrValue::Bytes(v),
        },
    }
}

fn crlf_of(value: &git2::AttrValue<'_>) -> Crlf {
    match value {
        git2::AttrValue::True => Crlf::Text,
        git2::AttrValue::False => Crlf::Binary,
        git2::AttrValue::String("input") | git2::AttrValue::Bytes(b"input") => Crlf::TextInput,
        git2::AttrValue::String("auto") | git2::AttrValue::Bytes(b"auto") => Crlf::Auto,
        _ => Crlf::Undefined,
    }
}

/// git's `text_stat`: what auto-detection and conversion decide on.
#[derive(Debug, Default)]
struct Stats {
    nul: usize,
    lone_cr: usize,
    lone_lf: usize,
    crlf: usize,
    printable: usize,
    nonprintable: usize,
}

impl Stats {
    fn of(buf: &[u8]) -> Self {
        let mut s = Self::default();
        let mut i = 0;
        while i < buf.len() {
            match buf[i] {
                b'\r' if buf.get(i + 1) == Some(&b'\n') => {
                    s.crlf += 1;
                    i += 1;
                }
                b'\r' => s.lone_cr += 1,
                b'\n' => s.lone_lf += 1,
                127 => s.nonprintable += 1,
                0 => {
                    s.nul += 1;
                    s.nonprintable += 1;
                }
                b'\x08' | b'\t' | b'\x1b' | b'\x0c' => s.printable += 1,
                c if c < 32 => s.nonprintable += 1,
                _ => s.printable += 1,
            }
            i += 1;
        }
        // A DOS end-of-file mark at the very end is not binary.
        if buf.last() == Some(&0x1a) {
            s.nonprintable = s.nonprintable.saturating_sub(1);
        }
        s
    }

    fn binary(&self) -> bool {
        self.lone_cr > 0 || self.nul > 0 || (self.printable >> 7) < self.nonprintable
    }
}

fn lf_to_crlf(buf: &[u8], lone_lf: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len() + lone_lf);
    let mut prev = 0u8;
    for &b in buf {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// `$Id$` and git-style `$Id: <anything> $` become `$Id: <oid> $`, as git's ident_to_worktree
/// does; `$Id: with spaces $` from other systems and keywords broken by a newline are kept.
fn expand_ident(buf: &[u8], oid: git2::Oid) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = buf;
    let mut changed = false;
    while let Some(at) = find(rest, b"$Id") {
        let after = &rest[at + 3..];
        let end = match after.first() {
            Some(b'$') => Some(at + 4),
            Some(b':') => {
                let body = &after[1..];
                match body.iter().position(|&b| b == b'$') {
                    Some(d)
                        if !body[..d].contains(&b'\n')
                            && !body[..d.saturating_sub(1)]
                                .iter()
                                .skip(1)
                                .any(|&b| b == b' ') =>
                    {
                        Some(at + 4 + d + 1)
                    }
                    Some(_) => None,
                    None => break,
                }
            }
            _ => None,
        };
        match end {
            Some(end) => {
                out.extend_from_slice(&rest[..at]);
                out.extend_from_slice(format!("$Id: {oid} $").as_bytes());
                rest = &rest[end..];
                changed = true;
            }
            None => {
                out.extend_from_slice(&rest[..at + 3]);
                rest = &rest[at + 3..];
            }
        }
    }
    out.extend_from_slice(rest);
    changed.then_some(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(text: Option<&str>, eol: Option<&str>) -> Conversion {
        let v = |s: Option<&str>| {
            s.map(|s| match s {
                "true" => b"[internal]__TRUE__".to_vec(),
                "false" => b"[internal]__FALSE__".to_vec(),
                other => other.as_bytes().to_vec(),
            })
        };
        let (t, e) = (v(text), v(eol));
        Conversion::from_attrs([t.as_deref(), None, e.as_deref(), None, None, None])
    }

    fn oid() -> git2::Oid {
        git2::Oid::from_str("0123456789abcdef0123456789abcdef01234567").expect("valid hex")
    }

    #[test]
    fn eol_crlf_converts_lone_lf_only() {
        let c = conv(None, Some("crlf"));
        assert_eq!(&*c.to_worktree(b"a\nb\r\nc\n", oid()), b"a\r\nb\r\nc\r\n");
        assert_eq!(&*c.to_worktree(b"no newline", oid()), b"no newline");
    }

    #[test]
    fn auto_leaves_files_with_cr_or_binary_alone() {
        let c = conv(Some("auto"), Some("crlf"));
        assert_eq!(&*c.to_worktree(b"a\nb\n", oid()), b"a\r\nb\r\n");
        assert_eq!(&*c.to_worktree(b"a\r\nb\n", oid()), b"a\r\nb\n");
        assert_eq!(&*c.to_worktree(b"a\0\nb\n", oid()), b"a\0\nb\n");
    }

    #[test]
    fn markers_are_read_by_text() {
        assert_eq!(conv(Some("true"), None).crlf, Crlf::Text);
        assert_eq!(conv(Some("false"), None).crlf, Crlf::Binary);
        let ident = b"[internal]__TRUE__".to_vec();
        let c = Conversion::from_attrs([None, None, None, Some(&ident), None, None]);
        assert!(c.ident);
    }

    #[test]
    fn text_without_eol_and_binary_stay_lf() {
        for c in [
            conv(Some("true"), None),
            conv(Some("false"), Some("crlf")),
            conv(None, Some("lf")),
        ] {
            assert!(!c.converts(), "{c:?}");
            assert_eq!(&*c.to_worktree(b"a\nb\n", oid()), b"a\nb\n");
        }
    }

    #[test]
    fn ident_expands_git_style_keywords_only() {
        let expanded = format!("$Id: {} $", oid());
        assert_eq!(
            expand_ident(b"x $Id$ y", oid()).as_deref(),
            Some(format!("x {expanded} y").as_bytes())
        );
        assert_eq!(
            expand_ident(b"$Id: old $", oid()).as_deref(),
            Some(expanded.as_bytes())
        );
        assert_eq!(expand_ident(b"$Id: foo bar baz $", oid()), None);
        assert_eq!(expand_ident(b"$Id: a\nb $", oid()), None);
        assert_eq!(expand_ident(b"no keyword", oid()), None);
    }
}

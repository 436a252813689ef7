//! Expected-output files: `tests/it/snapshots/<name>.txt`, compared after redacting what differs
//! from run to run (paths, exchange ids, times, sizes). `PROCODER_BLESS=1` rewrites them.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The folder of the expected-output files.
pub fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("it/snapshots")
}

/// Compares `actual` with `snapshots/<name>.txt`; prints a line diff on a mismatch. Under
/// `PROCODER_BLESS=1` writes `actual` there instead.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_dir().join(format!("{name}.txt"));
    if std::env::var_os("PROCODER_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(snapshot_dir()).expect("create the snapshot folder");
        std::fs::write(&path, actual).expect("write a snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}; run the test with PROCODER_BLESS=1 to create it. Actual output:\n{actual}",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "output differs from {} (- expected, + actual); rerun with PROCODER_BLESS=1 to accept it:\n{}",
            path.display(),
            line_diff(&expected, actual)
        );
    }
}

/// A line diff by longest common subsequence (snapshots are small).
pub fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let show = |out: &mut String, sign: char, line: &str| {
        out.push(sign);
        out.push_str(&line.replace('\x1b', "\\e"));
        if !line.ends_with('\n') {
            out.push_str("\n\\ no newline at end\n");
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            show(&mut out, ' ', a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            show(&mut out, '-', a[i]);
            i += 1;
        } else {
            show(&mut out, '+', b[j]);
            j += 1;
        }
    }
    out
}

/// What varies between runs and machines, and what it becomes.
#[derive(Default)]
pub struct Redactions {
    /// Literal replacements, applied longest first (exchange ids, temporary folders).
    literal: Vec<(String, String)>,
}

impl Redactions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces `from` by `to` everywhere.
    pub fn literal(mut self, from: &str, to: &str) -> Self {
        if !from.is_empty() {
            self.literal.push((from.to_owned(), to.to_owned()));
            self.literal.sort_by_key(|l| std::cmp::Reverse(l.0.len()));
        }
        self
    }

    /// Replaces a temporary folder, under its given and its canonical spelling.
    pub fn path(self, dir: &Path, to: &str) -> Self {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        self.literal(&dir.display().to_string(), to)
            .literal(&canonical.display().to_string(), to)
    }

    /// An exchange id, as `YYYYMMDD-HHMMSS-xxxxxx` (same width, so tables stay aligned) or
    /// with a tag when a test holds several: `[ID-A]`.
    pub fn exchange(self, id: &str, to: &str) -> Self {
        self.literal(id, to)
    }

    /// Text: literals, then object ids (40 hex: `[OID]`, 12 hex: `[abbrev-oid]`, which keeps
    /// the width), then sizes (`7.7 MiB`: `[SIZE]`).
    pub fn text(&self, s: &str) -> String {
        let mut s = s.to_owned();
        for (from, to) in &self.literal {
            s = s.replace(from, to);
        }
        redact_sizes(&redact_hex(&s))
    }

    /// JSON: every string redacted as text; times, ages and byte counts by key. Pretty,
    /// keys sorted, so the file reads well and never depends on key order.
    pub fn json(&self, v: &Value) -> String {
        let mut v = v.clone();
        self.walk(&mut v);
        let mut s = serde_json::to_string_pretty(&v).expect("a JSON value prints");
        s.push('\n');
        s
    }

    fn walk(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.walk(i)),
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    match k.as_str() {
                        "created_at" => *item = Value::String("[TIME]".into()),
                        "age_seconds" if item.is_number() => *item = Value::String("[AGE]".into()),
                        "package_bytes" | "archive_bytes" => *item = Value::String("[SIZE]".into()),
                        // prepare's estimate and its parts: the helper's size changes every build.
                        "size" if item.is_object() => {
                            for (part, n) in item.as_object_mut().into_iter().flatten() {
                                if part != "limit" && n.is_number() {
                                    *n = Value::String("[SIZE]".into());
                                }
                            }
                        }
                        _ => self.walk(item),
                    }
                }
            }
            _ => {}
        }
    }
}

/// Runs of lowercase hex bounded by non-alphanumerics: 40 long is an object id, 12 long is
/// procoder's abbreviation.
fn redact_hex(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let boundary_before = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary_before && is_hex(b[i]) {
            let mut j = i;
            while j < b.len() && is_hex(b[j]) {
                j += 1;
            }
            let boundary_after = j == b.len() || !b[j].is_ascii_alphanumeric();
            let run = &s[i..j];
            let digits = run.bytes().any(|c| c.is_ascii_digit());
            match (boundary_after && digits, j - i) {
                (true, 40) => out.push_str("[OID]"),
                (true, 12) => out.push_str("[abbrev-oid]"),
                _ => out.push_str(run),
            }
            i = j;
        } else {
            let c = s[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_hex(c: u8) -> bool {
    matches!(c, b'0'..=b'9' | b'a'..=b'f')
}

/// `7.7 MiB`, `512 B`: sizes of packages and helpers differ between builds.
fn redact_sizes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(pos);
        out.push_str(before);
        let starts_word = out
            .chars()
            .last()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '.');
        let number_len = from
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(from.len());
        let after = &from[number_len..];
        let unit = ["B", "KiB", "MiB", "GiB"].into_iter().find(|u| {
            after.strip_prefix(' ').is_some_and(|a| {
                a.strip_prefix(u)
                    .is_some_and(|t| t.chars().next().is_none_or(|c| !c.is_alphanumeric()))
            })
        });
        match unit {
            Some(u) if starts_word => {
                out.push_str("[SIZE]");
                rest = &after[1 + u.len()..];
            }
            _ => {
                out.push_str(&from[..number_len]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn redaction_keeps_what_is_stable() {
    let r = Redactions::new().exchange("20260101-000000-abcdef", "YYYYMMDD-HHMMSS-xxxxxx");
    let oid = "0123456789abcdef0123456789abcdef01234567";
    let text = format!(
        "procoder/20260101-000000-abcdef/task {oid} {} 7.7 MiB, 3 files, 12 B\n",
        &oid[..12]
    );
    assert_eq!(
        r.text(&text),
        "procoder/YYYYMMDD-HHMMSS-xxxxxx/task [OID] [abbrev-oid] [SIZE], 3 files, [SIZE]\n"
    );
    assert_eq!(
        r.text("deadbeefcafe"),
        "deadbeefcafe",
        "words of letters only stay"
    );
}

#[test]
fn diff_marks_changed_lines() {
    assert_eq!(line_diff("a\nb\nc\n", "a\nx\nc\n"), " a\n-b\n+x\n c\n");
}

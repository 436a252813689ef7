//! The allow list: `.procoder-allow-secrets` at the root of HEAD's tree, one fingerprint a line.
//! A fingerprint names one exact string under one rule, so an entry can accept a known false
//! positive (or a revoked test key) and nothing else: a different secret, even on the same line
//! of the same file, has a different fingerprint and is still reported.

use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The file's name, at the top of the tree.
pub const FILE: &str = ".procoder-allow-secrets";

/// Hex digits of a fingerprint: 64 bits, so a collision is not something to plan around.
const LEN: usize = 16;

/// The fingerprint of `secret` under `rule`, as findings print it and the allow list holds it.
pub fn fingerprint(rule: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"procoder-secret\0");
    h.update(rule.as_bytes());
    h.update(b"\0");
    h.update(secret);
    h.finalize()
        .iter()
        .take(LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fingerprints of `text`, and the numbers of the lines that are none (blank lines and
/// `#` comments aside): `<fingerprint> [anything, e.g. the path it was found at]`.
pub fn parse(text: &[u8]) -> (HashSet<String>, Vec<usize>) {
    let mut allowed = HashSet::new();
    let mut bad = Vec::new();
    for (i, line) in String::from_utf8_lossy(text).lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let word = line.split_whitespace().next().unwrap_or("");
        if word.len() == LEN && word.bytes().all(|b| b.is_ascii_hexdigit()) {
            allowed.insert(word.to_ascii_lowercase());
        } else {
            bad.push(i + 1);
        }
    }
    (allowed, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_allows_its_own_string_only() {
        let f = fingerprint("github-token", b"one");
        let text = format!("# known\n{f}  tests/key.txt: revoked\nnot-a-fingerprint\n");
        let (allowed, bad) = parse(text.as_bytes());
        assert!(allowed.contains(&f));
        assert!(!allowed.contains(&fingerprint("github-token", b"two")));
        assert!(!allowed.contains(&fingerprint("npm-token", b"one")));
        assert_eq!(bad, [3]);
    }
}

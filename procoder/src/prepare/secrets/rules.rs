//! What counts as a credential: formats that are unambiguous on their own (a fixed prefix, a
//! fixed length or an embedded marker), so a finding is worth stopping for. One alternation of
//! them all, matched by the `regex` crate: every alternative starts with a literal, so regex's
//! own literal prefilter (Teddy / Aho-Corasick over the prefixes) skips the text between
//! candidates, and one pass over a blob finds every rule's matches at once.

use regex::bytes::Regex;

/// How much of a match may be shown.
#[derive(Clone, Copy)]
pub enum Shown {
    /// The first N bytes: the format's public prefix (`ghp_`).
    Prefix(usize),
    /// The first line (a `-----BEGIN ... PRIVATE KEY-----` header, which is not secret).
    Header,
    /// What comes before the first `=` or `:` (a variable's name).
    Name,
}

/// One rule of the README's table.
pub struct Rule {
    pub name: &'static str,
    pub pattern: &'static str,
    pub shown: Shown,
}

/// The token rules, in README order. Leftmost-first alternation: where two could start at the
/// same byte, the earlier wins (the service account's `"private_key"` before the key block).
pub const RULES: &[Rule] = &[
    Rule {
        name: "gcp-service-account",
        // The JSON keeps the key block on one line, with `\n` escapes.
        pattern: r#""private_key"\s*:\s*"-----BEGIN[A-Z ]*PRIVATE KEY-----\\n[A-Za-z0-9+/=]{20,}"#,
        shown: Shown::Prefix(13),
    },
    Rule {
        name: "private-key",
        // A header with a body: code that only names the header (a parser, a doc) is no key.
        pattern: r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----\r?\n(?:[A-Za-z-]+:[^\n]*\n)*\r?\n?[A-Za-z0-9+/=]{20,}",
        shown: Shown::Header,
    },
    Rule {
        name: "github-token",
        pattern: r"\bgh[pousr]_[A-Za-z0-9]{36}\b",
        shown: Shown::Prefix(4),
    },
    Rule {
        name: "github-fine-grained-token",
        pattern: r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b",
        shown: Shown::Prefix(11),
    },
    Rule {
        name: "gitlab-token",
        pattern: r"\bglpat-[A-Za-z0-9_-]{20,}",
        shown: Shown::Prefix(6),
    },
    Rule {
        name: "aws-access-key-id",
        pattern: r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
        shown: Shown::Prefix(4),
    },
    Rule {
        name: "aws-secret-access-key",
        pattern: r#"\b(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|SecretAccessKey)["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}\b"#,
        shown: Shown::Name,
    },
    Rule {
        name: "google-api-key",
        pattern: r"\bAIza[0-9A-Za-z_-]{35}",
        shown: Shown::Prefix(4),
    },
    Rule {
        name: "slack-token",
        pattern: r"\bxox[baprs]-[0-9A-Za-z-]{10,}",
        shown: Shown::Prefix(5),
    },
    Rule {
        name: "slack-webhook",
        pattern: r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}",
        shown: Shown::Prefix(33),
    },
    Rule {
        name: "stripe-secret-key",
        pattern: r"\b[sr]k_live_[0-9A-Za-z]{24,}",
        shown: Shown::Prefix(8),
    },
    Rule {
        name: "anthropic-api-key",
        pattern: r"\bsk-ant-[a-z]{3,10}[0-9]{2}-[A-Za-z0-9_-]{80,}",
        shown: Shown::Prefix(7),
    },
    Rule {
        name: "openai-api-key",
        // Every OpenAI key embeds "T3BlbkFJ" (base64 of "OpenAI"): no other sk- string does.
        pattern: r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}",
        shown: Shown::Prefix(3),
    },
    Rule {
        name: "twilio-api-key",
        pattern: r"\bSK[0-9a-f]{32}\b",
        shown: Shown::Prefix(2),
    },
    Rule {
        name: "sendgrid-api-key",
        pattern: r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        shown: Shown::Prefix(3),
    },
    Rule {
        name: "npm-token",
        pattern: r"\bnpm_[A-Za-z0-9]{36}\b",
        shown: Shown::Prefix(4),
    },
    Rule {
        name: "pypi-token",
        // The macaroon's fixed start: base64 of its location, "pypi.org".
        pattern: r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
        shown: Shown::Prefix(5),
    },
];

/// The name of the `.env` rule, which runs only on `.env`-style files.
pub const DOTENV: &str = "dotenv-assignment";

/// The compiled rules.
pub struct Matcher {
    tokens: Regex,
    dotenv: Regex,
}

impl Matcher {
    pub fn new() -> Self {
        let alternation: Vec<String> = RULES.iter().map(|r| format!("({})", r.pattern)).collect();
        // Both are constants of this file, checked by `every_rule_compiles` below. The rules
        // use only non-capturing groups, so group i + 1 is rule i.
        // ASCII mode (`-u`): regex's lazy DFA cannot evaluate a Unicode `\b` and gives up at
        // the first non-ASCII byte for a slower engine (as regex documents), and translations
        // and docs are full of them. Every rule is ASCII anyway.
        let tokens =
            Regex::new(&format!("(?-u){}", alternation.join("|"))).expect("the rules compile");
        let dotenv = Regex::new(
            r"(?m-u)^[ \t]*(?:export[ \t]+)?((?:[A-Za-z0-9_]*_)?(?i:secret|token|key|password|passwd))[ \t]*[=:][ \t]*([^\r\n]*)",
        )
        .expect("the .env rule compiles");
        Matcher { tokens, dotenv }
    }

    /// Appends every match in `text` to `out`; `dotenv` adds the `.env` rule.
    pub fn find(&self, text: &[u8], dotenv: bool, out: &mut Vec<Hit>) {
        for caps in self.tokens.captures_iter(text) {
            let Some((i, m)) = (0..RULES.len()).find_map(|i| caps.get(i + 1).map(|m| (i, m)))
            else {
                continue;
            };
            let rule = &RULES[i];
            let bytes = m.as_bytes();
            let (shown, body) = match rule.shown {
                Shown::Prefix(n) => {
                    let n = n.min(bytes.len());
                    (
                        String::from_utf8_lossy(&bytes[..n]).into_owned(),
                        &bytes[n..],
                    )
                }
                Shown::Header | Shown::Name => {
                    let stop: &[u8] = match rule.shown {
                        Shown::Name => b"=: \t\"'",
                        _ => b"\r\n",
                    };
                    let end = bytes
                        .iter()
                        .position(|b| stop.contains(b))
                        .unwrap_or(bytes.len());
                    (
                        String::from_utf8_lossy(&bytes[..end]).into_owned(),
                        &bytes[end..],
                    )
                }
            };
            if placeholder_token(body) {
                continue;
            }
            out.push(Hit {
                offset: m.start(),
                rule: rule.name,
                secret: bytes.to_vec(),
                shown,
            });
        }
        if !dotenv {
            return;
        }
        let tokens = out.len();
        for caps in self.dotenv.captures_iter(text) {
            let (Some(whole), Some(name), Some(raw)) = (caps.get(0), caps.get(1), caps.get(2))
            else {
                continue;
            };
            // `GITHUB_TOKEN=ghp_…` is one secret, already found by its token rule.
            if out[..tokens]
                .iter()
                .any(|h| whole.range().contains(&h.offset))
            {
                continue;
            }
            let value = unquote(raw.as_bytes());
            if placeholder_value(value) {
                continue;
            }
            let name = String::from_utf8_lossy(name.as_bytes()).into_owned();
            let mut secret = name.clone().into_bytes();
            secret.push(b'=');
            secret.extend_from_slice(value);
            out.push(Hit {
                offset: whole.start(),
                rule: DOTENV,
                shown: format!("{name}="),
                secret,
            });
        }
    }
}

/// One match, before it is placed (line) and checked against the allow list.
pub struct Hit {
    pub offset: usize,
    pub rule: &'static str,
    /// The matched bytes: only ever hashed into a fingerprint, never printed.
    pub secret: Vec<u8>,
    pub shown: String,
}

/// Whether a `.env`-style file: `.env`, `.env.<anything>`, `<anything>.env`.
pub fn is_dotenv(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    base == ".env" || base.starts_with(".env.") || base.ends_with(".env")
}

/// Documentation's stand-ins: `ghp_xxxx…`, AWS's `AKIAIOSFODNN7EXAMPLE`, one repeated digit.
fn placeholder_token(body: &[u8]) -> bool {
    let lower = body.to_ascii_lowercase();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    let mut distinct = [false; 256];
    for &b in body {
        distinct[usize::from(b)] = true;
    }
    has(b"example") || has(b"xxxx") || distinct.iter().filter(|&&d| d).count() <= 4
}

/// A value without its quotes, or without a trailing ` # comment` when unquoted.
fn unquote(raw: &[u8]) -> &[u8] {
    let raw = raw.trim_ascii();
    if let Some(&q) = raw.first().filter(|&&q| q == b'"' || q == b'\'') {
        let rest = &raw[1..];
        return &rest[..rest.iter().position(|&b| b == q).unwrap_or(rest.len())];
    }
    let end = raw
        .windows(2)
        .position(|w| w[0].is_ascii_whitespace() && w[1] == b'#')
        .unwrap_or(raw.len());
    raw[..end].trim_ascii()
}

/// Empty, a reference to another variable, or a stand-in that a template ships.
fn placeholder_value(value: &[u8]) -> bool {
    const WORDS: &[&str] = &[
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "replaceme",
        "replace-me",
        "replace_me",
        "todo",
        "tbd",
        "none",
        "null",
        "nil",
        "false",
        "true",
        "secret",
        "password",
        "token",
        "key",
        "dummy",
        "test",
        "placeholder",
        "redacted",
        "...",
    ];
    let lower = String::from_utf8_lossy(value).to_ascii_lowercase();
    let first = lower.chars().next();
    lower.is_empty()
        || first == Some('$')
        || (first == Some('<') && lower.ends_with('>'))
        || (first == Some('%') && lower.ends_with('%'))
        || lower.starts_with("{{")
        || lower.starts_with("your")
        || lower.contains("example")
        || lower.contains("xxx")
        || lower.contains('…')
        || lower.chars().all(|c| Some(c) == first)
        || WORDS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles() {
        for r in RULES {
            assert!(Regex::new(r.pattern).is_ok(), "{}", r.name);
        }
        assert_eq!(Matcher::new().tokens.captures_len(), RULES.len() + 1);
    }

    #[test]
    fn placeholders_are_not_findings() {
        let m = Matcher::new();
        let mut hits = Vec::new();
        let text = format!("AKIA{}EXAMPLE\nghp_{}\n", "IOSFODNN7", "x".repeat(36));
        m.find(text.as_bytes(), false, &mut hits);
        assert!(hits.is_empty());
        m.find(
            b"API_KEY=\nDB_PASSWORD=${PW}\nSECRET_KEY=changeme\nTOKEN=<token>\n",
            true,
            &mut hits,
        );
        assert!(hits.is_empty());
    }

    #[test]
    fn keys_in_non_ascii_text_are_found() {
        let token = ["gh", "p_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF2gH4"].concat();
        let text = format!("// clé d'accès: «{token}» 🔑\n");
        let mut hits = Vec::new();
        Matcher::new().find(text.as_bytes(), false, &mut hits);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].secret, token.as_bytes());
    }

    #[test]
    fn a_token_in_a_dotenv_assignment_is_one_finding() {
        // Built from pieces, as every test key: no literal token in the repository.
        let token = ["np", "m_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF2gH4"].concat();
        let text = format!("NPM_TOKEN={token}\nDB_PASSWORD=hunter2x\n");
        let mut hits = Vec::new();
        Matcher::new().find(text.as_bytes(), true, &mut hits);
        let rules: Vec<&str> = hits.iter().map(|h| h.rule).collect();
        assert_eq!(rules, ["npm-token", DOTENV]);
    }
}

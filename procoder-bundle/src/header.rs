//! The bundle header (git's `Documentation/gitformat-bundle.txt`): signature, v3
//! capabilities, prerequisites, references, blank line; the pack follows.

use crate::{from_git, verify_failed};
use procoder_manifest::{check_ref_name, ErrorCode, Failure, ObjectId, Result};
use std::io::{BufRead, Write};

/// Longest header line we accept: a ref name is at most 1024 bytes, a subject is cut by us.
const MAX_LINE: usize = 64 * 1024;
/// Most header lines we accept; a return has a handful.
const MAX_LINES: usize = 100_000;
/// Most header bytes we accept. The line limits alone allowed 100,000 prerequisite lines of
/// 64 KiB each, all kept in memory: 6 GiB from a bundle member a zip deflates 1000:1.
const MAX_HEADER_BYTES: usize = 16 << 20;

/// Bundle format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleVersion {
    /// `# v2 git bundle`
    V2,
    /// `# v3 git bundle` (capabilities allowed; only `object-format=sha1` is accepted).
    V3,
}

/// A commit the receiver must already have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prerequisite {
    /// The commit.
    pub oid: ObjectId,
    /// Its subject, informational only.
    pub comment: String,
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleHeader {
    /// v2 or v3.
    pub version: BundleVersion,
    /// Commits the receiver must have.
    pub prerequisites: Vec<Prerequisite>,
    /// Advertised refs, in file order.
    pub refs: Vec<(String, ObjectId)>,
}

impl BundleHeader {
    /// Reads a header strictly, leaving `r` at the first pack byte.
    /// An unknown version or capability is `UNSUPPORTED_PROTOCOL`; any other defect is
    /// `BUNDLE_VERIFY_FAILED`.
    pub fn read<R: BufRead + ?Sized>(r: &mut R) -> Result<Self> {
        let first = read_line(r)?.ok_or_else(|| verify_failed("bundle is empty"))?;
        let version = match first.as_slice() {
            b"# v2 git bundle" => BundleVersion::V2,
            b"# v3 git bundle" => BundleVersion::V3,
            other if other.starts_with(b"# v") && other.ends_with(b" git bundle") => {
                return Err(Failure::new(
                    ErrorCode::UnsupportedProtocol,
                    format!(
                        "bundle version {:?} is not supported (v2 and v3 are)",
                        String::from_utf8_lossy(other)
                    ),
                ))
            }
            _ => {
                return Err(verify_failed(
                    "not a git bundle: the first line is not a bundle signature",
                ))
            }
        };
        let mut header = BundleHeader {
            version,
            prerequisites: Vec::new(),
            refs: Vec::new(),
        };
        let mut in_capabilities = version == BundleVersion::V3;
        let mut header_bytes = first.len() + 1;
        let mut names = std::collections::HashSet::new();
        for _ in 0..MAX_LINES {
            let line = read_line(r)?.ok_or_else(|| {
                verify_failed("bundle header ends before the blank line that starts the pack")
            })?;
            header_bytes += line.len() + 1;
            if header_bytes > MAX_HEADER_BYTES {
                return Err(verify_failed(format!(
                    "bundle header is larger than {MAX_HEADER_BYTES} bytes"
                )));
            }
            if line.is_empty() {
                if header.refs.is_empty() {
                    return Err(verify_failed("bundle advertises no refs"));
                }
                return Ok(header);
            }
            let text = std::str::from_utf8(&line)
                .map_err(|_| verify_failed("bundle header line is not UTF-8"))?;
            if let Some(cap) = text.strip_prefix('@') {
                if !in_capabilities {
                    return Err(verify_failed(format!(
                        "bundle capability {cap:?} is out of place"
                    )));
                }
                if cap != "object-format=sha1" {
                    return Err(Failure::new(ErrorCode::UnsupportedProtocol, format!("bundle capability @{cap} is not supported (only @object-format=sha1 is)")));
                }
                continue;
            }
            in_capabilities = false;
            if let Some(rest) = text.strip_prefix('-') {
                if !header.refs.is_empty() {
                    return Err(verify_failed("bundle prerequisite after its refs"));
                }
                let (hex, comment) = rest.split_once(' ').unwrap_or((rest, ""));
                let oid = parse_oid(hex)?;
                header.prerequisites.push(Prerequisite {
                    oid,
                    comment: comment.to_owned(),
                });
            } else {
                let (hex, name) = text.split_once(' ').ok_or_else(|| {
                    verify_failed(format!("bundle ref line {text:?} has no ref name"))
                })?;
                let oid = parse_oid(hex)?;
                // git writes HEAD into the list for `git bundle create … HEAD`; the caller
                // decides what it may name.
                if name != "HEAD" {
                    check_ref_name(name)
                        .map_err(|e| verify_failed(format!("bundle advertises a bad ref: {e}")))?;
                }
                if !names.insert(name.to_owned()) {
                    return Err(verify_failed(format!("bundle advertises {name} twice")));
                }
                header.refs.push((name.to_owned(), oid));
            }
        }
        Err(verify_failed(format!(
            "bundle header has more than {MAX_LINES} lines"
        )))
    }

    /// Writes a v2 header.
    pub fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(b"# v2 git bundle\n")?;
        for p in &self.prerequisites {
            // A subject never holds a newline here (summary() joins lines), but make sure.
            let comment: String = p
                .comment
                .chars()
                .map(|c| if c == '\n' { ' ' } else { c })
                .collect();
            writeln!(w, "-{} {}", p.oid, comment)?;
        }
        for (name, oid) in &self.refs {
            writeln!(w, "{oid} {name}")?;
        }
        w.write_all(b"\n")
    }

    /// Every prerequisite must be a commit in `repo` (as `git bundle verify` requires).
    pub fn check_prerequisites(&self, repo: &git2::Repository) -> Result<()> {
        let missing: Vec<String> = self
            .prerequisites
            .iter()
            .filter(|p| repo.find_commit(crate::to_git(p.oid)).is_err())
            .map(|p| format!("missing prerequisite commit: {} {}", p.oid, p.comment))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(
                verify_failed("the bundle needs commits this repository does not have")
                    .details(missing),
            )
        }
    }
}

fn parse_oid(hex: &str) -> Result<ObjectId> {
    ObjectId::parse(hex).map_err(|e| verify_failed(format!("bundle header: {e}")))
}

/// One `\n`-terminated line without the newline, bounded; `None` at end of input.
fn read_line<R: BufRead + ?Sized>(r: &mut R) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = std::io::Read::take(&mut *r, MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| verify_failed(format!("cannot read the bundle header: {e}")).with_source(e))?;
    if n == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(verify_failed(
            "bundle header line is unterminated or too long",
        ));
    }
    Ok(Some(line))
}

/// The prerequisite line for a commit: its id and subject.
pub(crate) fn prerequisite_of(commit: &git2::Commit<'_>) -> Prerequisite {
    Prerequisite {
        oid: from_git(commit.id()),
        comment: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OID: &str = "b39e6197ab2068454f2e6481c5e982dc88b4edfa";

    fn parse(text: &str) -> Result<BundleHeader> {
        BundleHeader::read(&mut text.as_bytes())
    }

    #[test]
    fn reads_v2_and_v3() {
        let h = parse(&format!(
            "# v2 git bundle\n-{OID} subject line\n{OID} refs/heads/x\n\nPACK"
        ))
        .expect("v2");
        assert_eq!(h.prerequisites.len(), 1);
        assert_eq!(
            h.refs,
            vec![(
                "refs/heads/x".to_owned(),
                ObjectId::parse(OID).expect("oid")
            )]
        );
        let h = parse(&format!(
            "# v3 git bundle\n@object-format=sha1\n-{OID}\n{OID} refs/heads/x\n\n"
        ))
        .expect("v3");
        assert_eq!(h.version, BundleVersion::V3);
        let mut out = Vec::new();
        h.write(&mut out).expect("write to vec");
        assert!(out.starts_with(b"# v2 git bundle\n-"));
    }

    #[test]
    fn refuses_unknown_versions_and_capabilities() {
        for text in [
            "# v4 git bundle\n",
            "# v3 git bundle\n@object-format=sha256\n",
            "# v3 git bundle\n@filter=blob:none\n",
        ] {
            assert_eq!(
                parse(text).expect_err(text).code,
                ErrorCode::UnsupportedProtocol,
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_malformed_headers() {
        for text in [
            "",
            "PACK",
            "# v2 git bundle\n",
            "# v2 git bundle\n\n",
            &format!("# v2 git bundle\n{OID}\n\n"),
            &format!("# v2 git bundle\n{OID} refs/heads/a..b\n\n"),
            &format!("# v2 git bundle\nzz{OID} refs/heads/x\n\n"),
            &format!("# v2 git bundle\n@object-format=sha1\n{OID} refs/heads/x\n\n"),
            &format!("# v2 git bundle\n{OID} refs/heads/x\n-{OID}\n\n"),
            &format!("# v2 git bundle\n{OID} refs/heads/x"),
        ] {
            assert_eq!(
                parse(text).expect_err(text).code,
                ErrorCode::BundleVerifyFailed,
                "{text:?}"
            );
        }
        let long = format!(
            "# v2 git bundle\n{OID} refs/heads/{}\n\n",
            "x".repeat(MAX_LINE)
        );
        assert_eq!(
            parse(&long).expect_err("long").code,
            ErrorCode::BundleVerifyFailed
        );
    }

    #[test]
    fn header_size_is_bounded_in_total() {
        let line = format!("-{OID} {}\n", "s".repeat(MAX_LINE - 100));
        let mut text = String::from("# v2 git bundle\n");
        while text.len() <= MAX_HEADER_BYTES {
            text.push_str(&line);
        }
        text.push_str(&format!("{OID} refs/heads/x\n\n"));
        let err = parse(&text).expect_err("too large");
        assert_eq!(err.code, ErrorCode::BundleVerifyFailed);
        assert!(err.message.contains("larger than"), "{}", err.message);
    }
}

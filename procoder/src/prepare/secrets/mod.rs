//! prepare's scan for credentials in what it exports: the files of HEAD's tree, and with
//! `--scan-history` every other blob of the exported history, each blob once. Text only, as
//! git decides it (no NUL in the first 8000 bytes), up to 1 MiB a blob: a key is a short line,
//! and larger or binary blobs are data, images and archives whose matches would be noise.
//! Findings carry the rule, path, line and a fingerprint, never the matched string.

mod allow;
mod rules;

pub use allow::FILE as ALLOW_FILE;

use procoder_bundle::{Phase, Progress};
use procoder_manifest::{Failure, Result};
use std::collections::HashSet;

/// Blobs larger than this are not read.
pub const MAX_BYTES: usize = 1 << 20;
/// git's binary heuristic (`buffer_is_binary`): a NUL in the first 8000 bytes.
const BINARY_PROBE: usize = 8000;

/// One possible secret.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub path: String,
    pub line: usize,
    /// The commit whose tree first showed the blob, for a finding of the history scan.
    pub commit: Option<git2::Oid>,
    /// The public part of the match (`ghp_`, `DB_PASSWORD=`), to which `…` is appended.
    pub shown: String,
    pub fingerprint: String,
}

impl Finding {
    /// `src/app.rs:12: github-token (ghp_…), fingerprint 0123456789abcdef`.
    pub fn describe(&self) -> String {
        let at = match self.commit {
            Some(c) => format!(" in commit {}", &c.to_string()[..12]),
            None => String::new(),
        };
        format!(
            "{}:{}{at}: {} ({}…), fingerprint {}",
            self.path, self.line, self.rule, self.shown, self.fingerprint
        )
    }
}

/// What the scan read and found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Whether the exported history was scanned too.
    pub history: bool,
    /// Text blobs read.
    pub scanned: usize,
    pub skipped_binary: usize,
    pub skipped_large: usize,
    pub findings: Vec<Finding>,
    /// Findings the allow list accepted.
    pub allowed: usize,
    /// Lines of the allow list that hold no fingerprint.
    pub bad_allow_lines: Vec<usize>,
}

/// Scans the blobs of `index` (HEAD's tree), then, when `history` holds the exported tips and
/// depth, every other blob they reach.
pub fn scan(
    repo: &git2::Repository,
    index: &git2::Index,
    history: Option<(&[git2::Oid], Option<u32>)>,
    progress: &mut dyn Progress,
) -> Result<Report> {
    let odb = repo
        .odb()
        .map_err(|e| Failure::internal("cannot open the object database", e))?;
    let mut s = Scanner {
        odb,
        matcher: rules::Matcher::new(),
        allowed: HashSet::new(),
        seen: HashSet::new(),
        hits: Vec::new(),
        reported: HashSet::new(),
        report: Report {
            history: history.is_some(),
            ..Report::default()
        },
    };
    if let Some(entry) = index.get_path(std::path::Path::new(allow::FILE), 0) {
        let (allowed, bad) = allow::parse(s.read(entry.id)?.data());
        s.allowed = allowed;
        s.report.bad_allow_lines = bad;
    }
    progress.phase(Phase::Scanning, Some(index.len() as u64));
    for (i, entry) in index.iter().enumerate() {
        // Regular files only: a symlink's blob is its target, a gitlink has none.
        if entry.mode & 0o170000 == 0o100000 {
            let path = String::from_utf8_lossy(&entry.path).into_owned();
            s.blob(entry.id, &path, None)?;
        }
        if i % 256 == 0 {
            progress.advance(i as u64);
        }
    }
    if let Some((tips, depth)) = history {
        progress.phase(Phase::Scanning, None);
        s.history(repo, tips, depth, progress)?;
    }
    Ok(s.report)
}

struct Scanner<'r> {
    odb: git2::Odb<'r>,
    matcher: rules::Matcher,
    allowed: HashSet<String>,
    /// Blobs read or skipped, and trees walked.
    seen: HashSet<git2::Oid>,
    hits: Vec<rules::Hit>,
    /// (fingerprint, path) of every finding so far.
    reported: HashSet<(String, String)>,
    report: Report,
}

impl Scanner<'_> {
    fn read(&self, oid: git2::Oid) -> Result<git2::OdbObject<'_>> {
        self.odb
            .read(oid)
            .map_err(|e| Failure::internal(format!("cannot read blob {oid}"), e))
    }

    fn blob(&mut self, oid: git2::Oid, path: &str, commit: Option<git2::Oid>) -> Result<()> {
        if !self.seen.insert(oid) {
            return Ok(());
        }
        let (size, _) = self
            .odb
            .read_header(oid)
            .map_err(|e| Failure::internal(format!("cannot read blob {oid}"), e))?;
        if size > MAX_BYTES {
            self.report.skipped_large += 1;
            return Ok(());
        }
        let object = self
            .odb
            .read(oid)
            .map_err(|e| Failure::internal(format!("cannot read blob {oid}"), e))?;
        let data = object.data();
        if data[..data.len().min(BINARY_PROBE)].contains(&0) {
            self.report.skipped_binary += 1;
            return Ok(());
        }
        self.report.scanned += 1;
        let mut hits = std::mem::take(&mut self.hits);
        hits.clear();
        self.matcher.find(data, rules::is_dotenv(path), &mut hits);
        for hit in hits.drain(..) {
            let fingerprint = allow::fingerprint(hit.rule, &hit.secret);
            if self.allowed.contains(&fingerprint) {
                self.report.allowed += 1;
                continue;
            }
            // A key that stayed in a file through many versions is one thing to remove: the
            // history reports it once a path, not once a blob.
            let first = self.reported.insert((fingerprint.clone(), path.to_owned()));
            if commit.is_some() && !first {
                continue;
            }
            let line = 1 + data[..hit.offset].iter().filter(|&&b| b == b'\n').count();
            self.report.findings.push(Finding {
                rule: hit.rule,
                path: path.to_owned(),
                line,
                commit,
                shown: hit.shown,
                fingerprint,
            });
        }
        self.hits = hits;
        Ok(())
    }

    /// Every commit the export holds, newest first along each line, and its tree's blobs.
    fn history(
        &mut self,
        repo: &git2::Repository,
        tips: &[git2::Oid],
        depth: Option<u32>,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        let fail = |e| Failure::internal("cannot walk the history", e);
        // Under --depth, only the commits inside the window are exported.
        let window = match depth {
            Some(_) => Some(
                procoder_bundle::reachable(repo, tips, depth, &mut procoder_bundle::Silent)?
                    .objects,
            ),
            None => None,
        };
        let mut walk = repo.revwalk().map_err(fail)?;
        for &tip in tips {
            if let Ok(commit) = repo.find_object(tip, None).and_then(|o| o.peel_to_commit()) {
                walk.push(commit.id()).map_err(fail)?;
            }
        }
        for (n, oid) in walk.enumerate() {
            let oid = oid.map_err(fail)?;
            if window.as_ref().is_some_and(|w| !w.contains(&oid)) {
                continue;
            }
            let tree = repo.find_commit(oid).map_err(fail)?.tree_id();
            self.tree(repo, tree, "", oid)?;
            if n % 64 == 0 {
                progress.advance(self.report.scanned as u64);
            }
        }
        Ok(())
    }

    fn tree(
        &mut self,
        repo: &git2::Repository,
        oid: git2::Oid,
        prefix: &str,
        commit: git2::Oid,
    ) -> Result<()> {
        if !self.seen.insert(oid) {
            return Ok(());
        }
        let tree = repo
            .find_tree(oid)
            .map_err(|e| Failure::internal(format!("cannot read tree {oid}"), e))?;
        for entry in tree.iter() {
            let path = format!("{prefix}{}", String::from_utf8_lossy(entry.name_bytes()));
            match entry.kind() {
                Some(git2::ObjectType::Tree) => {
                    self.tree(repo, entry.id(), &format!("{path}/"), commit)?
                }
                Some(git2::ObjectType::Blob) if entry.filemode() & 0o170000 == 0o100000 => {
                    self.blob(entry.id(), &path, Some(commit))?
                }
                _ => {}
            }
        }
        Ok(())
    }
}

//! Snapshots of a repository: what a refusal must leave unchanged.

use super::{git, git_output};
use std::path::Path;

/// Everything a refusal must leave alone.
#[derive(Debug, PartialEq, Eq)]
pub struct RepoSnapshot {
    pub refs: String,
    pub head: String,
    pub status: String,
    pub index: String,
    pub objects: u64,
    pub exclude: String,
    pub exchange_records: Vec<String>,
}

impl RepoSnapshot {
    pub fn take(dir: &Path) -> Self {
        let head = {
            let sym = git_output(dir, &["symbolic-ref", "-q", "HEAD"]);
            if sym.status.success() {
                String::from_utf8_lossy(&sym.stdout).trim_end().to_owned()
            } else {
                git(dir, &["rev-parse", "HEAD"])
            }
        };
        let counts = git(dir, &["count-objects", "-v"]);
        let count = |key: &str| -> u64 {
            counts
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().parse().expect("a number"))
                .expect("count-objects prints this key")
        };
        let git_dir = dir.join(".git");
        let mut exchange_records = Vec::new();
        if let Ok(entries) = std::fs::read_dir(git_dir.join("procoder/exchanges")) {
            for entry in entries {
                let entry = entry.expect("folder entry");
                if entry.path().join("exchange.json").exists() {
                    exchange_records.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        exchange_records.sort();
        RepoSnapshot {
            refs: git(dir, &["for-each-ref", "--format=%(refname) %(objectname)"]),
            head,
            status: git(
                dir,
                &[
                    "status",
                    "--porcelain",
                    "--ignored",
                    "--untracked-files=all",
                ],
            ),
            index: git(dir, &["ls-files", "-s"]),
            objects: count("count:") + count("in-pack:"),
            exclude: std::fs::read_to_string(git_dir.join("info/exclude")).unwrap_or_default(),
            exchange_records,
        }
    }

    /// Asserts that nothing changed since this snapshot.
    pub fn assert_unchanged(&self, dir: &Path, after: &str) {
        let now = RepoSnapshot::take(dir);
        assert_eq!(self, &now, "the repository changed after {after}");
    }
}

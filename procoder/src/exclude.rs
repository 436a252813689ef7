//! Lines procoder adds to (and removes from) `.git/info/exclude`.

use procoder_manifest::{Failure, Result};
use std::io::Write;

fn path(repo: &git2::Repository) -> std::path::PathBuf {
    repo.commondir().join("info").join("exclude")
}

/// Appends `line` unless it is already there.
pub fn add(repo: &git2::Repository, line: &str) -> Result<()> {
    let path = path(repo);
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    if existing.lines().any(|l| l == line) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir).map_err(|e| Failure::internal("cannot create .git/info", e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Failure::internal("cannot open .git/info/exclude", e))?;
    let sep = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    writeln!(file, "{sep}{line}")
        .map_err(|e| Failure::internal("cannot write .git/info/exclude", e))
}

/// Removes every line equal to `line`.
pub fn remove(repo: &git2::Repository, line: &str) -> Result<()> {
    let path = path(repo);
    let Ok(existing) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    if !existing.lines().any(|l| l == line) {
        return Ok(());
    }
    let kept: String = existing
        .lines()
        .filter(|l| *l != line)
        .map(|l| format!("{l}\n"))
        .collect();
    fs_err::write(&path, kept).map_err(|e| Failure::internal("cannot write .git/info/exclude", e))
}

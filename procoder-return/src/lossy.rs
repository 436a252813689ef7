//! Repair after a lossy extraction. Python's `zipfile` drops every mode bit and writes each
//! symlink as a plain file holding its target; an agent that then commits with `git add -A`
//! records exec bits lost and symlinks turned into files, in commits it never meant to make.
//!
//! What is repaired is what the extraction provably lost, and only that: for a path that the
//! base tree has as an executable file or a symlink,
//! - an exec bit is restored where a commit has the same path as a plain 0644 file: the agent
//!   never saw the bit, so it cannot have meant to drop it (its content edits are kept);
//! - a symlink is restored where a commit has the same path as a plain file with exactly the
//!   link's target as content (the same blob); a changed content is the agent's and is kept.
//!
//! - a file whose only change from the base is CRLF line endings turned into LF gets its base
//!   blob back: a blob committed with CRLF under an explicit `text` attribute reads as modified
//!   once git re-hashes it, which it does after an extraction that kept no times, and
//!   `git add -A` then commits the renormalised text. The agent changed nothing there.
//!
//! Commits are rewritten (same authors, dates and messages; new trees and parents) and the
//! sandbox's branches, index and work tree follow, so a later run finds nothing to repair.
//! The extraction counts as lossy when the package's symlink probe is a plain file; packages
//! without a probe (the Go procoder's) count as lossy when every base exec file or symlink
//! present on disk lost its mode and at least one did.

use procoder_manifest::{Exchange, Failure, Result};
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const EXEC: i32 = 0o100755;
const LINK: i32 = 0o120000;
const FILE: i32 = 0o100644;

/// What a repair did, for the helper's output.
#[derive(Debug, Default)]
pub struct Repairs {
    /// Paths whose exec bit was restored (in commits, index or work tree).
    pub exec: Vec<String>,
    /// Paths turned back into symlinks.
    pub symlinks: Vec<String>,
    /// Branches moved to rewritten commits: name, old tip, new tip.
    pub rewritten: Vec<(String, git2::Oid, git2::Oid)>,
    /// Symlinks the agent replaced by a file with other content: kept as committed.
    pub kept: Vec<String>,
    /// Files whose CRLF line endings `git add` had turned into LF: base blob restored.
    pub line_endings: Vec<String>,
}

impl Repairs {
    /// True when nothing was changed.
    pub fn is_empty(&self) -> bool {
        self.exec.is_empty()
            && self.symlinks.is_empty()
            && self.line_endings.is_empty()
            && self.rewritten.is_empty()
    }
}

/// An exec file or symlink of the base tree.
struct Special {
    mode: i32,
    blob: git2::Oid,
}

fn fail(what: impl Into<String>) -> impl FnOnce(git2::Error) -> Failure {
    let what = what.into();
    move |e| Failure::internal(what, e)
}

/// Repairs the sandbox repository when the package was extracted lossily; `None` otherwise.
pub fn repair(repo: &git2::Repository, exchange: &Exchange) -> Result<Option<Repairs>> {
    let workdir = match repo.workdir() {
        Some(w) => w.to_path_buf(),
        None => return Ok(None),
    };
    let base = procoder_bundle::to_git(exchange.task.base_oid);
    let base_tree = repo
        .find_commit(base)
        .and_then(|c| c.tree())
        .map_err(fail("cannot read the base tree"))?;
    // The probe answers without reading the base tree (5,900 trees on libgit2's repository).
    let probe = procoder_bundle::layout::symlink_probe(repo.path());
    if std::fs::symlink_metadata(&probe).is_ok_and(|m| !m.is_file()) {
        return Ok(None);
    }
    let special = specials(&base_tree)?;
    if !lossy(repo, &workdir, &special)? {
        return Ok(None);
    }
    let mut repairs = Repairs::default();
    let ctx = Rewrite {
        base_tree: &base_tree,
        special: &special,
    };
    rewrite_family(repo, exchange, base, &ctx, &mut repairs)?;
    fix_index_and_files(repo, &workdir, &special, &mut repairs)?;
    repairs.exec.sort();
    repairs.exec.dedup();
    repairs.symlinks.sort();
    repairs.symlinks.dedup();
    repairs.kept.sort();
    repairs.kept.dedup();
    repairs.line_endings.sort();
    repairs.line_endings.dedup();
    Ok(Some(repairs))
}

fn specials(tree: &git2::Tree<'_>) -> Result<HashMap<String, Special>> {
    let mut out = HashMap::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
        let mode = entry.filemode();
        if mode == EXEC || mode == LINK {
            if let Ok(name) = entry.name() {
                out.insert(
                    format!("{root}{name}"),
                    Special {
                        mode,
                        blob: entry.id(),
                    },
                );
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(fail("cannot read the base tree"))?;
    Ok(out)
}

fn lossy(
    repo: &git2::Repository,
    workdir: &Path,
    special: &HashMap<String, Special>,
) -> Result<bool> {
    let probe = procoder_bundle::layout::symlink_probe(repo.path());
    if let Ok(meta) = std::fs::symlink_metadata(&probe) {
        return Ok(meta.is_file());
    }
    let (mut intact, mut lost) = (0, 0);
    for (path, s) in special {
        let Ok(meta) = std::fs::symlink_metadata(workdir.join(path)) else {
            continue;
        };
        let kept = if s.mode == LINK {
            meta.file_type().is_symlink()
        } else {
            meta.is_file() && meta.permissions().mode() & 0o111 != 0
        };
        if kept {
            intact += 1;
        } else if meta.is_file() {
            lost += 1;
        }
    }
    Ok(intact == 0 && lost > 0)
}

/// What commits are repaired against.
struct Rewrite<'a> {
    base_tree: &'a git2::Tree<'a>,
    special: &'a HashMap<String, Special>,
}

/// Rewrites every family branch's commits since the base whose trees lost modes.
fn rewrite_family(
    repo: &git2::Repository,
    exchange: &Exchange,
    base: git2::Oid,
    ctx: &Rewrite<'_>,
    repairs: &mut Repairs,
) -> Result<()> {
    let prefix = format!("{}/", exchange.task.ref_prefix);
    let mut branches = Vec::new();
    for r in repo
        .references_glob(&format!("{prefix}*"))
        .map_err(fail("cannot list the task branches"))?
    {
        let r = r.map_err(fail("cannot read a task branch"))?;
        if let (Ok(name), Some(tip)) = (r.name(), r.target()) {
            if tip != base {
                branches.push((name.to_owned(), tip));
            }
        }
    }
    let mut map: HashMap<git2::Oid, git2::Oid> = HashMap::new();
    for (name, tip) in &branches {
        let mut walk = repo.revwalk().map_err(fail("cannot walk commits"))?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .and_then(|()| walk.push(*tip))
            .and_then(|()| walk.hide(base))
            .map_err(fail(format!("cannot walk {name}")))?;
        for oid in walk {
            let oid = oid.map_err(fail(format!("cannot walk {name}")))?;
            if map.contains_key(&oid) {
                continue;
            }
            let new = rewrite_commit(repo, oid, &map, ctx, repairs)?;
            map.insert(oid, new);
        }
        let new_tip = map.get(tip).copied().unwrap_or(*tip);
        if new_tip != *tip {
            repo.reference(
                name,
                new_tip,
                true,
                "procoder-return: restore exec bits and symlinks lost in a lossy extraction",
            )
            .map_err(fail(format!("cannot move {name}")))?;
            repairs.rewritten.push((name.clone(), *tip, new_tip));
        }
    }
    if repo.head_detached().unwrap_or(false) {
        if let Some(new) = repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .and_then(|t| map.get(&t).copied())
        {
            repo.set_head_detached(new)
                .map_err(fail("cannot move the detached HEAD"))?;
        }
    }
    Ok(())
}

/// The commit with modes restored in its tree and parents mapped; itself when nothing changes.
fn rewrite_commit(
    repo: &git2::Repository,
    oid: git2::Oid,
    map: &HashMap<git2::Oid, git2::Oid>,
    ctx: &Rewrite<'_>,
    repairs: &mut Repairs,
) -> Result<git2::Oid> {
    let special = ctx.special;
    let commit = repo
        .find_commit(oid)
        .map_err(fail(format!("cannot read commit {oid}")))?;
    let tree = commit
        .tree()
        .map_err(fail(format!("cannot read the tree of {oid}")))?;
    let mut update = git2::build::TreeUpdateBuilder::new();
    let mut changed = false;
    for (path, s) in special {
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            continue;
        };
        if entry.filemode() != FILE {
            continue;
        }
        if s.mode == EXEC || entry.id() == s.blob {
            update.upsert(path.as_str(), entry.id(), mode_of(s.mode));
            changed = true;
            if s.mode == EXEC {
                repairs.exec.push(path.clone());
            } else {
                repairs.symlinks.push(path.clone());
            }
        } else {
            repairs.kept.push(path.clone());
        }
    }
    for (path, blob, mode) in renormalised(repo, ctx.base_tree, &tree)? {
        update.upsert(path.as_str(), blob, mode);
        changed = true;
        repairs.line_endings.push(path);
    }
    let parents: Vec<git2::Oid> = commit.parent_ids().collect();
    let mapped: Vec<git2::Oid> = parents
        .iter()
        .map(|p| map.get(p).copied().unwrap_or(*p))
        .collect();
    if !changed && mapped == parents {
        return Ok(oid);
    }
    let new_tree = if changed {
        update
            .create_updated(repo, &tree)
            .map_err(fail(format!("cannot write the repaired tree of {oid}")))?
    } else {
        tree.id()
    };
    let odb = repo
        .odb()
        .map_err(fail("cannot open the object database"))?;
    let raw = odb
        .read(oid)
        .map_err(fail(format!("cannot read commit {oid}")))?;
    let bytes = with_tree_and_parents(raw.data(), new_tree, &mapped);
    odb.write(git2::ObjectType::Commit, &bytes)
        .map_err(fail(format!("cannot write the repaired commit for {oid}")))
}

/// Files of `tree` whose blob is the base's with every CRLF turned into LF, with the base blob.
fn renormalised(
    repo: &git2::Repository,
    base: &git2::Tree<'_>,
    tree: &git2::Tree<'_>,
) -> Result<Vec<(String, git2::Oid, git2::FileMode)>> {
    let diff = repo
        .diff_tree_to_tree(Some(base), Some(tree), None)
        .map_err(fail("cannot compare with the base"))?;
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let (old, new) = (delta.old_file(), delta.new_file());
        if delta.status() != git2::Delta::Modified || old.mode() != new.mode() {
            continue;
        }
        let (Ok(a), Ok(b)) = (repo.find_blob(old.id()), repo.find_blob(new.id())) else {
            continue;
        };
        let (a, b) = (a.content(), b.content());
        let crlf = a.windows(2).filter(|w| w == b"\r\n").count();
        if crlf == 0 || b.len() + crlf != a.len() || b.contains(&b'\0') {
            continue;
        }
        let mut lf = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < a.len() {
            if a[i] == b'\r' && a.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            lf.push(a[i]);
            i += 1;
        }
        if lf == b {
            if let Some(path) = new.path().and_then(|p| p.to_str()) {
                out.push((path.to_owned(), old.id(), old.mode()));
            }
        }
    }
    Ok(out)
}

fn mode_of(mode: i32) -> git2::FileMode {
    if mode == LINK {
        git2::FileMode::Link
    } else {
        git2::FileMode::BlobExecutable
    }
}

/// The raw commit with its `tree` and `parent` lines replaced; every other header (author,
/// committer, encoding) and the message byte for byte. A signature would no longer match, so
/// `gpgsig` headers are dropped (the export sets commit.gpgsign=false; none is expected).
fn with_tree_and_parents(raw: &[u8], tree: git2::Oid, parents: &[git2::Oid]) -> Vec<u8> {
    let split = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(raw.len(), |p| p + 1);
    let (header, message) = raw.split_at(split);
    let mut out = format!("tree {tree}\n").into_bytes();
    for p in parents {
        out.extend_from_slice(format!("parent {p}\n").as_bytes());
    }
    let mut in_sig = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b" ") && in_sig {
            continue;
        }
        in_sig = line.starts_with(b"gpgsig");
        if in_sig || line.starts_with(b"tree ") || line.starts_with(b"parent ") {
            continue;
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(message);
    out
}

/// Brings the index and the work tree in line: modes the index lost (from `git add -A`) come
/// back where HEAD now has them, and files on disk get their exec bit or symlink back.
fn fix_index_and_files(
    repo: &git2::Repository,
    workdir: &Path,
    special: &HashMap<String, Special>,
    repairs: &mut Repairs,
) -> Result<()> {
    let head_tree = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let mut index = repo.index().map_err(fail("cannot read the index"))?;
    let mut touched = false;
    for (path, s) in special {
        let Some(mut entry) = index.get_path(Path::new(path), 0) else {
            continue;
        };
        if entry.mode == FILE as u32 {
            let head = head_tree
                .as_ref()
                .and_then(|t| t.get_path(Path::new(path)).ok());
            if head.is_some_and(|h| h.filemode() == s.mode && h.id() == entry.id) {
                entry.mode = s.mode as u32;
                index
                    .add(&entry)
                    .map_err(fail(format!("cannot update the index for {path}")))?;
                touched = true;
            }
        }
        if entry.mode != s.mode as u32 {
            continue;
        }
        let file = workdir.join(path);
        let Ok(meta) = std::fs::symlink_metadata(&file) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let io = |e| Failure::internal(format!("cannot repair {path}"), e);
        if s.mode == EXEC {
            if meta.permissions().mode() & 0o111 == 0 {
                let mode = meta.permissions().mode() | 0o111;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
                    .map_err(io)?;
                repairs.exec.push(path.clone());
            }
        } else {
            let blob = repo
                .find_blob(entry.id)
                .map_err(fail(format!("cannot read the target of {path}")))?;
            let on_disk = std::fs::read(&file).map_err(io)?;
            if on_disk == blob.content() {
                use std::os::unix::ffi::OsStrExt;
                let target = std::ffi::OsStr::from_bytes(blob.content());
                std::fs::remove_file(&file).map_err(io)?;
                std::os::unix::fs::symlink(target, &file).map_err(io)?;
                repairs.symlinks.push(path.clone());
            }
        }
    }
    for path in &repairs.line_endings {
        let rel = Path::new(path);
        let (Some(mut entry), Some(head)) = (
            index.get_path(rel, 0),
            head_tree.as_ref().and_then(|t| t.get_path(rel).ok()),
        ) else {
            continue;
        };
        let file = workdir.join(rel);
        if entry.id == head.id() || !std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
            continue;
        }
        // Two seconds in the past: an entry as new as the index is "racily clean", and git
        // would hash the file again (into the renormalised blob) instead of trusting it.
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
        let _ = std::fs::File::options()
            .write(true)
            .open(&file)
            .and_then(|f| f.set_modified(past));
        let Ok(meta) = std::fs::symlink_metadata(&file) else {
            continue;
        };
        // The file on disk is the base blob as checked out; git would hash it into the
        // renormalised blob again, so the entry gets the file's stat data, which git trusts.
        entry.id = head.id();
        index
            .add(&crate::worktree::with_stat(entry, &meta))
            .map_err(fail(format!("cannot update the index for {path}")))?;
        touched = true;
    }
    if touched {
        index.write().map_err(fail("cannot write the index"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_headers_are_replaced_and_signatures_dropped() {
        let zero = git2::Oid::ZERO_SHA1;
        let raw = b"tree 1111111111111111111111111111111111111111\nparent 2222222222222222222222222222222222222222\nauthor A <a> 1 +0000\ncommitter C <c> 2 +0000\ngpgsig -----BEGIN-----\n line\n -----END-----\nencoding latin1\n\nmsg\n\nbody\n";
        let out = with_tree_and_parents(raw, zero, &[zero]);
        let want = format!(
            "tree {zero}\nparent {zero}\nauthor A <a> 1 +0000\ncommitter C <c> 2 +0000\nencoding latin1\n\nmsg\n\nbody\n"
        );
        assert_eq!(String::from_utf8_lossy(&out), want);
    }
}

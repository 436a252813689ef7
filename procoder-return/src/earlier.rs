//! What earlier runs returned. Each return document the helper writes is kept in the sandbox's
//! `.git/procoder/returns/`, so a return whose tips no longer contain what an earlier one sent
//! (the agent amended or rebased after `./procoder-return`) says so, to the agent and in its
//! document, instead of leaving the user's apply to find out with `RETURN_REWRITES`.

use procoder_bundle::{from_git, layout, to_git};
use procoder_manifest::{RefUpdate, Replaced, ReturnDoc, MAX_REPLACED_COMMITS};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One replaced commit as the agent and the user see it: apply names it the same way.
#[derive(Debug)]
pub struct ReplacedCommit {
    /// The ref without `refs/heads/`.
    pub branch: String,
    /// 7 hex digits, as `procoder apply`'s `RETURN_REWRITES` prints them.
    pub short: String,
    /// The commit's subject line.
    pub subject: String,
}

/// The records, oldest first. One that cannot be read is skipped: the record only adds an
/// explanation, it must never stand between the agent and a return.
fn records(git_dir: &Path) -> Vec<(u64, ReturnDoc)> {
    let Ok(entries) = std::fs::read_dir(layout::returns_dir(git_dir)) else {
        return Vec::new();
    };
    let mut out: Vec<(u64, ReturnDoc)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let seq = name.strip_suffix(".json")?.parse().ok()?;
            let doc = ReturnDoc::from_json(&std::fs::read(e.path()).ok()?).ok()?;
            Some((seq, doc))
        })
        .collect();
    out.sort_by_key(|(seq, _)| *seq);
    out
}

/// For each update, the tips earlier returns sent for its ref that its new tip does not
/// contain, and the commits of those tips it drops.
pub fn replaced(
    repo: &git2::Repository,
    updates: &[RefUpdate],
) -> (Vec<Replaced>, Vec<ReplacedCommit>) {
    let mut sent: BTreeMap<&str, Vec<git2::Oid>> = BTreeMap::new();
    let records = records(repo.path());
    for (_, doc) in &records {
        for u in &doc.updates {
            let tips = sent.entry(u.name.as_str()).or_default();
            let tip = to_git(u.new_oid);
            if !tips.contains(&tip) {
                tips.push(tip);
            }
        }
    }
    let (mut entries, mut lines) = (Vec::new(), Vec::new());
    for u in updates {
        let new = to_git(u.new_oid);
        // A tip whose commit is gone (a `git gc --prune`) cannot be in the new tip's history.
        let gone: Vec<git2::Oid> = sent
            .get(u.name.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|&t| t != new && !repo.graph_descendant_of(new, t).unwrap_or(false))
            .collect();
        if gone.is_empty() {
            continue;
        }
        let branch = u.name.trim_start_matches("refs/heads/").to_owned();
        let mut commits = Vec::new();
        if let Ok(mut walk) = repo.revwalk() {
            let _ = walk.hide(new);
            for &t in &gone {
                let _ = walk.push(t);
            }
            for oid in walk.filter_map(|o| o.ok()).take(MAX_REPLACED_COMMITS) {
                let subject = repo
                    .find_commit(oid)
                    .ok()
                    .map(|c| {
                        String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned()
                    })
                    .unwrap_or_default();
                lines.push(ReplacedCommit {
                    branch: branch.clone(),
                    short: oid.to_string()[..7].to_owned(),
                    subject,
                });
                commits.push(from_git(oid));
            }
        }
        if commits.is_empty() {
            // The earlier tips are gone from the object store: name them, they are all we know.
            for &t in &gone {
                lines.push(ReplacedCommit {
                    branch: branch.clone(),
                    short: t.to_string()[..7].to_owned(),
                    subject: "(no longer in this repository)".to_owned(),
                });
            }
        }
        entries.push(Replaced {
            name: u.name.clone(),
            earlier_tips: gone.into_iter().map(from_git).collect(),
            commits,
        });
    }
    (entries, lines)
}

/// Keeps a copy of `doc` as the next record; the path written.
pub fn record(git_dir: &Path, doc: &ReturnDoc) -> std::io::Result<PathBuf> {
    let dir = layout::returns_dir(git_dir);
    std::fs::create_dir_all(&dir)?;
    let next = records(git_dir).last().map_or(1, |(seq, _)| seq + 1);
    let path = dir.join(format!("{next:04}.json"));
    // Written aside and renamed, so that a crash never leaves half a record under the name.
    let partial = dir.join(format!("{next:04}.json.partial"));
    std::fs::write(&partial, doc.to_json())?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

//! Corrupt objects on the returned branches (a commit whose tree is a blob, a tree entry with
//! an empty name or the null id, anything `git fsck --strict` refuses) are refused before
//! anything else reads them: apply would refuse the return as `UNSAFE_OBJECT`, and libgit2
//! would fail on them later with no step to take. Only here can the agent rewrite the commit.

use crate::{worktree::sh_quote, RERUN};
use procoder_bundle::{check_sandbox_commits, to_git, BaseTrees};
use procoder_manifest::{family_prefix, ErrorCode, Exchange, Failure, Result};

/// Runs apply's object checks over what the family branches (and a detached HEAD) add to the
/// base; a refusal names the object, the commit that holds it and how to write it again.
pub fn check(repo: &git2::Repository, base_trees: &BaseTrees, exchange: &Exchange) -> Result<()> {
    let base = to_git(exchange.task.base_oid);
    let tips = tips(repo, exchange);
    let exported: Vec<git2::Oid> = exchange
        .context
        .heads
        .values()
        .map(|o| to_git(*o))
        .collect();
    let oids: Vec<git2::Oid> = tips.iter().map(|(_, oid)| *oid).collect();
    let (i, fault) = match check_sandbox_commits(repo, &oids, base_trees, base, &exported) {
        Ok(_) => return Ok(()),
        Err(refused) => *refused,
    };
    if fault.failure.code == ErrorCode::Internal {
        return Err(fault.failure);
    }
    let (name, checked_out) = tips
        .get(i)
        .map(|(name, _)| (name.clone(), i == 0 && head_is(repo, name)))
        .unwrap_or_default();
    let commit = fault.commit;
    let (parent, subject) = parent_and_subject(repo, commit);
    let parent = parent.unwrap_or(base);
    let branch = name.trim_start_matches("refs/heads/");
    let step = if checked_out {
        format!(
            "run `git reset --soft {parent} && git commit -m {}` to write the commit again from your index (reset --soft keeps the index and work tree; the changes of commits after it on {branch} stay staged), {RERUN}",
            sh_quote(&subject)
        )
    } else {
        format!(
            "run `git branch -f {} {parent}` to drop that commit and the ones after it on {branch} (redo their work there with plain git add and git commit), {RERUN}",
            sh_quote(branch)
        )
    };
    let why = match fault.failure.code {
        ErrorCode::UnsafeObject => "holds an object git fsck refuses",
        _ => "names an object the repository lacks",
    };
    Err(Failure::new(
        ErrorCode::UnsafeObject,
        format!(
            "commit {commit} on {} {why}: {}",
            if name.is_empty() { "HEAD" } else { &name },
            fault.failure.message
        ),
    )
    .details(fault.failure.details)
    .hint(step))
}

/// The family branches, the checked-out one first (its step can keep the index), then a
/// detached HEAD, which commits may sit on before `git checkout -B` takes them.
fn tips(repo: &git2::Repository, exchange: &Exchange) -> Vec<(String, git2::Oid)> {
    let glob = format!("{}/*", family_prefix(&exchange.exchange_id));
    let mut tips: Vec<(String, git2::Oid)> = repo
        .references_glob(&glob)
        .map(|refs| {
            refs.flatten()
                .filter_map(|r| Some((r.name().ok()?.to_owned(), r.target()?)))
                .collect()
        })
        .unwrap_or_default();
    tips.sort_by_key(|(name, _)| !head_is(repo, name));
    if repo.head_detached().unwrap_or(false) {
        if let Some(oid) = repo.head().ok().and_then(|h| h.target()) {
            tips.push((String::new(), oid));
        }
    }
    tips
}

fn head_is(repo: &git2::Repository, name: &str) -> bool {
    repo.find_reference("HEAD")
        .ok()
        .is_some_and(|h| h.symbolic_target().ok().flatten() == Some(name))
}

/// The first parent and the subject, read from the raw commit (libgit2 may not parse it).
fn parent_and_subject(repo: &git2::Repository, commit: git2::Oid) -> (Option<git2::Oid>, String) {
    let data = repo
        .odb()
        .and_then(|odb| odb.read(commit).map(|raw| raw.data().to_vec()))
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&data);
    let (header, message) = text.split_once("\n\n").unwrap_or((&text, ""));
    let parent = header
        .lines()
        .find_map(|l| l.strip_prefix("parent "))
        .and_then(|hex| git2::Oid::from_str(hex).ok());
    let subject = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Recommit the work")
        .to_owned();
    (parent, subject)
}

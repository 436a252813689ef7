//! Which refs the agent moved: task-family branches become updates; any other branch or any
//! tag that was created or moved is out of scope, because apply could not carry it back.

use crate::RERUN;
use procoder_bundle::{from_git, to_git};
use procoder_manifest::{is_in_family, ErrorCode, Exchange, Failure, RefUpdate, Result};

/// The family updates, sorted by ref name (as the Go helper writes them).
pub fn collect_updates(repo: &git2::Repository, exchange: &Exchange) -> Result<Vec<RefUpdate>> {
    let id = &exchange.exchange_id;
    let base = to_git(exchange.task.base_oid);
    let mut family = Vec::new();
    let mut out_of_scope = Vec::new();
    let refs = repo
        .references()
        .map_err(|e| Failure::internal("cannot list refs", e))?;
    for reference in refs {
        let reference = reference.map_err(|e| Failure::internal("cannot read a ref", e))?;
        let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
        let is_head = name.starts_with("refs/heads/");
        if !is_head && !name.starts_with("refs/tags/") {
            continue; // stash, notes, remotes: never returned, never harmful
        }
        let Some(oid) = reference.resolve().ok().and_then(|r| r.target()) else {
            continue;
        };
        if is_head && is_in_family(id, &name) {
            family.push((name, oid));
            continue;
        }
        let known = if is_head {
            exchange.context.heads.get(&name)
        } else {
            exchange.context.tags.get(&name)
        };
        match known {
            Some(old) if to_git(*old) == oid => {}
            Some(old) => out_of_scope.push(format!("{name} moved from {old} to {oid}")),
            None => out_of_scope.push(format!("{name} was created at {oid}")),
        }
    }
    if !out_of_scope.is_empty() {
        let prefix = id.to_string();
        return Err(Failure::new(ErrorCode::RefOutOfScope, "refs outside the task family changed; only refs/heads/procoder/<id>/* can be returned")
            .details(out_of_scope)
            .hint(format!(
                "put the work on a branch named procoder/{prefix}/<name> (git branch -m <branch> procoder/{prefix}/<name>), put moved branches back (git branch -f <branch> <old oid>) and delete new tags (git tag -d <tag>), {RERUN}"
            )));
    }

    let mut updates = Vec::new();
    let mut not_descendant = Vec::new();
    for (name, oid) in family {
        let is_root = name == exchange.task.root_ref;
        if oid == base {
            continue; // nothing new on this branch
        }
        let descends =
            repo.find_commit(oid).is_ok() && repo.graph_descendant_of(oid, base).unwrap_or(false);
        if !descends {
            not_descendant.push(format!(
                "{name} at {oid} does not descend from the task base {base}"
            ));
            continue;
        }
        updates.push(RefUpdate {
            name,
            old_oid: is_root.then_some(exchange.task.base_oid),
            new_oid: from_git(oid),
        });
    }
    if !not_descendant.is_empty() {
        return Err(Failure::new(
            ErrorCode::NotDescendant,
            "task-family branches must build on the task base",
        )
        .details(not_descendant)
        .hint(format!(
            "rebase the branch onto the base (git rebase {base} <branch>), {RERUN}"
        )));
    }
    if updates.is_empty() {
        let task = exchange.task.root_ref.trim_start_matches("refs/heads/");
        return Err(Failure::new(
            ErrorCode::NoNewCommits,
            "no task-family branch has commits beyond the task base",
        )
        .hint(format!(
            "commit your work on {task} (git add -A && git commit -m \"<message>\"), {RERUN}"
        )));
    }
    updates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(updates)
}

//! Which refs the agent moved: task-family branches become updates; any other branch or any
//! tag that was created or moved is out of scope, because apply could not carry it back.

use crate::{worktree::sh_quote, RERUN};
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
            Some(old) => out_of_scope.push(Stray {
                name,
                old: Some(to_git(*old)),
                new: oid,
            }),
            None => out_of_scope.push(Stray {
                name,
                old: None,
                new: oid,
            }),
        }
    }
    if !out_of_scope.is_empty() {
        let details: Vec<String> = out_of_scope.iter().map(Stray::detail).collect();
        let steps = repair_steps(repo, exchange, &out_of_scope);
        return Err(Failure::new(
            ErrorCode::RefOutOfScope,
            format!("refs outside the task family changed; only refs/heads/procoder/{id}/* can be returned"),
        )
        .details(details)
        .hint(format!(
            "run `{steps}` to move the work into the task family and put the other refs back, {RERUN}"
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
        return Err(no_new_commits(repo, exchange));
    }
    updates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(updates)
}

/// A branch or tag outside the family that the agent created or moved.
struct Stray {
    name: String,
    old: Option<git2::Oid>,
    new: git2::Oid,
}

impl Stray {
    fn detail(&self) -> String {
        match self.old {
            Some(old) => format!("{} moved from {old} to {}", self.name, self.new),
            None => format!("{} was created at {}", self.name, self.new),
        }
    }
}

/// The commands, in an order that works, that carry each stray branch's commits into the
/// family and restore the rest. A checked-out branch is left first (git refuses to move the
/// branch HEAD is on), and when the task branch is still at the base it takes those commits,
/// so the work lands where the user expects it.
fn repair_steps(repo: &git2::Repository, exchange: &Exchange, strays: &[Stray]) -> String {
    let id = &exchange.exchange_id;
    let task = exchange.task.root_ref.trim_start_matches("refs/heads/");
    let base = to_git(exchange.task.base_oid);
    let task_at_base = repo
        .refname_to_id(&exchange.task.root_ref)
        .map_or(true, |o| o == base);
    let head = repo
        .head()
        .ok()
        .filter(|h| h.is_branch())
        .map(|h| String::from_utf8_lossy(h.name_bytes()).into_owned());
    let mut first = Vec::new();
    let mut rest = Vec::new();
    let mut task_taken = !task_at_base;
    // A moved branch whose tip another stray already carries into the family needs only to
    // be put back: a second family copy of the same commits would only confuse the user.
    let carried: Vec<git2::Oid> = strays
        .iter()
        .filter(|s| {
            s.name.starts_with("refs/heads/")
                && (s.old.is_none() || head.as_deref() == Some(s.name.as_str()))
        })
        .map(|s| s.new)
        .collect();
    for s in strays {
        let Some(short) = s.name.strip_prefix("refs/heads/") else {
            // Tags: delete a new one, put a moved one back (update-ref keeps an annotated
            // tag's own object rather than tagging it again).
            rest.push(match s.old {
                Some(old) => format!("git update-ref {} {old}", sh_quote(&s.name)),
                None => format!("git tag -d {}", sh_quote(&s.name["refs/tags/".len()..])),
            });
            continue;
        };
        let checked_out = head.as_deref() == Some(s.name.as_str());
        let family = format!("procoder/{id}/{short}");
        match (s.old, checked_out) {
            (Some(old), true) if !task_taken => {
                task_taken = true;
                first.push(format!("git checkout -B {task}"));
                rest.push(format!("git branch -f {} {old}", sh_quote(short)));
            }
            (Some(old), true) => {
                first.push(format!("git checkout -b {}", sh_quote(&family)));
                rest.push(format!("git branch -f {} {old}", sh_quote(short)));
            }
            (Some(old), false) => {
                if !carried.contains(&s.new) {
                    rest.push(format!("git branch {} {}", sh_quote(&family), s.new));
                }
                rest.push(format!("git branch -f {} {old}", sh_quote(short)));
            }
            // Renaming also moves HEAD along when the branch is checked out.
            (None, _) => rest.push(format!(
                "git branch -m {} {}",
                sh_quote(short),
                sh_quote(&family)
            )),
        }
    }
    first.extend(rest);
    first.join(" && ")
}

/// NO_NEW_COMMITS, or, when HEAD is detached on commits beyond the base, the command that
/// puts them on the task branch (committing again would only say "nothing to commit").
fn no_new_commits(repo: &git2::Repository, exchange: &Exchange) -> Failure {
    let task = exchange.task.root_ref.trim_start_matches("refs/heads/");
    let base = to_git(exchange.task.base_oid);
    let detached = repo
        .head_detached()
        .unwrap_or(false)
        .then(|| repo.head().ok().and_then(|h| h.target()))
        .flatten()
        .filter(|&oid| oid != base && repo.graph_descendant_of(oid, base).unwrap_or(false));
    if let Some(oid) = detached {
        let ahead = repo.graph_ahead_behind(oid, base).map_or(0, |(a, _)| a);
        return Failure::new(
            ErrorCode::NoNewCommits,
            format!(
                "the commits are on a detached HEAD ({oid}, {} beyond the task base), not on {task}",
                procoder_manifest::count(ahead, "commit")
            ),
        )
        .hint(format!(
            "run `git checkout -B {task} {oid}` to put them on the task branch, {RERUN}"
        ));
    }
    Failure::new(
        ErrorCode::NoNewCommits,
        "no task-family branch has commits beyond the task base",
    )
    .hint(format!(
        "commit your work on {task} (git add -A && git commit -m \"<message>\"), {RERUN}"
    ))
}

//! `apply --checkout`, like `git switch <task>` once every ref is in place: which work trees
//! move and whether they safely can (`plan`, before anything is logged), then moving them
//! (`detach` before the refs move, `switch` after), or putting them back (`undo`, `reattach`).
//!
//! Every step keeps one invariant: HEAD names the commit whose tree the index and files hold
//! (only a `switch` in progress writes files HEAD does not name yet). libgit2's safe checkout
//! compares the files with HEAD's tree, so under that invariant it never takes a file the
//! apply wrote for one of the user's, and repeating an interrupted `switch` finishes it.

use super::plan::{rerun, shell_word, Options, PlannedRef};
use crate::context::Context;
use crate::worktrees;
use procoder_bundle::{from_git, to_git, Quarantine};
use procoder_manifest::{CheckoutStep, ErrorCode, Failure, RefEdit, Result};
use std::path::{Path, PathBuf};

/// At most this many paths are listed in a refusal; the count says how many there are.
const SHOWN: usize = 20;

/// The checkouts of an apply of `refs`: under `--checkout`, this work tree goes to `task` (the
/// task branch after `--namespace`), and another work tree on a branch that moves follows it.
/// A branch checked out anywhere moves only under `--checkout`. Refusals go to `conflicts`.
#[allow(clippy::too_many_arguments)] // one caller, each argument a different fact of the plan
pub fn plan(
    ctx: &Context,
    refs: &[PlannedRef],
    task: &str,
    opts: &Options,
    quarantine: &Quarantine,
    package: &Path,
    conflicts: &mut Vec<Failure>,
) -> Result<Vec<CheckoutStep>> {
    let here = ctx.repo.workdir().map(canonical);
    let moving = |name: &str| refs.iter().find(|r| r.target == name && r.action.moves());
    let list = worktrees::list(ctx)?;
    let mut steps = Vec::new();
    for wt in &list {
        let branch = wt.branch();
        let is_here = Some(canonical(&wt.path)) == here;
        let moved = branch.as_deref().and_then(moving);
        if !opts.checkout {
            if let (Some(branch), Some(_)) = (&branch, moved) {
                conflicts.push(checked_out_elsewhere(branch, &wt.path, package));
            }
            continue;
        }
        let step = if is_here {
            if let Some(other) = list.iter().find(|o| {
                canonical(&o.path) != canonical(&wt.path) && o.branch().as_deref() == Some(task)
            }) {
                conflicts.push(
                    Failure::new(
                        ErrorCode::TargetBranchCheckedOut,
                        format!(
                            "cannot check out {task} here: it is checked out in {}",
                            other.path.display()
                        ),
                    )
                    .detail("git lets one work tree at a time have a branch checked out".to_owned())
                    .hint(format!(
                        "run the apply in that work tree: procoder -C {} apply {} --checkout",
                        shell_word(&other.path.display().to_string()),
                        shell_word(&package.display().to_string())
                    )),
                );
                continue;
            }
            let to = refs
                .iter()
                .find(|r| r.target == task)
                .map(|r| {
                    if r.action.moves() {
                        Some(r.new)
                    } else {
                        r.current
                    }
                })
                .unwrap_or_else(|| ctx.repo.refname_to_id(task).ok());
            let Some(to) = to else {
                continue; // the return has no task branch and none exists here: nothing to switch to
            };
            if branch.as_deref() == Some(task) && moving(task).is_none() {
                continue; // already on it, and it does not move
            }
            step_for(wt, branch, task, to)
        } else {
            let (Some(branch), Some(r)) = (branch, moved) else {
                continue;
            };
            step_for(wt, Some(branch.clone()), &branch, r.new)
        };
        let Some(step) = step else {
            conflicts.push(Failure::new(
                ErrorCode::UnbornHead,
                format!(
                    "{} has no commit checked out; --checkout cannot switch from it",
                    wt.path.display()
                ),
            ));
            continue;
        };
        match check(&wt.repo, &step, quarantine, package)? {
            Some(refusal) => conflicts.push(refusal),
            None => steps.push(step),
        }
    }
    Ok(steps)
}

fn step_for(
    wt: &worktrees::Worktree,
    head: Option<String>,
    branch: &str,
    to: git2::Oid,
) -> Option<CheckoutStep> {
    let from = wt.repo.head().ok()?.peel_to_commit().ok()?.id();
    Some(CheckoutStep {
        // Without libgit2's trailing slash: the path as a person would type it.
        worktree: wt
            .path
            .components()
            .collect::<PathBuf>()
            .display()
            .to_string(),
        head,
        from: from_git(from),
        branch: branch.to_owned(),
        to: from_git(to),
    })
}

fn checked_out_elsewhere(branch: &str, path: &Path, package: &Path) -> Failure {
    Failure::new(
        ErrorCode::TargetBranchCheckedOut,
        format!("{branch} is checked out in {}", path.display()),
    )
    .detail("moving it would leave that work tree out of date".to_owned())
    .hint(format!(
        "rerun with --checkout, which updates that (clean) work tree ({}), or switch it to another branch and rerun, or use --namespace procoder-import",
        rerun(package, "--checkout")
    ))
}

/// Why `step` cannot happen, if it cannot: a change to a tracked file (`WORKTREE_DIRTY`), or an
/// untracked or ignored file the checkout would overwrite (`UNTRACKED_FILES_PRESENT`). The
/// second is libgit2's own verdict: the same safe checkout, as a dry run.
fn check(
    repo: &git2::Repository,
    step: &CheckoutStep,
    quarantine: &Quarantine,
    package: &Path,
) -> Result<Option<Failure>> {
    let wt = &step.worktree;
    let short = step.branch.trim_start_matches("refs/heads/");
    let mut so = git2::StatusOptions::new();
    so.include_untracked(false).exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut so))
        .map_err(|e| Failure::internal(format!("cannot read the status of {wt}"), e))?;
    let dirty: Vec<String> = statuses
        .iter()
        .map(|s| String::from_utf8_lossy(s.path_bytes()).into_owned())
        .collect();
    if !dirty.is_empty() {
        return Ok(Some(
            Failure::new(
                ErrorCode::WorktreeDirty,
                format!(
                    "cannot check out {short} in {wt}: it has {}",
                    procoder_manifest::count(dirty.len(), "uncommitted change")
                ),
            )
            .details(listed(dirty))
            .hint(format!(
                "commit or stash them (git stash), then rerun: {}; or apply without --checkout",
                rerun(package, "--checkout")
            )),
        ));
    }
    quarantine.attach(repo)?;
    let tree = |oid| {
        repo.find_commit(to_git(oid))
            .and_then(|c| c.tree())
            .map_err(|e| Failure::internal(format!("cannot read the tree of {oid}"), e))
    };
    let (from, to) = (tree(step.from)?, tree(step.to)?);
    let mut in_the_way = in_the_way_of(repo, &from, &to)?;
    if in_the_way.is_empty() {
        return Ok(None);
    }
    in_the_way.sort();
    in_the_way.dedup();
    Ok(Some(
        Failure::new(
            ErrorCode::UntrackedFilesPresent,
            format!("cannot check out {short} in {wt}: untracked files would be overwritten"),
        )
        .details(listed(in_the_way))
        .hint(format!(
            "move or delete them (they are not in git), then rerun: {}; or apply without --checkout",
            rerun(package, "--checkout")
        )),
    ))
}

/// The untracked or ignored paths of a clean work tree at `from` that a checkout of `to` would
/// overwrite: a path `to` adds that exists on disk, or a parent folder of one that is a file
/// on disk. (git2's `dry_run` sets `GIT_CHECKOUT_NONE`, which computes nothing, so the check is
/// made here; the safe checkout itself still refuses before writing if this missed a case.)
fn in_the_way_of(
    repo: &git2::Repository,
    from: &git2::Tree<'_>,
    to: &git2::Tree<'_>,
) -> Result<Vec<String>> {
    let Some(workdir) = repo.workdir() else {
        return Ok(Vec::new());
    };
    let diff = repo
        .diff_tree_to_tree(Some(from), Some(to), None)
        .map_err(|e| Failure::internal("cannot compare the trees", e))?;
    let mut found = Vec::new();
    for delta in diff.deltas() {
        if delta.status() != git2::Delta::Added {
            continue;
        }
        let Some(path) = delta.new_file().path() else {
            continue;
        };
        // A tracked folder that becomes a file is the safe checkout's to judge.
        if std::fs::symlink_metadata(workdir.join(path)).is_ok() && from.get_path(path).is_err() {
            found.push(path.display().to_string());
            continue;
        }
        for parent in path.ancestors().skip(1) {
            if parent.as_os_str().is_empty() || from.get_path(parent).is_ok() {
                break;
            }
            let on_disk = std::fs::symlink_metadata(workdir.join(parent));
            if on_disk.is_ok_and(|m| !m.is_dir()) {
                found.push(parent.display().to_string());
                break;
            }
        }
    }
    Ok(found)
}

fn listed(mut paths: Vec<String>) -> Vec<String> {
    let more = paths.len().saturating_sub(SHOWN);
    paths.truncate(SHOWN);
    if more > 0 {
        paths.push(format!("and {more} more"));
    }
    paths
}

/// libgit2's safe checkout, which also leaves ignored files alone: they are the user's too.
fn safe() -> git2::build::CheckoutBuilder<'static> {
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.safe().overwrite_ignored(false);
    opts
}

fn open(step: &CheckoutStep) -> Result<git2::Repository> {
    git2::Repository::open(&step.worktree)
        .map_err(|e| Failure::internal(format!("cannot open the work tree {}", step.worktree), e))
}

fn head_commit(repo: &git2::Repository) -> Option<git2::Oid> {
    repo.head().ok()?.peel_to_commit().ok().map(|c| c.id())
}

fn head_branch(repo: &git2::Repository) -> Option<String> {
    let head = repo.find_reference("HEAD").ok()?;
    head.symbolic_target_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Before the refs move: a work tree on a branch that is about to move is detached at the
/// commit it holds, so HEAD still names its files while the branch moves.
pub fn detach(step: &CheckoutStep, edits: &[RefEdit]) -> Result<()> {
    let repo = open(step)?;
    let Some(head) = head_branch(&repo) else {
        return Ok(());
    };
    let pending = edits
        .iter()
        .any(|e| e.name == head && repo.refname_to_id(&head).ok() == e.old.map(to_git));
    if pending && head_commit(&repo) == Some(to_git(step.from)) {
        repo.set_head_detached(to_git(step.from)).map_err(|e| {
            Failure::internal(format!("cannot detach HEAD in {}", step.worktree), e)
        })?;
    }
    Ok(())
}

/// After every ref moved: the files and index go to `to`, then HEAD to `branch`. Repeating it
/// finishes an interrupted one: a file already at `to` is no conflict, and HEAD moves last.
pub fn switch(step: &CheckoutStep) -> Result<()> {
    let repo = open(step)?;
    let (from, to) = (to_git(step.from), to_git(step.to));
    let head = head_commit(&repo);
    if head == Some(to) && head_branch(&repo).as_deref() == Some(step.branch.as_str()) {
        return Ok(());
    }
    if head != Some(from) && head != Some(to) {
        return Err(moved_on(step, head));
    }
    let commit = repo
        .find_commit(to)
        .map_err(|e| Failure::internal(format!("cannot read {to}"), e))?;
    repo.checkout_tree(commit.as_object(), Some(&mut safe()))
        .map_err(|e| in_the_way(step, &e))?;
    repo.set_head(&step.branch).map_err(|e| {
        Failure::internal(
            format!("cannot put HEAD on {} in {}", step.branch, step.worktree),
            e,
        )
    })
}

/// Before the refs go back: a work tree the apply switched (or may have begun to switch) goes
/// back to `from`, HEAD detached there until [`reattach`].
pub fn undo(step: &CheckoutStep) -> Result<()> {
    let repo = open(step)?;
    let (from, to) = (to_git(step.from), to_git(step.to));
    if repo.refname_to_id(&step.branch).ok() != Some(to) {
        return Ok(()); // the refs never all moved, so no switch began: no file was touched
    }
    switch(step)?;
    let commit = repo
        .find_commit(from)
        .map_err(|e| Failure::internal(format!("cannot read {from}"), e))?;
    repo.checkout_tree(commit.as_object(), Some(&mut safe()))
        .map_err(|e| in_the_way(step, &e))?;
    repo.set_head_detached(from)
        .map_err(|e| Failure::internal(format!("cannot detach HEAD in {}", step.worktree), e))
}

/// After the refs went back: HEAD goes back on the branch it was on, which holds `from` again.
pub fn reattach(step: &CheckoutStep) -> Result<()> {
    let Some(head) = &step.head else {
        return Ok(());
    };
    let repo = open(step)?;
    let from = to_git(step.from);
    let detached_at_from = head_branch(&repo).is_none() && head_commit(&repo) == Some(from);
    if detached_at_from && repo.refname_to_id(head).ok() == Some(from) {
        repo.set_head(head)
            .map_err(|e| Failure::internal(format!("cannot put HEAD back on {head}"), e))?;
    }
    Ok(())
}

fn moved_on(step: &CheckoutStep, head: Option<git2::Oid>) -> Failure {
    let show = head.map_or("(none)".to_owned(), |o| o.to_string());
    Failure::new(
        ErrorCode::TargetBranchCheckedOut,
        format!("{} has another commit checked out since the apply began", step.worktree),
    )
    .detail(format!("HEAD: {show}; the apply checks out {} from {}", step.to, step.from))
    .hint(format!(
        "nothing there was overwritten; switch that work tree back (git -C {} switch --detach {}), then rerun",
        shell_word(&step.worktree),
        step.from
    ))
}

fn in_the_way(step: &CheckoutStep, e: &git2::Error) -> Failure {
    Failure::new(
        ErrorCode::UntrackedFilesPresent,
        format!("cannot check out {} in {}", step.branch, step.worktree),
    )
    .detail(e.message().to_owned())
    .hint("move what is in the way (git status lists it), then rerun")
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

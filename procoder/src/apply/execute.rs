//! Carrying out a verified plan: objects join the store, the plan is logged and synced, then
//! each ref moves by compare-and-swap and is logged; `committed` is the last line.

use super::plan::{Checkout, Plan};
use crate::journal::Journal;
use crate::refs::{self, MoveError};
use crate::store::Locked;
use procoder_bundle::from_git;
use procoder_bundle::{Phase, Progress};
use procoder_manifest::{Entry, ErrorCode, Failure, RefEdit, Result};

/// Executes `plan`; returns the transaction id.
pub fn run(locked: &Locked, plan: Plan, progress: &mut dyn Progress) -> Result<u64> {
    let ctx = locked.ctx();
    let id = plan.exchange.exchange_id.clone();
    let moving: Vec<_> = plan
        .refs
        .iter()
        .filter(|r| r.action.moves())
        .cloned()
        .collect();
    plan.quarantine.promote(&ctx.repo)?;
    if plan.adopted {
        locked.write_exchange(&plan.exchange)?;
    }
    let mut journal = locked.journal(&id)?;
    let tx = journal.summary().next_tx;
    let edits: Vec<RefEdit> = moving
        .iter()
        .map(|r| RefEdit {
            name: r.target.clone(),
            old: r.current.map(from_git),
            new: from_git(r.new),
        })
        .collect();
    // The plan is synced before any ref moves: after a crash, every moved ref is in the log.
    journal.append(Entry::Plan {
        tx,
        package: plan.package.display().to_string(),
        edits: edits.clone(),
        checkout: !plan.checkouts.is_empty(),
    })?;

    let mut checked_out = Vec::new();
    if !plan.checkouts.is_empty() {
        progress.phase(Phase::CheckingOut, Some(plan.checkouts.len() as u64));
    }
    for c in &plan.checkouts {
        let edit = edits
            .iter()
            .find(|e| e.name == c.target)
            .expect("checkouts are made only for moving refs");
        checkout(c, edit).map_err(|e| {
            rollback_after(&ctx.repo, &mut journal, tx, &[], &checked_out, &edits, e)
        })?;
        checked_out.push(c.clone());
        progress.advance(checked_out.len() as u64);
    }
    progress.phase(Phase::UpdatingRefs, Some(edits.len() as u64));
    let mut moved = Vec::new();
    let msg = format!("procoder apply {id}");
    for edit in &edits {
        match refs::move_and_log(&ctx.repo, &mut journal, tx, edit, &msg) {
            Ok(()) => moved.push(edit.clone()),
            Err(MoveError::Refused(e)) => {
                return Err(rollback_after(
                    &ctx.repo,
                    &mut journal,
                    tx,
                    &moved,
                    &checked_out,
                    &edits,
                    e,
                ))
            }
            // The log cannot be written: stop touching refs. It ends in an interrupted apply,
            // which --continue or --abort resolves from the refs' values.
            Err(MoveError::Unlogged(e)) => return Err(e),
        }
        progress.advance(moved.len() as u64);
    }
    journal.append(Entry::Committed { tx })?;
    Ok(tx)
}

/// Moves a checked-out work tree and index to the new tip; libgit2's safe checkout refuses
/// before writing anything when a file is in the way.
fn checkout(c: &Checkout, edit: &RefEdit) -> Result<()> {
    let repo = git2::Repository::open(&c.worktree)
        .map_err(|e| Failure::internal("cannot open the worktree", e))?;
    let commit = repo
        .find_commit(procoder_bundle::to_git(edit.new))
        .map_err(|e| Failure::internal("cannot read the new tip", e))?;
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.safe();
    repo.checkout_tree(commit.as_object(), Some(&mut opts)).map_err(|e| {
        Failure::new(ErrorCode::TargetBranchCheckedOut, format!("cannot check out {} in {}", c.target, c.worktree.display()))
            .detail(e.message().to_owned())
            .hint("nothing was moved; clear what is in the way in that work tree, then rerun with --checkout")
    })
}

/// Undoes what this apply did before `err`, logs the rollback, and returns `err`.
fn rollback_after(
    repo: &git2::Repository,
    journal: &mut Journal,
    tx: u64,
    moved: &[RefEdit],
    checked_out: &[Checkout],
    edits: &[RefEdit],
    err: Failure,
) -> Failure {
    for edit in moved.iter().rev() {
        let _ = refs::backward(repo, edit);
    }
    for c in checked_out {
        if let Some(edit) = edits.iter().find(|e| e.name == c.target) {
            if let (Ok(repo), Some(old)) = (git2::Repository::open(&c.worktree), edit.old) {
                if let Ok(commit) = repo.find_commit(procoder_bundle::to_git(old)) {
                    let mut opts = git2::build::CheckoutBuilder::new();
                    opts.force();
                    let _ = repo.checkout_tree(commit.as_object(), Some(&mut opts));
                }
            }
        }
    }
    match journal.append(Entry::RolledBack { tx }) {
        Ok(()) => err,
        Err(log) => err.detail(format!("the rollback could not be logged: {log}")),
    }
}

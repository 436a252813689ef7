//! Carrying out a verified plan: objects join the store, the plan is logged and synced, then
//! each ref moves by compare-and-swap and is logged, then (`--checkout`) each work tree is
//! switched and logged; `committed` is the last line.

use super::checkout;
use super::plan::Plan;
use crate::journal::Journal;
use crate::refs::{self, MoveError};
use crate::store::Locked;
use procoder_bundle::from_git;
use procoder_bundle::{Phase, Progress};
use procoder_manifest::{CheckoutStep, Entry, Failure, RefEdit, Result};

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
        checkouts: plan.checkouts.clone(),
    })?;
    let steps = &plan.checkouts;
    let repo = &ctx.repo;
    for step in steps {
        checkout::detach(step, &edits)
            .map_err(|e| rollback_after(repo, &mut journal, tx, &[], steps, e))?;
    }
    progress.phase(Phase::UpdatingRefs, Some(edits.len() as u64));
    let mut moved = Vec::new();
    let msg = format!("procoder apply {id}");
    for edit in &edits {
        match refs::move_and_log(repo, &mut journal, tx, edit, &msg) {
            Ok(()) => moved.push(edit.clone()),
            Err(MoveError::Refused(e)) => {
                return Err(rollback_after(repo, &mut journal, tx, &moved, steps, e))
            }
            // The log cannot be written: stop touching refs. It ends in an interrupted apply,
            // which --continue or --abort resolves from the refs' values.
            Err(MoveError::Unlogged(e)) => return Err(e),
        }
        progress.advance(moved.len() as u64);
    }
    if !steps.is_empty() {
        progress.phase(Phase::CheckingOut, Some(steps.len() as u64));
    }
    for (n, step) in steps.iter().enumerate() {
        checkout::switch(step)
            .map_err(|e| rollback_after(repo, &mut journal, tx, &moved, steps, e))?;
        journal.append(Entry::CheckedOut {
            tx,
            worktree: step.worktree.clone(),
        })?;
        progress.advance(n as u64 + 1);
    }
    journal.append(Entry::Committed { tx })?;
    Ok(tx)
}

/// Undoes what this apply did before `err` (work trees first, while their branches are still
/// at the new tips, then refs, then HEADs), logs the rollback, and returns `err`.
fn rollback_after(
    repo: &git2::Repository,
    journal: &mut Journal,
    tx: u64,
    moved: &[RefEdit],
    steps: &[CheckoutStep],
    mut err: Failure,
) -> Failure {
    let mut failed = Vec::new();
    for step in steps.iter().rev() {
        failed.extend(checkout::undo(step).err());
    }
    for edit in moved.iter().rev() {
        failed.extend(refs::backward(repo, edit).err());
    }
    for step in steps {
        failed.extend(checkout::reattach(step).err());
    }
    for f in failed {
        err = err.detail(format!("while rolling back: {}: {}", f.code, f.message));
    }
    match journal.append(Entry::RolledBack { tx }) {
        Ok(()) => err,
        Err(log) => err.detail(format!("the rollback could not be logged: {log}")),
    }
}

//! `apply --continue` and `apply --abort`: finish or undo an interrupted apply from its log.
//! Both are compare-and-swap: a ref someone moved since the crash is left alone and named.
//! A `--checkout` apply's work trees are finished or put back with it (`checkout`).

use super::checkout;
use crate::context::Context;
use crate::journal::{Journal, State};
use crate::refs;
use crate::store;
use procoder_manifest::{CheckoutStep, Entry, ErrorCode, ExchangeId, Failure, RefEdit, Result};

/// Which way out of an interrupted apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Continue,
    Abort,
}

/// What recovery did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exchange_id: ExchangeId,
    pub direction: Direction,
    pub tx: u64,
    pub refs: Vec<RefEdit>,
    /// The work trees `--checkout` switched (continue) or put back (abort).
    pub checkouts: Vec<CheckoutStep>,
}

/// Finds the interrupted exchange (`id`, or the only one) and continues or aborts it.
pub fn run(ctx: &Context, id: Option<&ExchangeId>, direction: Direction) -> Result<Outcome> {
    let locked = ctx.lock()?;
    let candidates: Vec<ExchangeId> = match id {
        Some(id) => vec![id.clone()],
        None => store::list_exchanges(ctx),
    };
    let mut found = None;
    for cand in candidates {
        let journal = locked.journal(&cand)?;
        if let State::Interrupted { .. } = journal.summary().state {
            if found.is_some() {
                return Err(Failure::new(ErrorCode::ApplyInterrupted, "several applies are interrupted").hint("name the exchange: procoder apply --continue <id> or procoder apply --abort <id>"));
            }
            found = Some((cand, journal));
        }
    }
    let Some((id, mut journal)) = found else {
        let which = id.map_or("any exchange".to_owned(), |i| format!("exchange {i}"));
        return Err(Failure::new(
            ErrorCode::NothingInterrupted,
            format!("there is no interrupted apply for {which}: nothing to continue or abort"),
        )
        .hint("procoder status lists every exchange and its state"));
    };
    resume(ctx, &id, &mut journal, direction)
}

/// Continues or aborts the interrupted apply that `journal` (of exchange `id`) ends with.
/// Holding the journal means holding the lock, so `procoder abort` calls this directly.
pub fn resume(
    ctx: &Context,
    id: &ExchangeId,
    journal: &mut Journal,
    direction: Direction,
) -> Result<Outcome> {
    let State::Interrupted {
        tx,
        edits,
        checkouts,
        checked_out,
        ..
    } = journal.summary().state
    else {
        return Err(Failure::new(
            ErrorCode::NothingInterrupted,
            format!(
                "there is no interrupted apply for exchange {id}: nothing to continue or abort"
            ),
        )
        .hint("procoder status lists every exchange and its state"));
    };
    refs::clear_stale_locks(&ctx.repo, journal, &edits);
    let msg = format!(
        "procoder apply {} {id}",
        if direction == Direction::Continue {
            "--continue"
        } else {
            "--abort"
        }
    );
    match direction {
        Direction::Continue => {
            // The same order as the apply: HEADs off the moving branches, refs, work trees.
            for step in &checkouts {
                checkout::detach(step, &edits)?;
            }
            for edit in &edits {
                let current = ctx.repo.refname_to_id(&edit.name).ok();
                if current == Some(procoder_bundle::to_git(edit.new)) {
                    continue;
                }
                if current != edit.old.map(procoder_bundle::to_git) {
                    return Err(moved_since(edit, current, direction));
                }
                refs::move_and_log(&ctx.repo, journal, tx, edit, &msg)?;
            }
            for step in checkouts
                .iter()
                .filter(|s| !checked_out.contains(&s.worktree))
            {
                checkout::switch(step)?;
                journal.append(Entry::CheckedOut {
                    tx,
                    worktree: step.worktree.clone(),
                })?;
            }
            journal.append(Entry::Committed { tx })?;
        }
        Direction::Abort => {
            // Work trees first, while their branches still hold the new tips they check out.
            for step in checkouts.iter().rev() {
                checkout::undo(step)?;
            }
            for edit in edits.iter().rev() {
                let current = ctx.repo.refname_to_id(&edit.name).ok();
                if current == edit.old.map(procoder_bundle::to_git) {
                    continue;
                }
                if current != Some(procoder_bundle::to_git(edit.new)) {
                    return Err(moved_since(edit, current, direction));
                }
                refs::backward(&ctx.repo, edit)?;
            }
            for step in &checkouts {
                checkout::reattach(step)?;
            }
            journal.append(Entry::RolledBack { tx })?;
        }
    }
    Ok(Outcome {
        exchange_id: id.clone(),
        direction,
        tx,
        refs: edits,
        checkouts,
    })
}

fn moved_since(edit: &RefEdit, current: Option<git2::Oid>, direction: Direction) -> Failure {
    let show = |o: Option<String>| o.unwrap_or_else(|| "(none)".into());
    Failure::new(ErrorCode::BranchMoved, format!("{} was moved by someone else since the apply was interrupted", edit.name))
        .detail(format!("Recorded old OID: {}", show(edit.old.map(|o| o.to_string()))))
        .detail(format!("Recorded new OID: {}", edit.new))
        .detail(format!("Current local OID: {}", show(current.map(|o| o.to_string()))))
        .hint(format!(
            "nothing was overwritten; set the ref back yourself (git update-ref {} <oid>), then rerun procoder apply {}",
            edit.name,
            if direction == Direction::Continue { "--continue" } else { "--abort" }
        ))
}

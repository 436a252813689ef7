//! `apply --continue` and `apply --abort`: finish or undo an interrupted apply from its log.
//! Both are compare-and-swap: a ref someone moved since the crash is left alone and named.

use super::execute::move_ref;
use crate::context::Context;
use crate::journal::{Journal, State};
use crate::store;
use procoder_manifest::{Entry, ErrorCode, ExchangeId, Failure, RefEdit, Result};

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
            ErrorCode::ApplyInterrupted,
            format!("there is no interrupted apply for {which}"),
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
    let State::Interrupted { tx, edits, .. } = journal.summary().state else {
        return Err(Failure::new(
            ErrorCode::ApplyInterrupted,
            format!("there is no interrupted apply for exchange {id}"),
        )
        .hint("procoder status lists every exchange and its state"));
    };
    clear_stale_ref_locks(ctx, &edits);
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
            for edit in &edits {
                let current = ctx.repo.refname_to_id(&edit.name).ok();
                if current == Some(procoder_bundle::to_git(edit.new)) {
                    continue;
                }
                if current != edit.old.map(procoder_bundle::to_git) {
                    return Err(moved_since(edit, current, direction));
                }
                move_ref(&ctx.repo, edit, &msg)?;
                journal.append(Entry::RefUpdated {
                    tx,
                    name: edit.name.clone(),
                })?;
            }
            journal.append(Entry::Committed { tx })?;
        }
        Direction::Abort => {
            for edit in edits.iter().rev() {
                let current = ctx.repo.refname_to_id(&edit.name).ok();
                if current == edit.old.map(procoder_bundle::to_git) {
                    continue;
                }
                if current != Some(procoder_bundle::to_git(edit.new)) {
                    return Err(moved_since(edit, current, direction));
                }
                undo_ref(&ctx.repo, edit)?;
            }
            journal.append(Entry::RolledBack { tx })?;
        }
    }
    Ok(Outcome {
        exchange_id: id.clone(),
        direction,
        tx,
        refs: edits,
    })
}

/// A kill in the middle of a ref update leaves `<ref>.lock` behind, and libgit2 then refuses
/// to touch the ref. Only procoder moves refs of an exchange's family, and procoder's own lock
/// is held here, so a lock file of a ref in the interrupted plan is a dead procoder's leftover.
fn clear_stale_ref_locks(ctx: &Context, edits: &[RefEdit]) {
    for edit in edits {
        let lock = ctx.repo.commondir().join(format!("{}.lock", edit.name));
        let _ = std::fs::remove_file(lock);
    }
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

/// Puts one ref back from `new` to `old` (deleting a ref the apply created), compare-and-swap.
pub fn undo_ref(repo: &git2::Repository, edit: &RefEdit) -> Result<()> {
    let new = procoder_bundle::to_git(edit.new);
    match edit.old {
        Some(old) => repo
            .reference_matching(
                &edit.name,
                procoder_bundle::to_git(old),
                true,
                new,
                "procoder apply --abort",
            )
            .map(drop)
            .map_err(|e| Failure::internal(format!("cannot put {} back", edit.name), e)),
        None => {
            let mut r = repo
                .find_reference(&edit.name)
                .map_err(|e| Failure::internal(format!("cannot read {}", edit.name), e))?;
            if r.target() != Some(new) {
                return Err(Failure::new(
                    ErrorCode::BranchMoved,
                    format!("{} moved; not deleting it", edit.name),
                ));
            }
            r.delete()
                .map_err(|e| Failure::internal(format!("cannot delete {}", edit.name), e))
        }
    }
}

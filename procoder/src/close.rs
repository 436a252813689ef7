//! `procoder close [ID]`: finish an exchange whose work was applied. Its branches stay (they
//! are the user's work now, to merge or delete as any branch); the task package and its
//! exclude line go, as with abort, since the package holds nothing the repository lacks; and
//! `closed` is logged, after which apply refuses returns of it (`EXCHANGE_CLOSED`). An exchange
//! never applied has nothing to keep: `abort` is the way out (`NOT_APPLIED`).

use crate::context::Context;
use crate::journal::State;
use crate::store;
use procoder_manifest::{family_prefix, Entry, ErrorCode, ExchangeId, Failure, Result};

/// What close did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The family branches, all kept.
    pub kept: Vec<String>,
    pub package_deleted: Option<String>,
}

/// Closes exchange `id`.
pub fn run(ctx: &Context, id: &ExchangeId) -> Result<Outcome> {
    if store::read_exchange(ctx, id)?.is_none() {
        return Err(Failure::new(
            ErrorCode::UnknownExchange,
            format!("exchange {id} was not prepared in this repository"),
        )
        .hint("procoder status lists the exchanges of this repository"));
    }
    let locked = ctx.lock()?;
    locked.refuse_if_interrupted()?;
    let mut journal = locked.journal(id)?;
    let summary = journal.summary();
    match summary.state {
        State::Applied { .. } => {}
        State::Closed | State::Aborted => {
            let how = if summary.state == State::Closed {
                "closed"
            } else {
                "aborted"
            };
            return Err(Failure::new(
                ErrorCode::ExchangeClosed,
                format!("exchange {id} is already {how}"),
            )
            .hint("nothing to do; procoder status lists the open exchanges"));
        }
        State::Preparing { .. } | State::Prepared | State::Interrupted { .. } => {
            return Err(Failure::new(
                ErrorCode::NotApplied,
                format!("exchange {id} was never applied: there is nothing to keep"),
            )
            .hint(format!(
                "to give it up, run procoder abort {id}; to finish it, apply its return first: procoder apply procoder-return-{id}.zip"
            )))
        }
    }
    let mut outcome = Outcome::default();
    let prefix = format!("{}/", family_prefix(id));
    // The family, and what an apply under --namespace created outside it.
    let kept = crate::refs::matching(&ctx.repo, |name| {
        name.starts_with(&prefix) || summary.applied.contains_key(name)
    })?;
    outcome.kept.extend(kept.into_iter().map(|(name, _)| name));
    outcome.kept.sort();
    if let Some(package) = &summary.package {
        outcome.package_deleted = crate::abort::remove_package(ctx, package)?;
    }
    journal.append(Entry::Closed)?;
    Ok(outcome)
}

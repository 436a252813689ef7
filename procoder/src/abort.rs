//! `procoder abort [ID]`: give an exchange up. Rolls back an interrupted apply, deletes the
//! family branches still at the base (others only with `--force`, never a checked-out one),
//! deletes the task package and its exclude line, and logs `aborted`.

use crate::apply::recover;
use crate::context::Context;
use crate::journal::State;
use crate::store;
use crate::worktrees;
use procoder_bundle::to_git;
use procoder_manifest::{family_prefix, Entry, ErrorCode, ExchangeId, Failure, Result};

/// What abort did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub rolled_back: bool,
    pub deleted: Vec<String>,
    pub kept: Vec<String>,
    pub package_deleted: Option<String>,
}

/// Aborts exchange `id`.
pub fn run(ctx: &Context, id: &ExchangeId, force: bool) -> Result<Outcome> {
    let exchange = store::read_exchange(ctx, id)?.ok_or_else(|| {
        Failure::new(
            ErrorCode::UnknownExchange,
            format!("exchange {id} was not prepared in this repository"),
        )
        .hint("procoder status lists the exchanges of this repository")
    })?;
    let mut outcome = Outcome::default();
    // One lock for the rollback and the close: nothing runs in between.
    let locked = ctx.lock()?;
    let mut journal = locked.journal(id)?;
    if matches!(journal.summary().state, State::Interrupted { .. }) {
        recover::resume(ctx, id, &mut journal, recover::Direction::Abort)?;
        outcome.rolled_back = true;
    }
    locked.refuse_if_interrupted()?;
    let base = to_git(exchange.task.base_oid);
    let checked_out = worktrees::checked_out_branches(ctx)?;
    let prefix = format!("{}/", family_prefix(id));
    let family = crate::refs::matching(&ctx.repo, |name| name.starts_with(&prefix))?;
    for (name, target) in family {
        if checked_out.contains(&name) {
            outcome.kept.push(format!("{name} (checked out)"));
        } else if target == Some(base) || force {
            let mut r = ctx
                .repo
                .find_reference(&name)
                .map_err(|e| Failure::internal(format!("cannot read {name}"), e))?;
            r.delete()
                .map_err(|e| Failure::internal(format!("cannot delete {name}"), e))?;
            outcome.deleted.push(name);
        } else {
            outcome
                .kept
                .push(format!("{name} (has commits; --force deletes it)"));
        }
    }
    if let Some(package) = journal.summary().package {
        outcome.package_deleted = remove_package(ctx, &package)?;
    }
    journal.append(Entry::Aborted)?;
    Ok(outcome)
}

/// Deletes the task package at `package` and its line in `.git/info/exclude`; returns the path
/// when there was a file to delete. `close` does the same: the package holds nothing the
/// repository lacks.
pub(crate) fn remove_package(ctx: &Context, package: &str) -> Result<Option<String>> {
    let deleted = std::fs::remove_file(package)
        .is_ok()
        .then(|| package.to_owned());
    let workdir = ctx
        .workdir
        .canonicalize()
        .unwrap_or_else(|_| ctx.workdir.clone());
    if let Ok(rel) = std::path::Path::new(package).strip_prefix(workdir) {
        crate::exclude::remove(&ctx.repo, &format!("/{}", rel.display()))?;
    }
    Ok(deleted)
}

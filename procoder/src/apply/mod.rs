//! `procoder apply`: verify a return package completely (`plan`), then move the task family
//! (`execute`); `recover` finishes or undoes an interrupted apply from the log.

mod action;
mod checkout;
pub mod execute;
pub mod plan;
pub mod recover;
pub mod review;

use crate::context::Context;
pub use plan::{Action, Options, PlannedRef};
use procoder_bundle::Progress;
use procoder_manifest::{ExchangeId, Failure, Result};
use std::path::{Path, PathBuf};

/// What apply did, or (dry run) would do.
#[derive(Debug)]
pub struct Outcome {
    pub exchange_id: ExchangeId,
    pub package: PathBuf,
    pub dry_run: bool,
    pub already_applied: bool,
    /// Nothing moves because an earlier apply already brought newer work than this return.
    pub already_contained: bool,
    pub namespace: Option<String>,
    pub refs: Vec<PlannedRef>,
    pub checks: Vec<String>,
    pub objects_checked: usize,
    /// Ref-rule conflicts; only a dry run returns them instead of failing.
    pub conflicts: Vec<Failure>,
    /// The work trees `--checkout` switched (or, in a dry run, would switch).
    pub checkouts: Vec<procoder_manifest::CheckoutStep>,
    pub tx: Option<u64>,
    /// What the next steps compare the work with: the branch the task was prepared from, or
    /// the base commit when that branch is not known here (an adopted exchange).
    pub compare_with: String,
    /// That branch, when it is one: where the merge step switches to.
    pub merge_into: Option<String>,
}

/// Applies `package` in `ctx`.
pub fn run(
    ctx: &Context,
    package: &Path,
    opts: &Options,
    progress: &mut dyn Progress,
) -> Result<Outcome> {
    let locked = ctx.lock()?;
    // Every object apply reads was hashed already: the bundle's by the indexer, which names
    // each object by its hash, and the rest are the user's own. libgit2 would hash each read
    // again (the diffstat's two versions of a 1.4 MB file, then the checks), which git never does.
    git2::opts::strict_hash_verification(false);
    locked.refuse_if_interrupted()?;
    let mut plan = plan::make(&locked, package, opts, progress)?;
    if !opts.dry_run && !plan.conflicts.is_empty() {
        let mut conflicts = std::mem::take(&mut plan.conflicts).into_iter();
        let mut first = conflicts.next().expect("checked non-empty");
        for other in conflicts {
            first = first.detail(format!("also {}: {}", other.code, other.message));
        }
        return Err(first);
    }
    let already_applied = plan.conflicts.is_empty() && plan.refs.iter().all(|r| !r.action.moves());
    let already_contained =
        already_applied && plan.refs.iter().any(|r| r.action == Action::Contained);
    let mut outcome = Outcome {
        exchange_id: plan.exchange.exchange_id.clone(),
        package: package.to_path_buf(),
        dry_run: opts.dry_run,
        already_applied,
        already_contained,
        namespace: opts.namespace.clone(),
        refs: plan.refs.clone(),
        checks: plan.checks.clone(),
        objects_checked: plan.objects_checked,
        conflicts: std::mem::take(&mut plan.conflicts),
        checkouts: plan.checkouts.clone(),
        tx: None,
        compare_with: String::new(),
        merge_into: source_branch(&plan.exchange),
    };
    outcome.compare_with = outcome
        .merge_into
        .clone()
        .unwrap_or_else(|| plan::short(procoder_bundle::to_git(plan.exchange.task.base_oid)));
    // Already applied: nothing moves, but `--checkout` still switches this work tree.
    if opts.dry_run || (already_applied && plan.checkouts.is_empty()) {
        return Ok(outcome); // dropping the plan removes the quarantine: no object joins the store
    }
    outcome.tx = Some(execute::run(&locked, plan, progress)?);
    Ok(outcome)
}

/// The short name of the branch the task was prepared from; an adopted exchange records its
/// task branch there, which would compare the work with itself, so it has none.
fn source_branch(exchange: &procoder_manifest::Exchange) -> Option<String> {
    let head = &exchange.source.head_ref;
    let branch = head.strip_prefix("refs/heads/")?;
    (!head.starts_with(&exchange.task.ref_prefix)).then(|| branch.to_owned())
}

//! `procoder status`: every exchange, newest first, interrupted applies first of all.
//! Reads only; `ui::render_status` makes the table.

use crate::context::Context;
use crate::journal::{self, State};
use crate::store;
use procoder_bundle::to_git;
use procoder_manifest::{ExchangeId, Result};

/// One exchange as status shows it.
#[derive(Debug, Clone)]
pub struct Row {
    pub exchange_id: ExchangeId,
    pub state: State,
    pub created_at: String,
    pub age_seconds: Option<i64>,
    pub task_ref: String,
    pub task_tip: Option<git2::Oid>,
    /// Commits on any family branch (`procoder/<id>/*`) that the base does not have, each
    /// counted once: an agent may have worked on a branch other than the task branch.
    pub ahead: usize,
    /// Every family branch, by name.
    pub branches: Vec<String>,
    pub package: Option<String>,
    pub package_present: bool,
}

impl Row {
    /// `preparing`, `prepared`, `applied`, `aborted`, `closed`, `interrupted`.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::Preparing { .. } => "preparing",
            State::Prepared => "prepared",
            State::Applied { .. } => "applied",
            State::Aborted => "aborted",
            State::Closed => "closed",
            State::Interrupted { .. } => "interrupted",
        }
    }
}

/// Reads every exchange's record and log.
pub fn run(ctx: &Context) -> Result<Vec<Row>> {
    // Housekeeping, not a mutation: when no other procoder runs, clear what a crash left in
    // .git/procoder/tmp (a half-indexed quarantine, a half-written zip). Never waits.
    drop(ctx.lock());
    let (now, _) = crate::context::now();
    let mut rows = Vec::new();
    for id in store::list_exchanges(ctx) {
        let Some(exchange) = store::read_exchange(ctx, &id)? else {
            continue;
        };
        let summary = journal::fold(&journal::read(ctx, &id)?);
        let package = summary.package;
        let task_tip = ctx.repo.refname_to_id(&exchange.task.root_ref).ok();
        let base = to_git(exchange.task.base_oid);
        let (ahead, branches) = family_work(&ctx.repo, &exchange.task.ref_prefix, base);
        rows.push(Row {
            state: summary.state,
            age_seconds: procoder_manifest::parse_rfc3339(&exchange.created_at).map(|t| now - t),
            created_at: exchange.created_at,
            task_ref: exchange.task.root_ref,
            task_tip,
            ahead,
            branches,
            package_present: package
                .as_deref()
                .is_some_and(|p| std::path::Path::new(p).is_file()),
            package,
            exchange_id: id,
        });
    }
    // Interrupted applies first, then newest first. By the record's time, not the id: ids of
    // the same second sort by their random part.
    rows.sort_by(|a, b| {
        let interrupted = |r: &Row| matches!(r.state, State::Interrupted { .. });
        interrupted(b)
            .cmp(&interrupted(a))
            .then_with(|| created_key(&b.created_at).cmp(&created_key(&a.created_at)))
            .then_with(|| b.exchange_id.as_str().cmp(a.exchange_id.as_str()))
    });
    Ok(rows)
}

/// An RFC 3339 time as something that sorts: seconds, then the fraction as nine digits.
fn created_key(at: &str) -> (Option<i64>, String) {
    let fraction: String = at
        .split_once('.')
        .map(|(_, f)| f.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default();
    (
        procoder_manifest::parse_rfc3339(at),
        format!("{fraction:0<9}"),
    )
}

/// The family's branches and the commits they hold beyond `base`, each commit once.
fn family_work(repo: &git2::Repository, prefix: &str, base: git2::Oid) -> (usize, Vec<String>) {
    let dir = format!("{prefix}/");
    let mut branches = Vec::new();
    let mut tips = Vec::new();
    if let Ok(refs) = repo.references() {
        for r in refs.flatten() {
            let (Ok(name), Some(tip)) = (r.name(), r.target()) else {
                continue;
            };
            if name.starts_with(&dir) {
                branches.push(name.to_owned());
                tips.push(tip);
            }
        }
    }
    branches.sort();
    let ahead = repo.revwalk().ok().map_or(0, |mut walk| {
        let pushed = tips.iter().all(|t| walk.push(*t).is_ok()) && walk.hide(base).is_ok();
        if pushed {
            walk.count()
        } else {
            0
        }
    });
    (ahead, branches)
}

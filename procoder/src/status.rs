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
    pub ahead: usize,
    pub package: Option<String>,
    pub package_present: bool,
}

impl Row {
    /// `prepared`, `applied`, `aborted`, `interrupted`.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::Preparing { .. } => "preparing",
            State::Prepared => "prepared",
            State::Applied { .. } => "applied",
            State::Aborted => "aborted",
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
        let ahead = task_tip
            .and_then(|t| ctx.repo.graph_ahead_behind(t, base).ok())
            .map_or(0, |(a, _)| a);
        rows.push(Row {
            state: summary.state,
            age_seconds: procoder_manifest::parse_rfc3339(&exchange.created_at).map(|t| now - t),
            created_at: exchange.created_at,
            task_ref: exchange.task.root_ref,
            task_tip,
            ahead,
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

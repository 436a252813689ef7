//! The review part of apply's text: incoming commits, diffstat, and the next steps.

use crate::apply::Outcome as ApplyOutcome;
use std::fmt::Write;

/// The incoming commits of one ref (the first few, then how many more) and its diffstat.
pub fn review_text(t: &mut String, r: &crate::apply::review::Review) {
    for c in &r.log {
        let _ = writeln!(
            t,
            "      {}  {}  ({})",
            &c.id.to_string()[..7],
            c.subject,
            c.author
        );
    }
    if r.commits > r.log.len() {
        let _ = writeln!(t, "      and {} more", r.commits - r.log.len());
    }
    let _ = writeln!(t, "      {}", crate::apply::review::diffstat(r));
}

/// Commands that work as typed and show only the agent's work: the log and diff of each
/// moved branch against the branch the task came from, and how to merge it.
pub fn next_steps(t: &mut String, o: &ApplyOutcome) {
    let base = &o.compare_with;
    use crate::apply::{Action, PlannedRef};
    // The backup `--replace` keeps of a replaced tip holds no new work: the steps name the
    // branch that replaced it (merging the backup would take the commits the agent rewrote).
    let backup = |r: &&PlannedRef| {
        matches!(r.action, Action::Create)
            && o.refs
                .iter()
                .any(|x| x.source == r.source && matches!(x.action, Action::Replace))
    };
    let branches: Vec<&str> = o
        .refs
        .iter()
        .filter(|r| !backup(r))
        .map(|r| r.target.strip_prefix("refs/heads/").unwrap_or(&r.target))
        .collect();
    let Some(first) = branches.first() else {
        return;
    };
    let _ = writeln!(t, "Review the agent's work:");
    for b in &branches {
        let _ = writeln!(t, "  git log --stat {base}..{b}");
        let _ = writeln!(t, "  git diff {base}...{b}");
    }
    match &o.merge_into {
        Some(into) => writeln!(t, "Take it: git switch {into} && git merge {first}"),
        None => writeln!(
            t,
            "Take it: git merge {first} (on the branch that should get it)"
        ),
    }
    .ok();
}

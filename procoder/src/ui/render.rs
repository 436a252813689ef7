//! Each command's outcome as JSON and as text.

use super::{error_json, human_age, human_bytes};
use crate::apply::recover::{Direction, Outcome as RecoverOutcome};
use crate::apply::Outcome as ApplyOutcome;
use crate::helper::{Helper, Linkage};
use crate::journal::State;
use crate::prepare::Outcome as PrepareOutcome;
use crate::status::Row;
use serde_json::{json, Value};
use std::fmt::Write;

use procoder_manifest::{count, paint, Failure, Style};

/// A failure inside other output (a dry run's conflict, `--version`'s missing helper): plain.
fn failure_text(f: &Failure) -> String {
    f.render(Style::default())
}

fn short(oid: git2::Oid) -> String {
    oid.to_string()[..12].to_owned()
}

/// Under `quiet`, only the facts: task branch, package, warnings (the prompt is in `--json`).
pub fn render_prepare(o: &PrepareOutcome, quiet: bool) -> (Value, String) {
    let value = json!({
        "exchange_id": o.exchange_id.as_str(),
        "task_ref": o.task_ref,
        "base_oid": o.base_oid.to_string(),
        "source_ref": o.source_ref,
        "package": o.package.display().to_string(),
        "package_bytes": o.package_bytes,
        "size": json!({
            "estimate": o.estimate.bytes,
            "bytes": o.package_bytes,
            "limit": o.size_limit,
            "pack": o.estimate.pack,
            "worktree": o.estimate.worktree,
            "helper": o.estimate.helper,
        }),
        "files": o.files,
        "objects": o.objects,
        "depth": o.depth,
        "single_branch": o.single_branch,
        "shallow_commits": o.shallow_commits,
        "snapshot": o.snapshot.as_ref().map(|s| json!({
            "oid": s.oid.to_string(),
            "tree": s.tree.to_string(),
            "changed": s.changed,
            "added": s.added,
        })),
        "secret_scan": o.secrets.as_ref().map(secret_scan_json),
        "warnings": o.warnings,
        "prompt": o.prompt,
    });
    let mut t = String::new();
    let _ = writeln!(t, "Prepared exchange {}.", o.exchange_id);
    let _ = writeln!(t, "Task branch: {}", o.task_ref);
    match &o.snapshot {
        Some(s) => {
            let _ = writeln!(
                t,
                "  at {}, a snapshot of the uncommitted work on {} ({}, {}); your checkout is as it was",
                short(o.base_oid),
                o.source_ref,
                count(s.changed, "changed file"),
                count(s.added, "added file")
            );
        }
        None => {
            let _ = writeln!(t, "  at {}, from {}", short(o.base_oid), o.source_ref);
        }
    }
    let _ = writeln!(t, "Task package: {}", o.package.display());
    let _ = writeln!(
        t,
        "  {}, {}, {}",
        human_bytes(o.package_bytes),
        count(o.files, "file"),
        count(o.objects, "object")
    );
    if let Some(depth) = o.depth {
        let _ = writeln!(
            t,
            "  shallow: the last {depth} commit(s) of each ref ({} cut off)",
            o.shallow_commits
        );
    }
    if o.single_branch {
        let _ = writeln!(
            t,
            "  single branch: {} only (other branches and tags left out)",
            o.source_ref
        );
    }
    if let Some(r) = &o.secrets {
        let _ = writeln!(t, "  {}", secret_scan_line(r));
    }
    for w in &o.warnings {
        let _ = writeln!(t, "warning: {w}");
    }
    if quiet {
        return (value, t);
    }
    let _ = writeln!(t, "\nPrompt for the agent (attach the package):\n");
    for line in o.prompt.lines() {
        let _ = writeln!(t, "  {line}");
    }
    let _ = writeln!(
        t,
        "\nThen: procoder apply <the {} you get back>",
        procoder_bundle::layout::return_zip(&o.exchange_id)
    );
    (value, t)
}

/// The scan in one line: `secret scan (HEAD): 12 files, 1 binary and 0 over 1 MiB skipped; ...`.
fn secret_scan_line(r: &crate::prepare::secrets::Report) -> String {
    let mut s = format!(
        "secret scan ({}): {}, {} binary and {} over 1 MiB skipped; {}",
        if r.history {
            "HEAD and history"
        } else {
            "HEAD"
        },
        count(r.scanned, if r.history { "blob" } else { "file" }),
        r.skipped_binary,
        r.skipped_large,
        count(r.findings.len(), "finding")
    );
    if r.allowed > 0 {
        let _ = write!(
            s,
            ", {} allowed by {}",
            r.allowed,
            crate::prepare::secrets::ALLOW_FILE
        );
    }
    s
}

fn secret_scan_json(r: &crate::prepare::secrets::Report) -> Value {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "path": f.path,
                "line": f.line,
                "commit": f.commit.map(|c| c.to_string()),
                "shown": format!("{}…", f.shown),
                "fingerprint": f.fingerprint,
            })
        })
        .collect();
    json!({
        "history": r.history,
        "scanned": r.scanned,
        "skipped_binary": r.skipped_binary,
        "skipped_large": r.skipped_large,
        "max_bytes": crate::prepare::secrets::MAX_BYTES,
        "findings": findings,
        "allowed": r.allowed,
    })
}

fn refs_json(o: &ApplyOutcome) -> Value {
    Value::Array(
        o.refs
            .iter()
            .map(|r| {
                let log: Vec<Value> = r.review.log.iter().map(|c| json!({ "id": c.id.to_string(), "subject": c.subject, "author": c.author })).collect();
                json!({ "ref": r.target, "source": r.source, "action": r.action.as_str(), "old": r.current.map(|c| c.to_string()), "new": r.new.to_string(), "commits": r.commits, "log": log, "files_changed": r.review.files_changed, "insertions": r.review.insertions, "deletions": r.review.deletions })
            })
            .collect(),
    )
}

/// The JSON value and text of an apply; a dry run with conflicts is rendered by the caller as
/// a failure carrying this plan. Under `quiet`, no list of checks and no advice.
pub fn render_apply(o: &ApplyOutcome, quiet: bool) -> (Value, String) {
    let value = json!({
        "exchange_id": o.exchange_id.as_str(),
        "package": o.package.display().to_string(),
        "dry_run": o.dry_run,
        "already_applied": o.already_applied,
        "already_contained": o.already_contained,
        "namespace": o.namespace,
        "refs": refs_json(o),
        "checks": o.checks,
        "objects_checked": o.objects_checked,
        "conflicts": o.conflicts.iter().map(error_json).collect::<Vec<_>>(),
        "checked_out": o.checkouts.iter().map(|c| c.worktree.clone()).collect::<Vec<_>>(),
        "checkouts": checkouts_json(&o.checkouts),
        "tx": o.tx,
    });
    let mut t = String::new();
    if o.dry_run {
        let _ = writeln!(
            t,
            "Dry run for exchange {}: nothing was changed.",
            o.exchange_id
        );
        if !quiet {
            let _ = writeln!(t, "Checks:");
            for c in &o.checks {
                let _ = writeln!(t, "  ok  {c}");
            }
        }
    } else if o.already_contained {
        let _ = writeln!(
            t,
            "Already contained: a newer return of exchange {} was applied, and it holds all of this one; nothing changed.",
            o.exchange_id
        );
    } else if o.already_applied && !o.checkouts.is_empty() {
        let _ = writeln!(
            t,
            "Already applied: every ref of exchange {} is in place; no ref moved.",
            o.exchange_id
        );
    } else if o.already_applied {
        let _ = writeln!(
            t,
            "Already applied: every ref of exchange {} is in place; nothing changed.",
            o.exchange_id
        );
    } else {
        let _ = writeln!(t, "Applied return package for exchange {}.", o.exchange_id);
    }
    if !o.refs.is_empty() && (!o.already_applied || o.dry_run) {
        let _ = writeln!(t, "{}", if o.dry_run { "Plan:" } else { "Refs:" });
        for r in &o.refs {
            let from = r.current.map_or_else(|| "(new)".to_owned(), short);
            let commits = count(r.commits, "commit");
            let _ = writeln!(
                t,
                "  {:<13} {}  {from} -> {} ({commits})",
                r.action.as_str(),
                r.target,
                short(r.new)
            );
            super::review::review_text(&mut t, &r.review);
        }
    }
    for c in &o.conflicts {
        let _ = writeln!(t, "Conflict:\n  {}", failure_text(c).replace('\n', "\n  "));
    }
    if o.dry_run {
        for c in &o.checkouts {
            let _ = writeln!(
                t,
                "Would check out {} in {}.",
                short_ref(&c.branch),
                c.worktree
            );
        }
        let verdict = if o.conflicts.is_empty() {
            "the apply would succeed"
        } else {
            "the apply would fail"
        };
        let _ = writeln!(t, "Result: {verdict}.");
    } else if !o.already_applied && !quiet {
        let _ = writeln!(t, "Checked {}.", count(o.objects_checked, "new object"));
        super::review::next_steps(&mut t, o);
    }
    if !o.dry_run {
        for c in &o.checkouts {
            let _ = writeln!(t, "Checked out {} in {}.", short_ref(&c.branch), c.worktree);
        }
    }
    (value, t)
}

fn short_ref(name: &str) -> &str {
    name.strip_prefix("refs/heads/").unwrap_or(name)
}

fn checkouts_json(steps: &[procoder_manifest::CheckoutStep]) -> Vec<Value> {
    steps
        .iter()
        .map(|c| json!({ "worktree": c.worktree, "branch": c.branch, "from": c.from.to_string(), "to": c.to.to_string() }))
        .collect()
}

pub fn render_recover(o: &RecoverOutcome) -> (Value, String) {
    let way = if o.direction == Direction::Continue {
        "continue"
    } else {
        "abort"
    };
    let refs: Vec<Value> = o.refs.iter().map(|e| json!({ "ref": e.name, "old": e.old.map(|x| x.to_string()), "new": e.new.to_string() })).collect();
    let value = json!({ "exchange_id": o.exchange_id.as_str(), "recovered": way, "tx": o.tx, "refs": refs, "checkouts": checkouts_json(&o.checkouts) });
    let mut t = String::new();
    let verb = if o.direction == Direction::Continue {
        "Finished"
    } else {
        "Rolled back"
    };
    let _ = writeln!(
        t,
        "{verb} the interrupted apply of exchange {} ({}).",
        o.exchange_id,
        count(o.refs.len(), "ref")
    );
    for e in &o.refs {
        let shown = if o.direction == Direction::Continue {
            e.new.to_string()
        } else {
            e.old.map_or("(deleted)".into(), |x| x.to_string())
        };
        let _ = writeln!(t, "  {}  {}", e.name, shown);
    }
    for c in &o.checkouts {
        let _ = if o.direction == Direction::Continue {
            writeln!(t, "Checked out {} in {}.", short_ref(&c.branch), c.worktree)
        } else {
            let back = c
                .head
                .as_deref()
                .map_or_else(|| c.from.to_string(), |h| short_ref(h).to_owned());
            writeln!(t, "Put {} back on {back}.", c.worktree)
        };
    }
    (value, t)
}

/// The status table: interrupted applies first, each with the two commands that fix it, then
/// one aligned row per exchange. `color` paints the state column (a terminal only).
pub fn render_status(rows: &[Row], quiet: bool, color: bool) -> (Value, String) {
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = json!({
                "exchange_id": r.exchange_id.as_str(),
                "state": r.state_name(),
                "created_at": r.created_at,
                "age_seconds": r.age_seconds,
                "task_ref": r.task_ref,
                "task_tip": r.task_tip.map(|o| o.to_string()),
                "ahead": r.ahead,
                "branches": r.branches,
                "package": r.package,
                "package_present": r.package_present,
            });
            if let State::Interrupted {
                tx, edits, done, ..
            } = &r.state
            {
                v["interrupted"] =
                    json!({ "tx": tx, "refs_total": edits.len(), "refs_done": done.len() });
            }
            if let State::Applied { times } = r.state {
                v["applied_times"] = json!(times);
            }
            v
        })
        .collect();
    let value = json!({ "exchanges": list });
    let mut t = String::new();
    if rows.is_empty() {
        let _ = write!(t, "No exchanges.");
        if !quiet {
            let _ = write!(t, " Start one with: procoder prepare");
        }
        t.push('\n');
        return (value, t);
    }
    let mut warned = false;
    for r in rows {
        match &r.state {
            State::Interrupted { edits, done, .. } => {
                let id = &r.exchange_id;
                let _ = writeln!(t, "{} apply of {id}: run `procoder apply --continue {id}` or `procoder apply --abort {id}`", paint("!! INTERRUPTED", "1;31", color));
                let _ = writeln!(
                    t,
                    "   {} of {} moved before it stopped; --continue moves the rest, --abort puts every one back",
                    done.len(),
                    count(edits.len(), "ref")
                );
                warned = true;
            }
            State::Preparing { .. } => {
                let _ = writeln!(
                    t,
                    "{} of {} did not finish: run `procoder abort {1}` to clean it up",
                    paint("!! prepare", "1;33", color),
                    r.exchange_id
                );
                warned = true;
            }
            _ => {}
        }
    }
    if warned {
        t.push('\n');
    }
    let header = [
        "EXCHANGE",
        "STATE",
        "AGE",
        "TIP",
        "AHEAD",
        "PACKAGE",
        "TASK BRANCH",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let state = match r.state {
                State::Interrupted { .. } => "INTERRUPTED".to_owned(),
                State::Applied { times } if times > 1 => format!("applied ({times} times)"),
                _ => r.state_name().to_owned(),
            };
            [
                r.exchange_id.to_string(),
                state,
                r.age_seconds.map_or("?".into(), human_age),
                r.task_tip.map_or("(deleted)".into(), short),
                r.ahead.to_string(),
                // An adopted exchange was prepared elsewhere: its package was never here.
                match (&r.package, r.package_present) {
                    (None, _) => "elsewhere",
                    (Some(_), true) => "present",
                    (Some(_), false) => "gone",
                }
                .to_owned(),
                r.task_ref.trim_start_matches("refs/heads/").to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |t: &mut String, row: [&str; 7], paint_state: Option<&str>| {
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let shown = match (i, paint_state) {
                (1, Some(sgr)) => paint(cell, sgr, color),
                _ => (*cell).to_owned(),
            };
            if i == 6 {
                let _ = write!(t, "{shown}");
            } else if i == 4 {
                // Numbers right-aligned.
                let _ = write!(t, "{}{shown}  ", " ".repeat(pad));
            } else {
                let _ = write!(t, "{shown}{}  ", " ".repeat(pad));
            }
        }
        t.push('\n');
    };
    line(&mut t, header, None);
    for (r, row) in rows.iter().zip(&cells) {
        let sgr = match r.state {
            State::Interrupted { .. } => "1;31",
            State::Preparing { .. } => "33",
            State::Prepared => "36",
            State::Applied { .. } => "32",
            State::Aborted => "2",
            State::Closed => "2",
        };
        line(&mut t, row.each_ref().map(String::as_str), Some(sgr));
    }
    (value, t)
}

pub fn render_abort(id: &str, o: &crate::abort::Outcome) -> (Value, String) {
    let value = json!({ "exchange_id": id, "rolled_back": o.rolled_back, "deleted": o.deleted, "kept": o.kept, "package_deleted": o.package_deleted });
    let mut t = String::new();
    let _ = writeln!(t, "Aborted exchange {id}.");
    if o.rolled_back {
        let _ = writeln!(t, "Rolled back its interrupted apply.");
    }
    for d in &o.deleted {
        let _ = writeln!(t, "  deleted {d}");
    }
    for k in &o.kept {
        let _ = writeln!(t, "  kept    {k}");
    }
    if let Some(p) = &o.package_deleted {
        let _ = writeln!(t, "  deleted package {p}");
    }
    (value, t)
}

pub fn render_close(id: &str, o: &crate::close::Outcome) -> (Value, String) {
    let value = json!({ "exchange_id": id, "state": "closed", "kept": o.kept, "package_deleted": o.package_deleted });
    let mut t = String::new();
    let _ = writeln!(t, "Closed exchange {id}: later returns of it are refused.");
    for k in &o.kept {
        let _ = writeln!(t, "  kept    {k}");
    }
    if let Some(p) = &o.package_deleted {
        let _ = writeln!(t, "  deleted package {p}");
    }
    (value, t)
}

/// `procoder --version`: this build, and the helper prepare would ship (or why there is none).
pub fn render_version(
    version: &str,
    helper: &procoder_manifest::Result<Helper>,
) -> (Value, String) {
    let mut t = format!("procoder {version}\n");
    let helper_value = match helper {
        Ok(h) => {
            let sha = h.sha256();
            let linkage = match h.linkage {
                Linkage::Static => "static",
                Linkage::Dynamic => "dynamic",
            };
            let hv = h.version();
            let _ = writeln!(
                t,
                "helper: procoder-return {}, {}",
                hv.as_deref().unwrap_or("(version unknown)"),
                h.origin
            );
            let _ = writeln!(
                t,
                "  {linkage} Linux x86-64 executable, {}, sha256 {sha}",
                human_bytes(h.bytes.len() as u64)
            );
            json!({
                "origin": h.origin.kind(),
                "path": h.origin.path().map(|p| p.display().to_string()),
                "version": hv,
                "sha256": sha,
                "bytes": h.bytes.len(),
                "linkage": linkage,
            })
        }
        Err(f) => {
            let _ = writeln!(t, "helper: none (prepare would fail)");
            for line in failure_text(f).lines() {
                let _ = writeln!(t, "  {line}");
            }
            Value::Null
        }
    };
    let mut value = json!({ "version": version, "helper": helper_value });
    if let Err(f) = helper {
        value["helper_error"] = error_json(f);
    }
    (value, t)
}

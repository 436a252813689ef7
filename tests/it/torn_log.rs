//! The log cut from outside (jj's `test_bad_locking_interrupted`): recovery reads only what
//! was synced. A torn last line (no newline, not JSON) is ignored and the state comes from
//! the complete lines; a log that ends right after the `plan` record is an interrupted
//! apply, recoverable both ways.

use crate::common::*;
use std::path::Path;

/// A fully applied package of three refs; returns it and the log as it was.
fn applied() -> (MultiReturned, Vec<u8>) {
    let r = MultiReturned::new(2);
    assert_success(&r.apply_in(&r.local.dir), "procoder apply");
    assert_refs(&r.local.dir, &r.edits, Side::New, "apply");
    let log = std::fs::read(log_path(&r.local.dir, &r.prepared.id)).expect("the log");
    (r, log)
}

/// The byte offsets where each line of `log` ends (just after its newline).
fn line_ends(log: &[u8]) -> Vec<usize> {
    log.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect()
}

/// Keeps the first `keep` complete lines and `torn` bytes of the next one (no newline).
fn cut(dir: &Path, id: &str, log: &[u8], keep: usize, torn: usize) {
    let ends = line_ends(log);
    let start = if keep == 0 { 0 } else { ends[keep - 1] };
    let end = start + torn;
    assert!(
        torn == 0 || end < ends[keep] - 1,
        "the torn part must stop before the end of the line"
    );
    std::fs::write(log_path(dir, id), &log[..end]).expect("cut the log");
}

/// Index of the first record with `step`.
fn index_of(dir: &Path, id: &str, step: &str) -> usize {
    log_steps(dir, id)
        .iter()
        .position(|s| s == step)
        .unwrap_or_else(|| panic!("no {step} record"))
}

/// Recovers `dir` the `way` given and checks refs, log, state and soundness.
fn recover_and_check(r: &MultiReturned, repo: &TestRepo, way: Side, what: &str) {
    let d = &repo.dir;
    let id = r.prepared.id.as_str();
    let out = recover(d, way, id);
    assert_success(&out, what);
    assert_refs(d, &r.edits, way, what);
    let expected = match way {
        Side::New => "applied",
        Side::Old => "prepared",
    };
    assert_eq!(state_of(d, id), expected, "{what}");
    // procoder could read its log again (status above). The torn bytes may stay in it or
    // not, so only the last line is read here.
    let text = std::fs::read_to_string(log_path(d, id)).expect("the log");
    assert!(
        text.ends_with('\n'),
        "{what}: the log ends with a whole line"
    );
    let last: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a line")).expect("the last line is JSON");
    let step = if way == Side::New {
        "committed"
    } else {
        "rolled_back"
    };
    assert_eq!(last["step"], step, "{what}: {last}");
    assert_sound(d, what);
    // And the next mutating command works on that log.
    assert_success(&r.apply_in(d), &format!("apply after {what}"));
    assert_refs(d, &r.edits, Side::New, &format!("apply after {what}"));
    assert_eq!(state_of(d, id), "applied", "apply after {what}");
}

/// The `committed` line cut in half: status derives `interrupted`, all refs done, from the
/// complete lines, and does not fail on the torn one.
#[test]
fn torn_last_line_is_ignored_by_status() {
    let (r, log) = applied();
    let d = &r.local.dir;
    let id = r.prepared.id.as_str();
    let committed = index_of(d, id, "committed");
    cut(d, id, &log, committed, 20);
    let row = status_row(d, id);
    assert_eq!(row["state"], "interrupted", "{row}");
    assert_eq!(row["interrupted"]["tx"], 1, "{row}");
    assert_eq!(row["interrupted"]["refs_total"], 3, "{row}");
    assert_eq!(row["interrupted"]["refs_done"], 3, "{row}");
    let text = stdout(&r.local.procoder(&["status"]));
    assert!(
        text.starts_with(&format!("!! INTERRUPTED apply of {id}: run `procoder apply --continue {id}` or `procoder apply --abort {id}`")),
        "{text}"
    );
}

/// A `ref_updated` line cut in half (the ref itself had moved): status counts only the
/// complete lines.
#[test]
fn torn_ref_updated_line_counts_only_complete_lines() {
    let (r, log) = applied();
    let d = &r.local.dir;
    let id = r.prepared.id.as_str();
    let first_ref = index_of(d, id, "ref_updated");
    cut(d, id, &log, first_ref + 1, 30); // one whole ref_updated, the second torn
    let row = status_row(d, id);
    assert_eq!(row["state"], "interrupted", "{row}");
    assert_eq!(row["interrupted"]["refs_done"], 1, "{row}");
}

/// Torn `committed` line, then `apply --continue`: must finish, and the log must stay
/// readable for every later command.
#[test]
fn torn_last_line_then_continue() {
    let (r, log) = applied();
    let id = r.prepared.id.as_str();
    let committed = index_of(&r.local.dir, id, "committed");
    cut(&r.local.dir, id, &log, committed, 20);
    recover_and_check(
        &r,
        &r.local,
        Side::New,
        "torn committed line, then --continue",
    );
}

/// Torn `committed` line, then `apply --abort`: every ref goes back, and the log stays
/// readable.
#[test]
fn torn_last_line_then_abort() {
    let (r, log) = applied();
    let id = r.prepared.id.as_str();
    let committed = index_of(&r.local.dir, id, "committed");
    cut(&r.local.dir, id, &log, committed, 20);
    recover_and_check(&r, &r.local, Side::Old, "torn committed line, then --abort");
}

/// Torn second `ref_updated` line, then `apply --continue` (a ref already at its new value
/// whose record was lost is skipped, the others move).
#[test]
fn torn_ref_updated_line_then_continue() {
    let (r, log) = applied();
    let d = &r.local.dir;
    let id = r.prepared.id.as_str();
    let first_ref = index_of(d, id, "ref_updated");
    cut(d, id, &log, first_ref + 1, 30);
    // Put the refs whose record is missing back to old, as if the crash came before they moved
    // (the torn one stays at new: its move happened, its record was cut).
    let plan = planned_edits(d, id);
    for e in &plan[2..] {
        match &e.old {
            Some(old) => r.local.git(&["update-ref", &e.name, old, &e.new]),
            None => r.local.git(&["update-ref", "-d", &e.name, &e.new]),
        };
    }
    recover_and_check(
        &r,
        &r.local,
        Side::New,
        "torn ref_updated line, then --continue",
    );
}

/// The log ends right after the `plan` record (every ref had moved, none was logged):
/// interrupted with nothing done; `--continue` on one copy commits, `--abort` on another puts
/// every ref back.
#[test]
fn log_ending_after_plan_recovers_both_ways() {
    let (r, log) = applied();
    let d = &r.local.dir;
    let id = r.prepared.id.as_str();
    let plan = index_of(d, id, "plan");
    cut(d, id, &log, plan + 1, 0);
    assert_eq!(log_steps(d, id).last().map(String::as_str), Some("plan"));
    let row = status_row(d, id);
    assert_eq!(row["state"], "interrupted", "{row}");
    assert_eq!(row["interrupted"]["refs_done"], 0, "{row}");
    assert_eq!(row["interrupted"]["refs_total"], 3, "{row}");
    for way in [Side::New, Side::Old] {
        let copy = r.local.copy();
        recover_and_check(&r, &copy, way, &format!("log ending after plan, {way:?}"));
    }
}

/// The log ends right after the `plan` record and the refs had not moved yet (a crash
/// before the first ref): both ways work too.
#[test]
fn log_ending_after_plan_with_refs_unmoved() {
    let (r, log) = applied();
    let d = &r.local.dir;
    let id = r.prepared.id.as_str();
    let plan = index_of(d, id, "plan");
    cut(d, id, &log, plan + 1, 0);
    for e in &r.edits {
        match &e.old {
            Some(old) => r.local.git(&["update-ref", &e.name, old, &e.new]),
            None => r.local.git(&["update-ref", "-d", &e.name, &e.new]),
        };
    }
    for way in [Side::New, Side::Old] {
        let copy = r.local.copy();
        recover_and_check(
            &r,
            &copy,
            way,
            &format!("log ending after plan, refs unmoved, {way:?}"),
        );
    }
}

//! Crashes at every logged step of `apply` and `prepare` (`PROCODER_TEST_CRASH_AFTER`, the
//! process really dies of SIGABRT), then recovery: each crashed apply is finished with
//! `apply --continue` on one copy of the repository and undone with `apply --abort` on
//! another; each crashed prepare is closed with `procoder abort`. git is the oracle for every
//! ref; `git fsck --strict` must stay clean and no lock or temporary file may be left.

use crate::common::*;

/// Two extra family branches besides the task branch: three refs, so a crash after the
/// first `ref_updated` leaves a partial state.
const EXTRA: usize = 2;

/// Crashes `apply` after `step`, checks the crashed state, then recovers it both ways.
fn crash_apply(step: &str) {
    let r = MultiReturned::new(EXTRA);
    let dir = &r.local.dir;
    let id = r.prepared.id.as_str();
    let others = other_refs(dir, &r.edits);

    crash_run(dir, &["apply", r.zip_arg()], step);
    let steps = log_steps(dir, id);
    assert_eq!(
        steps.last().map(String::as_str),
        Some(step),
        "the crash happens right after the {step} record: {steps:?}"
    );
    let plan = planned_edits(dir, id);
    let mut sorted_plan = plan.clone();
    sorted_plan.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        sorted_plan, r.edits,
        "the plan records every ref, old and new"
    );

    // What the crash left: refs moved up to the crash point, and the state status derives.
    let moved = match step {
        "plan" => 0,
        "ref_updated" => 1,
        "committed" => plan.len(),
        _ => unreachable!("not an apply step: {step}"),
    };
    for (i, e) in plan.iter().enumerate() {
        let side = if i < moved { Side::New } else { Side::Old };
        assert_refs(
            dir,
            std::slice::from_ref(e),
            side,
            &format!("crash after {step}"),
        );
    }
    let row = status_row(dir, id);
    if step == "committed" {
        assert_eq!(row["state"], "applied", "{row}");
        assert_eq!(row["applied_times"], 1, "{row}");
    } else {
        assert_eq!(row["state"], "interrupted", "{row}");
        assert_eq!(row["interrupted"]["tx"], 1, "{row}");
        assert_eq!(row["interrupted"]["refs_total"], plan.len(), "{row}");
        assert_eq!(row["interrupted"]["refs_done"], moved, "{row}");
    }

    for way in [Side::New, Side::Old] {
        let copy = r.local.copy();
        let d = &copy.dir;
        let what = format!("crash after {step}, then {way:?} recovery");
        if step == "committed" {
            // Nothing to recover: both ways say so and change nothing.
            let before = copy.snapshot();
            let err = assert_code(&recover(d, way, id), "NOTHING_INTERRUPTED");
            assert!(err.contains("there is no interrupted apply"), "{err}");
            before.assert_unchanged(d, "apply --continue/--abort without an interrupted apply");
            assert_refs(d, &r.edits, Side::New, &what);
            assert_eq!(state_of(d, id), "applied");
            assert_success(&r.apply_in(d), "re-applying after a crash after committed");
        } else {
            refuses_while_interrupted(&copy, &r, id);
            let out = recover(d, way, id);
            assert_success(&out, &what);
            assert_refs(d, &r.edits, way, &what);
            let last = log_records(d, id).pop().expect("a record");
            let expected_step = if way == Side::New {
                "committed"
            } else {
                "rolled_back"
            };
            assert_eq!(last["step"], expected_step, "{last}");
            assert_eq!(last["tx"], 1, "{last}");
            let row = status_row(d, id);
            if way == Side::New {
                assert_eq!(row["state"], "applied", "{row}");
                assert_eq!(row["applied_times"], 1, "{row}");
            } else {
                assert_eq!(row["state"], "prepared", "{row}");
                assert!(row.get("applied_times").is_none(), "{row}");
            }
            assert!(row.get("interrupted").is_none(), "{row}");
            // A second recovery finds nothing to do.
            let err = assert_code(&recover(d, way, id), "NOTHING_INTERRUPTED");
            assert!(err.contains("there is no interrupted apply"), "{err}");
        }
        assert_sound(d, &what);
        assert_eq!(other_refs(d, &r.edits), others, "{what}: other refs moved");

        // The repository is usable again: the same package applies (or is already applied).
        assert_success(&r.apply_in(d), &format!("apply after {what}"));
        assert_refs(d, &r.edits, Side::New, &format!("apply after {what}"));
        assert_eq!(state_of(d, id), "applied");
        assert_sound(d, &format!("apply after {what}"));
    }
}

/// While an apply is interrupted, `prepare` and `apply <zip>` refuse with
/// `APPLY_INTERRUPTED`, name both ways out, and change nothing.
fn refuses_while_interrupted(repo: &TestRepo, r: &MultiReturned, id: &str) {
    let before = repo.snapshot();
    let log_before = std::fs::read(log_path(&repo.dir, id)).expect("the log");
    for args in [vec!["prepare"], vec!["apply", r.zip_arg()]] {
        let err = assert_code(&repo.procoder(&args), "APPLY_INTERRUPTED");
        assert!(
            err.contains(&format!("procoder apply --continue {id}"))
                && err.contains(&format!("procoder apply --abort {id}")),
            "the hint names both ways out:\n{err}"
        );
        before.assert_unchanged(&repo.dir, &format!("procoder {args:?} while interrupted"));
    }
    assert_eq!(
        std::fs::read(log_path(&repo.dir, id)).expect("the log"),
        log_before,
        "a refused command wrote to the log"
    );
}

#[test]
fn apply_crash_after_plan_continue_and_abort() {
    crash_apply("plan");
}

#[test]
fn apply_crash_after_first_ref_updated_continue_and_abort() {
    crash_apply("ref_updated");
}

#[test]
fn apply_crash_after_committed_is_applied() {
    crash_apply("committed");
}

/// Crashes `prepare` after `step`; status shows it, `procoder abort` removes every trace, and
/// a fresh prepare works.
fn crash_prepare(step: &str) {
    let local = TestRepo::new();
    let dir = &local.dir;
    let before = local.snapshot();
    let base = local.rev("HEAD");

    crash_run(dir, &["prepare", "--json"], step);
    let ids = exchange_ids(dir);
    assert_eq!(ids.len(), 1, "one exchange record: {ids:?}");
    let id = ids[0].as_str();
    let task_ref = format!("refs/heads/procoder/{id}/task");
    let package = dir.join(format!("procoder-task-{id}.zip"));
    let steps = log_steps(dir, id);
    assert_eq!(steps.last().map(String::as_str), Some(step), "{steps:?}");

    let branch_created = step != "begin";
    let package_written = matches!(step, "package_written" | "prepared");
    assert_eq!(
        ref_value(dir, &task_ref),
        branch_created.then(|| base.clone()),
        "after a crash after {step}"
    );
    assert_eq!(package.is_file(), package_written, "after {step}");

    let row = status_row(dir, id);
    let expected_state = if step == "prepared" {
        "prepared"
    } else {
        "preparing"
    };
    assert_eq!(row["state"], expected_state, "{row}");
    assert_eq!(row["task_ref"], task_ref.as_str(), "{row}");
    assert_eq!(
        row["task_tip"].as_str(),
        branch_created.then_some(base.as_str()),
        "{row}"
    );
    assert_eq!(row["package_present"], package_written, "{row}");
    let text = stdout(&local.procoder(&["status"]));
    let warning = format!("!! prepare of {id} did not finish: run `procoder abort {id}`");
    assert_eq!(
        text.lines().any(|l| l.starts_with(&warning)),
        expected_state == "preparing",
        "status text after a crash after {step}:\n{text}"
    );

    let out = local.procoder(&["abort", id, "--json"]);
    assert_success(&out, "procoder abort after a crashed prepare");
    let json = json_stdout(&out);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["rolled_back"], false, "{json}");
    let deleted: Vec<&str> = if branch_created {
        vec![task_ref.as_str()]
    } else {
        vec![]
    };
    assert_eq!(json["deleted"], serde_json::json!(deleted), "{json}");
    assert_eq!(json["kept"], serde_json::json!([]), "{json}");
    match json["package_deleted"].as_str() {
        Some(p) => {
            assert!(package_written, "{json}");
            assert!(same_path(std::path::Path::new(p), &package), "{json}");
        }
        None => assert!(!package_written, "{json}"),
    }

    // Every trace is gone: refs, work tree, index, exclude file are as before the prepare.
    assert!(!package.exists(), "the package is deleted");
    let mut after = local.snapshot();
    assert_eq!(after.exchange_records, vec![id.to_owned()]);
    after.exchange_records.clear();
    assert_eq!(before, after, "after a crash after {step} and abort");
    assert_eq!(state_of(dir, id), "aborted");
    assert_sound(dir, &format!("crash after {step} and abort"));

    // A fresh prepare works and leaves the aborted exchange alone.
    let fresh = local.prepare();
    assert_ne!(fresh.id, id);
    assert_eq!(local.rev(&fresh.task_ref), base);
    assert_eq!(state_of(dir, &fresh.id), "prepared");
    assert_eq!(state_of(dir, id), "aborted");
    assert_sound(dir, &format!("a fresh prepare after a crash after {step}"));
}

#[test]
fn prepare_crash_after_begin() {
    crash_prepare("begin");
}

#[test]
fn prepare_crash_after_branch_created() {
    crash_prepare("branch_created");
}

#[test]
fn prepare_crash_after_package_written() {
    crash_prepare("package_written");
}

#[test]
fn prepare_crash_after_prepared() {
    crash_prepare("prepared");
}

/// `refs/heads/x` as `x`, for `git branch`.
fn short(name: &str) -> &str {
    name.trim_start_matches("refs/heads/")
}

/// A ref someone else moved between the crash and `--continue`: refused with `BRANCH_MOVED`
/// naming it, its value kept; once it is set back, `--continue` finishes.
#[test]
fn continue_refuses_a_ref_moved_since_the_crash() {
    let r = MultiReturned::new(EXTRA);
    let d = &r.local.dir;
    let id = r.prepared.id.as_str();
    crash_run(d, &["apply", r.zip_arg()], "ref_updated");
    let plan = planned_edits(d, id);
    let other = r.local.rev("main~1");

    // A ref the apply had yet to create now exists elsewhere.
    let pending = plan
        .iter()
        .skip(1)
        .find(|e| e.old.is_none())
        .expect("a pending created ref");
    r.local.git(&["branch", short(&pending.name), &other]);
    let out = recover(d, Side::New, id);
    let err = assert_code(&out, "BRANCH_MOVED");
    assert!(
        err.lines()
            .next()
            .is_some_and(|l| l.contains(&pending.name)),
        "{err}"
    );
    assert!(
        err.contains(&format!("Current local OID: {other}")),
        "{err}"
    );
    assert_eq!(
        ref_value(d, &pending.name),
        Some(other.clone()),
        "not overwritten"
    );
    assert_eq!(state_of(d, id), "interrupted");

    // The existing task branch moved by someone else.
    r.local.git(&["update-ref", "-d", &pending.name]);
    let task = r.edit(&r.prepared.task_ref);
    r.local.git(&["update-ref", &task.name, &other]);
    let out = run_procoder(d, &["apply", "--continue", id, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let json = json_stdout(&out);
    assert_eq!(json["ok"], false, "{json}");
    assert_eq!(json["error"]["code"], "BRANCH_MOVED", "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&task.name)),
        "{json}"
    );
    assert_eq!(
        ref_value(d, &task.name),
        Some(other.clone()),
        "not overwritten"
    );
    assert_eq!(state_of(d, id), "interrupted");
    assert_eq!(
        ref_value(d, &pending.name).as_deref(),
        Some(pending.new.as_str())
    );

    // Set back, the apply finishes.
    r.local
        .git(&["update-ref", &task.name, task.old.as_deref().expect("old")]);
    assert_success(&recover(d, Side::New, id), "apply --continue once set back");
    assert_refs(d, &r.edits, Side::New, "continue once set back");
    assert_eq!(state_of(d, id), "applied");
    assert_sound(d, "continue once set back");
}

/// A ref the interrupted apply had already moved, moved again by someone else:
/// `--abort` refuses with `BRANCH_MOVED` naming it and neither resets nor deletes it.
#[test]
fn abort_refuses_a_ref_moved_since_the_crash() {
    let r = MultiReturned::new(EXTRA);
    let d = &r.local.dir;
    let id = r.prepared.id.as_str();
    crash_run(d, &["apply", r.zip_arg()], "ref_updated");
    let plan = planned_edits(d, id);
    let done = &plan[0];
    assert_eq!(ref_value(d, &done.name).as_deref(), Some(done.new.as_str()));
    let other = r.local.rev("main~1");
    r.local.git(&["update-ref", &done.name, &other]);

    let err = assert_code(&recover(d, Side::Old, id), "BRANCH_MOVED");
    assert!(
        err.lines().next().is_some_and(|l| l.contains(&done.name)),
        "{err}"
    );
    assert!(
        err.contains(&format!("Current local OID: {other}")),
        "{err}"
    );
    assert_eq!(
        ref_value(d, &done.name),
        Some(other.clone()),
        "not overwritten"
    );
    assert_eq!(state_of(d, id), "interrupted");
    // `procoder abort` rolls back the same way and refuses the same way.
    let err = assert_code(&r.local.procoder(&["abort", id]), "BRANCH_MOVED");
    assert!(err.contains(&done.name), "{err}");
    assert_eq!(
        ref_value(d, &done.name),
        Some(other.clone()),
        "not overwritten"
    );
    assert!(
        r.prepared.zip.is_file(),
        "a refused abort keeps the task package"
    );

    r.local.git(&["update-ref", &done.name, &done.new]);
    assert_success(&recover(d, Side::Old, id), "apply --abort once set back");
    assert_refs(d, &r.edits, Side::Old, "abort once set back");
    assert_eq!(state_of(d, id), "prepared");
    assert_sound(d, "abort once set back");
}

/// What `kill -9` in the middle of a ref move leaves (the kill loop hits it often): the
/// ref's `<name>.lock` written by libgit2 but not yet renamed. procoder holds its own lock,
/// so nothing else is moving the family's refs: recovery must finish both ways and leave no
/// lock file behind (deterministic version of what `kill_loop` finds).
#[test]
fn stale_ref_lock_left_by_a_kill_mid_ref() {
    let r = MultiReturned::new(EXTRA);
    let id = r.prepared.id.as_str();
    crash_run(&r.local.dir, &["apply", r.zip_arg()], "plan");
    let first = planned_edits(&r.local.dir, id)[0].clone();
    assert_eq!(first.old, None, "the first ref is one the apply creates");
    let lock = r
        .local
        .dir
        .join(".git")
        .join(format!("{}.lock", first.name));
    std::fs::write(&lock, format!("{}\n", first.new)).expect("write the ref lock");

    for way in [Side::New, Side::Old] {
        let copy = r.local.copy();
        let d = &copy.dir;
        let what = format!("a stale {}.lock, then {way:?} recovery", first.name);
        assert_success(&recover(d, way, id), &what);
        assert_refs(d, &r.edits, way, &what);
        assert_sound(d, &what);
        assert_success(&r.apply_in(d), &format!("apply after {what}"));
        assert_refs(d, &r.edits, Side::New, &format!("apply after {what}"));
    }
}

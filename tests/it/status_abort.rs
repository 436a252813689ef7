//! `procoder status` and `procoder abort` in every state an exchange can be in (preparing,
//! prepared, applied, interrupted, aborted), JSON checked field by field against the values
//! git and the exchange record hold; abort's branch rules (at base: deleted; with commits:
//! kept unless `--force`; checked out: never deleted).

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;

/// What one status row must say.
struct Expect<'a> {
    state: &'a str,
    task_tip: Option<&'a str>,
    ahead: u64,
    package: &'a Path,
    package_present: bool,
    /// `applied_times` or `interrupted`, present only in those states.
    extra: Option<(&'a str, Value)>,
}

/// Checks every field of the status row of `id`.
fn assert_row(dir: &Path, id: &str, want: &Expect) {
    let row = status_row(dir, id);
    let mut keys: Vec<&str> = row
        .as_object()
        .expect("a row is an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected_keys = vec![
        "age_seconds",
        "ahead",
        "branches",
        "created_at",
        "exchange_id",
        "package",
        "package_present",
        "state",
        "task_ref",
        "task_tip",
    ];
    if let Some((k, _)) = &want.extra {
        expected_keys.push(k);
    }
    expected_keys.sort_unstable();
    assert_eq!(keys, expected_keys, "{row}");

    let record = exchange_record(dir, id);
    assert_eq!(row["exchange_id"], id, "{row}");
    assert_eq!(row["state"], want.state, "{row}");
    assert_eq!(row["created_at"], record["created_at"], "{row}");
    let age = row["age_seconds"]
        .as_i64()
        .expect("age_seconds is an integer");
    assert!((0..600).contains(&age), "{row}");
    assert_eq!(
        row["task_ref"],
        format!("refs/heads/procoder/{id}/task"),
        "{row}"
    );
    assert_eq!(row["task_ref"], record["task"]["root_ref"], "{row}");
    assert_eq!(row["task_tip"].as_str(), want.task_tip, "{row}");
    assert_eq!(
        row["task_tip"].as_str().map(str::to_owned),
        ref_value(dir, &format!("refs/heads/procoder/{id}/task")),
        "task_tip is what git says: {row}"
    );
    // `want.ahead` is the task branch's work; the row counts every family branch's, as git
    // counts the commits of all of them beyond the base.
    let family = git(
        dir,
        &[
            "for-each-ref",
            "--format=%(refname)",
            &format!("refs/heads/procoder/{id}/"),
        ],
    );
    let branches: Vec<&str> = family.lines().collect();
    assert_eq!(row["branches"], json!(branches), "{row}");
    let base = record["task"]["base_oid"].as_str().expect("base_oid");
    let mut args = vec!["rev-list", "--count"];
    args.extend(&branches);
    args.extend(["--not", base]);
    let all = if branches.is_empty() {
        "0".to_owned()
    } else {
        git(dir, &args)
    };
    assert_eq!(row["ahead"].to_string(), all.trim(), "{row}");
    assert!(row["ahead"].as_u64() >= Some(want.ahead), "{row}");
    let package = row["package"].as_str().expect("package is a string");
    assert!(same_path(Path::new(package), want.package), "{row}");
    assert_eq!(row["package_present"], want.package_present, "{row}");
    assert_eq!(want.package.is_file(), want.package_present, "{row}");
    if let Some((k, v)) = &want.extra {
        assert_eq!(&row[*k], v, "{row}");
    }
}

/// Runs `procoder abort <id> [extra] --json`, checks the shape and returns it.
fn abort_json(dir: &Path, id: &str, extra: &[&str]) -> Value {
    let mut args = vec!["abort", id, "--json"];
    args.extend_from_slice(extra);
    let out = run_procoder(dir, &args);
    assert_success(&out, &format!("procoder {args:?}"));
    let json = json_stdout(&out);
    let mut keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "command",
            "deleted",
            "exchange_id",
            "kept",
            "ok",
            "package_deleted",
            "rolled_back",
            "schema"
        ],
        "{json}"
    );
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["command"], "abort", "{json}");
    assert_eq!(json["exchange_id"], id, "{json}");
    json
}

/// A JSON array of strings as a sorted list.
fn sorted(v: &Value) -> Vec<String> {
    let mut list: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect();
    list.sort();
    list
}

/// The ref names of `kept` entries (`<ref> (<why>)`), sorted; each must give a reason.
fn kept_refs(v: &Value, why: &str) -> Vec<String> {
    let mut names: Vec<String> = sorted(v)
        .iter()
        .map(|k| {
            let (name, reason) = k
                .split_once(" (")
                .unwrap_or_else(|| panic!("kept entry without a reason: {k}"));
            assert!(reason.contains(why), "kept entry {k} should say {why}");
            name.to_owned()
        })
        .collect();
    names.sort();
    names
}

fn exclude_lines(dir: &Path) -> String {
    std::fs::read_to_string(common_dir(dir).join("info/exclude")).unwrap_or_default()
}

/// After abort: the row says aborted, the task branch as git has it, the package gone.
fn assert_aborted_row(dir: &Path, id: &str, package: &Path, ahead: u64) {
    let tip = ref_value(dir, &format!("refs/heads/procoder/{id}/task"));
    assert_row(
        dir,
        id,
        &Expect {
            state: "aborted",
            task_tip: tip.as_deref(),
            ahead,
            package,
            package_present: false,
            extra: None,
        },
    );
    let last = log_records(dir, id).pop().expect("a record");
    assert_eq!(last["step"], "aborted", "{last}");
    assert_eq!(last["op"], "abort", "{last}");
}

#[test]
fn status_with_no_exchanges() {
    let local = TestRepo::new();
    assert_eq!(
        status_json(&local.dir),
        json!({"ok": true, "schema": "procoder/v1", "command": "status", "exchanges": []})
    );
    let text = stdout(&local.procoder(&["status"]));
    assert!(text.starts_with("No exchanges."), "{text}");
}

#[test]
fn preparing_status_and_abort() {
    let local = TestRepo::new();
    let dir = &local.dir;
    let base = local.rev("HEAD");
    crash_run(dir, &["prepare"], "branch_created");
    let id = exchange_ids(dir).pop().expect("a record");
    let package = dir.join(format!("procoder-task-{id}.zip"));
    let task_ref = format!("refs/heads/procoder/{id}/task");
    assert_row(
        dir,
        &id,
        &Expect {
            state: "preparing",
            task_tip: Some(&base),
            ahead: 0,
            package: &package,
            package_present: false,
            extra: None,
        },
    );
    let text = stdout(&local.procoder(&["status"]));
    assert!(
        text.lines().next().is_some_and(|l| l.starts_with(&format!(
            "!! prepare of {id} did not finish: run `procoder abort {id}`"
        ))),
        "{text}"
    );

    let json = abort_json(dir, &id, &[]);
    assert_eq!(json["rolled_back"], false, "{json}");
    assert_eq!(sorted(&json["deleted"]), vec![task_ref.clone()], "{json}");
    assert_eq!(json["kept"], json!([]), "{json}");
    assert_eq!(json["package_deleted"], Value::Null, "{json}");
    assert_eq!(ref_value(dir, &task_ref), None);
    assert_aborted_row(dir, &id, &package, 0);
    assert_sound(dir, "abort of a preparing exchange");
}

#[test]
fn prepared_status_and_abort_then_aborted_status_and_abort_again() {
    let local = TestRepo::new();
    let dir = &local.dir;
    let p = local.prepare();
    let exclude_line = format!("/procoder-task-{}.zip", p.id);
    assert!(exclude_lines(dir).lines().any(|l| l == exclude_line));
    assert_row(
        dir,
        &p.id,
        &Expect {
            state: "prepared",
            task_tip: Some(&p.base_oid),
            ahead: 0,
            package: &p.zip,
            package_present: true,
            extra: None,
        },
    );
    assert_eq!(status_row(dir, &p.id)["package"], p.json["package"]);
    let text = stdout(&local.procoder(&["status"]));
    let line = text
        .lines()
        .find(|l| l.starts_with(&p.id))
        .unwrap_or_else(|| panic!("no row for {}:\n{text}", p.id));
    assert!(
        line.contains("prepared") && line.contains("present") && line.contains(&p.base_oid[..12]),
        "{line}"
    );
    assert!(!text.contains("!!"), "{text}");

    let json = abort_json(dir, &p.id, &[]);
    assert_eq!(json["rolled_back"], false, "{json}");
    assert_eq!(sorted(&json["deleted"]), vec![p.task_ref.clone()], "{json}");
    assert_eq!(json["kept"], json!([]), "{json}");
    assert_eq!(json["package_deleted"], p.json["package"], "{json}");
    assert!(!p.zip.exists(), "the package is deleted");
    assert!(
        !exclude_lines(dir).lines().any(|l| l == exclude_line),
        "the exclude line is removed:\n{}",
        exclude_lines(dir)
    );
    assert_eq!(ref_value(dir, &p.task_ref), None);
    assert_aborted_row(dir, &p.id, &p.zip, 0);
    assert_sound(dir, "abort of a prepared exchange");

    // Aborting an aborted exchange again finds nothing left to do and changes nothing.
    let before = local.snapshot();
    let json = abort_json(dir, &p.id, &[]);
    assert_eq!(json["rolled_back"], false, "{json}");
    assert_eq!(json["deleted"], json!([]), "{json}");
    assert_eq!(json["kept"], json!([]), "{json}");
    assert_eq!(json["package_deleted"], Value::Null, "{json}");
    before.assert_unchanged(dir, "a second abort");
    assert_aborted_row(dir, &p.id, &p.zip, 0);
    assert_sound(dir, "a second abort");
}

#[test]
fn applied_status_and_abort_keeps_branches_with_commits() {
    let r = MultiReturned::new(2);
    let dir = &r.local.dir;
    let id = r.prepared.id.as_str();
    assert_success(&r.apply_in(dir), "apply");
    let task = r.edit(&r.prepared.task_ref);
    assert_row(
        dir,
        id,
        &Expect {
            state: "applied",
            task_tip: Some(&task.new),
            ahead: 2,
            package: &r.prepared.zip,
            package_present: true,
            extra: Some(("applied_times", json!(1))),
        },
    );
    // A family branch still at the base (made locally) is deleted; the others are kept.
    let at_base = r.prepared.family_ref("at-base");
    r.local.git(&["update-ref", &at_base, &r.prepared.base_oid]);

    let json = abort_json(dir, id, &[]);
    assert_eq!(json["rolled_back"], false, "{json}");
    assert_eq!(sorted(&json["deleted"]), vec![at_base.clone()], "{json}");
    let mut with_commits: Vec<String> = r.edits.iter().map(|e| e.name.clone()).collect();
    with_commits.sort();
    assert_eq!(kept_refs(&json["kept"], "--force"), with_commits, "{json}");
    assert_eq!(
        json["package_deleted"], r.prepared.json["package"],
        "{json}"
    );
    assert_refs(dir, &r.edits, Side::New, "abort without --force");
    assert_eq!(ref_value(dir, &at_base), None);
    assert_aborted_row(dir, id, &r.prepared.zip, 2);
    assert_sound(dir, "abort of an applied exchange");
}

#[test]
fn abort_force_deletes_branches_with_commits_but_never_a_checked_out_one() {
    let r = MultiReturned::new(2);
    let dir = &r.local.dir;
    let id = r.prepared.id.as_str();
    assert_success(&r.apply_in(dir), "apply");
    let extra1 = r.prepared.family_ref("extra1");
    let extra2 = r.prepared.family_ref("extra2");
    // The task branch checked out in the main worktree, extra1 in a linked one.
    r.local.git(&[
        "checkout",
        "-q",
        r.prepared.task_ref.trim_start_matches("refs/heads/"),
    ]);
    let wt = dir.parent().expect("a parent").join("linked");
    r.local.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().expect("utf-8"),
        extra1.trim_start_matches("refs/heads/"),
    ]);

    let json = abort_json(dir, id, &["--force"]);
    assert_eq!(sorted(&json["deleted"]), vec![extra2.clone()], "{json}");
    let mut checked_out = vec![r.prepared.task_ref.clone(), extra1.clone()];
    checked_out.sort();
    assert_eq!(
        kept_refs(&json["kept"], "checked out"),
        checked_out,
        "{json}"
    );
    assert_eq!(ref_value(dir, &extra2), None);
    assert_refs(
        dir,
        &[
            r.edit(&r.prepared.task_ref).clone(),
            r.edit(&extra1).clone(),
        ],
        Side::New,
        "abort --force",
    );
    assert_eq!(
        git(dir, &["symbolic-ref", "HEAD"]),
        r.prepared.task_ref,
        "HEAD is left alone"
    );
    assert_aborted_row(dir, id, &r.prepared.zip, 2);
    assert_sound(dir, "abort --force");
}

#[test]
fn abort_without_force_keeps_a_checked_out_branch_at_the_base() {
    let local = TestRepo::new();
    let dir = &local.dir;
    let p = local.prepare();
    local.git(&[
        "checkout",
        "-q",
        p.task_ref.trim_start_matches("refs/heads/"),
    ]);
    let json = abort_json(dir, &p.id, &[]);
    assert_eq!(json["deleted"], json!([]), "{json}");
    assert_eq!(
        kept_refs(&json["kept"], "checked out"),
        vec![p.task_ref.clone()]
    );
    assert_eq!(ref_value(dir, &p.task_ref), Some(p.base_oid.clone()));
    assert_aborted_row(dir, &p.id, &p.zip, 0);
    assert_sound(dir, "abort with the task branch checked out");
}

#[test]
fn interrupted_status_is_listed_first_and_abort_rolls_it_back() {
    let local = TestRepo::new();
    let dir = &local.dir;
    let a = local.prepare();
    // Ids start with the UTC second: wait for the next one so the order is certain.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = local.prepare();
    let ids = |v: &Value| -> Vec<String> {
        v["exchanges"]
            .as_array()
            .expect("exchanges")
            .iter()
            .map(|r| r["exchange_id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(
        ids(&status_json(dir)),
        vec![b.id.clone(), a.id.clone()],
        "newest first"
    );
    let b_refs = all_refs(dir)
        .lines()
        .filter(|l| l.contains(&b.id))
        .map(str::to_owned)
        .collect::<Vec<_>>();

    let r = MultiReturned::build(local, a, 2);
    let dir = &r.local.dir;
    let a_id = r.prepared.id.as_str();
    crash_run(dir, &["apply", r.zip_arg()], "ref_updated");
    let plan = planned_edits(dir, a_id);
    let task_done = plan[0].name == r.prepared.task_ref;
    let task = r.edit(&r.prepared.task_ref);
    assert_eq!(
        ids(&status_json(dir)),
        vec![a_id.to_owned(), b.id.clone()],
        "interrupted first"
    );
    assert_row(
        dir,
        a_id,
        &Expect {
            state: "interrupted",
            task_tip: Some(if task_done {
                &task.new
            } else {
                &r.prepared.base_oid
            }),
            ahead: if task_done { 2 } else { 0 },
            package: &r.prepared.zip,
            package_present: true,
            extra: Some((
                "interrupted",
                json!({"tx": 1, "refs_total": 3, "refs_done": 1}),
            )),
        },
    );
    let text = stdout(&r.local.procoder(&["status"]));
    assert_eq!(
        text.lines().next(),
        Some(format!("!! INTERRUPTED apply of {a_id}: run `procoder apply --continue {a_id}` or `procoder apply --abort {a_id}`").as_str()),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(a_id) && l.contains("INTERRUPTED")),
        "{text}"
    );

    let json = abort_json(dir, a_id, &[]);
    assert_eq!(json["rolled_back"], true, "{json}");
    // Rolled back, the task branch is at the base again (deleted); created refs are gone.
    assert_eq!(
        sorted(&json["deleted"]),
        vec![r.prepared.task_ref.clone()],
        "{json}"
    );
    assert_eq!(json["kept"], json!([]), "{json}");
    assert_eq!(
        json["package_deleted"], r.prepared.json["package"],
        "{json}"
    );
    for e in &r.edits {
        assert_eq!(ref_value(dir, &e.name), None, "{} after abort", e.name);
    }
    let steps = log_steps(dir, a_id);
    assert_eq!(
        steps[steps.len() - 3..],
        ["ref_updated", "rolled_back", "aborted"],
        "{steps:?}"
    );
    assert_aborted_row(dir, a_id, &r.prepared.zip, 0);
    // The other exchange is untouched.
    assert_row(
        dir,
        &b.id,
        &Expect {
            state: "prepared",
            task_tip: Some(&b.base_oid),
            ahead: 0,
            package: &b.zip,
            package_present: true,
            extra: None,
        },
    );
    assert_eq!(
        all_refs(dir)
            .lines()
            .filter(|l| l.contains(&b.id))
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        b_refs
    );
    assert_eq!(
        ids(&status_json(dir)),
        vec![b.id.clone(), a_id.to_owned()],
        "newest first again"
    );
    assert_sound(dir, "abort of an interrupted apply");
}

/// Work on another family branch counts: an agent that worked on `procoder/<id>/fix` only
/// is not "0 ahead".
#[test]
fn status_counts_the_work_on_every_family_branch() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    let fix = format!("procoder/{}/fix", prepared.id);
    sandbox.git(&["switch", "-q", "-c", &fix]);
    sandbox.commit_file("fix.txt", "one\n");
    sandbox.commit_file("fix.txt", "two\n");
    let zip = sandbox.run_return();
    assert_success(
        &local.procoder(&["apply", zip.to_str().expect("utf-8")]),
        "apply",
    );
    // git's count of the family's commits beyond the base is the oracle.
    let want = local.git(&[
        "rev-list",
        "--count",
        &fix,
        &prepared.task_ref,
        "--not",
        &prepared.base_oid,
    ]);
    let row = status_row(&local.dir, &prepared.id);
    assert_eq!(row["ahead"].to_string(), want.trim());
    assert_eq!(row["ahead"], 2);
    let branches: Vec<&str> = row["branches"]
        .as_array()
        .expect("branches")
        .iter()
        .filter_map(|b| b.as_str())
        .collect();
    assert_eq!(
        branches,
        [format!("refs/heads/{fix}"), prepared.task_ref.clone()]
    );
}

//! What a person and a script see: `--help` of every command, and the human and JSON output
//! of prepare, apply (with `--dry-run` and `--checkout`), status, abort, close and of failures, pinned in
//! `tests/it/snapshots/*.txt` with paths, exchange ids, object ids, times and sizes redacted.
//! `PROCODER_BLESS=1 cargo test -p procoder-tests cli_snapshots` rewrites the files.

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// The id placeholder: the id's own shape, so tables keep their alignment.
const ID: &str = "YYYYMMDD-HHMMSS-xxxxxx";

/// Redactions for a repository made by `TestRepo` (its temporary folder is `[TMP]`).
fn redactions(local: &TestRepo) -> Redactions {
    let tmp = local
        .dir
        .parent()
        .expect("the repo lives in a temporary folder");
    Redactions::new().path(tmp, "[TMP]")
}

/// Human output: stdout, and stderr when there is any, with the exit status.
fn human(r: &Redactions, out: &Output) -> String {
    let mut s = format!("exit: {}\n", out.status.code().unwrap_or(-1));
    let text = stdout(out);
    if text.is_empty() {
        s.push_str("--- stdout: empty\n");
    } else {
        s.push_str("--- stdout\n");
        s.push_str(&r.text(&text));
    }
    let err = stderr(out);
    if !err.is_empty() {
        s.push_str("--- stderr\n");
        s.push_str(&r.text(&err));
    }
    s
}

/// JSON output: the one object on stdout, redacted and pretty; stderr must be empty.
fn json(r: &Redactions, out: &Output) -> String {
    let value = json_stdout(out);
    assert_eq!(
        stderr(out),
        "",
        "--json prints nothing on stderr for expected outcomes"
    );
    let raw = stdout(out);
    let head = format!(
        "{{\"ok\":{},\"schema\":\"procoder/v1\",\"command\":",
        value["ok"]
    );
    assert!(
        raw.starts_with(&head),
        "ok, schema and command come first: {raw}"
    );
    format!(
        "exit: {}\n{}",
        out.status.code().unwrap_or(-1),
        r.json(&value)
    )
}

fn help(args: &[&str]) -> String {
    let dir = tempfile::TempDir::new().expect("tmp");
    let out = run_procoder(dir.path(), args);
    assert_success(&out, &format!("procoder {args:?}"));
    assert_eq!(stderr(&out), "");
    stdout(&out)
}

#[test]
fn help_of_every_command() {
    assert_snapshot("help", &help(&["--help"]));
    for cmd in COMMANDS {
        let text = help(&[cmd, "--help"]);
        assert!(
            text.contains("\nExamples:\n"),
            "`procoder {cmd} --help` shows examples:\n{text}"
        );
        assert_snapshot(&format!("help-{cmd}"), &text);
    }
}

#[test]
fn prepare_human_json_quiet_and_refusal() {
    let local = TestRepo::new();
    let out = local.procoder(&["prepare"]);
    assert_success(&out, "prepare");
    let first = exchange_ids(&local.dir).pop().expect("an exchange");
    let r = redactions(&local).exchange(&first, ID);
    assert_snapshot("prepare", &human(&r, &out));

    let out = local.procoder(&["prepare", "--json"]);
    let id = json_stdout(&out)["exchange_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = redactions(&local).exchange(&id, ID);
    assert_snapshot("prepare-json", &json(&r, &out));

    let out = local.procoder(&["prepare", "--quiet"]);
    let ids = exchange_ids(&local.dir);
    let third = ids
        .iter()
        .find(|i| **i != first && **i != id)
        .expect("a third exchange");
    let r = redactions(&local).exchange(third, ID);
    assert_snapshot("prepare-quiet", &human(&r, &out));

    write_file(&local.dir, "notes.txt", b"changed\n");
    write_file(&local.dir, "new.txt", b"new\n");
    local.git(&["add", "new.txt"]);
    let r = redactions(&local);
    assert_snapshot(
        "error-worktree-dirty",
        &human(&r, &local.procoder(&["prepare"])),
    );
    assert_snapshot(
        "error-worktree-dirty-json",
        &json(&r, &local.procoder(&["prepare", "--json"])),
    );
}

#[test]
fn archive_human_json_and_refusal() {
    let local = TestRepo::new();
    write_file(&local.dir, "notes.txt", b"changed\n");
    write_file(&local.dir, "new.txt", b"new\n");
    let tmp = local
        .dir
        .parent()
        .expect("the repo lives in a temporary folder");
    let zip = |name: &str| tmp.join(name).to_str().expect("utf-8").to_owned();
    let r = redactions(&local);
    snap("archive", &r, &local.dir, &["archive", "-o", &zip("a.zip")]);
    snap(
        "archive-json",
        &r,
        &local.dir,
        &["archive", "-o", &zip("b.zip"), "--json"],
    );
    snap(
        "error-output-exists",
        &r,
        &local.dir,
        &["archive", "-o", &zip("a.zip")],
    );
}

#[test]
fn apply_dry_run_apply_already_applied_and_refusal() {
    let ret = Returned::new();
    let sandbox_tmp = ret.sandbox.root.parent().expect("sandbox folder");
    let r = redactions(&ret.local)
        .path(sandbox_tmp, "[SANDBOX]")
        .exchange(&ret.prepared.id, ID);
    assert_snapshot("apply-dry-run", &human(&r, &ret.apply(&["--dry-run"])));
    assert_snapshot(
        "apply-dry-run-json",
        &json(&r, &ret.apply(&["--dry-run", "--json"])),
    );
    assert_snapshot("apply", &human(&r, &ret.apply(&[])));
    assert_snapshot("apply-already-applied", &human(&r, &ret.apply(&[])));

    // A second return of the same exchange: applied as a fast-forward, in JSON.
    ret.sandbox.commit_file("second.txt", "more\n");
    ret.sandbox.run_return();
    assert_snapshot("apply-json", &json(&r, &ret.apply(&["--json"])));

    // The task branch moved locally: the dry run shows the conflict, the apply refuses.
    ret.sandbox.commit_file("third.txt", "even more\n");
    ret.sandbox.run_return();
    let task = ret.prepared.task_ref.trim_start_matches("refs/heads/");
    ret.local.git(&["branch", "-f", task, "main~1"]);
    assert_snapshot(
        "apply-dry-run-conflict",
        &human(&r, &ret.apply(&["--dry-run"])),
    );
    assert_snapshot("error-branch-moved", &human(&r, &ret.apply(&[])));
    assert_snapshot(
        "error-branch-moved-json",
        &json(&r, &ret.apply(&["--json"])),
    );
}

#[test]
fn apply_checkout_then_close() {
    let ret = Returned::new();
    let sandbox_tmp = ret.sandbox.root.parent().expect("sandbox folder");
    let r = redactions(&ret.local)
        .path(sandbox_tmp, "[SANDBOX]")
        .exchange(&ret.prepared.id, ID);
    assert_snapshot(
        "apply-checkout-dry-run",
        &human(&r, &ret.apply(&["--checkout", "--dry-run", "-q"])),
    );
    assert_snapshot(
        "apply-checkout",
        &human(&r, &ret.apply(&["--checkout", "-q"])),
    );
    assert_snapshot("close", &human(&r, &ret.local.procoder(&["close"])));
    assert_snapshot("error-exchange-closed", &human(&r, &ret.apply(&[])));
    let two = TestRepo::new();
    let first = two.prepare();
    let second = two.prepare();
    // Exchanges are listed newest id first; two made in the same second order by their random
    // suffix, so the labels go by id, not by which was made first.
    let (a, b) = if first.id < second.id {
        (first, second)
    } else {
        (second, first)
    };
    let r = redactions(&two)
        .exchange(&a.id, "[ID-A]----------------")
        .exchange(&b.id, "[ID-B]----------------");
    assert_snapshot(
        "error-exchange-id-required",
        &human(&r, &two.procoder(&["close"])),
    );
    assert_snapshot(
        "error-not-applied",
        &human(&r, &two.procoder(&["close", &a.id])),
    );
}

/// Sets the exchange record's `created_at` to `secs_ago` seconds before now, so the ages
/// status prints are the same on every run.
fn backdate(dir: &Path, id: &str, secs_ago: i64) {
    let path = store_dir(dir).join(format!("exchanges/{id}/exchange.json"));
    let mut record: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("record")).expect("JSON");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    record["created_at"] = Value::String(rfc3339(now - secs_ago));
    std::fs::write(&path, record.to_string()).expect("rewrite the record");
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (days to civil date: Howard Hinnant's algorithm).
fn rfc3339(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[test]
fn rfc3339_of_known_times() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_709_164_800 + 3661), "2024-02-29T01:01:01Z");
}

/// Runs `procoder args` in `dir` under the redactions, as text or JSON.
fn snap(name: &str, r: &Redactions, dir: &Path, args: &[&str]) {
    let out = run_procoder(dir, args);
    let text = if args.contains(&"--json") {
        json(r, &out)
    } else {
        human(r, &out)
    };
    assert_snapshot(name, &text);
}

#[test]
fn status_abort_and_recovery() {
    // A: a return moving three refs, to be interrupted. B: applied. C: prepared. D: aborted.
    let a = MultiReturned::new(2);
    let dir = a.local.dir.clone();
    let b = a.local.prepare();
    let b_sandbox = b.unzip();
    b_sandbox.commit_file("b.txt", "b\n");
    let b_zip = b_sandbox.run_return();
    assert_success(
        &run_procoder(&dir, &["apply", b_zip.to_str().expect("utf-8")]),
        "apply B",
    );
    let c = a.local.prepare();
    let d = a.local.prepare();
    assert_success(&run_procoder(&dir, &["abort", &d.id, "-q"]), "abort D");
    crash_run(&dir, &["apply", a.zip_arg()], "ref_updated");
    for (id, ago) in [
        (&a.prepared.id, 5 * 60 + 10),
        (&b.id, 2 * 3600 + 5),
        (&c.id, 3 * 86_400 + 5),
        (&d.id, 45 * 86_400),
    ] {
        backdate(&dir, id, ago);
    }
    let sandbox_tmp = a.sandbox.root.parent().expect("sandbox folder");
    // Several ids: tagged, padded to the id's width so the table stays aligned.
    let tag = |t: &str| format!("{:-<22}", format!("[ID-{t}]"));
    let r = redactions(&a.local)
        .path(sandbox_tmp, "[SANDBOX]")
        .exchange(&a.prepared.id, &tag("A"))
        .exchange(&b.id, &tag("B"))
        .exchange(&c.id, &tag("C"))
        .exchange(&d.id, &tag("D"));

    snap("status", &r, &dir, &["status"]);
    snap("status-json", &r, &dir, &["status", "--json"]);
    snap("error-apply-interrupted", &r, &dir, &["abort", &c.id]);
    snap(
        "error-apply-interrupted-json",
        &r,
        &dir,
        &["abort", &c.id, "--json"],
    );
    snap(
        "apply-continue",
        &r,
        &dir,
        &["apply", "--continue", &a.prepared.id],
    );
    snap("abort", &r, &dir, &["abort", &c.id]);
    snap("abort-json", &r, &dir, &["abort", &b.id, "--json"]);
    snap("status-after", &r, &dir, &["status"]);
    snap("error-unknown-exchange", &r, &dir, &["abort", "nonsense"]);
}

#[test]
fn status_with_no_exchanges_human_quiet_json() {
    let local = TestRepo::new();
    let r = redactions(&local);
    snap("status-empty", &r, &local.dir, &["status"]);
    snap("status-empty-quiet", &r, &local.dir, &["status", "-q"]);
    snap("status-empty-json", &r, &local.dir, &["status", "--json"]);
}

#[test]
fn usage_errors_exit_2_and_are_one_object_under_json() {
    let local = TestRepo::new();
    let r = redactions(&local);
    snap("error-usage", &r, &local.dir, &["apply", "--bogus"]);
    let out = run_procoder(&local.dir, &["apply", "--bogus", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let value = json_stdout(&out);
    assert_eq!(value["ok"], false, "{value}");
    assert_eq!(value["command"], "apply", "{value}");
    assert_eq!(value["error"]["code"], "USAGE", "{value}");
    assert_snapshot("error-usage-json", &r.json(&value));
}

//! `procoder close [ID]`: an applied exchange is finished, its branches kept, later returns
//! refused; `abort` stays what it was; both take the id as optional when one exchange is open.

use crate::common::*;

fn close(r: &Returned, args: &[&str]) -> std::process::Output {
    let mut all = vec!["close"];
    all.extend_from_slice(args);
    r.local.procoder(&all)
}

#[test]
fn close_after_apply_keeps_the_branches_and_reads_closed() {
    let r = Returned::new();
    assert_success(&r.apply(&[]), "apply");
    let out = close(&r, &[&r.prepared.id]);
    assert_success(&out, "close");
    assert!(
        stdout(&out).contains(&format!("kept    {}", r.prepared.task_ref)),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        r.local.rev(&r.prepared.task_ref),
        r.tip,
        "the task branch is kept"
    );
    assert!(!r.prepared.zip.exists(), "the task package is deleted");
    assert_eq!(state_of(&r.local.dir, &r.prepared.id), "closed");
    let table = stdout(&r.local.procoder(&["status"]));
    let row = table
        .lines()
        .find(|l| l.starts_with(&r.prepared.id))
        .expect("a row for the exchange");
    assert!(row.contains("closed"), "{table}");
    let steps = log_steps(&r.local.dir, &r.prepared.id);
    assert_eq!(
        steps.last().map(String::as_str),
        Some("closed"),
        "{steps:?}"
    );

    // A later apply of it is refused, and changes nothing.
    let before = crate::apply_refusals::Untouched::take(&r.local, &r.zip);
    let err = assert_code(&r.apply(&[]), "EXCHANGE_CLOSED");
    assert!(err.contains("procoder prepare"), "{err}");
    before.assert(&r.local, "apply of a closed exchange");
    // Closing it again says so.
    assert_code(&close(&r, &[&r.prepared.id]), "EXCHANGE_CLOSED");
    r.local.git(&["fsck", "--strict"]);
}

#[test]
fn close_json_names_the_kept_branches() {
    let r = Returned::new();
    assert_success(&r.apply(&[]), "apply");
    let out = close(&r, &["--json"]);
    assert_success(&out, "close --json");
    let v = json_stdout(&out);
    assert_eq!(v["command"], "close", "{v}");
    assert_eq!(v["exchange_id"], r.prepared.id.as_str(), "{v}");
    assert_eq!(v["state"], "closed", "{v}");
    assert_eq!(v["kept"][0], r.prepared.task_ref.as_str(), "{v}");
    let status = status_row(&r.local.dir, &r.prepared.id);
    assert_eq!(status["state"], "closed", "{status}");
}

#[test]
fn close_of_a_never_applied_exchange_points_to_abort() {
    let r = Returned::new();
    let before = r.local.snapshot();
    let err = assert_code(&close(&r, &[&r.prepared.id]), "NOT_APPLIED");
    assert!(
        err.contains(&format!("procoder abort {}", r.prepared.id)),
        "{err}"
    );
    before.assert_unchanged(&r.local.dir, "close refused");
    // abort does what it always did: the untouched task branch and the package go.
    let out = r.local.procoder(&["abort", &r.prepared.id]);
    assert_success(&out, "abort");
    assert!(r
        .local
        .git(&["for-each-ref", &r.prepared.task_ref])
        .is_empty());
    assert!(!r.prepared.zip.exists());
    assert_eq!(state_of(&r.local.dir, &r.prepared.id), "aborted");
}

#[test]
fn abort_after_apply_still_keeps_branches_with_commits() {
    let r = Returned::new();
    assert_success(&r.apply(&[]), "apply");
    assert_success(&r.local.procoder(&["abort"]), "abort with the id left out");
    assert_eq!(
        r.local.rev(&r.prepared.task_ref),
        r.tip,
        "a branch with commits is kept"
    );
    assert_eq!(state_of(&r.local.dir, &r.prepared.id), "aborted");
}

#[test]
fn the_id_is_needed_when_several_exchanges_or_none_are_open() {
    let r = Returned::new();
    let second = r.local.prepare();
    let before = r.local.snapshot();
    for cmd in ["close", "abort"] {
        let err = assert_code(&r.local.procoder(&[cmd]), "EXCHANGE_ID_REQUIRED");
        for id in [&r.prepared.id, &second.id] {
            assert!(err.contains(id.as_str()), "{cmd} lists {id}:\n{err}");
        }
        before.assert_unchanged(&r.local.dir, &format!("{cmd} without an id"));
    }
    assert_success(&r.local.procoder(&["abort", &second.id, "-q"]), "abort one");
    assert_success(&r.apply(&[]), "apply");
    assert_success(&r.local.procoder(&["close"]), "close the only open one");
    let err = assert_code(&r.local.procoder(&["close"]), "EXCHANGE_ID_REQUIRED");
    assert!(err.contains("no exchange is open"), "{err}");
}

#[test]
fn close_of_an_unknown_exchange() {
    let r = Returned::new();
    assert_code(&close(&r, &["20990101-000000-abcdef"]), "UNKNOWN_EXCHANGE");
    assert_code(&close(&r, &["nonsense"]), "UNKNOWN_EXCHANGE");
}

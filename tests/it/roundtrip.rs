//! prepare → unzip → commit in the sandbox → ./procoder-return → apply, with git as the
//! oracle at every step.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn full_round_trip_moves_task_branch_to_sandbox_tip_and_leaves_checkout_alone() {
    let local = TestRepo::new();
    let head_before = local.rev("HEAD");
    let prepared = local.prepare();
    assert_eq!(prepared.base_oid, head_before);
    assert_eq!(local.rev(&prepared.task_ref), head_before);
    let after_prepare = local.snapshot();
    assert_eq!(after_prepare.head, "refs/heads/main", "prepare keeps HEAD");
    assert!(
        !after_prepare.status.lines().any(|l| !l.starts_with("!! ")),
        "prepare leaves the work tree clean:\n{}",
        after_prepare.status
    );

    // The sandbox right after unzip: clean, sound, task branch checked out, files intact.
    let sandbox = prepared.unzip();
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    sandbox.git(&["fsck", "--strict"]);
    assert_eq!(sandbox.git(&["symbolic-ref", "HEAD"]), prepared.task_ref);
    assert_eq!(sandbox.git(&["rev-parse", "HEAD"]), head_before);
    let run_sh = sandbox.root.join("scripts/run.sh");
    let mode = std::fs::metadata(&run_sh)
        .expect("run.sh")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "scripts/run.sh keeps its exec bits");
    let link = sandbox.root.join("link-to-readme");
    assert!(std::fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_link(&link).expect("link target").to_str(),
        Some("README.md")
    );
    assert_eq!(
        std::fs::read(sandbox.root.join("assets/data.bin")).expect("binary"),
        std::fs::read(local.dir.join("assets/data.bin")).expect("binary")
    );
    let helper = sandbox.root.join("procoder-return");
    let helper_mode = std::fs::metadata(&helper)
        .expect("helper")
        .permissions()
        .mode();
    assert_eq!(helper_mode & 0o777, 0o755, "the helper is 0755");

    // Agent work: a modified file, then a new executable file.
    sandbox.commit_file("README.md", "# Demo\n\nChanged in the sandbox.\n");
    let tip = sandbox.commit_exec_file("tools/new-tool.sh", "#!/bin/sh\necho new\n");
    let zip = sandbox.run_return();

    // The bundle is something git itself accepts, before apply touches anything.
    let (doc, bundle) = read_return(&zip);
    assert_eq!(doc["protocol"], "procoder-return/v1");
    assert_eq!(doc["exchange_id"], prepared.id.as_str());
    assert_eq!(doc["task"]["base_oid"], prepared.base_oid.as_str());
    let updates = doc["updates"].as_array().expect("updates");
    assert_eq!(updates.len(), 1, "{doc}");
    assert_eq!(updates[0]["ref"], prepared.task_ref.as_str());
    assert_eq!(updates[0]["new_oid"], tip.as_str());
    let scratch = tempfile::TempDir::new().expect("tmp");
    let bundle_path = scratch.path().join("return.bundle");
    std::fs::write(&bundle_path, &bundle).expect("write bundle");
    let bundle_str = bundle_path.to_str().expect("utf-8");
    git(&local.dir, &["bundle", "verify", "-q", bundle_str]);
    let heads = git(&local.dir, &["bundle", "list-heads", bundle_str]);
    assert_eq!(heads, format!("{tip} {}", prepared.task_ref));
    after_prepare.assert_unchanged(&local.dir, "git bundle verify");

    // git fetch from the bundle into a scratch clone of the local repository.
    let clone = scratch.path().join("clone");
    git(
        scratch.path(),
        &[
            "clone",
            "-q",
            "--no-local",
            local.dir.to_str().expect("utf-8"),
            "clone",
        ],
    );
    git(
        &clone,
        &[
            "fetch",
            "-q",
            bundle_str,
            &format!("{}:refs/heads/fetched", prepared.task_ref),
        ],
    );
    assert_eq!(git(&clone, &["rev-parse", "refs/heads/fetched"]), tip);

    // Apply.
    let out = local.procoder(&["apply", zip.to_str().expect("utf-8")]);
    assert_success(&out, "procoder apply");
    assert_eq!(local.rev(&prepared.task_ref), tip);
    local.git(&["fsck", "--strict"]);
    let after_apply = local.snapshot();
    assert_eq!(after_apply.head, after_prepare.head);
    assert_eq!(after_apply.status, after_prepare.status);
    assert_eq!(after_apply.index, after_prepare.index);
    assert!(
        after_apply.objects > after_prepare.objects,
        "the returned objects joined the store ({} -> {})",
        after_prepare.objects,
        after_apply.objects
    );
    assert_eq!(local.rev("HEAD"), head_before);
    let tree_line = local.git(&["ls-tree", &tip, "tools/new-tool.sh"]);
    assert!(tree_line.starts_with("100755 blob "), "{tree_line}");
    assert_eq!(
        local.git(&["show", &format!("{tip}:README.md")]),
        "# Demo\n\nChanged in the sandbox."
    );
    // Nothing but the task branch moved.
    let others = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.starts_with(&format!("{} ", prepared.task_ref)))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(others(&after_apply.refs), others(&after_prepare.refs));
}

#[test]
fn dry_run_changes_nothing_and_exits_zero_when_apply_would_succeed() {
    let r = Returned::new();
    let before = r.local.snapshot();
    let out = r.apply(&["--dry-run"]);
    assert_success(&out, "procoder apply --dry-run");
    before.assert_unchanged(&r.local.dir, "apply --dry-run");
    assert_eq!(r.local.rev(&r.prepared.task_ref), r.prepared.base_oid);
    let out = r.apply(&[]);
    assert_success(&out, "procoder apply");
    assert_eq!(r.local.rev(&r.prepared.task_ref), r.tip);
}

#[test]
fn reapplying_the_same_package_succeeds_and_changes_nothing() {
    let r = Returned::new();
    assert_success(&r.apply(&[]), "first apply");
    let before = r.local.snapshot();
    let out = r.apply(&[]);
    assert_success(&out, "second apply of the same package");
    assert!(
        stdout(&out).to_lowercase().contains("already applied"),
        "stdout should say `already applied`:\n{}",
        stdout(&out)
    );
    before.assert_unchanged(&r.local.dir, "re-apply");
    assert_eq!(r.local.rev(&r.prepared.task_ref), r.tip);
}

#[test]
fn namespace_maps_family_refs_and_leaves_task_branch_alone() {
    let r = Returned::new();
    let out = r.apply(&["--namespace", "procoder-import"]);
    assert_success(&out, "apply --namespace");
    let mapped = format!("refs/heads/procoder-import/{}/task", r.prepared.id);
    assert_eq!(r.local.rev(&mapped), r.tip);
    assert_eq!(r.local.rev(&r.prepared.task_ref), r.prepared.base_oid);
    r.local.git(&["fsck", "--strict"]);
}

#[test]
fn two_returns_of_one_exchange_and_a_second_family_branch() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    let keep = tempfile::TempDir::new().expect("tmp");

    let first_tip = sandbox.commit_file("feature.txt", "first\n");
    let first = keep_copy(&sandbox.run_return(), keep.path(), "first.zip");
    assert_success(
        &local.procoder(&["apply", first.to_str().expect("utf-8")]),
        "apply of the first return",
    );
    assert_eq!(local.rev(&prepared.task_ref), first_tip);

    // More work on the task branch, and a second family branch started from the base.
    let second_tip = sandbox.commit_file("feature.txt", "first\nsecond\n");
    let extra = sandbox.family_ref("extra");
    let extra_short = extra.trim_start_matches("refs/heads/");
    sandbox.git(&["checkout", "-q", "-b", extra_short, &prepared.base_oid]);
    let extra_tip = sandbox.commit_file("extra.txt", "extra branch\n");
    sandbox.git(&[
        "checkout",
        "-q",
        prepared.task_ref.trim_start_matches("refs/heads/"),
    ]);
    let second = keep_copy(&sandbox.run_return(), keep.path(), "second.zip");

    let (doc, _) = read_return(&second);
    let refs: Vec<&str> = doc["updates"]
        .as_array()
        .expect("updates")
        .iter()
        .map(|u| u["ref"].as_str().expect("ref"))
        .collect();
    assert!(
        refs.contains(&extra.as_str()) && refs.contains(&prepared.task_ref.as_str()),
        "{doc}"
    );

    let out = local.procoder(&["apply", second.to_str().expect("utf-8")]);
    assert_success(
        &out,
        "apply of the second return (fast-forward over the first)",
    );
    assert_eq!(local.rev(&prepared.task_ref), second_tip);
    assert_eq!(local.rev(&extra), extra_tip);
    assert_eq!(
        local.git(&["merge-base", "--is-ancestor", &first_tip, &second_tip]),
        ""
    );
    assert_eq!(local.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
    local.git(&["fsck", "--strict"]);

    // The first package again: its updates are behind what is applied now; it must not
    // move the branch backwards.
    let before = local.snapshot();
    let _ = local.procoder(&["apply", first.to_str().expect("utf-8")]);
    assert_eq!(
        local.rev(&prepared.task_ref),
        second_tip,
        "never moved backwards"
    );
    assert_eq!(before.refs, local.snapshot().refs);
}

#[test]
fn checkout_flag_moves_checked_out_task_branch_and_updates_work_tree() {
    let r = Returned::new();
    let task_short = r.prepared.task_ref.trim_start_matches("refs/heads/");
    r.local.git(&["checkout", "-q", task_short]);
    let out = r.apply(&["--checkout"]);
    assert_success(&out, "apply --checkout");
    assert_eq!(r.local.rev(&r.prepared.task_ref), r.tip);
    assert_eq!(r.local.git(&["symbolic-ref", "HEAD"]), r.prepared.task_ref);
    assert_eq!(
        std::fs::read_to_string(r.local.dir.join("feature.txt")).expect("checked-out file"),
        "a feature\n"
    );
    let status = r.local.git(&["status", "--porcelain"]);
    assert_eq!(status, "", "work tree and index match the new tip");
}

/// A return for an exchange prepared in another clone: refused as UNKNOWN_EXCHANGE, then
/// accepted with --adopt, which records the exchange after every other check passed.
#[test]
fn adopt_applies_a_return_prepared_in_another_clone() {
    let r = Returned::new();
    let tmp = tempfile::TempDir::new().expect("tmp");
    let other = tmp.path().join("other");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--no-local",
            r.local.dir.to_str().expect("utf-8"),
            other.to_str().expect("utf-8"),
        ],
    );
    let zip = r.zip.to_str().expect("utf-8");
    let task = &r.prepared.task_ref;

    let refused = run_procoder(&other, &["apply", zip]);
    assert_code(&refused, "UNKNOWN_EXCHANGE");
    assert!(
        stderr(&refused).contains("--adopt"),
        "the hint names --adopt:\n{}",
        stderr(&refused)
    );
    assert!(!git_output(&other, &["rev-parse", "--verify", "-q", task])
        .status
        .success());

    let out = run_procoder(&other, &["apply", zip, "--adopt"]);
    assert_success(&out, "apply --adopt");
    assert_eq!(git(&other, &["rev-parse", task]), r.tip);
    let record = other
        .join(".git/procoder/exchanges")
        .join(&r.prepared.id)
        .join("exchange.json");
    assert!(record.is_file(), "--adopt writes the exchange record");
    git(&other, &["fsck", "--strict", "--no-dangling"]);
    // The task package was made in the other clone: status does not call it "gone".
    let status = run_procoder(&other, &["status"]);
    assert_success(&status, "status after --adopt");
    let row = stdout(&status)
        .lines()
        .find(|l| l.starts_with(&r.prepared.id))
        .map(str::to_owned)
        .expect("a row for the adopted exchange");
    assert!(!row.contains("gone") && row.contains("elsewhere"), "{row}");
    let v = json_stdout(&run_procoder(&other, &["status", "--json"]));
    assert_eq!(v["exchanges"][0]["package"], serde_json::Value::Null, "{v}");
    // Now known here: a plain re-apply is "already applied".
    let again = run_procoder(&other, &["apply", zip]);
    assert_success(&again, "re-apply after --adopt");
    assert!(
        stdout(&again).to_lowercase().contains("already applied"),
        "{}",
        stdout(&again)
    );
}

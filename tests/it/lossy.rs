//! Issue 6: a package extracted with Python's `zipfile` (no mode bits, symlinks as plain files,
//! no times) still returns exactly the agent's work; one extracted with `unzip` keeps even the
//! agent's deliberate mode and symlink changes.

use crate::common::*;
use crate::faithful::everything_repo;

fn mode_of(repo: &TestRepo, rev: &str, path: &str) -> String {
    let line = repo.git(&["ls-tree", rev, "--", path]);
    line.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn python_extraction_committed_with_add_all_returns_only_the_agents_changes() {
    let local = everything_repo();
    let prepared = local.prepare();
    let sandbox = prepared.unzip_with_python();
    assert!(
        !sandbox.git(&["status", "--porcelain"]).is_empty(),
        "a lossy extraction shows as changes (the premise of this test)"
    );
    set_mode(&sandbox.root.join("procoder-return"), 0o755);
    sandbox.write("scripts/run.sh", b"#!/bin/sh\necho run faster\n");
    sandbox.write("notes/agent.txt", b"agent\n");
    sandbox.git(&["add", "-A"]);
    sandbox.git(&["commit", "-q", "-m", "Agent work after a lossy extraction"]);
    let summary = sandbox.git(&["show", "--summary", "--format=", "HEAD"]);
    assert!(
        summary.contains("mode change 100755 => 100644 scripts/run.sh")
            && summary.contains("mode change 120000 => 100644 run-link"),
        "the agent's commit recorded the losses:\n{summary}"
    );

    let out = sandbox.run_return_output();
    assert_success(&out, "./procoder-return after a lossy extraction");
    let text = stdout(&out);
    for line in [
        "Repaired a lossy extraction",
        "restored exec bit: scripts/run.sh",
        "restored symlink: run-link",
        "restored symlink: dir-link",
        "restored symlink: dangling-link",
        "restored symlink: absolute-link",
        "restored symlink: deep/up-link",
        "legacy/win.txt",
        "rewrote procoder/",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert_eq!(
        sandbox.git(&["status", "--porcelain"]),
        "",
        "the sandbox is consistent after the repair"
    );
    let zip = sandbox.run_return();
    assert_success(
        &local.procoder(&["apply", &zip.display().to_string()]),
        "apply",
    );
    local.git(&["fsck", "--strict", "--no-dangling"]);
    let tip = local.rev(&prepared.task_ref);
    assert_eq!(tip, sandbox.git(&["rev-parse", "HEAD"]));
    assert_eq!(
        local.git(&["diff", "--name-status", &prepared.base_oid, &tip]),
        "A\tnotes/agent.txt\nM\tscripts/run.sh",
        "exactly the agent's changes"
    );
    assert_eq!(
        local.git(&["diff", "--summary", &prepared.base_oid, &tip]),
        " create mode 100644 notes/agent.txt",
        "no mode change, no type change"
    );
    assert_eq!(mode_of(&local, &tip, "scripts/run.sh"), "100755");
    assert_eq!(mode_of(&local, &tip, "run-link"), "120000");
    assert_eq!(
        local.git(&["show", &format!("{tip}:scripts/run.sh")]),
        "#!/bin/sh\necho run faster",
        "the agent's edit is kept"
    );
    assert_eq!(
        local.git(&["log", "-1", "--format=%an <%ae> %ad %s", &tip]),
        sandbox.git(&["log", "-1", "--format=%an <%ae> %ad %s", "HEAD"]),
    );
}

#[test]
fn python_extraction_without_add_all_gets_its_files_repaired() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip_with_python();
    set_mode(&sandbox.root.join("procoder-return"), 0o755);
    sandbox.commit_file("notes.txt", "an agent that commits one file\n");
    let zip = sandbox.run_return();
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    let meta = std::fs::symlink_metadata(sandbox.root.join("link-to-readme")).expect("lstat");
    assert!(meta.file_type().is_symlink(), "the symlink is back on disk");
    assert_success(
        &local.procoder(&["apply", &zip.display().to_string()]),
        "apply",
    );
    let tip = local.rev(&prepared.task_ref);
    assert_eq!(
        local.git(&["diff", "--name-status", &prepared.base_oid, &tip]),
        "M\tnotes.txt"
    );
    assert_eq!(mode_of(&local, &tip, "scripts/run.sh"), "100755");
}

#[test]
fn a_faithful_extraction_keeps_the_agents_deliberate_mode_changes() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    // The agent really means it: the link becomes a file with the same bytes, the script
    // loses its exec bit.
    let link = sandbox.root.join("link-to-readme");
    std::fs::remove_file(&link).expect("remove the link");
    std::fs::write(&link, b"README.md").expect("write a file");
    set_mode(&sandbox.root.join("scripts/run.sh"), 0o644);
    sandbox.git(&["add", "-A"]);
    sandbox.git(&["commit", "-q", "-m", "Flatten the link, drop the exec bit"]);
    let out = sandbox.run_return_output();
    assert_success(&out, "./procoder-return");
    assert!(
        !stdout(&out).contains("Repaired"),
        "nothing to repair after unzip:\n{}",
        stdout(&out)
    );
    let zip = sandbox.run_return();
    assert_success(
        &local.procoder(&["apply", &zip.display().to_string()]),
        "apply",
    );
    let tip = local.rev(&prepared.task_ref);
    assert_eq!(mode_of(&local, &tip, "link-to-readme"), "100644");
    assert_eq!(mode_of(&local, &tip, "scripts/run.sh"), "100644");
}

//! The review apply prints: each ref's incoming commits and diffstat, checked against git's
//! own log and `diff --shortstat`, and next steps that run as typed and show only the
//! agent's work.

use crate::common::*;

/// `git diff --shortstat` of `from` to `to`, trimmed: the diffstat apply must print.
fn shortstat(repo: &TestRepo, from: &str, to: &str) -> String {
    repo.git(&["diff", "--shortstat", from, to])
        .trim()
        .to_owned()
}

#[test]
fn apply_and_dry_run_show_the_commits_and_the_diffstat_git_computes() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    sandbox.commit_file("README.md", "# Demo\n\nChanged in the sandbox.\n");
    let tip = sandbox.commit_file("notes/new.txt", "one\ntwo\nthree\n");
    let zip = sandbox.run_return();
    let zip = zip.to_str().expect("utf-8");

    let dry = local.procoder(&["apply", zip, "--dry-run", "--json"]);
    assert_success(&dry, "apply --dry-run --json");
    let r = &json_stdout(&dry)["refs"][0];
    let log = r["log"].as_array().expect("log");
    let subjects: Vec<&str> = log
        .iter()
        .map(|c| c["subject"].as_str().unwrap_or(""))
        .collect();
    // The sandbox's own log, newest first, is the oracle for the list.
    let want = sandbox.git(&[
        "log",
        "--format=%s",
        &format!("{}..HEAD", prepared.base_oid),
    ]);
    assert_eq!(subjects, want.lines().collect::<Vec<_>>());
    assert_eq!(log[0]["id"], tip.as_str());
    let numstat = sandbox.git(&["diff", "--numstat", &prepared.base_oid, "HEAD"]);
    let (mut ins, mut del) = (0, 0);
    for l in numstat.lines() {
        let mut f = l.split('\t');
        ins += f.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        del += f.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    }
    assert_eq!(r["files_changed"], numstat.lines().count());
    assert_eq!(
        (r["insertions"].as_u64(), r["deletions"].as_u64()),
        (Some(ins), Some(del))
    );
    assert_eq!(
        local.rev(&prepared.task_ref),
        prepared.base_oid,
        "a dry run moves nothing"
    );

    let out = local.procoder(&["apply", zip]);
    assert_success(&out, "apply");
    let text = stdout(&out);
    assert!(
        text.contains(&format!("      {}  Change notes/new.txt  (", &tip[..7])),
        "{text}"
    );
    let stat = shortstat(&local, &prepared.base_oid, &prepared.task_ref);
    assert!(
        text.contains(&format!("      {stat}\n")),
        "git says {stat:?}:\n{text}"
    );

    // Every printed git command works as typed and shows only the agent's two commits.
    let task = prepared.task_ref.trim_start_matches("refs/heads/");
    for cmd in [
        format!("git log --stat main..{task}"),
        format!("git diff main...{task}"),
    ] {
        assert!(text.contains(&format!("  {cmd}\n")), "{cmd}:\n{text}");
        let args: Vec<&str> = cmd.split(' ').skip(1).collect();
        assert_success(&git_output(&local.dir, &args), &cmd);
    }
    let agent = local.git(&["rev-list", &format!("main..{task}")]);
    assert_eq!(agent.lines().count(), 2);
    assert!(
        text.contains(&format!("Take it: git switch main && git merge {task}\n")),
        "{text}"
    );
}

#[test]
fn a_long_return_lists_ten_commits_then_counts_the_rest() {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    for i in 0..12 {
        sandbox.commit_file("count.txt", &format!("{i}\n"));
    }
    let zip = sandbox.run_return();
    let zip = zip.to_str().expect("utf-8");
    let dry = local.procoder(&["apply", zip, "--dry-run", "--json"]);
    assert_success(&dry, "apply --dry-run --json");
    let r = &json_stdout(&dry)["refs"][0];
    assert_eq!(r["commits"], 12);
    assert_eq!(r["log"].as_array().map(Vec::len), Some(10));
    let out = local.procoder(&["apply", zip]);
    assert_success(&out, "apply");
    let text = stdout(&out);
    assert!(text.contains("      and 2 more\n"), "{text}");
    assert_eq!(
        text.matches("  Change count.txt  (").count(),
        10,
        "ten commit lines:\n{text}"
    );
}

#[test]
fn a_later_return_is_reviewed_against_what_the_earlier_apply_brought() {
    let r = Returned::new();
    assert_success(&r.apply(&[]), "first apply");
    let first = r.local.rev(&r.prepared.task_ref);
    r.sandbox
        .commit_file("feature.txt", "a feature\nand more\n");
    let zip = r.sandbox.run_return();
    let out = r
        .local
        .procoder(&["apply", zip.to_str().expect("utf-8"), "--json"]);
    assert_success(&out, "second apply");
    let v = &json_stdout(&out)["refs"][0];
    assert_eq!(v["action"], "fast-forward");
    assert_eq!(v["commits"], 1);
    let stat = shortstat(&r.local, &first, &r.prepared.task_ref);
    assert_eq!(stat, "1 file changed, 1 insertion(+)");
    assert_eq!(
        (
            v["files_changed"].as_u64(),
            v["insertions"].as_u64(),
            v["deletions"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
}

#[test]
fn an_older_return_applied_after_a_newer_one_is_already_contained() {
    let r = Returned::new();
    let older = keep_copy(&r.zip, r.local.dir.parent().expect("tmp"), "older.zip");
    let newer_tip = r
        .sandbox
        .commit_file("feature.txt", "a feature\nand more\n");
    let newer = r.sandbox.run_return();
    let out = r.local.procoder(&["apply", newer.to_str().expect("utf-8")]);
    assert_success(&out, "apply the newer return");
    let refs_before = r.local.git(&["for-each-ref"]);

    let out = r.local.procoder(&["apply", older.to_str().expect("utf-8")]);
    assert_success(&out, "apply the older return");
    assert!(
        stdout(&out).starts_with("Already contained: "),
        "{}",
        stdout(&out)
    );
    assert_eq!(r.local.rev(&r.prepared.task_ref), newer_tip);
    assert_eq!(r.local.git(&["for-each-ref"]), refs_before, "nothing moved");

    let out = r
        .local
        .procoder(&["apply", older.to_str().expect("utf-8"), "--json"]);
    let v = json_stdout(&out);
    assert_eq!(
        (v["ok"].as_bool(), v["already_contained"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(v["refs"][0]["action"], "contained");
}

#[test]
fn a_return_that_rewrites_an_applied_commit_names_it_and_replace_keeps_it() {
    let r = Returned::new();
    assert_success(&r.apply(&[]), "first apply");
    let first = r.local.rev(&r.prepared.task_ref);
    // The agent amends the commit it had already returned.
    r.sandbox.write("feature.txt", b"a better feature\n");
    r.sandbox
        .git(&["commit", "-q", "-a", "--amend", "-m", "Better feature"]);
    let amended = r.sandbox.git(&["rev-parse", "HEAD"]);
    let zip = r.sandbox.run_return();
    let zip = zip.to_str().expect("utf-8");

    let out = r.local.procoder(&["apply", zip]);
    let err = assert_code(&out, "RETURN_REWRITES");
    assert!(
        err.contains(&format!("replaces {}  Change feature.txt", &first[..7])),
        "{err}"
    );
    assert!(
        err.contains("--replace") && err.contains("--namespace"),
        "{err}"
    );
    assert_eq!(
        r.local.rev(&r.prepared.task_ref),
        first,
        "a refusal moves nothing"
    );

    let out = r.local.procoder(&["apply", zip, "--replace", "--json"]);
    assert_success(&out, "apply --replace");
    assert_eq!(r.local.rev(&r.prepared.task_ref), amended);
    let backup = format!("{}-replaced-{}", r.prepared.task_ref, &first[..12]);
    assert_eq!(
        r.local.rev(&backup),
        first,
        "the replaced tip stays reachable"
    );
    let v = json_stdout(&out);
    let actions: Vec<&str> = v["refs"]
        .as_array()
        .expect("refs")
        .iter()
        .map(|x| x["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["create", "replace"]);
    // The log records the backup like any other ref it moved.
    let log = std::fs::read_to_string(log_path(&r.local.dir, &r.prepared.id)).expect("log");
    assert!(log.contains(&backup), "{log}");
    r.local.git(&["fsck", "--strict"]);
}

//! Corrupt objects on the returned branches, written with `git hash-object --literally`: the
//! helper refuses with `UNSAFE_OBJECT` naming the object and the commit holding it, its hint
//! is one command that writes the commit again with real ids, nothing is written, and after
//! that command the helper returns the work and apply takes it. An exchange record of another
//! protocol is `UNSUPPORTED_PROTOCOL`.

use crate::common::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// Writes `data` as an object of `kind` without git's checks; returns its id.
fn write_literally(sandbox: &Sandbox, kind: &str, data: &[u8]) -> String {
    let mut child = Command::new("git")
        .args(["hash-object", "-w", "--literally", "--stdin", "-t", kind])
        .current_dir(&sandbox.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git hash-object starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(data)
        .expect("write the object");
    let out = child.wait_with_output().expect("git hash-object ends");
    assert_success(&out, "git hash-object --literally");
    stdout(&out).trim().to_owned()
}

fn raw_id(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex id"))
        .collect()
}

/// A commit of `tree` on `parent`, written literally, with `subject` as its message.
fn commit_literally(sandbox: &Sandbox, tree: &str, parent: &str, subject: &str) -> String {
    let text = format!(
        "tree {tree}\nparent {parent}\nauthor A U Thor <author@example.com> 1700000000 +0000\ncommitter A U Thor <author@example.com> 1700000000 +0000\n\n{subject}\n"
    );
    write_literally(sandbox, "commit", text.as_bytes())
}

/// A tree of one entry `100644 <name>` naming `id` (raw bytes).
fn tree_of_one(sandbox: &Sandbox, name: &[u8], id: &[u8]) -> String {
    let mut data = b"100644 ".to_vec();
    data.extend_from_slice(name);
    data.push(0);
    data.extend_from_slice(id);
    write_literally(sandbox, "tree", &data)
}

/// What the refusal must leave alone. Not `RepoSnapshot`: `git status` itself fails on these
/// trees, so the refs, the index file's bytes, the objects and the work tree's files are read
/// directly.
fn state(sandbox: &Sandbox) -> Vec<String> {
    let mut files = vec![
        sandbox.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        sandbox.git(&["symbolic-ref", "HEAD"]),
        sandbox.git(&["count-objects", "-v"]),
        format!(
            "{:?}",
            std::fs::read(sandbox.root.join(".git/index")).expect("the index")
        ),
    ];
    let mut stack = vec![sandbox.root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a folder") {
            let path = entry.expect("folder entry").path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            match path.is_dir() {
                true => stack.push(path),
                false => files.push(format!(
                    "{}: {:?}",
                    path.display(),
                    std::fs::read(&path).expect("read a file")
                )),
            }
        }
    }
    files.sort();
    files
}

/// Runs the helper on a sandbox holding the corrupt `commit` and returns its refusal and the
/// hint's command, after checking that it names `object` and `commit`, that the hint is one
/// command and that nothing changed.
fn refused(sandbox: &Sandbox, commit: &str, object: &str) -> (String, String) {
    let before = state(sandbox);
    let err = assert_code(&sandbox.run_return_output(), "UNSAFE_OBJECT");
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.contains(object),
        "the first line names {object}:\n{err}"
    );
    assert!(
        first.contains(commit),
        "the first line names {commit}:\n{err}"
    );
    let hint = err.lines().nth(1).unwrap_or("");
    assert!(
        hint.starts_with("Hint: run `") && hint.ends_with("then rerun ./procoder-return"),
        "the second line is the hint naming one command:\n{err}"
    );
    assert!(
        !hint.contains('<'),
        "a placeholder is left to guess:\n{err}"
    );
    assert!(before == state(sandbox), "the refusal changed the sandbox");
    assert!(
        !sandbox
            .root
            .join(format!("procoder-return-{}.zip", sandbox.id))
            .exists(),
        "a refused return leaves no package"
    );
    let step = hint.split('`').nth(1).expect("a command").to_owned();
    (err, step)
}

/// Runs the hint's command as the agent would, reruns the helper and applies the return.
fn step_then_return(local: &TestRepo, sandbox: &Sandbox, step: &str) {
    let out = hermetic(
        Command::new("sh")
            .args(["-c", step])
            .current_dir(&sandbox.root),
    )
    .output()
    .expect("sh starts");
    assert_success(&out, step);
    let zip = sandbox.run_return();
    let out = local.procoder(&["apply", zip.to_str().expect("utf-8 path")]);
    assert_success(&out, "procoder apply after the rewrite");
    assert_eq!(
        local.git(&["rev-parse", &sandbox.task_ref]).trim(),
        sandbox.git(&["rev-parse", &sandbox.task_ref]).trim()
    );
    assert_eq!(
        local
            .git(&["show", &format!("{}:feature.txt", sandbox.task_ref)])
            .trim_end(),
        "the feature"
    );
}

/// A sandbox with `feature.txt` staged: the work the corrupt commit claims to hold.
fn staged_sandbox() -> (TestRepo, Prepared, Sandbox) {
    let local = TestRepo::new();
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    sandbox.write("feature.txt", b"the feature\n");
    sandbox.git(&["add", "feature.txt"]);
    (local, prepared, sandbox)
}

#[test]
fn unsafe_object_commit_whose_tree_is_a_blob() {
    let (local, _prepared, sandbox) = staged_sandbox();
    let blob = write_literally(&sandbox, "blob", b"not a tree\n");
    let commit = commit_literally(&sandbox, &blob, &sandbox.base_oid, "Add the feature");
    sandbox.git(&["update-ref", &sandbox.task_ref, &commit]);
    let (err, step) = refused(&sandbox, &commit, &blob);
    assert!(
        err.lines().next().unwrap_or("").contains("is not a tree"),
        "{err}"
    );
    assert_eq!(
        step,
        format!(
            "git reset --soft {} && git commit -m 'Add the feature'",
            sandbox.base_oid
        )
    );
    step_then_return(&local, &sandbox, &step);
}

#[test]
fn unsafe_object_tree_entry_with_an_empty_name() {
    let (local, _prepared, sandbox) = staged_sandbox();
    let blob = write_literally(&sandbox, "blob", b"the feature\n");
    let tree = tree_of_one(&sandbox, b"", &raw_id(&blob));
    let commit = commit_literally(&sandbox, &tree, &sandbox.base_oid, "Nameless");
    sandbox.git(&["update-ref", &sandbox.task_ref, &commit]);
    let (_, step) = refused(&sandbox, &commit, &tree);
    assert_eq!(
        step,
        format!(
            "git reset --soft {} && git commit -m Nameless",
            sandbox.base_oid
        )
    );
    step_then_return(&local, &sandbox, &step);
}

#[test]
fn unsafe_object_tree_entry_naming_the_null_id() {
    let local = TestRepo::new();
    let sandbox = local.prepare().unzip();
    // On top of a good commit: the step goes back to that commit, not to the base.
    let good = sandbox.commit_file("first.txt", "first\n");
    sandbox.write("feature.txt", b"the feature\n");
    sandbox.git(&["add", "feature.txt"]);
    let tree = tree_of_one(&sandbox, b"feature.txt", &[0; 20]);
    let commit = commit_literally(&sandbox, &tree, &good, "Null entry");
    sandbox.git(&["update-ref", &sandbox.task_ref, &commit]);
    let (err, step) = refused(&sandbox, &commit, &tree);
    assert!(err.contains("null object id"), "{err}");
    assert_eq!(
        step,
        format!("git reset --soft {good} && git commit -m 'Null entry'")
    );
    step_then_return(&local, &sandbox, &step);
}

#[test]
fn unsafe_object_on_a_family_branch_not_checked_out() {
    let (_local, _prepared, sandbox) = staged_sandbox();
    sandbox.git(&["commit", "-q", "-m", "Add the feature"]);
    let blob = write_literally(&sandbox, "blob", b"x\n");
    let tree = tree_of_one(&sandbox, b"", &raw_id(&blob));
    let commit = commit_literally(&sandbox, &tree, &sandbox.base_oid, "Side work");
    let side = sandbox.family_ref("side");
    sandbox.git(&["update-ref", &side, &commit]);
    let (_, step) = refused(&sandbox, &commit, &tree);
    let short = side.trim_start_matches("refs/heads/");
    assert_eq!(step, format!("git branch -f {short} {}", sandbox.base_oid));
}

#[test]
fn unsupported_protocol_in_the_exchange_record() {
    let local = TestRepo::new();
    let sandbox = local.prepare().unzip();
    sandbox.commit_file("feature.txt", "work\n");
    let record = sandbox.root.join(".git/procoder/exchange.json");
    let text = std::fs::read_to_string(&record).expect("read the record");
    let edited = text.replace("\"procoder-exchange/v1\"", "\"procoder-exchange/v9\"");
    assert_ne!(text, edited, "the record names its protocol");
    std::fs::write(&record, edited).expect("write the record");
    let before = sandbox.snapshot();
    let err = assert_code(&sandbox.run_return_output(), "UNSUPPORTED_PROTOCOL");
    assert!(
        err.lines()
            .next()
            .unwrap_or("")
            .contains("procoder-exchange/v9"),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l.starts_with("Hint: ")
            && l.contains("prepare the task again with procoder ")
            && l.ends_with("then rerun ./procoder-return")),
        "{err}"
    );
    before.assert_unchanged(&sandbox.root, "UNSUPPORTED_PROTOCOL");
    assert!(!sandbox
        .root
        .join(format!("procoder-return-{}.zip", sandbox.id))
        .exists());
}

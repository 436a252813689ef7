//! Crash-recovery helpers: a return package that moves several refs, runs that crash on
//! purpose (`PROCODER_TEST_CRASH_AFTER`), the exchange store and its log read from outside,
//! and the checks every recovered repository must pass (`git fsck --strict`, no stray lock
//! or temporary file).

use super::*;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// SIGABRT: what `std::process::abort` (the crash hook) dies of.
pub const SIGABRT: i32 = 6;
/// SIGKILL: `kill -9`.
pub const SIGKILL: i32 = 9;

/// One ref a return package moves; `old` is `None` for a ref the apply creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub name: String,
    pub old: Option<String>,
    pub new: String,
}

/// Which value every planned ref must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Old,
    New,
}

impl Edit {
    pub fn value(&self, side: Side) -> Option<&str> {
        match side {
            Side::Old => self.old.as_deref(),
            Side::New => Some(&self.new),
        }
    }
}

/// A local repository, one exchange, and a return package that moves the task branch (two
/// commits) and creates `extra` more family branches `extra1`, `extra2`, … (one commit each
/// on top of the task tip): an apply of it moves `extra + 1` refs one by one.
pub struct MultiReturned {
    pub local: TestRepo,
    pub prepared: Prepared,
    pub sandbox: Sandbox,
    pub zip: PathBuf,
    /// Every ref the package moves, sorted by name, with the values git reports.
    pub edits: Vec<Edit>,
}

impl MultiReturned {
    pub fn new(extra: usize) -> Self {
        let local = TestRepo::new();
        let prepared = local.prepare();
        Self::build(local, prepared, extra)
    }

    /// Builds the sandbox side for an exchange already prepared in `local`.
    pub fn build(local: TestRepo, prepared: Prepared, extra: usize) -> Self {
        let sandbox = prepared.unzip();
        let task_short = prepared
            .task_ref
            .trim_start_matches("refs/heads/")
            .to_owned();
        sandbox.commit_file("feature.txt", "a feature\n");
        let task_tip = sandbox.commit_file("feature2.txt", "more of the feature\n");
        let mut edits = vec![Edit {
            name: prepared.task_ref.clone(),
            old: Some(prepared.base_oid.clone()),
            new: task_tip,
        }];
        for i in 1..=extra {
            let branch = format!("procoder/{}/extra{i}", prepared.id);
            sandbox.git(&["checkout", "-q", "-b", &branch, &task_short]);
            let tip = sandbox.commit_file(&format!("extra{i}.txt"), &format!("extra {i}\n"));
            edits.push(Edit {
                name: format!("refs/heads/{branch}"),
                old: None,
                new: tip,
            });
        }
        sandbox.git(&["checkout", "-q", &task_short]);
        let zip = sandbox.run_return();
        edits.sort_by(|a, b| a.name.cmp(&b.name));

        // The return document must announce exactly these updates (else the tests below
        // would check the wrong values).
        let (doc, _) = read_return(&zip);
        let mut announced: Vec<Edit> = doc["updates"]
            .as_array()
            .expect("updates is an array")
            .iter()
            .map(|u| Edit {
                name: u["ref"].as_str().expect("ref").to_owned(),
                old: u["old_oid"]
                    .as_str()
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned),
                new: u["new_oid"].as_str().expect("new_oid").to_owned(),
            })
            .collect();
        announced.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(announced, edits, "procoder-return announced other updates");
        MultiReturned {
            local,
            prepared,
            sandbox,
            zip,
            edits,
        }
    }

    pub fn zip_arg(&self) -> &str {
        self.zip.to_str().expect("utf-8 temp path")
    }

    /// `procoder apply <zip>` in `dir` (the local repository or a copy of it).
    pub fn apply_in(&self, dir: &Path) -> Output {
        run_procoder(dir, &["apply", self.zip_arg()])
    }

    /// The edit of `name`.
    pub fn edit(&self, name: &str) -> &Edit {
        self.edits
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} is not moved by the package"))
    }
}

/// Runs `procoder args` in `dir` with `PROCODER_TEST_CRASH_AFTER=step` (and no core dump)
/// and asserts that the process died of SIGABRT, not that it exited.
pub fn crash_run(dir: &Path, args: &[&str], step: &str) -> Output {
    let out = hermetic(
        Command::new("sh")
            .arg("-c")
            .arg("ulimit -c 0; exec \"$@\"")
            .arg("sh")
            .arg(bin("procoder"))
            .args(args)
            .current_dir(dir),
    )
    .env("CI", "true")
    .env("PROCODER_TEST_CRASH_AFTER", step)
    .output()
    .expect("procoder can be started");
    assert_eq!(
        out.status.signal(),
        Some(SIGABRT),
        "procoder {args:?} with PROCODER_TEST_CRASH_AFTER={step} must die of SIGABRT, got {:?}\n\
         stdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    out
}

/// The common git directory of the repository (or worktree) in `dir`.
pub fn common_dir(dir: &Path) -> PathBuf {
    PathBuf::from(git(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    ))
}

/// `<common dir>/procoder`.
pub fn store_dir(dir: &Path) -> PathBuf {
    common_dir(dir).join("procoder")
}

/// `<store>/exchanges/<id>/log.jsonl`.
pub fn log_path(dir: &Path, id: &str) -> PathBuf {
    store_dir(dir).join("exchanges").join(id).join("log.jsonl")
}

/// Every complete line of the log of `id`, parsed (a line that does not parse fails the test,
/// except a torn last line without its newline, which is skipped like procoder does).
pub fn log_records(dir: &Path, id: &str) -> Vec<Value> {
    let path = log_path(dir, id);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let mut records = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(v) => records.push(v),
            Err(_) if i + 1 == lines.len() && !complete => break,
            Err(e) => panic!(
                "{} line {} is not JSON ({e}):\n{text}",
                path.display(),
                i + 1
            ),
        }
    }
    records
}

/// The `step` of every log record, in order.
pub fn log_steps(dir: &Path, id: &str) -> Vec<String> {
    log_records(dir, id)
        .iter()
        .map(|r| {
            r["step"]
                .as_str()
                .expect("every record has a step")
                .to_owned()
        })
        .collect()
}

/// The edits of the last `plan` record, in the order the apply moves them.
pub fn planned_edits(dir: &Path, id: &str) -> Vec<Edit> {
    let records = log_records(dir, id);
    let plan = records
        .iter()
        .rev()
        .find(|r| r["step"] == "plan")
        .expect("the log has a plan record");
    plan["edits"]
        .as_array()
        .expect("edits is an array")
        .iter()
        .map(|e| Edit {
            name: e["name"].as_str().expect("name").to_owned(),
            old: e["old"]
                .as_str()
                .filter(|o| !o.is_empty())
                .map(str::to_owned),
            new: e["new"].as_str().expect("new").to_owned(),
        })
        .collect()
}

/// Exchange ids in the store (folders under `exchanges/`), sorted.
pub fn exchange_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(store_dir(dir).join("exchanges"))
        .into_iter()
        .flatten()
        .map(|e| {
            e.expect("folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    ids.sort();
    ids
}

/// The exchange record procoder wrote for `id`.
pub fn exchange_record(dir: &Path, id: &str) -> Value {
    let path = store_dir(dir)
        .join("exchanges")
        .join(id)
        .join("exchange.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("exchange.json is JSON")
}

/// The value of ref `name` as git sees it, `None` when it does not exist.
pub fn ref_value(dir: &Path, name: &str) -> Option<String> {
    let out = git(
        dir,
        &["for-each-ref", "--format=%(refname) %(objectname)", name],
    );
    out.lines().find_map(|l| {
        let (n, oid) = l.split_once(' ')?;
        (n == name).then(|| oid.to_owned())
    })
}

/// Asserts that every ref of `edits` holds its `side` value (git as the oracle).
pub fn assert_refs(dir: &Path, edits: &[Edit], side: Side, after: &str) {
    for e in edits {
        assert_eq!(
            ref_value(dir, &e.name).as_deref(),
            e.value(side),
            "after {after}: {} should be at its {side:?} value\nrefs:\n{}",
            e.name,
            all_refs(dir)
        );
    }
}

/// `git for-each-ref`: every ref and its value, one a line.
pub fn all_refs(dir: &Path) -> String {
    git(dir, &["for-each-ref", "--format=%(refname) %(objectname)"])
}

/// The refs not named in `edits` (they must never change).
pub fn other_refs(dir: &Path, edits: &[Edit]) -> Vec<String> {
    all_refs(dir)
        .lines()
        .filter(|l| !edits.iter().any(|e| l.split(' ').next() == Some(&e.name)))
        .map(str::to_owned)
        .collect()
}

/// Files whose name ends in `.lock` anywhere under `root`.
pub fn lock_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == "lock") {
                found.push(path);
            }
        }
    }
    found
}

/// After recovery: `git fsck --strict` is clean, no `*.lock` file under the git directory,
/// no procoder lock, and nothing left in `.git/procoder/tmp`.
pub fn assert_sound(dir: &Path, after: &str) {
    let fsck = git_output(dir, &["fsck", "--strict", "--no-progress"]);
    assert!(
        fsck.status.success(),
        "after {after}: git fsck --strict failed:\n{}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    let errors = String::from_utf8_lossy(&fsck.stderr);
    assert!(
        !errors.contains("error") && !errors.contains("warning"),
        "after {after}: git fsck --strict complained:\n{errors}"
    );
    let common = common_dir(dir);
    let locks = lock_files(&common);
    assert!(
        locks.is_empty(),
        "after {after}: lock files left: {locks:?}"
    );
    let store = common.join("procoder");
    assert!(
        !store.join("lock").exists(),
        "after {after}: .git/procoder/lock was not released"
    );
    let tmp: Vec<PathBuf> = std::fs::read_dir(store.join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        tmp.is_empty(),
        "after {after}: files left in .git/procoder/tmp: {tmp:?}"
    );
}

/// `procoder status --json` in `dir`, checked to be a successful status answer.
pub fn status_json(dir: &Path) -> Value {
    let out = run_procoder(dir, &["status", "--json"]);
    assert_success(&out, "procoder status --json");
    let json = json_stdout(&out);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["command"], "status", "{json}");
    assert!(json["exchanges"].is_array(), "{json}");
    json
}

/// The status row of exchange `id`.
pub fn status_row(dir: &Path, id: &str) -> Value {
    let json = status_json(dir);
    json["exchanges"]
        .as_array()
        .expect("exchanges is an array")
        .iter()
        .find(|r| r["exchange_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("status does not list {id}: {json}"))
}

/// The `state` of exchange `id` according to `procoder status --json`.
pub fn state_of(dir: &Path, id: &str) -> String {
    status_row(dir, id)["state"]
        .as_str()
        .expect("state is a string")
        .to_owned()
}

/// `procoder apply --continue <id>` or `--abort <id>`.
pub fn recover(dir: &Path, way: Side, id: &str) -> Output {
    let flag = match way {
        Side::New => "--continue",
        Side::Old => "--abort",
    };
    run_procoder(dir, &["apply", flag, id])
}

/// Same file, whether or not it exists: canonical parent folder and file name.
pub fn same_path(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| {
        let parent = p.parent().and_then(|d| d.canonicalize().ok());
        (parent, p.file_name().map(|n| n.to_owned()))
    };
    let (na, nb) = (norm(a), norm(b));
    na.0.is_some() && na == nb
}

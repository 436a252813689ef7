//! `kill -9` from outside at random moments of `procoder apply` (six refs: the task branch
//! and five more family branches), then recovery. Whatever the moment, afterwards every ref
//! is at its old value or every ref is at its new value, consistent with what the log and
//! the recovery say, `git fsck --strict` is clean, and the next apply works.
//!
//! Each iteration starts from a fresh `cp -a` copy of one prepared repository. The sleep
//! before the kill is drawn from 0 to 1.1 × the measured duration of a whole apply (shrunk a
//! little whenever an apply finishes before its kill), so kills land during start-up,
//! verification, the ref moves and after the commit. Run with
//! `--nocapture` to see where they landed; `PROCODER_KILL_SEED=<n>` replays a run.

use crate::common::*;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ITERATIONS: usize = 60;
const FAMILY_BRANCHES: usize = 5;

/// Where a kill landed, read from the log before any recovery.
#[derive(Debug, Default)]
struct Landed {
    exited_before_kill: usize,
    before_plan: usize,
    /// Index k: the plan was logged and k refs were logged as moved.
    mid_refs: Vec<usize>,
    after_commit: usize,
    /// Kills that left a `*.lock` file under `.git` (a ref lock libgit2 had not renamed yet).
    stale_ref_locks: usize,
    continued: usize,
    aborted: usize,
}

#[test]
fn sigkill_at_random_moments_leaves_all_refs_old_or_all_new() {
    let started = Instant::now();
    let r = MultiReturned::new(FAMILY_BRANCHES);
    let template = &r.local;
    let others = other_refs(&template.dir, &r.edits);

    // How long a whole apply takes here (process start to exit). The fastest of five: load
    // from other tests only slows the killed runs down, which moves kills earlier, never later.
    let fastest = (0..5)
        .map(|_| {
            let copy = template.copy();
            let t = Instant::now();
            assert_success(&r.apply_in(&copy.dir), "a timed apply");
            t.elapsed()
        })
        .min()
        .expect("five timings");
    let mut window_us = (fastest.as_micros() as u64 * 11 / 10).max(1);

    let seed = std::env::var("PROCODER_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!(
        "kill loop: {ITERATIONS} iterations, {} refs, apply takes {fastest:?} (fastest of 5), sleep 0..{window_us} us, PROCODER_KILL_SEED={seed}",
        r.edits.len(),
    );
    let mut rng = Rng(seed);
    let mut landed = Landed {
        mid_refs: vec![0; r.edits.len() + 1],
        ..Landed::default()
    };

    let mut failures: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for i in 0..ITERATIONS {
        let sleep = Duration::from_micros(rng.next() % window_us);
        // One iteration's failure is recorded and the loop goes on, so the counts below show
        // how often each kind of moment breaks recovery.
        let exited_before = landed.exited_before_kill;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            one_kill(&r, &others, i, sleep, &mut landed, &mut problems);
        }));
        if landed.exited_before_kill > exited_before {
            // The apply ran faster than the window: shrink it so later kills land inside.
            window_us = (window_us * 19 / 20).max(1);
        }
        if let Err(panic) = result {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(msg);
        }
    }

    let mid: usize = landed.mid_refs.iter().sum();
    eprintln!(
        "kill loop: {ITERATIONS} kills in {:?}: {} before the plan, {mid} mid-refs (by refs logged as moved: {:?}), {} after the commit, {} exited before the kill; {} left a ref *.lock file; recovered {} with --continue and {} with --abort; {} needed a stale lock removed by hand; {} iterations failed; seed {seed}",
        started.elapsed(),
        landed.before_plan,
        landed.mid_refs,
        landed.after_commit,
        landed.exited_before_kill,
        landed.stale_ref_locks,
        landed.continued,
        landed.aborted,
        problems.len(),
        failures.len()
    );
    let summary: Vec<&str> = failures
        .iter()
        .map(|f| f.lines().next().unwrap_or(""))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {ITERATIONS} iterations failed (seed {seed}):\n{}\nthe first in full:\n{}",
        failures.len(),
        summary.join("\n"),
        failures[0]
    );
    assert_eq!(
        landed.before_plan + mid + landed.after_commit + landed.exited_before_kill,
        ITERATIONS
    );
    assert!(
        problems.is_empty(),
        "{} of {ITERATIONS} kills left the repository unrecoverable by procoder alone \
         (recovered only after deleting the stale ref lock by hand; seed {seed}):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// One iteration: a fresh copy, `procoder apply` killed after `sleep`, recovery, checks.
fn one_kill(
    r: &MultiReturned,
    others: &[String],
    i: usize,
    sleep: Duration,
    landed: &mut Landed,
    problems: &mut Vec<String>,
) {
    let id = r.prepared.id.as_str();
    let copy = r.local.copy();
    let d = &copy.dir;
    let mut child = hermetic(
        Command::new(bin("procoder"))
            .args(["apply", r.zip_arg()])
            .current_dir(d),
    )
    .env("CI", "true")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("procoder can be started");
    std::thread::sleep(sleep);
    let _ = child.kill(); // SIGKILL; fails only if it already exited and was reaped
    let status = child.wait().expect("wait for procoder");
    let what = format!("iteration {i} (kill after {sleep:?}, {status:?})");
    match (status.code(), status.signal()) {
        (Some(0), _) => landed.exited_before_kill += 1,
        (None, Some(SIGKILL)) => {}
        _ => panic!("{what}: procoder neither finished nor died of SIGKILL"),
    }

    // Where did it land? Only synced, complete lines count.
    let steps = log_steps(d, id);
    let planned = steps.iter().any(|s| s == "plan");
    let done = steps.iter().filter(|s| *s == "ref_updated").count();
    let committed = steps.iter().any(|s| s == "committed");
    if committed {
        landed.after_commit += usize::from(status.code() != Some(0));
    } else if planned {
        landed.mid_refs[done] += 1;
    } else {
        landed.before_plan += 1;
    }
    let locks = lock_files(&d.join(".git"));
    if !locks.is_empty() {
        landed.stale_ref_locks += 1;
    }
    if planned && !committed {
        // Every ref the log says moved has moved (the record follows the move).
        let plan = planned_edits(d, id);
        for e in &plan[..done] {
            assert_eq!(
                ref_value(d, &e.name).as_deref(),
                Some(e.new.as_str()),
                "{what}"
            );
        }
    }

    // Recover, alternating the two ways out of an interrupted apply.
    let row = status_row(d, id);
    let side = match row["state"].as_str() {
        Some("interrupted") => {
            assert!(planned && !committed, "{what}: {row}");
            let way = if landed.continued <= landed.aborted {
                landed.continued += 1;
                Side::New
            } else {
                landed.aborted += 1;
                Side::Old
            };
            let out = recover(d, way, id);
            if !out.status.success() && !locks.is_empty() {
                // A ref lock libgit2 had not renamed when the kill came. Record it, then do
                // what the user would have to: delete the lock and run the recovery again.
                problems.push(format!(
                    "{what}: recovery {way:?} failed with {:?} because of {locks:?}: {}",
                    out.status.code(),
                    stderr(&out).lines().next().unwrap_or("")
                ));
                remove_all(&locks);
                assert_success(
                    &recover(d, way, id),
                    &format!("{what}: recovery {way:?} again"),
                );
            } else {
                assert_success(&out, &format!("{what}: recovery {way:?} ({locks:?})"));
            }
            way
        }
        Some("applied") => {
            assert!(committed, "{what}: {row}");
            Side::New
        }
        Some("prepared") => {
            assert!(!planned, "{what}: {row}");
            Side::Old
        }
        _ => panic!("{what}: unexpected state {row}"),
    };
    let left = lock_files(&d.join(".git"));
    if !left.is_empty() {
        problems.push(format!("{what}: recovery left {left:?}"));
        remove_all(&left);
    }
    assert_refs(d, &r.edits, side, &what);
    assert_eq!(other_refs(d, &r.edits), others, "{what}: other refs moved");
    let expected_state = if side == Side::New {
        "applied"
    } else {
        "prepared"
    };
    assert_eq!(state_of(d, id), expected_state, "{what}");
    let fsck = git_output(d, &["fsck", "--strict", "--no-progress"]);
    assert!(
        fsck.status.success(),
        "{what}: git fsck --strict failed:\n{}",
        String::from_utf8_lossy(&fsck.stderr)
    );

    // The repository is usable: the apply (again) succeeds and sets every ref; no lock, no
    // temporary file is left over.
    assert_success(&r.apply_in(d), &format!("{what}: apply afterwards"));
    assert_refs(d, &r.edits, Side::New, &format!("{what}: apply afterwards"));
    assert_eq!(state_of(d, id), "applied", "{what}");
    assert_sound(d, &format!("{what}: apply afterwards"));
}

fn remove_all(files: &[std::path::PathBuf]) {
    for f in files {
        std::fs::remove_file(f).unwrap_or_else(|e| panic!("remove {}: {e}", f.display()));
    }
}

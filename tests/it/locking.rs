//! `.git/procoder/lock`: a live holder's pid gives `LOCKED` and nothing changes; a dead
//! holder's lock is taken over, the command succeeds and releases it. The store lives in the
//! common git directory, so a lock taken through the main worktree also blocks a command run
//! in a linked worktree.

use crate::common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A `sleep 30` child standing in for a running procoder; killed and reaped on drop, so a
/// failing test leaves no process behind.
struct LiveHolder {
    child: Child,
}

impl LiveHolder {
    fn spawn() -> Self {
        let child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .expect("sleep can be started");
        LiveHolder { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills and reaps the child: afterwards its pid names no process (not even a zombie).
    fn finish(mut self) -> u32 {
        let pid = self.pid();
        self.stop();
        pid
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LiveHolder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The pid of a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("true can be started");
    let pid = child.id();
    child.wait().expect("wait for true");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still exists"
    );
    pid
}

fn write_lock(dir: &Path, content: &str) -> std::path::PathBuf {
    let store = store_dir(dir);
    std::fs::create_dir_all(&store).expect("create .git/procoder");
    let lock = store.join("lock");
    std::fs::write(&lock, content).expect("write the lock");
    lock
}

/// Asserts `LOCKED` naming the holder's pid, and that the lock file was left as it was.
fn assert_locked(out: &std::process::Output, lock: &Path, pid: u32) {
    let err = assert_code(out, "LOCKED");
    assert!(
        err.contains(&format!("pid {pid}")),
        "names the holder:\n{err}"
    );
    assert_eq!(
        std::fs::read_to_string(lock).expect("the lock is still there"),
        format!("{pid}\n"),
        "the holder's lock is left alone"
    );
}

#[test]
fn live_holder_gives_locked_for_every_mutating_command() {
    let r = Returned::new();
    let local = &r.local;
    let holder = LiveHolder::spawn();
    let lock = write_lock(&local.dir, &format!("{}\n", holder.pid()));
    let before = local.snapshot();

    assert_locked(&local.procoder(&["prepare"]), &lock, holder.pid());
    assert_locked(&r.apply(&[]), &lock, holder.pid());
    assert_locked(
        &local.procoder(&["apply", "--continue", &r.prepared.id]),
        &lock,
        holder.pid(),
    );
    assert_locked(
        &local.procoder(&["abort", &r.prepared.id]),
        &lock,
        holder.pid(),
    );
    let out = local.procoder(&["prepare", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json = json_stdout(&out);
    assert_eq!(json["ok"], false, "{json}");
    assert_eq!(json["error"]["code"], "LOCKED", "{json}");
    before.assert_unchanged(&local.dir, "commands refused with LOCKED");
    assert_eq!(state_of(&local.dir, &r.prepared.id), "prepared");

    // The holder is gone (killed, reaped): its lock is stale and taken over.
    let pid = holder.finish();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert_success(&r.apply(&[]), "apply after the holder died");
    assert_eq!(local.rev(&r.prepared.task_ref), r.tip);
    assert!(!lock.exists(), "the lock is released after the command");
    assert_sound(&local.dir, "apply over a stale lock");
}

#[test]
fn stale_lock_of_a_dead_pid_is_taken_over_and_released() {
    let local = TestRepo::new();
    let pid = dead_pid();
    let lock = write_lock(&local.dir, &format!("{pid}\n"));
    let prepared = local.prepare();
    assert_eq!(local.rev(&prepared.task_ref), local.rev("HEAD"));
    assert!(!lock.exists(), "the lock is released after prepare");
    assert_eq!(state_of(&local.dir, &prepared.id), "prepared");

    // And for abort, on a lock of a dead pid again.
    let lock = write_lock(&local.dir, &format!("{}\n", dead_pid()));
    assert_success(
        &local.procoder(&["abort", &prepared.id]),
        "abort over a stale lock",
    );
    assert!(!lock.exists(), "the lock is released after abort");
    assert_eq!(state_of(&local.dir, &prepared.id), "aborted");
    assert_sound(&local.dir, "abort over a stale lock");
}

#[test]
fn lock_held_via_the_main_worktree_blocks_a_linked_worktree() {
    let local = TestRepo::new();
    let wt = local.dir.parent().expect("a parent").join("linked");
    local.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "side",
        wt.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        common_dir(&wt).canonicalize().expect("canonical"),
        local.dir.join(".git").canonicalize().expect("canonical"),
        "the linked worktree shares the main repository's common dir"
    );
    let holder = LiveHolder::spawn();
    let lock = write_lock(&local.dir, &format!("{}\n", holder.pid()));
    let before = local.snapshot();
    assert_locked(&run_procoder(&wt, &["prepare"]), &lock, holder.pid());
    before.assert_unchanged(&local.dir, "prepare refused in the linked worktree");
    assert!(
        !wt.join(".git").is_dir() && !wt.join(".git/procoder").exists(),
        "no store in the linked worktree"
    );

    holder.finish();
    let out = run_procoder(&wt, &["prepare", "--json"]);
    assert_success(&out, "prepare in the linked worktree");
    let json = json_stdout(&out);
    let id = json["exchange_id"].as_str().expect("exchange_id");
    assert!(!lock.exists(), "the lock is released");
    // The record is in the common store: status from the main worktree lists it.
    assert_eq!(exchange_ids(&local.dir), vec![id.to_owned()]);
    assert_eq!(state_of(&local.dir, id), "prepared");
    assert_eq!(
        local.rev(&format!("refs/heads/procoder/{id}/task")),
        git(&wt, &["rev-parse", "HEAD"])
    );
    assert_sound(&local.dir, "prepare in a linked worktree");
}

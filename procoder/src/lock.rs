//! `.git/procoder/lock`: held while a command mutates anything. The file holds the owner's
//! pid; a lock whose process is gone is taken over, so a crash never wedges the repository.

use procoder_manifest::{ErrorCode, Failure, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A held lock, released on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock in `store`, or fails with `LOCKED` naming the live holder.
    pub fn acquire(store: &Path) -> Result<Self> {
        fs_err::create_dir_all(store)
            .map_err(|e| Failure::internal("cannot create .git/procoder", e))?;
        let path = store.join("lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    writeln!(file, "{}", std::process::id())
                        .and_then(|()| file.sync_data())
                        .map_err(|e| Failure::internal("cannot write the lock", e))?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    match holder.trim().parse::<u32>() {
                        Ok(pid) if pid != std::process::id() && process_alive(pid) => {
                            return Err(Failure::new(ErrorCode::Locked, format!("another procoder command (pid {pid}) is working in this repository"))
                                .detail(format!("lock file: {}", path.display()))
                                .hint(format!("wait for it to finish, then run the command again (if no procoder is running, delete {})", path.display())));
                        }
                        // Dead holder, our own pid from a previous life, or a torn write: stale.
                        _ => {
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => {
                    return Err(Failure::internal(
                        format!("cannot create {}", path.display()),
                        e,
                    ))
                }
            }
        }
        Err(Failure::new(
            ErrorCode::Locked,
            "another procoder command took the lock at the same moment",
        )
        .hint("run the command again"))
    }
}

/// Whether a process with this pid exists (a zombie counts: it has not been reaped yet).
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // Signal 0 checks without signalling: EPERM means it exists but belongs to another user.
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

/// Windows has no signal-0 check in std; a lock is never taken over there, and `LOCKED`'s hint
/// names the file to delete when no procoder is running.
#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

//! The sandbox helper's workflow: check the exported repository, find the task-family refs
//! the agent moved, and write `procoder-return-<id>.zip` beside the work tree.
//! Every refusal names the refs or paths at fault and ends its hint with
//! "then rerun ./procoder-return", because an agent acts on exactly what it reads.

// The helper runs in the Linux sandbox only; elsewhere the crate builds (the `procoder`
// package carries its binary on every platform) and `main` says where it belongs.
#[cfg(unix)]
mod cli;
#[cfg(unix)]
mod dir_cache;
#[cfg(unix)]
mod earlier;
#[cfg(unix)]
mod index_file;
#[cfg(unix)]
mod lossy;
#[cfg(unix)]
mod objects;
#[cfg(unix)]
mod refs;
#[cfg(unix)]
mod run;
#[cfg(unix)]
mod staged;
#[cfg(unix)]
mod tracked;
#[cfg(unix)]
mod untracked;
#[cfg(unix)]
mod worktree;

#[cfg(unix)]
pub use cli::main;
#[cfg(unix)]
use lossy::Repairs;
#[cfg(unix)]
use run::run;

/// The helper's version, written into every return document.
#[cfg(unix)]
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version as `procoder --version` finds it in the helper's bytes: one run of bytes that
/// starts with `procoder_bundle::layout::HELPER_VERSION_MARK` (a test holds the two together).
#[cfg(unix)]
const VERSION_MARK: &str = concat!(
    "\0procoder-return-version=",
    env!("CARGO_PKG_VERSION"),
    "\0"
);

/// The version, read through [`VERSION_MARK`] so that the marker stays in the binary whole.
#[cfg(unix)]
fn version() -> &'static str {
    let mark: &'static str = std::hint::black_box(VERSION_MARK);
    mark.trim_matches('\0')
        .split_once('=')
        .map_or(VERSION, |(_, v)| v)
}

/// Outside Linux there is no sandbox to run in.
#[cfg(not(unix))]
pub fn main() -> std::process::ExitCode {
    eprintln!("procoder-return runs inside an unzipped procoder task package in the Linux sandbox; `procoder prepare` puts it there");
    std::process::ExitCode::from(2)
}

#[cfg(unix)]
pub(crate) const RERUN: &str = "then rerun ./procoder-return";

/// Writes `files` under `root` (each holding its own path), `run.sh` among them made
/// executable, and a symlink `link` to `a.txt`: the work tree the index tests add.
#[cfg(all(test, unix))]
pub(crate) fn write_test_files(root: &std::path::Path, files: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    for f in files {
        let path = root.join(f);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, f).expect("write");
    }
    let exec = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(root.join("run.sh"), exec).expect("chmod");
    std::os::unix::fs::symlink("a.txt", root.join("link")).expect("symlink");
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn the_version_mark_is_the_one_procoder_looks_for() {
        let rest = super::VERSION_MARK
            .strip_prefix(procoder_bundle::layout::HELPER_VERSION_MARK)
            .expect("the mark starts with the shared prefix");
        assert_eq!(rest, format!("{}\0", super::VERSION));
        assert_eq!(super::version(), super::VERSION);
    }
}

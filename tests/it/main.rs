//! End-to-end tests: the built `procoder` and `procoder-return` binaries against real
//! temporary repositories, with the `git` CLI as the oracle.
//! Build the binaries first: `cargo build --workspace` (or `cargo test --workspace`).

mod agent_stuck;
mod apply_checkout;
mod apply_refusals;
mod archive;
mod clean_agreement;
mod clean_index;
mod cli_snapshots;
mod close;
mod common;
mod crash;
mod depth;
mod docs;
mod export_pack;
mod faithful;
mod go_interop;
mod helper_glibc;
mod hostile;
mod include_uncommitted;
mod json_output;
mod kill_loop;
mod leaks;
mod locking;
mod lossy;
mod prepare_output;
mod prepare_refusals;
mod progress_tty;
mod release;
mod return_corrupt;
mod return_refusals;
mod review;
mod roundtrip;
mod secrets;
mod size;
mod status_abort;
mod task_package;
mod thin_bundle;
mod torn_log;

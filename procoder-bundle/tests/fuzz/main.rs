//! Structure-aware mutation fuzzing of everything `apply` reads from a return package before
//! trusting it: the zip (`ReturnPackage::new`, `with_bundle`), the bundle header
//! (`BundleHeader::read`), and the pack and objects behind it (`read_bundle` into a quarantine,
//! then `check_new_objects`).
//!
//! No nightly toolchain here for cargo-fuzz, and proptest would add a dependency tree for what
//! a seeded loop does: start from valid inputs, mutate them (bit flips, truncation, insertions,
//! header fields set to boundary values, line and tree-entry swaps, hostile names and modes)
//! and require that every case ends in `Ok` or a coded failure of the expected classes (never
//! `INTERNAL`, never a panic) within a time bound, leaving no quarantine behind.
//!
//! Short by default (CI); `PROCODER_FUZZ_ITERS=N` or `PROCODER_FUZZ_SECS=S` run it long,
//! `PROCODER_FUZZ_SEED=N` replays a run, `PROCODER_FUZZ_ORACLE=1` also asks `git fsck --strict`
//! about every object set `check_new_objects` accepted.

mod harness;
mod header;
mod objects;
mod seeds;
mod zip;

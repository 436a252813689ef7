//! The mutation loop kept beside the cargo-fuzz targets (fuzz/): hostile object packs built
//! structurally (blobs, trees and a commit mutated, then hashed and packed bottom-up, so every
//! parent names its mutated child) into a quarantine, then `check_new_objects`. Every case ends
//! in `Ok` or a coded failure of the expected classes within a time bound, leaving no
//! quarantine behind. What the fuzz target `pack_objects` does not do is kept here:
//! `PROCODER_FUZZ_ORACLE=1` asks `git fsck --strict` about every object set
//! `check_new_objects` accepted, and the loop runs on stable in every test run.
//! The zip and bundle-header loops are gone (the fuzz targets check what they checked); their
//! seeds stay here, and `write_seeds` writes them to fuzz/seeds/.
//!
//! Short by default (CI); `PROCODER_FUZZ_ITERS=N` or `PROCODER_FUZZ_SECS=S` run it long,
//! `PROCODER_FUZZ_SEED=N` replays a run.

mod findings;
mod harness;
mod header;
mod objects;
mod seeds;
mod zip;

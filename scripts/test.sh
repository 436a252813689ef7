#!/usr/bin/env bash
# The test command. The end-to-end tests (tests/it) drive the built procoder and
# procoder-return binaries, and `cargo test` alone builds only the binaries of packages that
# have integration tests of their own: build every binary first, so the tests never run
# against missing or stale ones; then the release binaries into target/dist (the static helper
# and procoder with it embedded), which tests/it/release.rs checks and the demo runs. Extra
# arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins
scripts/release-build.sh "${CARGO_TARGET_DIR:-target}/dist"
cargo test --workspace "$@"

#!/usr/bin/env bash
# The test command. The end-to-end tests (tests/it) drive the built procoder and
# procoder-return binaries, and `cargo test` alone builds only the binaries of packages that
# have integration tests of their own: build every binary first, so the tests never run
# against missing or stale ones. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins
cargo test --workspace "$@"

#!/usr/bin/env bash
# scripts/unused-deps.sh: fails (exit 1) when a crate of the workspace declares a dependency it
# never uses, as cargo-machete finds by reading the sources. A dependency kept only for a
# feature it switches on (libz-sys's `static`) is listed in its Cargo.toml under
# [package.metadata.cargo-machete] ignored, with the reason.
# Installs cargo-machete (the version below, --locked) into CARGO_HOME (default ~/.cargo) when it
# is missing there or another version; needs crates.io only then.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.9.2
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
machete="$cargo_home/bin/cargo-machete"
if [ "$("$machete" --version 2>/dev/null)" != "$version" ]; then
    echo "==> installing cargo-machete $version into $cargo_home" >&2
    cargo install --locked --quiet --root "$cargo_home" cargo-machete --version "$version"
fi
# Build output is not source: a target dir inside the checkout must not count.
PATH="$cargo_home/bin:$PATH" cargo machete --skip-target-dir

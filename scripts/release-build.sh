#!/usr/bin/env bash
# scripts/release-build.sh OUT_DIR [--target TRIPLE] [--helper FILE]
#
# The release binaries, as the release workflow and anyone checking a release build them:
#   OUT_DIR/procoder-return  the sandbox helper: a fully static Linux x86-64 executable (no
#                            dynamic loader, no libc.so), built with the `helper` profile;
#   OUT_DIR/procoder         (procoder.exe on Windows) for TRIPLE, default this host, with that
#                            helper embedded (PROCODER_EMBED_HELPER, see procoder/build.rs).
# --helper FILE embeds an already built helper instead of building one: the workflow builds the
# helper once on Linux and hands it to the macOS and Windows jobs, which cannot build it.
# Prints each file's size, and the helper's size zipped (`zip -9`, as it travels).
set -euo pipefail
# Cargo's progress shows by default: a silent first build of several minutes reads as a hang.
# PROCODER_BUILD_QUIET=1 keeps it quiet. (Empty arrays are expanded as ${a[@]+"${a[@]}"}:
# macOS's bash 3.2 calls a plain "${a[@]}" of an empty array unbound under set -u.)
quiet=()
[ -n "${PROCODER_BUILD_QUIET:-}" ] && quiet=(--quiet)
root=$(cd "$(dirname "$0")/.." && pwd)
out="" target="" helper=""
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target="$2"; shift 2 ;;
        --helper) helper="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "release-build.sh: unknown option $1" >&2; exit 2 ;;
        *) [ -z "$out" ] || { echo "release-build.sh: one OUT_DIR only" >&2; exit 2; }; out="$1"; shift ;;
    esac
done
[ -n "$out" ] || { echo "usage: scripts/release-build.sh OUT_DIR [--target TRIPLE] [--helper FILE]" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
target_dir="${CARGO_TARGET_DIR:-$root/target}"
host=$(rustc -vV | sed -n 's/^host: //p')
target="${target:-$host}"

if [ -z "$helper" ]; then
    helper_target=x86_64-unknown-linux-gnu
    echo "==> building the static helper (procoder-return, $helper_target)" >&2
    # Size matters: the helper travels in every package (target: 1 MiB zipped).
    # - crt-static links glibc statically; relocation-model=static makes a plain static
    #   executable, not static-pie (no dynamic relocations, nothing for a loader to do);
    # - no unwind tables (panic=abort: nothing unwinds), identical code folded, strings merged;
    # - the C of libgit2 and zlib at -Oz, without unwind tables or CET's endbr64 (gVisor
    #   enforces no indirect-branch tracking);
    # - paths remapped, so the binary does not carry this machine's paths.
    # --target keeps RUSTFLAGS off build scripts and proc macros.
    RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static -C force-unwind-tables=no \
-C link-arg=-Wl,--icf=all -C link-arg=-Wl,-O2 -C link-arg=-Wl,--build-id=none \
--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src= --remap-path-prefix=$root=" \
    CFLAGS_x86_64_unknown_linux_gnu="-Oz -fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none" \
        cargo build --locked ${quiet[@]+"${quiet[@]}"} --manifest-path "$root/Cargo.toml" --profile helper \
        --target "$helper_target" -p procoder --bin procoder-return
    # -p keeps the build's time: a new one would rebuild procoder (build.rs watches the file).
    cp -p "$target_dir/$helper_target/helper/procoder-return" "$out/procoder-return"
    helper="$out/procoder-return"
elif [ "$(cd "$(dirname "$helper")" && pwd)/$(basename "$helper")" != "$out/procoder-return" ]; then
    cp -p "$helper" "$out/procoder-return"
    helper="$out/procoder-return"
fi
chmod 0755 "$out/procoder-return"

echo "==> building procoder ($target) with the helper embedded" >&2
# Linux builds link glibc statically too, so one binary runs on every distribution (a glibc
# newer than the user's would otherwise refuse to load). --target keeps that flag off build
# scripts. Other hosts link their system libraries as usual.
rustflags="" target_args=() built="$target_dir/release"
case "$target" in *-linux-gnu) rustflags="-C target-feature=+crt-static" ;; esac
if [ "$target" != "$host" ] || [ -n "$rustflags" ]; then
    target_args=(--target "$target") built="$target_dir/$target/release"
fi
RUSTFLAGS="$rustflags" PROCODER_EMBED_HELPER="$out/procoder-return" \
    cargo build --locked ${quiet[@]+"${quiet[@]}"} --manifest-path "$root/Cargo.toml" --release \
    ${target_args[@]+"${target_args[@]}"} -p procoder --bin procoder
exe=""
case "$target" in *windows*) exe=".exe" ;; esac
cp "$built/procoder$exe" "$out/procoder$exe"

size() { wc -c <"$1" | tr -d ' '; }
zipped=""
if command -v zip >/dev/null; then
    tmp=$(mktemp -d)
    (cd "$out" && zip -9 -q "$tmp/helper.zip" procoder-return)
    zipped=", $(size "$tmp/helper.zip") bytes zipped (zip -9)"
    rm -rf "$tmp"
fi
echo "$out/procoder-return: $(size "$out/procoder-return") bytes$zipped"
echo "$out/procoder$exe: $(size "$out/procoder$exe") bytes"

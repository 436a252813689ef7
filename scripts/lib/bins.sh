# Sourced by the scripts that run procoder: sets $bin to a folder holding the release builds of
# procoder (with the static helper embedded) and procoder-return, built by
# scripts/release-build.sh into target/dist unless PROCODER_BIN_DIR names a folder already.
# Needs $1: the repository root.
procoder_bins() {
    if [ -z "${PROCODER_BIN_DIR:-}" ]; then
        bin="${CARGO_TARGET_DIR:-$1/target}/dist"
        echo "==> building the release binaries into $bin (scripts/release-build.sh)" >&2
        "$1/scripts/release-build.sh" "$bin" >&2
    else
        bin=$(cd "$PROCODER_BIN_DIR" && pwd)
    fi
}

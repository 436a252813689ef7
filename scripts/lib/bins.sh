# Sourced by the scripts that run procoder: sets $bin to a folder holding release builds of
# procoder and procoder-return, building them unless PROCODER_BIN_DIR names one already.
# Needs $1: the repository root.
procoder_bins() {
    if [ -z "${PROCODER_BIN_DIR:-}" ]; then
        echo "==> building procoder and procoder-return (release)" >&2
        cargo build --release --quiet --manifest-path "$1/Cargo.toml" -p procoder -p procoder-return
        bin="${CARGO_TARGET_DIR:-$1/target}/release"
    else
        bin=$(cd "$PROCODER_BIN_DIR" && pwd)
    fi
}

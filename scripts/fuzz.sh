#!/usr/bin/env bash
# scripts/fuzz.sh TARGET SECONDS: runs one cargo-fuzz target of fuzz/ (libFuzzer, nightly
# toolchain) for SECONDS, then prints its executions and coverage from libFuzzer's final
# stats. `scripts/fuzz.sh all SECONDS` runs every target in turn, SECONDS each.
# Installs cargo-fuzz (--locked) when `cargo +nightly fuzz` is missing; needs crates.io then.
# One process, one core: no -jobs/-workers/-fork (libFuzzer's -jobs=1 would still fork a child).
# Inputs that grow coverage go to fuzz/corpus/TARGET (not committed); the committed seeds are
# fuzz/seeds/TARGET. A crash, timeout (-timeout=10 s per input) or over-allocation
# (2048 MB) leaves its input in fuzz/artifacts/TARGET/ and exits 1.
# Builds into $CARGO_TARGET_DIR/fuzz when CARGO_TARGET_DIR is set, else fuzz/target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
targets=(return_zip return_doc exchange_record log_lines bundle_header pack_objects)

usage() {
    local IFS='|'
    echo "usage: scripts/fuzz.sh {all|${targets[*]}} SECONDS" >&2
    exit 2
}
[ $# -eq 2 ] || usage
which=$1 secs=$2
[[ $secs =~ ^[0-9]+$ ]] || usage
if [ "$which" = all ]; then
    run=("${targets[@]}")
else
    [[ " ${targets[*]} " == *" $which "* ]] || usage
    run=("$which")
fi

cargo +nightly --version >/dev/null || { echo "scripts/fuzz.sh needs a nightly toolchain" >&2; exit 1; }
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz
fi
target_dir=${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}
target_dir=${target_dir:-$root/fuzz/target}

# The pack target's repository and quarantines live under TMPDIR, which libFuzzer's exit
# never cleans: give each run its own and remove it.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

build=()
[ "$which" = all ] || build=("$which")
(cd fuzz && cargo +nightly fuzz build --target-dir "$target_dir" "${build[@]}")

status=0
for t in "${run[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "$scratch/$t"
    log="$scratch/$t.log"
    echo "==> fuzz $t for $secs s" >&2
    set +e
    (cd fuzz && TMPDIR="$scratch/$t" cargo +nightly fuzz run --target-dir "$target_dir" "$t" \
        "$root/fuzz/corpus/$t" "$root/fuzz/seeds/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -artifact_prefix="$root/fuzz/artifacts/$t/") >"$log" 2>&1
    rc=$?
    set -e
    # The last status line: "#N DONE cov: C ft: F corp: K/S ..." (or the last pulse).
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    echo "fuzz $t: ${execs:-?} executions in $secs s (${rate:-?} exec/s), cov: ${cov:-?} ft: ${ft:-?}, corpus ${corp:-?}, peak RSS ${rss:-?} MB"
    if [ "$rc" -ne 0 ]; then
        echo "fuzz $t: FAILED (exit $rc); the input is in fuzz/artifacts/$t/; the end of its log:" >&2
        tail -n 40 "$log" >&2
        status=1
    fi
done
exit "$status"

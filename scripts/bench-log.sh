#!/usr/bin/env bash
# What the transaction log costs: apply a return that moves 50 family refs, with the log's
# fsyncs (the default) and without (PROCODER_TEST_NO_FSYNC=1, a measuring knob only).
# Usage: RUNS=7 scripts/bench-log.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runs=${RUNS:-7}
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 CI=true
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
. "$here/lib/bins.sh"
procoder_bins "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/procoder-bench-log.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir "$work/src" && cd "$work/src" && git init -q -b main
for i in $(seq 1 200); do printf 'file %s\n' "$i" > "f$i.txt"; done
git add -A && git commit -qm base
"$bin/procoder" prepare --output "$work/task.zip" >/dev/null
id=$(ls .git/procoder/exchanges)
mkdir "$work/sb" && cd "$work/sb" && unzip -q "$work/task.zip" && cd src
base=$(git rev-parse HEAD)
for i in $(seq 1 49); do
    git checkout -q -b "procoder/$id/b$i" "$base"; printf 'branch %s\n' "$i" > "b$i.txt"; git add -A; git commit -qm "b$i"
done
git checkout -q "procoder/$id/task"; echo task > task.txt; git add -A; git commit -qm task
./procoder-return >/dev/null
zip=$(ls "$PWD"/procoder-return-*.zip)

fresh() { rm -rf "$work/dst" && git clone -q --shared "$work/src" "$work/dst" && cp -r "$work/src/.git/procoder" "$work/dst/.git/" && git -C "$work/dst" update-ref "refs/heads/procoder/$id/task" "$base"; }
for mode in fsync no-fsync; do
    : > "$work/$mode.t"
    for _ in $(seq "$runs"); do
        fresh
        if [ "$mode" = fsync ]; then
            python3 "$here/bench/measure.py" "$work/$mode.t" "$bin/procoder" -C "$work/dst" apply "$zip"
        else
            PROCODER_TEST_NO_FSYNC=1 python3 "$here/bench/measure.py" "$work/$mode.t" "$bin/procoder" -C "$work/dst" apply "$zip"
        fi
    done
done
read -r with _ < <(python3 "$here/bench/stats.py" "$work/fsync.t")
read -r without _ < <(python3 "$here/bench/stats.py" "$work/no-fsync.t")
lines=$(wc -l < "$work/dst/.git/procoder/exchanges/$id/log.jsonl")
echo "apply of 50 refs, median of $runs: with log fsyncs ${with}s, without ${without}s ($(python3 -c "print(f'{$with/$without:.2f}')")x); the log has $lines records"

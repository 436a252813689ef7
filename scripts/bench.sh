#!/usr/bin/env bash
# procoder against the git CLI doing the same job, in the same run, on the same machine.
#
#   scripts/bench.sh [REPO]     REPO: a repository with a work tree (default: a generated one)
#   RUNS=5 scripts/bench.sh     runs per measurement (default 3); medians are reported
#
# prepare  vs  git clone --no-local + zip of the clone
# return   vs  git bundle create <base>..<task>          (S1..S5, see bench/scenario.sh)
# apply    vs  git -c transfer.fsckObjects=true fetch <that bundle> && git update-ref
# Times are whole-process medians (bench/measure.py: wall clock, one child process a run);
# memory is the peak RSS of the process over the runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runs=${RUNS:-3}

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 CI=true
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com

. "$here/lib/bins.sh"
procoder_bins "$root"

work=$(mktemp -d "${TMPDIR:-/tmp}/procoder-bench.XXXXXX")
trap 'code=$?; if [ $code -ne 0 ] && [ -s "$work/stderr.log" ]; then echo "bench failed; last errors:" >&2; tail -20 "$work/stderr.log" >&2; fi; rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
    echo "==> copying $1" >&2
    cp -a "$(cd "$1" && git rev-parse --show-toplevel)" "$work/src"
    label=$(basename "$1")
else
    echo "==> generating a repository" >&2
    python3 "$here/bench/gen_repo.py" "$work/src" "${COMMITS:-3000}"
    label="generated"
fi
src="$work/src"
git -C "$src" config user.name Bench; git -C "$src" config user.email bench@example.com

# timed NAME CMD...: runs CMD $runs times, appending "secs peak_kb" lines to $work/NAME.t
timed() {
    local name=$1; shift
    for _ in $(seq "$runs"); do
        python3 "$here/bench/measure.py" "$work/$name.t" "$@" 2>>"$work/stderr.log"
    done
}
# timed_fresh NAME SETUP CMD...: like timed, running SETUP (untimed) before each run
timed_fresh() {
    local name=$1 setup=$2; shift 2
    for _ in $(seq "$runs"); do
        eval "$setup"
        python3 "$here/bench/measure.py" "$work/$name.t" "$@" 2>>"$work/stderr.log"
    done
}
medians() { python3 "$here/bench/stats.py" "$work/$1.t"; }
size() { stat -c %s "$1"; }
zip_tool() { if command -v zip >/dev/null; then (cd "$1" && zip -qr "$2" .); else python3 -c "import shutil,sys; shutil.make_archive(sys.argv[2][:-4], 'zip', sys.argv[1])" "$1" "$2"; fi; }
rows=()
row() { rows+=("$(printf '%-10s %9s %9s %7s | %9s %9s | %11s %11s %7s' "$@")"); }

objects=$(git -C "$src" rev-list --objects --branches --tags | wc -l)
echo "==> $label: $objects objects reachable from $(git -C "$src" for-each-ref refs/heads refs/tags | wc -l) heads and tags" >&2

# prepare vs clone + zip
echo "==> prepare" >&2
cleanup_prepare='id=$(ls "$src/.git/procoder/exchanges" 2>/dev/null | tail -1 || true); [ -z "$id" ] || "$bin/procoder" -C "$src" abort "$id" >/dev/null; rm -rf "$src/.git/procoder" "$work/task.zip"'
timed_fresh prepare "$cleanup_prepare" "$bin/procoder" -C "$src" prepare --output "$work/task.zip"
timed_fresh clone 'rm -rf "$work/clone" "$work/clone.zip"' sh -c "git clone -q --no-local '$src' '$work/clone' && $(declare -f zip_tool); zip_tool '$work/clone' '$work/clone.zip'"
read -r pt pm < <(medians prepare); read -r ct cm < <(medians clone)
row prepare "$pt" "$pm" "$(python3 -c "print(f'{$pt/$ct:.2f}')")" "$ct" "$cm" "$(size "$work/task.zip")" "$(size "$work/clone.zip")" "$(python3 -c "print(f'{$(size "$work/task.zip")/$(size "$work/clone.zip"):.2f}')")"
# The package carries the helper twice (deflated), which a clone has no counterpart of.
helpers=$(python3 -c "import zipfile,sys; print(sum(i.compress_size for i in zipfile.ZipFile(sys.argv[1]).infolist() if i.filename.endswith('procoder-return')))" "$work/task.zip")
nohelp=$(( $(size "$work/task.zip") - helpers ))
rows+=("$(printf '%-10s %29s | %19s | %11s %11s %7s' "  -helpers" "" "package minus helpers" "$nohelp" "$(size "$work/clone.zip")" "$(python3 -c "print(f'{$nohelp/$(size "$work/clone.zip"):.3f}')")")")

id=$(ls "$src/.git/procoder/exchanges" | tail -1)
task=refs/heads/procoder/$id/task
base=$(git -C "$src" rev-parse HEAD)
mkdir "$work/sb" && (cd "$work/sb" && unzip -q "$work/task.zip")
sb="$work/sb/$(basename "$src")"

for s in S1 S2 S3 S4 S5; do
    echo "==> $s" >&2
    (cd "$sb" && git reset -q --hard "$base" && git clean -qfdx -e procoder-return && bash "$here/bench/scenario.sh" "$s")
    timed "$s-return" sh -c "cd '$sb' && ./procoder-return"
    timed "$s-bundle" git -C "$sb" bundle create -q "$work/git.bundle" "$base..$task"
    # The helper must also prove the work tree clean, which bundle create never checks.
    timed "$s-statusbundle" sh -c "git -C '$sb' status --porcelain >/dev/null && git -C '$sb' bundle create -q '$work/git2.bundle' '$base..$task'"
    python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); open(sys.argv[2],'wb').write(z.read('procoder-return.bundle'))" "$sb/procoder-return-$id.zip" "$work/ours.bundle"
    read -r rt rm_ < <(medians "$s-return"); read -r bt bm < <(medians "$s-bundle")
    ours=$(size "$work/ours.bundle"); theirs=$(size "$work/git.bundle")
    row "$s return" "$rt" "$rm_" "$(python3 -c "print(f'{$rt/$bt:.2f}')")" "$bt" "$bm" "$ours" "$theirs" "$(python3 -c "print(f'{$ours/$theirs:.2f}')")"
    read -r st sm < <(medians "$s-statusbundle")
    rows+=("$(printf '%-10s %9s %9s %7s | %9s %9s | %s' "  +status" "" "" "$(python3 -c "print(f'{$rt/$st:.2f}')")" "$st" "$sm" "vs git status + git bundle create (RSS: the larger of the two)")")
    if [ "$s" = S4 ]; then
        git -C "$sb" -c pack.useSparse=false bundle create -q "$work/git-ns.bundle" "$base..$task"
        ns=$(size "$work/git-ns.bundle")
        rows+=("$(printf '%-10s %29s | %19s | %11s %11s %7s' "S4 nonsp." "" "git -c pack.useSparse=false" "$ours" "$ns" "$(python3 -c "print(f'{$ours/$ns:.2f}')")")")
    fi
    # apply vs fetch, each into a fresh --shared clone of the source (same objects, no copy)
    fresh='rm -rf "$work/dst" && git clone -q --shared "$src" "$work/dst" && cp -r "$src/.git/procoder" "$work/dst/.git/" && git -C "$work/dst" update-ref "$task" "$base"'
    timed_fresh "$s-apply" "$fresh" "$bin/procoder" -C "$work/dst" apply "$sb/procoder-return-$id.zip"
    # What the Go tool does: fetch the bundle, then move the branch.
    timed_fresh "$s-fetch" "$fresh" sh -c "git -C '$work/dst' -c transfer.fsckObjects=true fetch -q '$work/git.bundle' '$task:refs/heads/fetched' && git -C '$work/dst' update-ref '$task' refs/heads/fetched"
    read -r at am < <(medians "$s-apply"); read -r ft fm < <(medians "$s-fetch")
    row "$s apply" "$at" "$am" "$(python3 -c "print(f'{$at/$ft:.2f}')")" "$ft" "$fm" "" "" ""
done

echo
echo "procoder bench on $label ($objects objects), medians of $runs runs, $(nproc) cores"
printf '%-10s %9s %9s %7s | %9s %9s | %11s %11s %7s\n' step "ours s" "ours MiB" ratio "git s" "git MiB" "ours bytes" "git bytes" ratio
printf '%s\n' "${rows[@]}"
echo "git side: prepare = git clone --no-local + zip; return = git bundle create (+status: git status --porcelain && git bundle create); apply = git fetch (transfer.fsckObjects) + git update-ref"

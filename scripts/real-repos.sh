#!/usr/bin/env bash
# Round trips of real repositories as they come: prepare, unzip, git status and git fsck in the
# package, a commit, ./procoder-return, procoder apply, git fsck of the result. Not part of CI.
#
#   scripts/real-repos.sh [REPO...]     work-tree repositories (default: /tmp/gitgit /tmp/lg2
#                                       /tmp/rg, cloned from /work/.mirror when missing)
#   PROCODER_BIN_DIR=target/release scripts/real-repos.sh   use binaries already built there
#   KEEP=1 scripts/real-repos.sh        keep the work directory
#
# Every repository is copied (cp -a) into a temporary directory first: the originals get no
# branch, record or zip. procoder's own state in the copy (refs/heads/procoder/*, .git/procoder)
# is removed, so each run starts from the repository as upstream has it.
# Progress goes to stderr; the markdown table and notes to stdout. Exit status 1 if any check
# failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$(dirname "$0")/lib/bins.sh"
procoder_bins "$root"
procoder="$bin/procoder"
[ -x /usr/bin/time ] || { echo "real-repos: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 CI=true LC_ALL=C.UTF-8
export GIT_AUTHOR_NAME="Real Repos" GIT_AUTHOR_EMAIL=real-repos@example.com
export GIT_COMMITTER_NAME="Real Repos" GIT_COMMITTER_EMAIL=real-repos@example.com

# The default repositories, made from the bare mirrors when missing: every upstream branch and
# tag as a local one, as a developer's long-lived clone has them.
default_repo() {
    local path=$1 mirror=/work/.mirror/$2/repo
    if [ ! -d "$path/.git" ]; then
        [ -d "$mirror" ] || return 0
        echo "==> cloning $mirror into $path" >&2
        git clone -q "$mirror" "$path"
        git -C "$path" fetch -q --update-head-ok origin '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'
    fi
    repos+=("$path")
}
repos=("$@")
if [ ${#repos[@]} -eq 0 ]; then
    default_repo /tmp/gitgit git+git
    default_repo /tmp/lg2 libgit2+libgit2
    default_repo /tmp/rg BurntSushi+ripgrep
fi
[ ${#repos[@]} -gt 0 ] || { echo "real-repos: no repositories" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/procoder-real-repos.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "==> keeping $work" >&2; else trap 'rm -rf "$work"' EXIT; fi

rows=()
notes=()
failed=0
log() { printf '    %s\n' "$*" >&2; }
# timed OUT CMD...: runs CMD with /usr/bin/time; "secs peak_MiB" into $OUT.t; returns CMD's status
timed() {
    local out=$1; shift
    /usr/bin/time -f '%e %M' -o "$out.t" "$@"
}
secs() { awk '{print $1}' "$1.t" | tail -1; }
mib() { tail -1 "$1.t" | awk '{printf "%.0f", $2/1024}'; }
# fsck_check LABEL DIR OUT: git fsck --strict of DIR; the cell for the table in $fsck_cell. Clean
# means exit 0 and no line the source repository's own fsck (OUT.base) does not also print:
# old history has warnings of its own (git.git: a tag without tagger, trees with mode 100664).
fsck_check() {
    local label=$1 dir=$2 out=$3 rc new n
    if timed "$out" git -C "$dir" fsck --strict --no-dangling --no-progress >"$out.txt" 2>&1; then rc=0; else rc=$?; fi
    n=$(grep -c . "$out.txt" || true)
    new=$(LC_ALL=C sort -u "$out.txt" | LC_ALL=C comm -23 - "$d/source-fsck.sorted")
    if [ "$rc" = 0 ] && [ -z "$new" ]; then
        fsck_cell=0
        [ "$n" = 0 ] || fsck_cell="0 ($n warnings, as in the source)"
    else
        fsck_cell="**$rc** ($(printf '%s' "$new" | grep -c . || true) new lines)"
        bad "git fsck --strict $label: exit $rc, not in the source's fsck: $(printf '%s' "$new" | head -5 | tr '\n' ' ')"
    fi
    log "git fsck --strict --no-dangling $label: exit $rc, $n line(s), $(secs "$out") s"
}
refs_digest() { git -C "$1" for-each-ref --format='%(objectname) %(refname)' | sha256sum | cut -c1-16; }

round_trip() {
    local orig=$1 name d src sb top id task out rc base tip got edit
    orig=$(cd "$orig" && git rev-parse --show-toplevel)
    name=$(basename "$orig")
    d="$work/$name"
    mkdir -p "$d"
    local before
    before=$(refs_digest "$orig")
    local r_objects=- r_prep=- r_prep_mib=- r_size=- r_files=- r_warn=- r_unzip=- r_status=- r_status_s=-
    local r_status2_s=- r_fsck=- r_return=- r_return_mib=- r_ret_size=- r_apply=- r_apply_mib=- r_afsck=- r_tip=-
    local problems=()
    bad() { problems+=("$*"); log "FAIL: $*"; }

    echo "==> $name: copying $orig" >&2
    cp -a "$orig" "$d/src"
    src="$d/src"
    git -C "$src" for-each-ref --format='%(refname)' 'refs/heads/procoder/' |
        while read -r r; do git -C "$src" update-ref -d "$r"; done
    rm -rf "$src/.git/procoder"
    if [ -n "$(git -C "$src" status --porcelain)" ]; then
        bad "the copy of $orig is not clean; skipped"
        rows+=("| $name | skipped: work tree not clean |||||||||||||||")
        failed=1
        return
    fi

    # the source's own fsck, the baseline for the two below
    local src_rc src_n
    if timed "$d/source-fsck" git -C "$src" fsck --strict --no-dangling --no-progress >"$d/source-fsck.txt" 2>&1; then src_rc=0; else src_rc=$?; fi
    LC_ALL=C sort -u "$d/source-fsck.txt" >"$d/source-fsck.sorted"
    src_n=$(grep -c . "$d/source-fsck.txt" || true)
    log "git fsck --strict --no-dangling of the source: exit $src_rc, $src_n line(s), $(secs "$d/source-fsck") s"
    [ "$src_n" = 0 ] || notes+=("$name: the source's own git fsck --strict: exit $src_rc, $src_n line(s), e.g. $(head -1 "$d/source-fsck.txt")")

    echo "==> $name: procoder prepare" >&2
    if timed "$d/prepare" "$procoder" -C "$src" prepare --json --output "$d/task.zip" >"$d/prepare.json" 2>"$d/prepare.err"; then
        r_prep=$(secs "$d/prepare") r_prep_mib=$(mib "$d/prepare")
        read -r id r_files r_objects r_warn < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["exchange_id"], d["files"], d["objects"], len(d["warnings"]))' "$d/prepare.json")
        local stderr_lines
        stderr_lines=$(grep -c . "$d/prepare.err" || true)
        r_warn=$((r_warn + stderr_lines))
        r_size=$(stat -c %s "$d/task.zip" | awk '{printf "%.1f", $1/1e6}')
        while read -r w; do notes+=("$name: prepare $w"); done < <(python3 -c '
import json, sys
for w in json.load(open(sys.argv[1]))["warnings"]: print("warning:", w)' "$d/prepare.json")
        while read -r w; do [ -z "$w" ] || notes+=("$name: prepare stderr: $w"); done <"$d/prepare.err"
        log "exchange $id: ${r_prep} s, ${r_prep_mib} MiB peak, ${r_size} MB, $r_files files, $r_warn warning(s)"
    else
        bad "prepare failed: $(head -3 "$d/prepare.json" "$d/prepare.err" | tr '\n' ' ')"
        rows+=("| $name | prepare failed |||||||||||||||")
        failed=1
        return
    fi
    task="refs/heads/procoder/$id/task"
    base=$(git -C "$src" rev-parse "$task")

    echo "==> $name: the sandbox side" >&2
    mkdir "$d/sb"
    timed "$d/unzip" unzip -q "$d/task.zip" -d "$d/sb" || bad "unzip failed"
    r_unzip=$(secs "$d/unzip")
    top=$(find "$d/sb" -mindepth 1 -maxdepth 1 -type d | head -1)
    sb=$top
    if timed "$d/status" git -C "$sb" status --porcelain >"$d/status.txt" 2>&1; then
        r_status=$(wc -l <"$d/status.txt")
    else
        r_status="error"
    fi
    r_status_s=$(secs "$d/status")
    timed "$d/status2" git -C "$sb" status --porcelain >/dev/null 2>&1 || true
    r_status2_s=$(secs "$d/status2")
    [ "$r_status" = 0 ] || bad "git status in the package: $r_status line(s): $(head -5 "$d/status.txt" | tr '\n' ' ')"
    log "git status --porcelain: $r_status line(s), first ${r_status_s} s, second ${r_status2_s} s"
    fsck_check "in the package" "$sb" "$d/fsck"
    r_fsck=$fsck_cell

    # What the package's work tree holds beyond plain files, checked against its index.
    local gitlinks links execs
    gitlinks=$(git -C "$sb" ls-files -s | awk '$1 == 160000 {print $4}')
    links=$(git -C "$sb" ls-files -s | awk '$1 == 120000' | wc -l)
    execs=$(git -C "$sb" ls-files -s | awk '$1 == 100755' | wc -l)
    local not_links not_execs
    not_links=$(cd "$sb" && git ls-files -s | awk '$1 == 120000 {sub(/^[^\t]*\t/, ""); print}' |
        while IFS= read -r p; do [ -L "$p" ] || echo "$p"; done | wc -l)
    not_execs=$(cd "$sb" && git ls-files -s | awk '$1 == 100755 {sub(/^[^\t]*\t/, ""); print}' |
        while IFS= read -r p; do [ -x "$p" ] && [ ! -L "$p" ] || echo "$p"; done | wc -l)
    notes+=("$name: $links symlinks ($not_links not a symlink in the package), $execs executables ($not_execs without the exec bit)")
    [ "$not_links" = 0 ] && [ "$not_execs" = 0 ] || bad "symlinks or exec bits lost in the package"
    local g
    for g in $gitlinks; do
        local state="empty directory"
        if [ ! -d "$sb/$g" ]; then state="missing"; bad "submodule $g: no directory"
        elif [ -n "$(ls -A "$sb/$g")" ]; then state="not empty"; bad "submodule $g: directory not empty"; fi
        grep -qF "$g" "$d/prepare.json" "$d/prepare.err" ||
            notes+=("$name: prepare printed no warning naming the submodule $g (DESIGN.md: submodules are exported with a warning naming the paths)")
        notes+=("$name: submodule $g: gitlink $(git -C "$sb" ls-files -s -- "$g" | awk '{print substr($2,1,12)}'), $state, .gitmodules $( [ -f "$sb/.gitmodules" ] && echo present || echo missing)")
    done
    if [ -n "$(git -C "$sb" config --get-regexp '^remote\.' || true)" ]; then bad "the package's config has remotes"; fi

    # The agent's commit: edit a file, add one.
    edit=$(cd "$sb" && git ls-files -s -- README.md | awk '$1 == 100644 {print $4}')
    [ -n "$edit" ] || edit=$(cd "$sb" && git ls-files -s | awk '$1 == 100644 {sub(/^[^\t]*\t/, ""); print; exit}')
    printf '\nEdited in the sandbox by scripts/real-repos.sh.\n' >>"$sb/$edit"
    printf 'A new file from the sandbox.\n' >"$sb/procoder-real-repos-new.txt"
    git -C "$sb" add -A && git -C "$sb" -c user.name=Agent -c user.email=agent@example.com commit -q -m "real-repos: edit $edit, add a file"
    tip=$(git -C "$sb" rev-parse HEAD)
    if (cd "$sb" && timed "$d/return" ./procoder-return) >"$d/return.out" 2>&1; then
        r_return=$(secs "$d/return") r_return_mib=$(mib "$d/return")
        r_ret_size=$(stat -c %s "$sb/procoder-return-$id.zip")
        log "./procoder-return: ${r_return} s, ${r_return_mib} MiB peak, ${r_ret_size} bytes"
    else
        bad "./procoder-return failed: $(head -3 "$d/return.out" | tr '\n' ' ')"
    fi

    echo "==> $name: procoder apply" >&2
    if [ -f "$sb/procoder-return-$id.zip" ]; then
        if timed "$d/apply" "$procoder" -C "$src" apply "$sb/procoder-return-$id.zip" >"$d/apply.out" 2>&1; then
            r_apply=$(secs "$d/apply") r_apply_mib=$(mib "$d/apply")
            log "apply: ${r_apply} s, ${r_apply_mib} MiB peak"
            got=$(git -C "$src" rev-parse "$task")
            if [ "$got" = "$tip" ]; then r_tip=yes; else r_tip=no; bad "task branch $got, sandbox tip $tip"; fi
            [ "$(git -C "$src" rev-parse "$task~1")" = "$base" ] || bad "the applied commit's parent is not the base"
        else
            bad "apply failed: $(head -3 "$d/apply.out" | tr '\n' ' ')"
        fi
        fsck_check "after apply" "$src" "$d/afsck"
        r_afsck=$fsck_cell
    fi

    [ "$(refs_digest "$orig")" = "$before" ] || bad "the refs of the original $orig changed during the run"
    local p
    for p in "${problems[@]}"; do notes+=("$name: FAIL: $p"); done
    [ ${#problems[@]} -eq 0 ] || failed=1
    rows+=("| $name | $r_objects | $r_prep | $r_prep_mib | $r_size | $r_files | $r_warn | $r_unzip | $r_status | $r_status_s | $r_status2_s | $r_fsck | $r_return | $r_return_mib | $r_ret_size | $r_apply | $r_afsck | $r_tip |")
    [ "${KEEP:-0}" = 1 ] || rm -rf "$d"
}

for r in "${repos[@]}"; do round_trip "$r"; done

echo
echo "procoder real-repository round trips ($(date -u +%Y-%m-%d), $(nproc) cores, $("$procoder" --version 2>/dev/null || echo procoder))"
echo
echo "| repository | objects | prepare s | prepare MiB | package MB | files | warnings | unzip s | status lines | 1st status s | 2nd status s | fsck --strict | return s | return MiB | return bytes | apply s | fsck after apply | task = sandbox tip |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "prepare / return / apply: wall clock and peak RSS from /usr/bin/time; objects and files: in the package (prepare --json);"
echo "warnings: prepare's warnings plus lines on its stderr; status: git status --porcelain right after unzip (the index carries size and mtime, so the first one hashes nothing);"
echo "fsck: git fsck --strict --no-dangling exit status, in the package and in the repository after apply; lines the source's own fsck"
echo "also prints (warnings in old history) do not count; bold: a failure."
if [ ${#notes[@]} -gt 0 ]; then
    echo
    printf -- '- %s\n' "${notes[@]}"
fi
exit $failed

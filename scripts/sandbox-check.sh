#!/usr/bin/env bash
# The sandbox side where it really runs: a Debian 13 (trixie) root file system made with
# debootstrap (git, unzip, python3; no Rust), entered with chroot. Not part of CI: it needs root
# and the network the first time.
#
#   scripts/sandbox-check.sh
#   SANDBOX_ROOT=/srv/trixie scripts/sandbox-check.sh    where the root is built once and kept
#   PROCODER_BIN_DIR=target/release scripts/sandbox-check.sh   use binaries already built there
#
# A throwaway repository (exec script, file / directory / dangling symlinks, names with spaces
# and Unicode, a *.bat with eol=crlf) is prepared outside; inside the chroot:
#   case A: unzip, git status clean, git fsck --strict clean, commit, ./procoder-return
#   case B: Python's zipfile (drops modes and symlinks), chmod +x procoder-return,
#           git add -A && git commit, ./procoder-return
#   agent-stuck cases (issue 14), each in a fresh unzip: untracked build output, commits on a
#           detached HEAD (clean and dirty), commits on main, a moved and a created tag, the
#           helper run from the folder above; each refusal's hint is run as printed, then the
#           helper again; and a second return after amending returned commits (its first lines
#           name them, its document carries `replaces`, apply needs --replace); and under
#           gVisor (runsc over the same root), files added after the untracked cache was kept
# then each return is applied outside (to its own copy of the repository) and checked: the task
# branch is the sandbox tip, modes and symlinks kept, git fsck --strict clean.
# Exit status: 0 when case A and the agent-stuck cases pass (CASE_B_REQUIRED=0 reports case B without failing the run
# on it), 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/.." && pwd)
ROOT=${SANDBOX_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/procoder/trixie-root}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
JAIL_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

step() { printf '==> %s\n' "$*"; }
die() { printf 'sandbox-check: %s\n' "$*" >&2; exit 1; }
indent() { sed 's/^/    /'; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot)"

# Unmounts everything mounted at or below $1, deepest first.
umount_under() {
    local dir mnt
    dir=$(realpath -m "$1")
    awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
}

# ---------------------------------------------------------------------------------------------
# The root file system, built once.
# ---------------------------------------------------------------------------------------------
ensure_debootstrap() {
    if ! command -v debootstrap >/dev/null; then
        step "installing debootstrap (apt)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    local scripts=/usr/share/debootstrap/scripts
    if [ ! -e "$scripts/trixie" ]; then
        [ -e "$scripts/sid" ] || die "debootstrap has neither a trixie nor a sid script"
        ln -s sid "$scripts/trixie"
        echo "    linked $scripts/trixie -> sid"
    fi
}

build_root() {
    local marker="$ROOT/.procoder-sandbox-root"
    if [ -f "$marker" ]; then
        step "trixie root: $ROOT (cached, built $(cat "$marker"))"
        return
    fi
    ensure_debootstrap
    local partial="$ROOT.partial" log="$ROOT.debootstrap.log"
    mkdir -p "$(dirname "$ROOT")"
    if [ -e "$partial" ]; then
        umount_under "$partial"
        rm -rf --one-file-system "$partial"
    fi
    [ ! -e "$ROOT" ] || die "$ROOT exists but was not built by this script (no $marker); remove it or set SANDBOX_ROOT"
    step "building the trixie root in $ROOT (debootstrap, a few minutes; log: $log)"
    local started=$SECONDS
    if ! debootstrap --variant=minbase --include=git,unzip,python3 trixie "$partial" "$MIRROR" >"$log" 2>&1; then
        umount_under "$partial"
        tail -20 "$log" >&2
        die "debootstrap failed (log: $log)"
    fi
    umount_under "$partial"
    # The sandbox has no Rust: make sure nothing of it came along.
    if chroot "$partial" /bin/sh -c 'command -v cargo || command -v rustc' >/dev/null 2>&1; then
        die "the root has a Rust toolchain; it must not"
    fi
    chroot "$partial" apt-get clean >/dev/null 2>&1 || true
    date -u +%Y-%m-%dT%H:%M:%SZ >"$partial/.procoder-sandbox-root"
    mv "$partial" "$ROOT"
    echo "    built in $((SECONDS - started)) s"
}

build_root

# ---------------------------------------------------------------------------------------------
# Binaries, work directories, the chroot runner.
# ---------------------------------------------------------------------------------------------
. "$(dirname "$0")/lib/bins.sh"
procoder_bins "$repo_root"
procoder="$bin/procoder"
[ -x "$procoder" ] && [ -x "$bin/procoder-return" ] || die "no procoder binaries in $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/procoder-sandbox-check.XXXXXX")
jail=$(mktemp -d "$ROOT/tmp/procoder-check.XXXXXX") # the same directory, seen from outside
jdir=${jail#"$ROOT"}                                 # ... and from inside the chroot
mounted_proc=
cleanup() {
    [ -z "$mounted_proc" ] || umount -l "$ROOT/proc" 2>/dev/null || true
    rm -rf "$work" "$jail"
}
trap cleanup EXIT
# The sandbox has /proc; the root keeps the device nodes debootstrap made.
if ! mountpoint -q "$ROOT/proc"; then
    mount -t proc proc "$ROOT/proc" && mounted_proc=1
fi

# jrun DIR CMD: runs the shell command CMD in DIR inside the chroot with a clean environment.
jrun() {
    local dir=$1 cmd=$2
    env -i HOME=/root PATH="$JAIL_PATH" LC_ALL=C.UTF-8 GIT_CONFIG_NOSYSTEM=1 \
        /usr/sbin/chroot "$ROOT" /bin/sh -c "cd \"\$1\" && $cmd" sh "$dir"
}
# capture VAR RC_VAR DIR CMD: like jrun, output (stdout+stderr) into VAR, exit status into RC_VAR.
capture() {
    local -n out_=$1 rc_=$2
    if out_=$(jrun "$3" "$4" 2>&1); then rc_=0; else rc_=$?; fi
}

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Check User" GIT_AUTHOR_EMAIL=check@example.com
export GIT_COMMITTER_NAME="Check User" GIT_COMMITTER_EMAIL=check@example.com
agent='git -c user.name=Agent -c user.email=agent@example.com'

exec 3>&1
declare -a summary=()
note() { summary+=("$(printf '%-4s %-44s %s' "$1" "$2" "${3:-}")"); }

step "the chroot"
glibc=$(jrun / 'ldd --version | head -1')
versions=$(jrun / 'git --version; python3 --version; unzip -v | head -1 | cut -d" " -f1-2; . /etc/os-release; echo "$PRETTY_NAME"; echo "debian_version $(cat /etc/debian_version)"')
printf '%s\n%s\n' "$glibc" "$versions" | indent
if jrun / 'command -v cargo || command -v rustc' >/dev/null 2>&1; then die "the chroot has Rust"; fi
cp "$bin/procoder-return" "$jail/procoder-return"
if helper_version=$(jrun "$jdir" './procoder-return --version' 2>&1); then
    echo "    helper runs in the chroot: $helper_version"
    note ok "helper runs in the chroot" "$helper_version; $glibc"
else
    echo "$helper_version" | indent
    note FAIL "helper runs in the chroot" "$helper_version"
fi
rm -f "$jail/procoder-return"

# ---------------------------------------------------------------------------------------------
# The source repository and the package.
# ---------------------------------------------------------------------------------------------
step "a throwaway repository with the awkward cases, prepared"
src="$work/project"
mkdir "$src" && cd "$src"
git init -q -b main
git config user.name "Check User" && git config user.email check@example.com
printf '# Sandbox check\n' >README.md
mkdir -p src docs
printf 'fn main() {}\n' >src/main.rs
printf '#!/bin/sh\necho run\n' >run.sh && chmod +x run.sh
ln -s README.md README.link       # file symlink
ln -s src src-link                # directory symlink
ln -s does/not/exist dangling     # dangling symlink
printf 'spaces\n' >"docs/file with spaces.txt"
printf 'unicode\n' >"docs/héllo wörld ✓ 日本.txt"
printf '*.bat text eol=crlf\n' >.gitattributes
printf '@echo off\necho build\n' >build.bat
git -c core.safecrlf=false add -A && git commit -q -m "Initial commit"
git tag -a v1 -m "v1"
# path -> expected mode in every returned tip; symlinks also keep their target
declare -A want_mode=([run.sh]=100755 [README.link]=120000 [src-link]=120000 [dangling]=120000)
declare -A want_link=([README.link]=README.md [src-link]=src [dangling]=does/not/exist)

prep_json="$work/prepare.json"
if ! "$procoder" prepare --json >"$prep_json" 2>"$work/prepare.err"; then
    cat "$prep_json" "$work/prepare.err" | indent
    die "procoder prepare failed"
fi
read -r id pkg < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["exchange_id"], d["package"])' "$prep_json")
task="refs/heads/procoder/$id/task"
echo "    exchange $id, package $(basename "$pkg") ($(stat -c %s "$pkg") bytes)"
cp "$pkg" "$jail/"
jzip="$jdir/$(basename "$pkg")"
# each case applies to its own copy of the prepared repository: both returns start at the base
cp -a "$src" "$work/project-a" && cp -a "$src" "$work/project-b"

# check_tip REPO TIP: empty output when modes, link targets and fsck are right, else reasons
check_tip() {
    local repo=$1 tip=$2 p mode blob fsck
    for p in $(printf '%s\n' "${!want_mode[@]}" | sort); do
        mode=$(git -C "$repo" ls-tree "$tip" -- "$p" | awk '{print $1}')
        [ "$mode" = "${want_mode[$p]}" ] || echo "$p has mode ${mode:-<missing>}, want ${want_mode[$p]}"
    done
    for p in $(printf '%s\n' "${!want_link[@]}" | sort); do
        blob=$(git -C "$repo" cat-file blob "$tip:$p" 2>/dev/null || true)
        [ "$blob" = "${want_link[$p]}" ] || echo "$p holds '$blob', want '${want_link[$p]}'"
    done
    if ! fsck=$(git -C "$repo" fsck --strict --no-progress --no-dangling 2>&1) || [ -n "$fsck" ]; then
        echo "git fsck --strict: $fsck"
    fi
}

# apply_case NAME REPO ZIP SANDBOX_TIP: applies, then checks; prints reasons, returns 1 on failure
apply_case() {
    local name=$1 repo=$2 zip=$3 tip=$4 out rc got problems
    if out=$("$procoder" -C "$repo" apply "$zip" 2>&1); then rc=0; else rc=$?; fi
    echo "$out" | indent >&3 # to the terminal: the caller captures the reasons only
    if [ $rc -ne 0 ]; then
        echo "procoder apply exited $rc: $(echo "$out" | head -1)"
        return 1
    fi
    got=$(git -C "$repo" rev-parse "$task")
    [ "$got" = "$tip" ] || { echo "task branch is $got, the sandbox tip is $tip"; return 1; }
    problems=$(check_tip "$repo" "$tip")
    [ -z "$problems" ] || { echo "$problems"; return 1; }
}

# ---------------------------------------------------------------------------------------------
# Case A: unzip, as the prompt says.
# ---------------------------------------------------------------------------------------------
step "case A: unzip in the chroot"
a_ok=1
a_fail() { a_ok=0; note FAIL "A: $1" "${2:-}"; printf '    FAIL %s\n' "$1"; [ -z "${2:-}" ] || echo "$2" | indent; }
a_pass() { note ok "A: $1" "${2:-}"; printf '    ok   %s %s\n' "$1" "${2:-}"; }
adir="$jdir/a/project"
mkdir "$jail/a"
capture out rc "$jdir/a" "unzip -q '$jzip'"
if [ $rc -eq 0 ]; then a_pass "unzip"; else a_fail "unzip (exit $rc)" "$out"; fi
capture out rc "$adir" 'git status --porcelain'
if [ $rc -eq 0 ] && [ -z "$out" ]; then a_pass "git status --porcelain empty"; else a_fail "git status --porcelain (exit $rc)" "$out"; fi
capture out rc "$adir" 'git fsck --strict --no-progress'
if [ $rc -eq 0 ] && [ -z "$out" ]; then a_pass "git fsck --strict clean"; else a_fail "git fsck --strict (exit $rc)" "$out"; fi
capture out rc "$adir" 'git symbolic-ref HEAD'
if [ "$out" = "$task" ]; then a_pass "HEAD is the task branch"; else a_fail "HEAD is '$out', want $task"; fi
capture out rc "$adir" 'stat -c "%A %n" run.sh procoder-return; for l in README.link src-link dangling; do printf "%s -> %s\n" "$l" "$(readlink "$l")"; done; od -c build.bat | head -2'
echo "$out" | indent
# git's own checkout of the same commit, as the oracle for what the package's work tree holds
capture out rc "$jdir/a" "git clone -q --no-local project clone 2>&1"
[ $rc -eq 0 ] || a_fail "git clone of the package (exit $rc)" "$out"
tree_list='find . -path ./.git -prune -o -path ./procoder-return -prune -o -printf "%y %m %p %l\n" | LC_ALL=C sort'
capture ours rc "$adir" "$tree_list"
capture theirs rc "$jdir/a/clone" "$tree_list"
capture out rc "$jdir/a" 'diff -r --no-dereference -x .git -x procoder-return -x procoder-return-\*.zip project clone'
if [ "$ours" = "$theirs" ] && [ $rc -eq 0 ]; then
    a_pass "work tree = git clone's checkout (types, modes, links, bytes)"
else
    # a difference git status does not see (it normalises line endings): reported, not failed
    differing=$(jrun "$jdir/a" 'diff -rq --no-dereference -x .git -x procoder-return project clone' 2>&1 |
        sed -E 's|^Files project/(.*) and clone/.* differ$|\1|' | paste -sd' ' || true)
    note warn "A: work tree = git clone's checkout" "differs: ${differing:-(types or modes)}"
    echo "    warn work tree differs from git clone's checkout of the same commit:"
    diff <(echo "$ours") <(echo "$theirs") | indent | indent || true
    echo "$out" | cat -v | indent | indent
fi
capture out rc "$adir" "printf 'edited in the sandbox\n' >>README.md && printf 'new\n' >'docs/new file ü.txt' && git add -A && $agent commit -q -m 'Case A: edit and add'"
if [ $rc -eq 0 ]; then
    a_tip=$(jrun "$adir" 'git rev-parse HEAD')
    a_pass "commit" "${a_tip:0:12}${out:+ ($out)}"
else
    a_fail "commit (exit $rc)" "$out"; a_tip=
fi
capture out rc "$adir" './procoder-return'
echo "$out" | indent
if [ $rc -eq 0 ]; then a_pass "./procoder-return"; else a_fail "./procoder-return (exit $rc)" "$out"; fi
a_zip="$jail/a/project/procoder-return-$id.zip"
if [ $a_ok = 1 ] && [ -f "$a_zip" ]; then
    step "case A: procoder apply outside"
    if problems=$(apply_case A "$work/project-a" "$a_zip" "$a_tip"); then
        a_pass "apply: task branch = sandbox tip, modes, links, fsck --strict"
    else
        a_fail "apply" "$problems"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Case B: Python's zipfile, which drops every mode bit and turns symlinks into files.
# ---------------------------------------------------------------------------------------------
step "case B: Python zipfile in the chroot"
b_result=PASS b_reason=
b_fail() { [ "$b_result" = FAIL ] || b_reason=$1; b_result=FAIL; printf '    FAIL %s\n' "$1"; [ -z "${2:-}" ] || echo "$2" | indent; }
bdir="$jdir/b/project"
capture out rc / "python3 -c 'import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' '$jzip' '$jdir/b'"
[ $rc -eq 0 ] || b_fail "zipfile extraction (exit $rc)" "$out"
capture out rc "$bdir" 'chmod +x procoder-return && git status --porcelain'
echo "    git status --porcelain after the lossy extraction ($(printf '%s' "$out" | grep -c . || true) lines):"
echo "$out" | indent | indent
capture out rc "$bdir" "printf 'edited in the sandbox\n' >>README.md && git add -A && $agent commit -q -m 'Case B: edit'"
if [ $rc -eq 0 ]; then
    echo "    commit $(jrun "$bdir" 'git rev-parse --short=12 HEAD')${out:+ ($out)}"
else
    b_fail "commit (exit $rc)" "$out"
fi
capture b_out b_rc "$bdir" './procoder-return'
echo "    ./procoder-return exited $b_rc:"
echo "$b_out" | indent | indent
if [ $b_rc -ne 0 ]; then
    b_fail "./procoder-return exited $b_rc: $(echo "$b_out" | head -1)"
else
    # the helper may repair the lossy commits: expect the tip the return document names
    b_zip="$jail/b/project/procoder-return-$id.zip"
    b_tip=$(python3 -c 'import json,sys,zipfile
d=json.loads(zipfile.ZipFile(sys.argv[1]).read("procoder-return.json"))
print(next(u["new_oid"] for u in d["updates"] if u["ref"] == sys.argv[2]))' "$b_zip" "$task")
    capture out rc "$bdir" "git rev-parse '$task'"
    echo "    returned tip ${b_tip:0:12}; the sandbox's task branch is at ${out:0:12}"
    step "case B: procoder apply outside"
    if problems=$(apply_case B "$work/project-b" "$b_zip" "$b_tip"); then
        echo "    ok   apply: task branch = sandbox tip, modes, links, fsck --strict"
    else
        b_fail "applied tip: $(echo "$problems" | paste -sd';' | sed 's/;/; /g')"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Agent-stuck cases (issue 14): each situation in a fresh unzip, the helper's hint followed
# literally, and the return applied outside to its own copy of the repository.
# ---------------------------------------------------------------------------------------------
s_ok=1
declare -a first_lines=()
s_fail() { s_ok=0; note FAIL "stuck: $1" "${2:-}"; printf '    FAIL %s\n' "$1"; [ -z "${2:-}" ] || echo "$2" | indent; }
s_pass() { note ok "stuck: $1" "${2:-}"; printf '    ok   %s %s\n' "$1" "${2:-}"; }

# s_unzip NAME: a fresh unzip of the package; sets sdir to its path in the chroot
s_unzip() {
    local out rc
    mkdir "$jail/s-$1"
    sdir="$jdir/s-$1/project"
    capture out rc "$jdir/s-$1" "unzip -q '$jzip'"
    [ $rc -eq 0 ] || { s_fail "$1: unzip (exit $rc)" "$out"; return 1; }
}

# s_applied NAME DIR [EXTRA...]: applies DIR's return outside, task branch = the sandbox's
s_applied() {
    local name=$1 dir=$2 tip problems
    shift 2
    tip=$(jrun "$dir" "git rev-parse '$task'")
    cp -a "$src" "$work/project-$name"
    if problems=$(apply_case "$name" "$work/project-$name" "$ROOT$dir/procoder-return-$id.zip" "$tip"); then
        s_pass "$name" "task branch = sandbox tip ${tip:0:12}"
    else
        s_fail "$name: apply" "$problems"
    fi
}

# stuck NAME CODE SETUP [CHECK [FROM HELPER]]: SETUP in a fresh unzip; the helper, run in
# FROM (default: the package) as HELPER (default ./procoder-return), must refuse with CODE and
# a second line `Hint: run \`<command>\` ..., then rerun ./procoder-return`; that command is run
# as printed and the helper rerun in the same shell, CHECK (a shell test in the package) must
# hold, and the return must apply outside with the task branch at the sandbox's tip.
stuck() {
    local name=$1 code=$2 setup=$3 check=${4:-true} dir out rc hint cmd
    step "agent stuck: $name"
    s_unzip "$name" || return 0
    dir=$sdir
    local from=${5:-$dir} helper=${6:-./procoder-return}
    capture out rc "$dir" "$setup"
    [ $rc -eq 0 ] || { s_fail "$name: setup (exit $rc)" "$out"; return 0; }
    capture out rc "$from" "$helper"
    echo "$out" | head -4 | indent
    first_lines+=("$name:" "$(echo "$out" | head -2 | indent)")
    hint=$(echo "$out" | sed -n 2p)
    if [ $rc -ne 1 ] || [ "${out%%:*}" != "$code" ]; then
        s_fail "$name: the helper exited $rc, want $code" "$out"; return 0
    fi
    case $hint in
    'Hint: run `'*'then rerun ./procoder-return') ;;
    *) s_fail "$name: the second line is not a hint naming one command" "$out"; return 0 ;;
    esac
    case $hint in *'<'*) s_fail "$name: a placeholder is left to guess" "$hint"; return 0 ;; esac
    cmd=${hint#*\`}
    cmd=${cmd%%\`*}
    echo "    running: $cmd"
    capture out rc "$from" "$cmd && ./procoder-return"
    [ $rc -eq 0 ] || { s_fail "$name: the hint's command, then ./procoder-return (exit $rc)" "$out"; return 0; }
    capture out rc "$dir" "$check"
    [ $rc -eq 0 ] || { s_fail "$name: check '$check'" "$out"; return 0; }
    s_applied "$name" "$dir"
}

commit_feature="printf 'work\n' >feature.txt && git add feature.txt && $agent commit -q -m 'Add feature'"
stuck build-output WORKTREE_DIRTY \
    "$commit_feature && mkdir -p node_modules/left-pad web/dist src && for i in \$(seq 1 200); do echo m >node_modules/left-pad/f\$i.js; done && echo b >web/dist/app.js && echo 'fn f() {}' >'src/new module.rs'" \
    "git ls-tree -r --name-only HEAD >/tmp/names && grep -qx 'src/new module.rs' /tmp/names && ! grep -Eq 'node_modules|dist/' /tmp/names"
stuck detached-head NO_NEW_COMMITS "git checkout -q --detach && $commit_feature" \
    "test \"\$(git symbolic-ref HEAD)\" = '$task'"
stuck detached-head-dirty WORKTREE_DIRTY "git checkout -q --detach && $commit_feature && printf 'more\n' >>feature.txt && echo x >notes.md" \
    "test -z \"\$(git status --porcelain)\" && git cat-file -e HEAD:notes.md && test \"\$(git rev-list --count HEAD~2..HEAD)\" = 2"
stuck commits-on-main REF_OUT_OF_SCOPE "git checkout -q main && $commit_feature" \
    "test \"\$(git rev-parse main)\" = '$(git rev-parse main)'"
stuck moved-tag REF_OUT_OF_SCOPE "$commit_feature && git tag -f -a v1 -m 'v1 moved' >/dev/null && git tag rc1" \
    "test \"\$(git rev-parse refs/tags/v1)\" = '$(git rev-parse refs/tags/v1)' && ! git rev-parse -q --verify refs/tags/rc1"
stuck wrong-folder INVALID_EXCHANGE "$commit_feature" true "$jdir/s-wrong-folder" ./project/procoder-return

# A second return after amending what a first return sent: the helper says so in its first
# lines, the document carries `replaces`, and the user's side needs `--replace`.
step "agent stuck: rewritten-return"
if s_unzip rewritten-return; then
    rdir=$sdir
    rzip="$ROOT$rdir/procoder-return-$id.zip"
    capture out rc "$rdir" "$commit_feature && ./procoder-return"
    first=$(jrun "$rdir" 'git rev-parse HEAD')
    cp "$rzip" "$work/first-return.zip" 2>/dev/null || true
    cp -a "$src" "$work/project-rewritten-return"
    rrepo="$work/project-rewritten-return"
    if [ $rc -ne 0 ] || ! out=$("$procoder" -C "$rrepo" apply "$work/first-return.zip" 2>&1); then
        s_fail "rewritten-return: first return and apply" "$out"
    else
        capture out rc "$rdir" "printf 'better\n' >feature.txt && $agent commit -q -a --amend -m 'Better feature' && ./procoder-return"
        echo "$out" | head -4 | indent
        first_lines+=("rewritten-return:" "$(echo "$out" | head -2 | indent)")
        amended=$(jrun "$rdir" 'git rev-parse HEAD')
        replaces=$(python3 -c 'import json,sys,zipfile
d=json.loads(zipfile.ZipFile(sys.argv[1]).read("procoder-return.json"))
print(" ".join(c for r in d.get("replaces", []) for c in r["commits"]))' "$rzip")
        if [ $rc -ne 0 ]; then
            s_fail "rewritten-return: second ./procoder-return (exit $rc)" "$out"
        elif ! echo "$out" | head -1 | grep -q "^This return replaces 1 commit.*procoder apply procoder-return-$id.zip --replace" ||
            ! echo "$out" | sed -n 2p | grep -q "replaces ${first:0:7} on procoder/$id/task"; then
            s_fail "rewritten-return: the first lines do not name the replaced commit and --replace" "$out"
        elif [ "$replaces" != "$first" ]; then
            s_fail "rewritten-return: the document's replaces is '$replaces', want $first"
        elif out=$("$procoder" -C "$rrepo" apply "$rzip" 2>&1) || [ "${out%%:*}" != RETURN_REWRITES ]; then
            s_fail "rewritten-return: apply without --replace is not RETURN_REWRITES" "$out"
        elif ! { echo "$out" | indent >&3; echo "$out" | head -1 | grep -q "said so"; }; then
            s_fail "rewritten-return: RETURN_REWRITES does not say the agent's helper announced it" "$out"
        elif [ "$(git -C "$rrepo" rev-parse "$task")" != "$first" ]; then
            s_fail "rewritten-return: the refused apply moved the task branch"
        elif ! out=$("$procoder" -C "$rrepo" apply "$rzip" --replace 2>&1); then
            s_fail "rewritten-return: apply --replace" "$out"
        elif [ "$(git -C "$rrepo" rev-parse "$task")" != "$amended" ] ||
            [ "$(git -C "$rrepo" rev-parse "$task-replaced-${first:0:12}")" != "$first" ]; then
            s_fail "rewritten-return: after --replace the task branch or its backup is wrong"
        else
            echo "$out" | indent
            s_pass rewritten-return "RETURN_REWRITES without --replace; with it, task = ${amended:0:12}, backup = ${first:0:12}"
        fi
    fi
fi

# The untracked cache under gVisor, the sandbox's kernel (runsc over the same Debian root):
# a first run keeps each folder's listing, and files the agent adds afterwards, in a folder
# the cache holds and in a new one, are still refused; then a commit returns and applies.
step "gVisor: the untracked cache sees what the agent adds"
if ! command -v runsc >/dev/null; then
    apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null 2>&1 || true
fi
if ! command -v runsc >/dev/null; then
    s_fail "gvisor: runsc is not installed and could not be"
elif s_unzip gvisor; then
    gdir=$sdir
    # runsc takes its working directory from the host: / exists on both sides.
    gout=$(cd / && env -i HOME=/root PATH="$JAIL_PATH" LC_ALL=C.UTF-8 GIT_CONFIG_NOSYSTEM=1 \
        runsc --network=none --platform=ptrace do -root "$ROOT" -force-overlay=false /bin/sh -c '
        cd "$1" || exit 9
        ./procoder-return >/dev/null 2>&1; echo "first: $?"
        test -s .git/procoder/untracked-cache && echo "cache: kept"
        sleep 1
        echo late >src/late.txt
        ./procoder-return 2>&1 | head -6; echo "second: done"
        rm src/late.txt && mkdir -p docs/deep && echo new >docs/deep/new.txt
        ./procoder-return 2>&1 | head -6; echo "third: done"
        rm -r docs/deep && printf "work\n" >feature.txt && git add feature.txt &&
            git -c user.name=Agent -c user.email=agent@example.com commit -q -m "Add feature" &&
            ./procoder-return >/dev/null 2>&1; echo "fourth: $?"' sh "$gdir" 2>&1) || true
    echo "$gout" | indent
    second=$(echo "$gout" | sed -n '/^cache: kept/,/^second: done/p')
    third=$(echo "$gout" | sed -n '/^second: done/,/^third: done/p')
    if ! echo "$gout" | grep -qx "first: 1" || ! echo "$gout" | grep -qx "cache: kept"; then
        s_fail "gvisor: the first run did not refuse NO_NEW_COMMITS and keep a cache" "$gout"
    elif ! echo "$second" | grep -q "^WORKTREE_DIRTY" || ! echo "$second" | grep -q "untracked: src/ (1 file)"; then
        s_fail "gvisor: a file added to a cached folder was not refused" "$second"
    elif ! echo "$third" | grep -q "^WORKTREE_DIRTY" || ! echo "$third" | grep -q "untracked: docs/ (1 file)"; then
        s_fail "gvisor: a file in a new folder was not refused" "$third"
    elif ! echo "$gout" | grep -qx "fourth: 0"; then
        s_fail "gvisor: the committed work did not return" "$gout"
    else
        s_applied gvisor "$gdir"
    fi
fi

echo
echo "the helper's first lines in each agent-stuck case:"
printf '%s\n' "${first_lines[@]}"

# ---------------------------------------------------------------------------------------------
echo
echo "sandbox-check summary ($glibc; root $ROOT)"
printf '%s\n' "${summary[@]}"
printf '%-4s %-44s %s\n' "$([ "$b_result" = PASS ] && echo ok || echo FAIL)" "B: Python zipfile round trip" "$b_reason"
if [ $a_ok = 1 ]; then echo "case A: PASS"; else echo "case A: FAIL"; fi
echo "case B: $b_result${b_reason:+ ($b_reason)}"
echo "agent-stuck cases: $([ $s_ok = 1 ] && echo PASS || echo FAIL)"
[ $a_ok = 1 ] || exit 1
[ $s_ok = 1 ] || exit 1
[ "${CASE_B_REQUIRED:-1}" != 1 ] || [ "$b_result" = PASS ] || exit 1

#!/usr/bin/env bash
# A whole round trip on a throwaway repository: build, make a repo, prepare, unzip as the
# agent would, commit, ./procoder-return, apply, and show the result with git.
# Usage: scripts/demo.sh            (builds release binaries first)
#        PROCODER_BIN_DIR=target/debug scripts/demo.sh   (uses binaries already built there)
#        KEEP=1 scripts/demo.sh   (keeps the repository and the sandbox folder for a look)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/lib/bins.sh"
procoder_bins "$root"
procoder="$bin/procoder"

work=$(mktemp -d "${TMPDIR:-/tmp}/procoder-demo.XXXXXX")
if [ -n "${KEEP:-}" ]; then
    trap 'printf "\n==> kept: the repository %s/project, the sandbox %s/sandbox/project\n" "$work" "$work"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Demo User" GIT_AUTHOR_EMAIL=demo@example.com
export GIT_COMMITTER_NAME="Demo User" GIT_COMMITTER_EMAIL=demo@example.com

step() { printf '\n==> %s\n' "$*"; }

step "making a repository in $work/project"
mkdir "$work/project" && cd "$work/project"
git init -q -b main
git config user.name "Demo User" && git config user.email demo@example.com
printf '# Demo\n' > README.md
mkdir -p src && printf 'fn main() {\n    println!("hello");\n}\n' > src/main.rs
printf '#!/bin/sh\necho build\n' > build.sh && chmod +x build.sh
ln -s README.md README.link
git add -A && git commit -q -m "Initial commit"
git tag -a v0.1 -m "first release"
git log --oneline --decorate

step "procoder prepare"
"$procoder" prepare
zip=$(ls "$work"/project/procoder-task-*.zip)

step "the sandbox: unzip and commit as the agent would"
mkdir "$work/sandbox" && cd "$work/sandbox"
unzip -q "$zip"
cd project
git status --short --branch
printf 'fn main() {\n    println!("hello, procoder");\n}\n' > src/main.rs
git commit -q -am "Greet procoder"
printf 'pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n' > src/lib.rs
git add src/lib.rs && git commit -q -m "Add an adder"
./procoder-return
ret=$(ls "$PWD"/procoder-return-*.zip)

step "procoder apply --dry-run, then apply"
cd "$work/project"
"$procoder" apply "$ret" --dry-run
"$procoder" apply "$ret"

step "the result"
task=$(git for-each-ref --format='%(refname:short)' 'refs/heads/procoder/*/task')
git log --oneline --decorate --graph "$task"
git fsck --strict --no-progress && echo "git fsck --strict: clean"
"$procoder" status

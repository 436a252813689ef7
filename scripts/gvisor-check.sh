#!/usr/bin/env bash
# The static helper under gVisor, the sandbox's kernel: prepares a throwaway repository with
# the release procoder (helper embedded), unzips the package into an otherwise EMPTY root (no
# libc, no loader, no shell, no git), commits there from the host, runs ./procoder-return
# inside `runsc do` (no network, ptrace platform), applies the return and checks it with git.
# Needs root; installs Debian's runsc if missing. Not part of CI.
# Usage: scripts/gvisor-check.sh   (PROCODER_BIN_DIR=DIR reuses a release-build.sh OUT_DIR)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "gvisor-check.sh: needs root (runsc)" >&2; exit 1; }
. "$here/lib/bins.sh"
procoder_bins "$root"
if ! command -v runsc >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null
fi
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 CI=true
work=$(mktemp -d)
# runsc takes the working directory from the host, so the package's folder inside the root
# (/mnt/data/…, as in the sandbox) also exists on the host, as a link into the root.
inside=/mnt/data/procoder-gvisor-$$
trap 'rm -rf "$work"; rm -f "$inside"' EXIT
git init -q -b main "$work/src"
cd "$work/src"
git config user.name gVisor && git config user.email gvisor@example.com
echo base >a.txt && git add a.txt && git commit -q -m base
"$bin/procoder" prepare --quiet >/dev/null
mkdir -p "$work/root$inside"
unzip -q "$work"/src/procoder-task-*.zip -d "$work/root$inside"
pkg="$work/root$inside/src"
git -C "$pkg" config user.name Agent && git -C "$pkg" config user.email agent@example.com
echo "made under gVisor" >"$pkg/b.txt"
git -C "$pkg" add b.txt && git -C "$pkg" commit -q -m "Work made under gVisor"
tip=$(git -C "$pkg" rev-parse HEAD)
mkdir -p /mnt/data && ln -sfn "$work/root$inside" "$inside"
(cd "$inside/src" && runsc --network=none --platform=ptrace do -root "$work/root" \
    -force-overlay=false "$inside/src/procoder-return") 2>&1 | sed 's/^/  [runsc] /'
ret=$(ls "$pkg"/procoder-return-*.zip)
"$bin/procoder" apply "$ret" --quiet
got=$(git rev-parse "$(git for-each-ref --format='%(refname)' 'refs/heads/procoder/*/task')")
[ "$got" = "$tip" ] || { echo "gvisor-check.sh: task branch at $got, the sandbox made $tip" >&2; exit 1; }
git fsck --strict --no-progress
echo "gVisor check passed: the static helper ran in an empty root under runsc ($(runsc --version | head -1))"

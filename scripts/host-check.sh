#!/usr/bin/env bash
# The check of a host where the end-to-end tests cannot run (macOS, Windows: they run the
# Linux sandbox helper): builds everything, runs the crates' own tests, then prepares a real
# repository with a Linux x86-64 helper (the Go procoder's, from the test fixtures) and checks
# the package's entries (modes from git's tree, the helper 0755), then status and abort.
# The CI workflow runs it on macOS and Windows; it runs on Linux as well.
# HOST_CHECK_SKIP_TESTS=1 skips the crates' tests (for a quick rerun of the prepare check).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --locked --workspace --bins
[ -n "${HOST_CHECK_SKIP_TESTS:-}" ] || cargo test --locked --workspace --exclude procoder-tests
exe=""
case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) exe=".exe" ;; esac
procoder="${CARGO_TARGET_DIR:-$root/target}/debug/procoder$exe"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=$(command -v python3 || command -v python)
"$python" - "$root/tests/it/fixtures/go-procoder/task.zip" "$work/helper" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if n.endswith("/procoder-return"))
open(sys.argv[2], "wb").write(z.read(name))
PY

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 CI=true
git init -q -b main "$work/repo"
cd "$work/repo"
git config user.name Host && git config user.email host@example.com
git config core.autocrlf false
printf 'hello\n' >a.txt
printf '#!/bin/sh\necho run\n' >run.sh
chmod +x run.sh # Windows ignores it (core.fileMode=false); the index gets the bit below
git add a.txt run.sh
git update-index --chmod=+x run.sh
git commit -q -m "Host check"
"$procoder" --version
"$procoder" prepare --json --helper "$work/helper" >"$work/prepare.json" || { cat "$work/prepare.json"; exit 1; }
"$python" - "$work/prepare.json" <<'PY'
import json, sys, zipfile
out = json.load(open(sys.argv[1]))
assert out["ok"], out
z = zipfile.ZipFile(out["package"])
modes = {i.filename: (i.external_attr >> 16) & 0o170777 for i in z.infolist()}
top = next(iter(modes)).split("/")[0]
want = {f"{top}/procoder-return": 0o100755, f"{top}/run.sh": 0o100755, f"{top}/a.txt": 0o100644}
for name, mode in want.items():
    assert modes.get(name) == mode, (name, oct(modes.get(name) or 0), oct(mode))
print("package entries:", len(modes), "- modes from git's tree, the helper 0755")
PY
id=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["exchange_id"])' "$work/prepare.json")
"$procoder" status
"$procoder" abort "$id"
echo "host check passed"

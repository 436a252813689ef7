#!/usr/bin/env bash
# scripts/package-archive.sh BIN_DIR OUT_DIR --target TRIPLE
#
# The release archive of one host from BIN_DIR (scripts/release-build.sh's OUT_DIR):
# OUT_DIR/procoder-VERSION-TRIPLE.tar.gz (a .zip for Windows), one folder holding procoder
# (with the sandbox helper embedded) and README.md. The installers unpack exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target="" args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target="$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
[ ${#args[@]} -eq 2 ] && [ -n "$target" ] || { echo "usage: scripts/package-archive.sh BIN_DIR OUT_DIR --target TRIPLE" >&2; exit 2; }
bin_dir=$(cd "${args[0]}" && pwd)
mkdir -p "${args[1]}"
out=$(cd "${args[1]}" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
exe=procoder
case "$target" in *windows*) exe=procoder.exe ;; esac
[ -f "$bin_dir/$exe" ] || { echo "package-archive.sh: $bin_dir/$exe is missing" >&2; exit 1; }

name="procoder-$version-$target"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$bin_dir/$exe" "$stage/$name/$exe"
chmod 0755 "$stage/$name/$exe"
cp "$root/README.md" "$stage/$name/README.md"
case "$target" in
    *windows*)
        # PowerShell's Expand-Archive reads it; bsdtar (Windows' tar) writes it without zip.
        (cd "$stage" && if command -v zip >/dev/null; then zip -q -r "$out/$name.zip" "$name"; else tar -a -cf "$out/$name.zip" "$name"; fi)
        echo "$out/$name.zip" ;;
    *)
        (cd "$stage" && tar -czf "$out/$name.tar.gz" "$name")
        echo "$out/$name.tar.gz" ;;
esac

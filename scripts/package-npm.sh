#!/usr/bin/env bash
# scripts/package-npm.sh BIN_DIR OUT_DIR [--platform OS-CPU]
#
# The npm tarballs, from the binaries in BIN_DIR (scripts/release-build.sh's OUT_DIR):
#   OUT_DIR/procoder-cli-VERSION.tgz               the `procoder` command: a small launcher whose
#                                                  optional dependencies are the platform packages;
#   OUT_DIR/procoder-cli-OS-CPU-VERSION.tgz        @procoder-cli/OS-CPU: BIN_DIR's procoder
#                                                  (procoder.exe on win32) and nothing else.
# OS-CPU is in Node's words (darwin-arm64, darwin-x64, linux-x64, linux-arm64, win32-x64);
# the default is this machine's. VERSION is the workspace's. Needs node and npm; no network.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
platform=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --platform) platform="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
[ ${#args[@]} -eq 2 ] || { echo "usage: scripts/package-npm.sh BIN_DIR OUT_DIR [--platform OS-CPU]" >&2; exit 2; }
bin_dir=$(cd "${args[0]}" && pwd)
mkdir -p "${args[1]}"
out=$(cd "${args[1]}" && pwd)
platform="${platform:-$(node -p 'process.platform + "-" + process.arch')}"
case "$platform" in
    darwin-arm64|darwin-x64|linux-arm64|linux-x64|win32-x64) ;;
    *) echo "package-npm.sh: no npm package for platform $platform" >&2; exit 2 ;;
esac
os=${platform%-*} cpu=${platform#*-}
exe=procoder
[ "$os" = win32 ] && exe=procoder.exe
[ -f "$bin_dir/$exe" ] || { echo "package-npm.sh: $bin_dir/$exe is missing (scripts/release-build.sh builds it)" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
license=$(sed -n 's/^license = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The platform package: one binary, installable only where it runs.
mkdir -p "$stage/platform/bin"
cp "$bin_dir/$exe" "$stage/platform/bin/$exe"
chmod 0755 "$stage/platform/bin/$exe"
cat >"$stage/platform/package.json" <<JSON
{
  "name": "@procoder-cli/$platform",
  "version": "$version",
  "description": "The procoder binary for $os $cpu (used by procoder-cli)",
  "license": "$license",
  "os": ["$os"],
  "cpu": ["$cpu"],
  "files": ["bin/$exe"],
  "preferUnplugged": true
}
JSON
printf '# @procoder-cli/%s\n\nThe `procoder` binary for %s %s. Install `procoder-cli`, which picks it.\n' \
    "$platform" "$os" "$cpu" >"$stage/platform/README.md"

# The main package: the launcher, and every platform package as an optional dependency.
mkdir -p "$stage/main/bin"
cp "$root/npm/procoder-cli/bin/procoder.js" "$stage/main/bin/procoder.js"
cp "$root/npm/procoder-cli/README.md" "$stage/main/README.md"
deps=""
for p in darwin-arm64 darwin-x64 linux-arm64 linux-x64 win32-x64; do
    deps="$deps${deps:+,
}    \"@procoder-cli/$p\": \"$version\""
done
cat >"$stage/main/package.json" <<JSON
{
  "name": "procoder-cli",
  "version": "$version",
  "description": "Get real Git commits back from an offline coding sandbox",
  "license": "$license",
  "bin": { "procoder": "bin/procoder.js" },
  "files": ["bin/procoder.js"],
  "engines": { "node": ">=16" },
  "optionalDependencies": {
$deps
  }
}
JSON

for pkg in main platform; do
    (cd "$stage/$pkg" && npm pack --silent --pack-destination "$out" >/dev/null)
done
echo "$out/procoder-cli-$version.tgz"
echo "$out/procoder-cli-$platform-$version.tgz"

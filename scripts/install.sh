#!/bin/sh
# The procoder installer for macOS and Linux (the release attaches this file with its
# repository and version filled in):
#   curl -fsSL https://github.com/OWNER/REPO/releases/download/vVERSION/install.sh | sh
# Downloads the archive for this machine, checks its sha256 against the release's SHA256SUMS,
# and installs procoder (the sandbox helper is embedded in it) into $PROCODER_INSTALL_DIR
# (default ~/.local/bin). PROCODER_DOWNLOAD_URL replaces the release's download folder (a
# mirror, or file:///path for a local copy). Needs curl or wget, tar, and sha256sum or shasum.
set -eu
repo="@REPO@"
version="${PROCODER_VERSION:-@VERSION@}"
dest="${PROCODER_INSTALL_DIR:-$HOME/.local/bin}"
fail() { echo "procoder install: $*" >&2; exit 1; }

case "$repo$version" in
    *@*) [ -n "${PROCODER_DOWNLOAD_URL:-}" ] || fail "this is the installer's template: use the install.sh attached to a release, or set PROCODER_DOWNLOAD_URL and PROCODER_VERSION" ;;
esac
base="${PROCODER_DOWNLOAD_URL:-https://github.com/$repo/releases/download/v$version}"

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64 | Linux-amd64) target=x86_64-unknown-linux-gnu ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-gnu ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    Darwin-x86_64) target=x86_64-apple-darwin ;;
    *) fail "no release build for $(uname -s) $(uname -m); build from source: cargo install --locked --path procoder" ;;
esac
archive="procoder-$version-$target.tar.gz"

fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL "$1" -o "$2" || fail "cannot download $1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1" || fail "cannot download $1"
    else
        fail "neither curl nor wget is installed"
    fi
}
sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi | awk '{print $1}'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch "$base/$archive" "$tmp/$archive"
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS"
expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f {print $1}' "$tmp/SHA256SUMS")
[ -n "$expected" ] || fail "SHA256SUMS lists no $archive"
actual=$(sha256 "$tmp/$archive")
[ "$expected" = "$actual" ] || fail "$archive has sha256 $actual, SHA256SUMS says $expected: not installed"
tar -xzf "$tmp/$archive" -C "$tmp"
mkdir -p "$dest"
cp "$tmp/procoder-$version-$target/procoder" "$dest/procoder.tmp"
chmod 0755 "$dest/procoder.tmp"
mv -f "$dest/procoder.tmp" "$dest/procoder"
echo "Installed $dest/procoder ($archive, sha256 $actual)"
"$dest/procoder" --version
case ":$PATH:" in
    *":$dest:"*) ;;
    *) echo "Add $dest to your PATH: export PATH=\"$dest:\$PATH\"" ;;
esac

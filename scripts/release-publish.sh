#!/usr/bin/env bash
# scripts/release-publish.sh OUT_DIR TAG REPO [--dry-run]
#
# The release workflow's last step, on OUT_DIR holding every host's archive and npm tarballs
# (scripts/package-archive.sh, scripts/package-npm.sh): checks that TAG is v<workspace version>,
# writes the installers with REPO (owner/name) and the version filled in, writes SHA256SUMS
# over everything, then creates the GitHub release (gh, GH_TOKEN) and publishes the npm
# packages, each platform package before procoder-cli (npm, NODE_AUTH_TOKEN). --dry-run does
# all but the last two and prints them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dry="" args=()
for a in "$@"; do
    case "$a" in
        --dry-run) dry=1 ;;
        *) args+=("$a") ;;
    esac
done
[ ${#args[@]} -eq 3 ] || { echo "usage: scripts/release-publish.sh OUT_DIR TAG REPO [--dry-run]" >&2; exit 2; }
out=$(cd "${args[0]}" && pwd) tag="${args[1]}" repo="${args[2]}"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
[ "$tag" = "v$version" ] || { echo "release-publish.sh: tag $tag is not v$version (Cargo.toml)" >&2; exit 1; }
case "$repo" in */*) ;; *) echo "release-publish.sh: REPO must be owner/name, not $repo" >&2; exit 2 ;; esac

for f in install.sh install.ps1; do
    sed -e "s|@REPO@|$repo|g" -e "s|@VERSION@|$version|g" "$root/scripts/$f" >"$out/$f"
done
chmod 0755 "$out/install.sh"
# Listed before the sums file exists, so it never sums itself.
(cd "$out" && rm -f SHA256SUMS && files=$(find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort) &&
    for f in $files; do sha256sum "$f"; done >SHA256SUMS)
echo "$out/SHA256SUMS: $(wc -l <"$out/SHA256SUMS") files"

run() {
    if [ -n "$dry" ]; then printf 'would run:'; printf ' %q' "$@"; echo; else "$@"; fi
}
run gh release create "$tag" --repo "$repo" --title "procoder $version" --verify-tag \
    --notes "Install: npm install -g procoder-cli, the installers below, or an archive (see SHA256SUMS)." \
    "$out"/*
main="$out/procoder-cli-$version.tgz"
for pkg in "$out"/procoder-cli-*-"$version".tgz; do
    run npm publish "$pkg" --access public --provenance
done
run npm publish "$main" --access public --provenance

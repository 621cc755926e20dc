#!/usr/bin/env bash
# Vendor noVNC (the npm package @novnc/novnc) into the dashboard's static files, with its licences.
# Run at build time by a maintainer; nothing is fetched when the mock runs.
#   tools/vendor_novnc.sh [VERSION]      (default: the version vendored now)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=mock_server/ui/static/vendor/novnc
version="${1:-$(python3 -c "import json;print(json.load(open('$dest/package.json'))['version'])" 2>/dev/null || echo 1.7.0)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@novnc/novnc@$version" >/dev/null && tar xzf novnc-novnc-*.tgz)
rm -rf "$dest"
mkdir -p "$dest/docs"
cp -r "$work/package/core" "$work/package/vendor" "$work/package/LICENSE.txt" "$work/package/AUTHORS" \
      "$work/package/package.json" "$dest/"
cp "$work"/package/docs/LICENSE* "$dest/docs/"
echo "vendored @novnc/novnc $version into $dest"

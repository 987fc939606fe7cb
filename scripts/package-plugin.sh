#!/usr/bin/env bash
# Builds the distributable Grafana plugin:
#   dist/                                   the plugin folder (plugin.json, module.js,
#                                           img/, README.md, README.zh-CN.md, CHANGELOG.md, LICENSE,
#                                           gpx_vllm_linux_amd64, gpx_vllm_linux_arm64)
#   target/plugin/vllm-grafana-datasource-<version>.zip
#                                           the same folder, zipped under a top-level
#                                           folder named after the plugin id
#   target/plugin/vllm-grafana-datasource-<version>.zip.sha256
#                                           its checksum, in `sha256sum -c` format
# then checks both with tests/packaging/check-package.mjs.
#
# Backend binaries: static musl executables for amd64 and arm64, both built
# here by scripts/build-plugin.sh (which installs the Rust targets, zig and
# cargo-zigbuild it needs). When either cannot be built the script fails:
# it never packages a glibc binary or a single architecture.
#
# Usage: scripts/package-plugin.sh [--skip-frontend] [--skip-backend]
#   --skip-backend  use the binaries already in dist/ (they must both be there)
# Environment: OUT_DIR (default target/plugin) for the zip and its checksum.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ID=vllm-grafana-datasource
EXE=gpx_vllm
OUT_DIR=${OUT_DIR:-target/plugin}
skip_frontend=false
skip_backend=false
for arg in "$@"; do
  case "$arg" in
    --skip-frontend) skip_frontend=true ;;
    --skip-backend) skip_backend=true ;;
    *) echo "usage: $0 [--skip-frontend] [--skip-backend]" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'package-plugin: %s\n' "$*" >&2; exit 1; }

[ -f plugin.json ] || die "plugin.json is missing at the repository root"
[ -s LICENSE ] || die "LICENSE is missing at the repository root"
for tool in node npm zip unzip sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

# Version: plugin.json's info.version, or package.json's when plugin.json has
# a %VERSION% placeholder.
VERSION=$(node -e '
  const p = require("./plugin.json"), k = require("./package.json");
  const v = (p.info && p.info.version) || "";
  process.stdout.write(!v || v.includes("%") ? k.version : v);
')

# A failed run leaves no zip from an earlier one that could pass for its result.
mkdir -p "$OUT_DIR"
ZIP="$(cd "$OUT_DIR" && pwd)/${ID}-${VERSION}.zip"
rm -f "$ZIP" "$ZIP.sha256"

# 1. Frontend (vite empties dist/, so it goes first).
if $skip_frontend; then
  [ -f dist/module.js ] || die "--skip-frontend, but dist/module.js is missing"
else
  say "frontend: npm ci + npm run build"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
  npm run build
fi

# 2. Backend binaries: both architectures, static musl, or nothing.
if $skip_backend; then
  say "backend: --skip-backend, using dist/${EXE}_linux_amd64 and _arm64"
else
  say "backend: scripts/build-plugin.sh --arch amd64 --arch arm64"
  scripts/build-plugin.sh --arch amd64 --arch arm64 \
    || die "the static musl backend binaries could not be built (the reason is above)"
  [ -f dist/module.js ] || die "dist/module.js disappeared while building the backend"
fi
for arch in amd64 arm64; do
  [ -f "dist/${EXE}_linux_${arch}" ] \
    || die "dist/${EXE}_linux_${arch} is missing (the frontend build empties dist/: run scripts/build-plugin.sh --arch amd64 --arch arm64 after it, or drop --skip-backend)"
done
chmod 0755 dist/"${EXE}"_*

# 3. Metadata, docs and logos.
say "metadata: plugin.json ($VERSION), README.md, README.zh-CN.md, CHANGELOG.md, LICENSE, img/"
# info.updated is always today's (UTC) date, placeholder or not.
VERSION="$VERSION" node -e '
  const fs = require("fs");
  const today = new Date().toISOString().slice(0, 10);
  const meta = JSON.parse(
    fs.readFileSync("plugin.json", "utf8")
      .replaceAll("%VERSION%", process.env.VERSION)
      .replaceAll("%TODAY%", today)
  );
  meta.info = { ...meta.info, updated: today };
  fs.writeFileSync("dist/plugin.json", JSON.stringify(meta, null, 2) + "\n");
'
cp README.md README.zh-CN.md CHANGELOG.md LICENSE dist/
rm -rf dist/img
cp -R img dist/img
chmod -R u+rwX,go+rX,go-w dist

# 4. Check the folder, zip it, check the zip.
node tests/packaging/check-package.mjs dist

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -pR dist "$STAGE/$ID"
(cd "$STAGE" && zip -qrX "$ZIP" "$ID")
node tests/packaging/check-package.mjs "$ZIP"
# "<hex>  <file name>" beside the zip: `sha256sum -c` checks it there.
(cd "$(dirname "$ZIP")" && sha256sum "$(basename "$ZIP")" >"$(basename "$ZIP").sha256" \
  && sha256sum --quiet -c "$(basename "$ZIP").sha256") || die "could not write $ZIP.sha256"

say "plugin folder: $ROOT/dist"
say "plugin zip:    $ZIP"
say "checksum:      $ZIP.sha256"

#!/usr/bin/env bash
# Builds the distributable Grafana plugin:
#   dist/                                   the plugin folder (plugin.json, module.js,
#                                           img/, README.md, CHANGELOG.md, gpx_vllm_linux_<arch>)
#   target/plugin/vllm-grafana-datasource-<version>.zip
#                                           the same folder, zipped under a top-level
#                                           folder named after the plugin id
# then checks both with tests/packaging/check-package.mjs.
#
# Backend binaries: scripts/build-plugin.sh (musl when its toolchain is
# installed, else glibc; linux_arm64 only with a cross toolchain, see its
# header), or, without that script, `cargo build --release --bin gpx_vllm`
# for this machine's architecture.
#
# Usage: scripts/package-plugin.sh [--skip-frontend] [--skip-backend]
# Environment: OUT_DIR (default target/plugin) for the zip.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ID=vllm-grafana-datasource
EXE=gpx_vllm
OUT_DIR=${OUT_DIR:-target/plugin}
CARGO_OUT=${CARGO_TARGET_DIR:-target}
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
for tool in node npm zip unzip; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

# Version: plugin.json's info.version, or package.json's when plugin.json has
# a %VERSION% placeholder.
VERSION=$(node -e '
  const p = require("./plugin.json"), k = require("./package.json");
  const v = (p.info && p.info.version) || "";
  process.stdout.write(!v || v.includes("%") ? k.version : v);
')

case "$(uname -m)" in
  x86_64 | amd64) ARCH=amd64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) die "unsupported build machine architecture $(uname -m)" ;;
esac

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

# 2. Backend binaries.
if ! $skip_backend; then
  if [ -x scripts/build-plugin.sh ]; then
    # Builds this machine's architecture, and the other one when a cross
    # toolchain for it is installed (it says so when it skips one).
    say "backend: scripts/build-plugin.sh --arch amd64 --arch arm64"
    scripts/build-plugin.sh --arch amd64 --arch arm64
  else
    say "backend: cargo build --release --bin $EXE (linux_${ARCH})"
    cargo build --release --locked --bin "$EXE"
    cp "$CARGO_OUT/release/$EXE" "dist/${EXE}_linux_${ARCH}"
    if [ "$ARCH" = amd64 ] && command -v rustup >/dev/null \
      && rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu \
      && command -v aarch64-linux-gnu-gcc >/dev/null; then
      say "backend: cargo build --release --target aarch64-unknown-linux-gnu (linux_arm64)"
      CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        cargo build --release --locked --bin "$EXE" --target aarch64-unknown-linux-gnu
      cp "$CARGO_OUT/aarch64-unknown-linux-gnu/release/$EXE" "dist/${EXE}_linux_arm64"
    else
      say "backend: no aarch64-unknown-linux-gnu target/linker here, so no linux_arm64 binary"
    fi
  fi
  [ -f dist/module.js ] || die "dist/module.js disappeared while building the backend"
  ls dist/"${EXE}"_linux_* >/dev/null 2>&1 || die "no backend binary dist/${EXE}_linux_<arch> was built"
fi
if ls dist/"${EXE}"_* >/dev/null 2>&1; then
  chmod 0755 dist/"${EXE}"_*
fi

# 3. Metadata, docs and logos.
say "metadata: plugin.json ($VERSION), README.md, CHANGELOG.md, img/"
VERSION="$VERSION" node -e '
  const fs = require("fs");
  const today = new Date().toISOString().slice(0, 10);
  const text = fs.readFileSync("plugin.json", "utf8")
    .replaceAll("%VERSION%", process.env.VERSION)
    .replaceAll("%TODAY%", today);
  JSON.parse(text);
  fs.writeFileSync("dist/plugin.json", text);
'
cp README.md CHANGELOG.md dist/
for f in LICENSE LICENSE.md LICENSE.txt; do
  if [ -f "$f" ]; then cp "$f" dist/; fi
done
rm -rf dist/img
cp -R img dist/img
chmod -R u+rwX,go+rX,go-w dist

# 4. Check the folder, zip it, check the zip.
node tests/packaging/check-package.mjs dist

mkdir -p "$OUT_DIR"
ZIP="$(cd "$OUT_DIR" && pwd)/${ID}-${VERSION}.zip"
rm -f "$ZIP"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -pR dist "$STAGE/$ID"
(cd "$STAGE" && zip -qrX "$ZIP" "$ID")
node tests/packaging/check-package.mjs "$ZIP"

say "plugin folder: $ROOT/dist"
say "plugin zip:    $ZIP"

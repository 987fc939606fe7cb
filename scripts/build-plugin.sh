#!/usr/bin/env bash
# Builds the backend part of the Grafana plugin folder dist/:
#   dist/plugin.json, dist/img/ (copied from the repository root)
#   dist/gpx_vllm_linux_<arch>   the backend executable, mode 0755
# Other files in dist/ (the frontend's module.js) are left alone.
#
# Grafana's official image is Alpine (musl), so release binaries target
# <arch>-unknown-linux-musl. That needs the Rust target (rustup target add
# x86_64-unknown-linux-musl) and a musl C compiler for ring (Debian:
# apt-get install musl-tools). Without them the script builds a glibc binary
# for this machine's architecture, which runs in glibc-based Grafana images
# (grafana/grafana:<version>-ubuntu) and in local tests, and says so. To
# build the musl binaries without installing anything, run the script in the
# rust:alpine image, where musl is the native target:
#   docker run --rm -v "$PWD":/src -w /src rust:1-alpine \
#     sh -c 'apk add --no-cache bash musl-dev && scripts/build-plugin.sh'
#
# Usage: scripts/build-plugin.sh [--arch amd64|arm64]... [--glibc]
#   --arch   architectures to build (default: this machine's)
#   --glibc  build for the host's glibc target even when musl is available
set -euo pipefail
cd "$(dirname "$0")/.."

EXE=gpx_vllm
DIST=dist
CARGO_OUT=${CARGO_TARGET_DIR:-target}
archs=()
force_glibc=false
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) archs+=("${2:?--arch needs amd64 or arm64}"); shift 2 ;;
    --glibc) force_glibc=true; shift ;;
    *) echo "usage: $0 [--arch amd64|arm64]... [--glibc]" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
warn() { printf 'build-plugin: %s\n' "$*" >&2; }

host_triple=$(rustc -vV | sed -n 's/^host: //p')
case "$host_triple" in
  x86_64-*) host_arch=amd64 ;;
  aarch64-*) host_arch=arm64 ;;
  *) warn "unsupported build machine $host_triple"; exit 1 ;;
esac
[ ${#archs[@]} -gt 0 ] || archs=("$host_arch")

installed_targets=$(rustup target list --installed 2>/dev/null || true)

# A C compiler for the musl target (ring compiles C); prints the env to use.
musl_cc() {
  local cpu=$1
  for cc in "${cpu}-linux-musl-gcc" musl-gcc; do
    # musl-gcc is the host architecture's only.
    if [ "$cc" = musl-gcc ] && [ "$cpu" != "${host_triple%%-*}" ]; then continue; fi
    if command -v "$cc" >/dev/null; then echo "$cc"; return 0; fi
  done
  return 1
}

mkdir -p "$DIST/img"
cp plugin.json "$DIST/plugin.json"
cp img/*.svg "$DIST/img/"

built=0
for arch in "${archs[@]}"; do
  case "$arch" in
    amd64) cpu=x86_64 ;;
    arm64) cpu=aarch64 ;;
    *) warn "unknown architecture $arch (expected amd64 or arm64)"; exit 2 ;;
  esac
  musl="${cpu}-unknown-linux-musl"
  out="$DIST/${EXE}_linux_${arch}"
  if [ "$host_triple" = "$musl" ] && ! $force_glibc; then
    # rust:alpine: musl is the native target.
    say "$arch: cargo build --release (native $musl)"
    cargo build --release --bin "$EXE"
    src="$CARGO_OUT/release/$EXE"
  elif ! $force_glibc && grep -qx "$musl" <<<"$installed_targets" && cc=$(musl_cc "$cpu"); then
    say "$arch: cargo build --release --target $musl (CC=$cc)"
    target_env=("CC_${musl//-/_}=$cc")
    # Rust links musl binaries itself on their own architecture; a cross
    # build needs the cross compiler as linker.
    if [ "$cc" != musl-gcc ]; then
      upper=${musl^^}
      target_env+=("CARGO_TARGET_${upper//-/_}_LINKER=$cc")
    fi
    # Without --no-dynamic-linker, a glibc host's gcc leaves a musl loader
    # path in the static-pie binary.
    env "${target_env[@]}" cargo rustc --release --bin "$EXE" --target "$musl" \
      -- -C link-arg=-Wl,--no-dynamic-linker
    src="$CARGO_OUT/$musl/release/$EXE"
  elif [ "$arch" = "$host_arch" ]; then
    warn "$arch: no musl toolchain here (rustup target add $musl; apt-get install musl-tools):"
    warn "  building a glibc binary. It does not run in Grafana's Alpine image; see the header of this script."
    cargo build --release --bin "$EXE"
    src="$CARGO_OUT/release/$EXE"
  else
    warn "$arch: skipped, cross-compiling needs the $musl target and ${cpu}-linux-musl-gcc"
    continue
  fi
  install -m 0755 "$src" "$out"
  if command -v strip >/dev/null && [ "$arch" = "$host_arch" ]; then
    strip "$out" 2>/dev/null || true
  fi
  chmod 0755 "$out"
  say "$out ($(du -h "$out" | cut -f1))"
  built=$((built + 1))
done
[ "$built" -gt 0 ] || { warn "no binary built"; exit 1; }

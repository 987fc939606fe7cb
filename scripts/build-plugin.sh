#!/usr/bin/env bash
# Builds the backend part of the Grafana plugin folder dist/:
#   dist/plugin.json, dist/img/ (copied from the repository root, with
#                                %TODAY% in plugin.json replaced by today's date)
#   dist/gpx_vllm_linux_<arch>   the backend executable, mode 0755
# Other files in dist/ (the frontend's module.js) are left alone.
#
# The binaries are static musl executables (<cpu>-unknown-linux-musl): they
# run in Grafana's official image, which is Alpine, and on any other Linux.
# ring (through rustls) compiles C, so on a glibc machine both architectures,
# the machine's own included, are built with zig as C compiler and linker,
# through cargo-zigbuild. What is missing is installed on first use, at
# pinned versions:
#   - the Rust target: rustup target add <cpu>-unknown-linux-musl
#   - cargo-zigbuild and zig, from their PyPI wheels, into
#     target/tools/ (pip install --target: no root, no virtualenv needed)
# On a musl machine (rust:alpine) its own architecture is a plain cargo build.
# Each binary is then checked from its ELF header: the right machine, and
# static (no ELF interpreter). Whatever fails stops the script with one line
# "build-plugin: <reason>" and exit status 1; it never falls back to a glibc
# binary.
#
# Usage: scripts/build-plugin.sh [--arch amd64|arm64]... [--glibc]
#   --arch   an architecture to build, repeatable (default: this machine's)
#   --glibc  developer option: a dynamically linked glibc binary for this
#            machine's architecture (not for release: Alpine cannot run it)
set -euo pipefail
cd "$(dirname "$0")/.."

EXE=gpx_vllm
DIST=dist
CARGO_OUT=${CARGO_TARGET_DIR:-target}
# The zig that cargo-zigbuild 0.24.1's own image ships.
ZIGBUILD_VERSION=0.24.1
ZIG_VERSION=0.16.0

say() { printf '==> %s\n' "$*"; }
die() { printf 'build-plugin: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: $0 [--arch amd64|arm64]... [--glibc]" >&2; exit 2; }

archs=()
glibc=false
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || usage; archs+=("$2"); shift 2 ;;
    --glibc) glibc=true; shift ;;
    *) usage ;;
  esac
done
# Every argument is checked before anything is built.
for arch in ${archs[@]+"${archs[@]}"}; do
  case "$arch" in
    amd64 | arm64) ;;
    *) printf 'build-plugin: unknown architecture "%s" (expected amd64 or arm64)\n' "$arch" >&2; exit 2 ;;
  esac
done

command -v cargo >/dev/null && command -v rustc >/dev/null \
  || die "cargo and rustc are required (https://rustup.rs)"
command -v od >/dev/null || die "od (coreutils) is required to check the binaries"
host_triple=$(rustc -vV | sed -n 's/^host: //p')
case "$host_triple" in
  x86_64-*) host_arch=amd64 ;;
  aarch64-*) host_arch=arm64 ;;
  *) die "unsupported build machine $host_triple (expected x86_64 or aarch64 Linux)" ;;
esac
[ ${#archs[@]} -gt 0 ] || archs=("$host_arch")
read -r -a archs <<<"$(printf '%s\n' "${archs[@]}" | sort -u | tr '\n' ' ')"

# Little-endian unsigned integer of $3 bytes at offset $2 of file $1.
le_uint() {
  local -a b
  local v=0 i
  read -r -a b <<<"$(od -An -v -t u1 -j "$2" -N "$3" "$1" 2>/dev/null)"
  [ "${#b[@]}" -eq "$3" ] || return 1
  for ((i = $3 - 1; i >= 0; i--)); do v=$((v * 256 + b[i])); done
  echo "$v"
}

# Fails unless $1 is a 64-bit little-endian ELF for e_machine $2 and, with
# $3 = static, has no PT_INTERP program header. Static-pie binaries have a
# PT_DYNAMIC header but no interpreter, and start anywhere.
check_elf() {
  local f=$1 machine=$2 linking=$3 phoff phentsize phnum i ptype
  [ "$(od -An -v -t x1 -N 4 "$f" | tr -d ' \n')" = 7f454c46 ] || die "$f is not an ELF file"
  [ "$(le_uint "$f" 4 1)" = 2 ] && [ "$(le_uint "$f" 5 1)" = 1 ] \
    || die "$f is not a 64-bit little-endian ELF file"
  local got
  got=$(le_uint "$f" 18 2) || die "$f: truncated ELF header"
  [ "$got" = "$machine" ] || die "$f is built for ELF machine $got, expected $machine"
  [ "$linking" = static ] || return 0
  phoff=$(le_uint "$f" 32 8) && phentsize=$(le_uint "$f" 54 2) && phnum=$(le_uint "$f" 56 2) \
    || die "$f: truncated ELF header"
  [ "$phnum" -gt 0 ] || die "$f has no program headers"
  for ((i = 0; i < phnum; i++)); do
    ptype=$(le_uint "$f" $((phoff + i * phentsize)) 4) || die "$f: truncated program headers"
    [ "$ptype" != 3 ] \
      || die "$f is dynamically linked (it has an ELF interpreter); a static musl build was expected"
  done
}

# A Rust target's standard library, added with rustup when missing.
ensure_target() {
  local lib
  lib="$(rustc --print sysroot)/lib/rustlib/$1/lib"
  [ -d "$lib" ] && return 0
  command -v rustup >/dev/null \
    || die "the Rust target $1 is not installed, and without rustup it cannot be added here"
  say "rustup target add $1"
  rustup target add "$1" \
    || die "rustup target add $1 failed: check the network, or run it by hand and retry"
  [ -d "$lib" ] || die "rustup target add $1 did not install $lib"
}

# cargo-zigbuild and zig at the pinned versions, in a folder of their own
# (named after the versions, so a new pin installs afresh).
tools=""
ensure_zigbuild() {
  [ -z "$tools" ] || return 0
  local dir="$CARGO_OUT/tools/cargo-zigbuild-$ZIGBUILD_VERSION-zig-$ZIG_VERSION"
  if ! { [ -x "$dir/bin/cargo-zigbuild" ] && [ -x "$dir/ziglang/zig" ]; }; then
    command -v python3 >/dev/null \
      || die "python3 with pip is required to install cargo-zigbuild and zig (Debian: apt-get install python3-pip)"
    python3 -m pip --version >/dev/null 2>&1 \
      || die "pip is required to install cargo-zigbuild and zig (Debian: apt-get install python3-pip)"
    say "installing cargo-zigbuild $ZIGBUILD_VERSION and zig $ZIG_VERSION from PyPI into $dir"
    rm -rf "$dir.partial"
    mkdir -p "$(dirname "$dir")"
    # --target installs into a plain folder: allowed on an externally managed
    # (PEP 668) Python, and nothing outside target/ changes.
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
      --no-warn-script-location --only-binary :all: --target "$dir.partial" \
      "cargo-zigbuild==$ZIGBUILD_VERSION" "ziglang==$ZIG_VERSION" \
      || die "pip install cargo-zigbuild==$ZIGBUILD_VERSION ziglang==$ZIG_VERSION failed: check that PyPI is reachable, then retry"
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  tools=$(cd "$dir" && pwd)
  local v
  v=$("$tools/ziglang/zig" version 2>/dev/null) || die "$tools/ziglang/zig does not run; delete $dir and retry"
  [ "$v" = "$ZIG_VERSION" ] || die "$tools/ziglang/zig is version $v, expected $ZIG_VERSION; delete $dir and retry"
  "$tools/bin/cargo-zigbuild" --version >/dev/null 2>&1 \
    || die "$tools/bin/cargo-zigbuild does not run; delete $dir and retry"
}

mkdir -p "$DIST/img"
sed "s/%TODAY%/$(date -u +%Y-%m-%d)/g" plugin.json >"$DIST/plugin.json"
cp img/*.svg "$DIST/img/"

cpu_of() { case "$1" in amd64) echo x86_64 ;; arm64) echo aarch64 ;; esac; }
machine_of() { case "$1" in amd64) echo 62 ;; arm64) echo 183 ;; esac; }

# Symbols are stripped from the executables, for a smaller zip; panics still
# name the file and line. Native builds pass the option to the executable
# alone, so target/release's dependencies stay as `cargo build --release`
# leaves them.
declare -A src linking
zig_targets=()
for arch in "${archs[@]}"; do
  musl="$(cpu_of "$arch")-unknown-linux-musl"
  linking[$arch]=static
  if $glibc; then
    [ "$arch" = "$host_arch" ] \
      || die "--glibc builds only this machine's architecture ($host_arch), not $arch"
    say "$arch: cargo rustc --release (glibc, $host_triple: dynamically linked, not for release)"
    cargo rustc --release --locked --bin "$EXE" -- -C strip=symbols \
      || die "$arch: cargo build for $host_triple failed (see the errors above)"
    src[$arch]="$CARGO_OUT/release/$EXE"
    linking[$arch]=dynamic
  elif [ "$host_triple" = "$musl" ]; then
    # rust:alpine: musl is the native target, linked statically by default.
    say "$arch: cargo rustc --release (native $musl)"
    cargo rustc --release --locked --bin "$EXE" -- -C strip=symbols \
      || die "$arch: cargo build for $musl failed (see the errors above)"
    src[$arch]="$CARGO_OUT/release/$EXE"
  else
    ensure_target "$musl"
    zig_targets+=(--target "$musl")
    src[$arch]="$CARGO_OUT/$musl/release/$EXE"
  fi
done
if [ ${#zig_targets[@]} -gt 0 ]; then
  ensure_zigbuild
  # One cargo run for every target: they share the build scripts and proc
  # macros, and their last crates compile in parallel.
  say "cargo zigbuild --release ${zig_targets[*]}"
  # PYTHONPATH first: cargo-zigbuild runs `python3 -m ziglang`, which must be
  # the pinned zig rather than another one installed for this user.
  PATH="$tools/bin:$PATH" PYTHONPATH="$tools${PYTHONPATH:+:$PYTHONPATH}" \
    CARGO_PROFILE_RELEASE_STRIP=symbols \
    "$tools/bin/cargo-zigbuild" zigbuild --release --locked --bin "$EXE" "${zig_targets[@]}" \
    || die "cargo zigbuild ${zig_targets[*]} failed (see the errors above)"
fi

for arch in "${archs[@]}"; do
  out="$DIST/${EXE}_linux_${arch}"
  [ -f "${src[$arch]}" ] || die "$arch: the build did not produce ${src[$arch]}"
  check_elf "${src[$arch]}" "$(machine_of "$arch")" "${linking[$arch]}"
  install -m 0755 "${src[$arch]}" "$out"
  if command -v file >/dev/null; then
    say "$out: $(file -b "$out")"
  fi
  say "$out ($(du -h "$out" | cut -f1), ${linking[$arch]})"
done

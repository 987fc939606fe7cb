#!/usr/bin/env bash
# Fuzzes each cargo fuzz target (fuzz/fuzz_targets/) for a fixed time, one
# target at a time, in one process: `scripts/fuzz.sh 300` gives each target
# 300 s. Arguments after the budget pick targets (default: all).
#
#   FUZZ_SANITIZER  address (default) or none (quicker to build and run)
#   FUZZ_PROFILE    release (default) or dev (quicker to build; CI's short run)
#
# Seeds are (re)written into fuzz/corpus/<target>/ by fuzz/seeds.py; the
# corpus grows across runs and is not committed. A crash, timeout (10 s) or
# out-of-memory (2 GiB) stops that target and is saved in
# fuzz/artifacts/<target>/; the script exits non-zero if any target failed.
# Keep such an input as tests/fixtures/fuzz/<target>/<name> (checked by
# tests/fuzz_regressions.rs) and fix the cause.
# Needs cargo-fuzz (cargo install cargo-fuzz --locked --version 0.13.1); on
# a machine with only the stable toolchain, RUSTC_BOOTSTRAP=1 lets stable
# rustc take the -Z flags cargo-fuzz passes (address sanitizer included).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(exposition settings query eval)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: cargo-fuzz is missing: cargo install cargo-fuzz --locked --version 0.13.1" >&2
  exit 2
fi
# RUSTUP_TOOLCHAIN=stable forces the stable path where nightly exists.
if [ -z "${RUSTUP_TOOLCHAIN:-}" ] && cargo +nightly --version >/dev/null 2>&1; then
  cargo=(cargo +nightly)
else
  cargo=(env RUSTC_BOOTSTRAP=1 cargo)
fi
sanitizer="${FUZZ_SANITIZER:-address}"
case "${FUZZ_PROFILE:-release}" in
  release) profile=(-O) ;;
  dev) profile=(--dev) ;;
  *) echo "fuzz.sh: FUZZ_PROFILE must be release or dev" >&2; exit 2 ;;
esac
flags=("${profile[@]}" --debug-assertions --sanitizer "$sanitizer")

python3 fuzz/seeds.py fuzz/corpus
"${cargo[@]}" fuzz build "${flags[@]}"

status=0
summary=()
for t in "${targets[@]}"; do
  extra=(-max_len=4096)
  case "$t" in
    # Real captures are up to 53 kB: let libFuzzer size inputs after them.
    exposition) extra=() ;;
    eval) extra+=(-dict=fuzz/promql.dict) ;;
    settings | query) extra+=(-dict=fuzz/json.dict) ;;
  esac
  log="fuzz/artifacts/$t.log"
  mkdir -p "fuzz/artifacts/$t"
  echo "fuzz.sh: $t for ${seconds}s (sanitizer $sanitizer, ${FUZZ_PROFILE:-release})" >&2
  if "${cargo[@]}" fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "tests/fixtures/fuzz/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "${extra[@]}" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" >&2 || tail -20 "$log" >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  summary+=("$(printf '%-11s %-6s %8s runs %5s s %6s exec/s' "$t" "$result" "${runs:-?}" "${secs:-?}" "${rate:-?}")")
done
printf '%s\n' "${summary[@]}"
exit "$status"

#!/usr/bin/env bash
# Compare the metric catalog with the Prometheus metrics a vLLM release's
# Python source defines (read with `ast`, never imported), and print what the
# catalog lacks, has wrong (type, labels, buckets, HELP) or lists that the
# source no longer defines. A release step: run it for each new vLLM release.
#
#   scripts/catalog-drift.sh 0.34.0                      # downloads the wheel (cached in target/catalog-drift/)
#   scripts/catalog-drift.sh --source DIR 0.34.0         # an unpacked tree holding vllm/, offline
#   scripts/catalog-drift.sh --only 'vllm:nixl_' 0.34.0  # some families only
#
# The catalog comes from $VLLM_GRAFANA_BIN (a built vllm-grafana) or else
# `cargo run --quiet --bin vllm-grafana --`.
# Exit status: 0 no drift, 1 drift, 2 usage, download or build error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v python3 >/dev/null 2>&1; then
  echo "catalog-drift: error: python3 (3.9 or newer) is required" >&2
  exit 2
fi
exec python3 "$here/catalog_drift.py" "$@"

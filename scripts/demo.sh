#!/usr/bin/env bash
# Start a simulated vLLM server and check it (plus any endpoints given as arguments) every 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/vllm-grafana
"$bin" simulate --listen 127.0.0.1:8000 --models 2 --engines 2 &
sim=$!
trap 'kill $sim 2>/dev/null' EXIT INT TERM
sleep 1
while true; do
  "$bin" check http://127.0.0.1:8000/metrics "$@" || true
  sleep 10
done

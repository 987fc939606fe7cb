#!/usr/bin/env bash
# Start a simulated vLLM server and check it (plus any endpoints given as
# arguments) every 10 s, until Ctrl-C (or SIGTERM) stops both.
#
# Environment: DEMO_PORT (default 8000) for the simulator; VLLM_GRAFANA_BIN
# to use an already built CLI instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${DEMO_PORT:-8000}
# Taken already? Then the simulator could not listen, and the checks would
# report on whatever holds the port.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "demo: port $port is taken (another simulator or vLLM?): stop it, or set DEMO_PORT" >&2
  exit 1
fi

bin=${VLLM_GRAFANA_BIN:-}
if [ -z "$bin" ]; then
  echo "demo: building the CLI (cargo build --release; the first build takes a few minutes)..."
  cargo build --release --bin vllm-grafana
  bin=target/release/vllm-grafana
fi

sim=
waiter=
stop() {
  trap - INT TERM EXIT
  if [ -n "$waiter" ]; then kill "$waiter" 2>/dev/null || true; fi
  if [ -n "$sim" ]; then
    kill "$sim" 2>/dev/null || true
    wait "$sim" 2>/dev/null || true
  fi
  exit "${1:-0}"
}
trap 'stop 130' INT
trap 'stop 143' TERM
trap 'stop $?' EXIT

"$bin" simulate --listen "127.0.0.1:$port" --models 2 --engines 2 &
sim=$!
sleep 1
if ! kill -0 "$sim" 2>/dev/null; then
  echo "demo: the simulator did not start (see above)" >&2
  sim=
  exit 1
fi
echo "demo: simulated vLLM on http://127.0.0.1:$port/metrics; checking every 10 s (Ctrl-C stops)"
while true; do
  # In the background and waited for, so that a signal is handled at once.
  "$bin" check "http://127.0.0.1:$port/metrics" "$@" &
  waiter=$!
  wait "$waiter" || true
  sleep 10 &
  waiter=$!
  wait "$waiter" || true
  waiter=
done

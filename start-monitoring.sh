#!/usr/bin/env sh
# Bring up the monitoring stack (simulated vLLM, Prometheus, Grafana) with
# Docker Compose, wait until Grafana answers, then print the addresses.
#
# Environment (also read from .env by Compose): GRAFANA_PORT (default 3010),
# START_TIMEOUT (seconds to wait for Grafana, default 300), START_WAIT_ENGINE
# (seconds to wait for the Docker engine to come up, default 0; use e.g. 180
# when this runs at boot, before Docker has started).
set -eu
cd "$(dirname "$0")"

port=${GRAFANA_PORT:-3010}
fail() {
  echo "start-monitoring: $*" >&2
  exit 1
}

command -v docker >/dev/null 2>&1 \
  || fail "Docker is not installed: install Docker Engine (Linux) or Docker Desktop (macOS, Windows) from https://docs.docker.com/get-docker/ and run this again."

waited=0
until docker info >/dev/null 2>&1; do
  if [ "$waited" -ge "${START_WAIT_ENGINE:-0}" ]; then
    fail "Docker is installed but its engine is not running (or this user may not use it): start Docker (e.g. 'sudo systemctl start docker', or open Docker Desktop) and run this again."
  fi
  sleep 2
  waited=$((waited + 2))
done

if docker compose version >/dev/null 2>&1; then
  compose="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
  compose="docker-compose"
else
  fail "Docker Compose is missing: install the Compose plugin (https://docs.docker.com/compose/install/) and run this again."
fi

echo "Building and starting the stack with $compose (the first build takes several minutes)..."
$compose up -d --build || fail "'$compose up' failed (its messages are above); fix that and run this again."

# Grafana's health endpoint answers once its database and plugins are up.
health="http://127.0.0.1:$port/api/health"
fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null "$1"
  else
    wget -q -O /dev/null "$1"
  fi
}
echo "Waiting for Grafana on port $port..."
waited=0
until fetch "$health" >/dev/null 2>&1; do
  if [ "$waited" -ge "${START_TIMEOUT:-300}" ]; then
    fail "Grafana did not answer on $health within ${START_TIMEOUT:-300} s: see '$compose logs grafana'."
  fi
  sleep 1
  waited=$((waited + 1))
done

echo "Grafana:    http://localhost:$port  (user admin, password admin unless set in .env before the first start)"
echo "Prometheus: http://localhost:9090"

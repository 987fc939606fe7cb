#!/usr/bin/env sh
# Bring up the monitoring stack (simulated vLLM, Prometheus, Grafana) with Docker Compose.
set -eu
cd "$(dirname "$0")"
if docker compose version >/dev/null 2>&1; then
  compose="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
  compose="docker-compose"
else
  echo "Docker Compose is required: https://docs.docker.com/compose/install/" >&2
  exit 1
fi
$compose up -d --build
echo "Grafana:    http://localhost:3010  (user admin, password admin unless set in .env)"
echo "Prometheus: http://localhost:9090"

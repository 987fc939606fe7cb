#!/usr/bin/env bash
# Builds the frontend module (dist/module.js) from a clean install of the
# committed lockfile, after type checking, linting and the frontend tests.
# Usage: scripts/build-frontend.sh [--no-checks]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
  echo "build-frontend: npm (Node.js >= 20.19) is required" >&2
  exit 1
fi

# Reinstall only when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" != "--no-checks" ]; then
  npm run typecheck
  npm run lint
  npm test
fi
npm run build

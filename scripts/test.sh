#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests of the
# Rust code, then the frontend's install, type check, lint, tests and build.
# Needs prometheus, promtool, python3 with prometheus_client, and Node.js >= 20.19
# with npm (.ci/run installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
scripts/build-frontend.sh

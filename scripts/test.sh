#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests.
# Needs prometheus, promtool and python3 with prometheus_client (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test

#!/usr/bin/env bash
# The whole test suite: formatting and lints of the Rust code, the frontend's
# install, type check, lint, tests and build, then the Rust unit and
# integration tests (with the browser suite).
# Needs prometheus, promtool, python3 with prometheus_client, Node.js >= 20.19
# with npm, and Chromium for the browser suite (.ci/run installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# The frontend first: cargo test includes the browser suite (tests/browser.rs),
# which needs the installed node_modules.
scripts/build-frontend.sh
cargo test

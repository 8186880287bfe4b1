#!/usr/bin/env bash
# Throughput (1 and 2 workers) and a loopback load run against a release `soraipixel serve`.
# Prints the figures recorded in docs/benchmarks.md. Arguments go to the load tool:
#   scripts/load-run.sh [--users 50] [--photo-mb 10]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p soraipixel --bin soraipixel --example load
SORAIPIXEL_BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/release/soraipixel" \
  "${CARGO_TARGET_DIR:-target}/release/examples/load" "$@"

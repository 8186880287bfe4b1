#!/usr/bin/env bash
# Browser tests: Playwright (playwright-core from npm) driving Debian's Chromium against a
# real `soraipixel serve`. Installs what is missing, idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh browser heif
cargo build -p soraipixel
mkdir -p tests/browser/fixtures
cargo run -q -p synth --example photo -- tests/browser/fixtures/ring.jpg 1200 900
cargo run -q -p synth --example photo -- tests/browser/fixtures/ring-2.jpg 1000 800
SORAIPIXEL_BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/debug/soraipixel"
export SORAIPIXEL_BIN
cd tests/browser
{ [ -d node_modules/playwright-core ] && [ -d node_modules/lighthouse ]; } || npm install --no-audit --no-fund --loglevel=error
npm test

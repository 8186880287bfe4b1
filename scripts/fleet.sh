#!/usr/bin/env bash
# The fleet run (docs/operations.md): PostgreSQL, a real S3 server (s3s-fs), two `serve`
# behind HAProxy and three `worker`s on loopback, sellers through the proxy, faults, and
# the invariants checked at the end (non-zero exit when one fails). Arguments go to the
# driver, crates/soraipixel/examples/fleet.rs:
#   scripts/fleet.sh [--users 200] [--faults] [--restore-drill] [--throughput] [--photo-mp 12]
# FLEET_PROFILE=dev reuses the test build (CI runs a short one that way); release otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh s3 proxy
profile="${FLEET_PROFILE:-release}"
cargo build --profile "$profile" -p soraipixel --bin soraipixel --example fleet
dir="$(realpath "${CARGO_TARGET_DIR:-target}")/$([ "$profile" = dev ] && echo debug || echo "$profile")"
pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
SORAIPIXEL_BIN="$dir/soraipixel" "$dir/examples/fleet" "$@"

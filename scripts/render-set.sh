#!/usr/bin/env bash
# Builds the physically rendered jewellery set (scenes in scripts/rendered/, written apart from
# crates/synth) with Mitsuba 3 from PyPI, into a cache:
#
#   scripts/render-set.sh eval   [DIR]  # every family, evaluation seeds (640×480, 48 spp)
#   scripts/render-set.sh train  [DIR]  # the training families only (320×240, 16 spp)
#   scripts/render-set.sh subset [DIR]  # the small set committed for CI (crates/imaging/tests/rendered)
#
# DIR defaults to target/rendered; COUNT overrides how many scenes per family. Rendering is
# resumable: scenes already on disk are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CARGO_TARGET_DIR:-target}/render-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import mitsuba' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check mitsuba==3.6.4 drjit==1.0.5 numpy==2.4.6 pillow==13.0.0
fi
[ "${1:-}" = --venv-only ] && exit 0
split="${1:-eval}"
out="${2:-${CARGO_TARGET_DIR:-target}/rendered}"
case "$split" in
  eval) exec "$venv/bin/python" scripts/rendered/render.py --out "$out" --split eval --count "${COUNT:-6}" --width 640 --spp 48 ;;
  train) exec "$venv/bin/python" scripts/rendered/render.py --out "$out" --split train --count "${COUNT:-300}" --width 320 --spp 16 ;;
  subset) exec "$venv/bin/python" scripts/rendered/render.py --out "${2:-crates/imaging/tests/rendered}" --split eval --count "${COUNT:-2}" --width 480 --spp 48 ;;
  *) echo "usage: $0 eval|train|subset [DIR]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The engine's end-to-end time (12 MP JPEG → 2000×2000 Amazon JPEG, one core) against the
# floor of libjpeg-turbo decoding the same input and encoding the same output, measured in
# one run (issue 14's speed target: end to end ≤ 4× that floor). libjpeg-turbo comes with
# Pillow in the render venv (scripts/render-set.sh --venv-only makes it).
#
#   scripts/speed-vs-libjpeg-turbo.sh     # release build; RUNS=5
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
scripts/render-set.sh --venv-only
cargo build --release -q -p soraipixel
dir="$target/speed-files"
rm -rf "$dir"
report=$("$target/release/soraipixel" bench-engine --speed-only --json --speed-files "$dir")
turbo=$(RAYON_NUM_THREADS=1 "$target/render-venv/bin/python" scripts/speed/turbo_floor.py "$dir" "${RUNS:-5}")
"$target/render-venv/bin/python" - "$report" "$turbo" <<'PY'
import json, sys
ours, turbo = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"libjpeg-turbo {turbo['libjpeg_turbo']} (Pillow), one core")
for s in ours["speed"]:
    f = turbo["floors"][s["scene"].split(" ")[0].replace("/", "-")]
    floor = f["decode_ms"] + f["encode_ms"]
    print(f"{s['scene']}: ours decode {s['decode_ms']:.0f} + encode {s['encode_output_ms']:.0f} ms; "
          f"libjpeg-turbo decode {f['decode_ms']:.0f} + encode {f['encode_ms']:.0f} = {floor:.0f} ms; "
          f"end to end {s['end_to_end_ms']:.0f} ms = {s['end_to_end_ms'] / floor:.2f}× that floor (target ≤ 4)")
PY

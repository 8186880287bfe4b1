#!/usr/bin/env bash
# IS-Net side by side on a rendered set, for measuring only (AGPL: fetched into the target
# folder from the npm registry, never shipped or committed).
#   scripts/peer-isnet.sh [SET_DIR]   # default target/rendered/eval
# then: soraipixel bench-engine --rendered SET_DIR --peer target/peers/isnet
set -euo pipefail
cd "$(dirname "$0")/.."
t="${CARGO_TARGET_DIR:-target}"
set_dir="${1:-$t/rendered/eval}"
model="$t/peers/isnet-medium.onnx"
if [ ! -f "$model" ]; then
  mkdir -p "$t/peers/npm"
  (cd "$t/peers/npm" && npm pack --silent @imgly/background-removal-data@1.4.5 >/dev/null && tar xzf imgly-background-removal-data-1.4.5.tgz)
  python3 - "$t/peers/npm/package/dist" "$model" <<'PY'
import json, sys
dist, out = sys.argv[1], sys.argv[2]
res = json.load(open(f"{dist}/resources.json"))["/models/medium"]
with open(out, "wb") as f:
    for chunk in res["chunks"]:
        f.write(open(f"{dist}/{chunk['hash']}", "rb").read())
PY
fi
scripts/render-set.sh --venv-only
"$t/render-venv/bin/pip" install -q --disable-pip-version-check onnxruntime==1.31.1
"$t/render-venv/bin/python" scripts/peers/isnet.py "$model" "$set_dir" "$t/peers/isnet"

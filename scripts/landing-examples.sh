#!/usr/bin/env bash
# The landing page's before/after examples: photos path traced apart from the engine
# (the committed slice of scripts/rendered, crates/imaging/tests/rendered/eval), each cut
# out and placed by `soraipixel process` as it is, unretouched; written as 480 px JPEGs to
# crates/web/static/examples/. Run after an engine change and look at them before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p soraipixel
scripts/render-set.sh --venv-only
python="${CARGO_TARGET_DIR:-target}/render-venv/bin/python"
out=crates/web/static/examples
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# name  preset  background
while read -r name preset background; do
  ./target/release/soraipixel process "crates/imaging/tests/rendered/eval/$name.jpg" \
    --preset "$preset" --background "$background" -o "$tmp/$name.jpg" >/dev/null
  "$python" - "$name" "$tmp/$name.jpg" "$out" <<'PY'
import sys
from PIL import Image
name, after, out = sys.argv[1:]
photo = Image.open(f"crates/imaging/tests/rendered/eval/{name}.jpg").convert("RGB")
side = min(photo.size)
left, top = (photo.width - side) // 2, (photo.height - side) // 2
photo.crop((left, top, left + side, top + side)).resize((480, 480), Image.LANCZOS).save(f"{out}/{name}-before.jpg", quality=82)
Image.open(after).convert("RGB").resize((480, 480), Image.LANCZOS).save(f"{out}/{name}-after.jpg", quality=82)
PY
done <<'LIST'
earrings-1000000 instagram_square marble
ring-1000001 etsy linen
chain-1000000 amazon white
LIST
echo "examples in $out"

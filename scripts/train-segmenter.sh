#!/usr/bin/env bash
# Trains the engine's segmenter from scratch and installs it into crates/imaging/assets:
# renders the training families (scripts/render-set.sh train), trains the U-Net on the CPU
# with JAX (scripts/segmenter/train.py), scores it on the evaluation set, and writes the
# weights, the recipe with its figures, and the parity check the Rust port is tested on.
#
#   scripts/train-segmenter.sh            # TRAIN_COUNT=60 scenes a training family, EPOCHS=40
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
venv="$target/seg-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jax, optax' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check jax==0.10.2 jaxlib==0.10.2 optax==0.2.8 numpy==2.4.6 pillow==13.0.0
fi
COUNT="${TRAIN_COUNT:-60}" scripts/render-set.sh train
COUNT=6 scripts/render-set.sh eval
"$venv/bin/python" scripts/segmenter/train.py --train "$target/rendered/train" --eval "$target/rendered/eval" \
  --out "$target/segmenter" --epochs "${EPOCHS:-40}" --check crates/imaging/tests/rendered/eval/ring-1000000.jpg
cp "$target/segmenter/segmenter.f32" "$target/segmenter/segmenter.json" "$target/segmenter/segmenter.check.png" crates/imaging/assets/

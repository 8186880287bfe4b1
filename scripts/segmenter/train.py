"""Trains the engine's jewellery segmenter: a small U-Net that says, per pixel of a
256×192 copy of the photo, whether it is jewellery (white stones, pearls and silver
highlights included; paper, shadows and the paper inside a band excluded).

Trained only on the training families of the rendered set (scripts/render-set.sh train:
ring, bangle, chain, earrings, and blank sheets, seeds from 0); evaluated on the evaluation seeds of every
family, the held-out families (pearls, pendant, silver_band, diamond_ring) reported apart.

    python train.py --train target/rendered/train --eval target/rendered/eval --out DIR [--check PHOTO]

Writes DIR/segmenter.f32 (the weights, little-endian f32, in the order of `LAYERS`),
DIR/segmenter.json (the layout and the training figures) and prints IoU per family.
"""

import argparse
import json
import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from PIL import Image

W, H = 256, 192
# Channels per level: the encoder halves the size at each level, the decoder mirrors it.
WIDTHS = [8, 16, 32, 32, 32]
IN_CHANNELS = 6


def features(rgb: np.ndarray) -> np.ndarray:
    """The network's input from an RGB photo already at W×H (uint8): colours in 0..1 and
    colours relative to the paper, estimated as the median of the frame's outer strip
    (where a centred piece never lies)."""
    x = rgb.astype(np.float32) / 255.0
    strip = max(1, round(min(W, H) * 0.08))
    border = np.concatenate([x[:strip].reshape(-1, 3), x[-strip:].reshape(-1, 3), x[:, :strip].reshape(-1, 3), x[:, -strip:].reshape(-1, 3)])
    paper = np.maximum(np.median(border, axis=0), 0.05)
    return np.concatenate([x, x / paper - 1.0], axis=-1)


def load(split_dir: str):
    names, fams, xs, ys = [], [], [], []
    seen = {}
    for line in open(os.path.join(split_dir, "manifest.jsonl")):
        if line.strip():
            meta = json.loads(line)
            seen[meta["name"]] = meta
    for name, meta in sorted(seen.items()):
        rgb = np.array(Image.open(os.path.join(split_dir, name + ".jpg")).convert("RGB").resize((W, H), Image.BOX))
        alpha = np.array(Image.open(os.path.join(split_dir, name + ".alpha.png")).convert("L").resize((W, H), Image.BOX)).astype(np.float32) / 255.0
        names.append(name)
        fams.append(meta["family"])
        xs.append(features(rgb))
        ys.append(alpha[..., None])
    return names, fams, np.stack(xs), np.stack(ys)


def conv_init(key, cin, cout):
    std = math.sqrt(2.0 / (9 * cin))
    return {"w": jax.random.normal(key, (3, 3, cin, cout)) * std, "b": jnp.zeros((cout,))}


def layers():
    """(name, in, out) of every 3×3 convolution, in weight-file order; then the 1×1 head."""
    out, cin = [], IN_CHANNELS
    for i, c in enumerate(WIDTHS):
        out += [(f"down{i}a", cin, c), (f"down{i}b", c, c)]
        cin = c
    for i in range(len(WIDTHS) - 2, -1, -1):
        c = WIDTHS[i]
        out += [(f"up{i}a", cin + c, c), (f"up{i}b", c, c)]
        cin = c
    return out


def init(key):
    params = {}
    for (name, cin, cout) in layers():
        key, k = jax.random.split(key)
        params[name] = conv_init(k, cin, cout)
    key, k = jax.random.split(key)
    params["head"] = {"w": jax.random.normal(k, (1, 1, WIDTHS[0], 1)) * 0.1, "b": jnp.zeros((1,))}
    return params


def conv(p, x):
    y = jax.lax.conv_general_dilated(x, p["w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + p["b"]


def forward(params, x):
    skips = []
    for i in range(len(WIDTHS)):
        if i:
            x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        x = jax.nn.relu(conv(params[f"down{i}a"], x))
        x = jax.nn.relu(conv(params[f"down{i}b"], x))
        skips.append(x)
    for i in range(len(WIDTHS) - 2, -1, -1):
        x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)  # nearest upsampling
        x = jnp.concatenate([x, skips[i]], axis=-1)
        x = jax.nn.relu(conv(params[f"up{i}a"], x))
        x = jax.nn.relu(conv(params[f"up{i}b"], x))
    return conv(params["head"], x)  # logits


def loss_fn(params, x, y):
    logits = forward(params, x)
    bce = optax.sigmoid_binary_cross_entropy(logits, y).mean()
    p = jax.nn.sigmoid(logits)
    inter = (p * y).sum(axis=(1, 2, 3))
    union = (p + y - p * y).sum(axis=(1, 2, 3))
    soft_iou = 1.0 - ((inter + 1.0) / (union + 1.0)).mean()
    return bce + soft_iou


def augment(rng, x, y):
    if rng.random() < 0.5:
        x, y = x[:, ::-1], y[:, ::-1]
    if rng.random() < 0.5:
        x, y = x[::-1], y[::-1]
    # Exposure and white balance: the colours move, the paper-relative channels barely.
    gain = rng.uniform(0.85, 1.15) * rng.uniform(0.95, 1.05, size=3)
    x = x.copy()
    x[..., :3] = np.clip(x[..., :3] * gain, 0, 1)
    return x, y


def iou(p: np.ndarray, y: np.ndarray) -> float:
    a, b = p > 0.5, y > 0.5
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def load_params(path: str):
    """The weights file back into the parameter tree (the inverse of what `main` writes)."""
    flat, at, params = np.fromfile(path, dtype="<f4"), 0, {}
    for (name, cin, cout, k) in [(n, i, o, 3) for (n, i, o) in layers()] + [("head", WIDTHS[0], 1, 1)]:
        w = flat[at : at + k * k * cin * cout].reshape(k, k, cin, cout)
        at += w.size
        params[name] = {"w": jnp.asarray(w), "b": jnp.asarray(flat[at : at + cout])}
        at += cout
    assert at == flat.size, "weights do not match the layout"
    return params


def write_check(params, photo: str, out: str):
    """The probability map of one photo (8-bit PNG), for the Rust port's parity test."""
    rgb = np.array(Image.open(photo).convert("RGB").resize((W, H), Image.BOX))
    p = np.array(jax.nn.sigmoid(forward(params, jnp.asarray(features(rgb)[None]))))[0, ..., 0]
    Image.fromarray((p * 255 + 0.5).astype(np.uint8)).save(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", help="a photo whose probability map is written as DIR/segmenter.check.png")
    ap.add_argument("--check-only", action="store_true", help="only write the check from DIR/segmenter.f32")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.check_only:
        write_check(load_params(os.path.join(a.out, "segmenter.f32")), a.check, os.path.join(a.out, "segmenter.check.png"))
        return

    _, train_fams, xs, ys = load(a.train)
    assert not set(train_fams) - {"ring", "bangle", "chain", "earrings", "blank"}, "only training families train"
    names, fams, ex, ey = load(a.eval)
    print(f"train {len(xs)} scenes, eval {len(ex)}", flush=True)

    params = init(jax.random.PRNGKey(a.seed))
    steps = a.epochs * math.ceil(len(xs) / a.batch)
    opt = optax.adamw(optax.cosine_onecycle_schedule(steps, 3e-3), weight_decay=1e-4)
    state = opt.init(params)

    @jax.jit
    def step(params, state, x, y):
        value, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    predict = jax.jit(lambda p, x: jax.nn.sigmoid(forward(p, x)))
    rng = np.random.default_rng(a.seed)
    started = time.time()
    for epoch in range(a.epochs):
        order = rng.permutation(len(xs))
        total = 0.0
        for s in range(0, len(order) - a.batch + 1, a.batch):
            batch = [augment(rng, xs[i], ys[i]) for i in order[s : s + a.batch]]
            x = jnp.asarray(np.stack([b[0] for b in batch]))
            y = jnp.asarray(np.stack([b[1] for b in batch]))
            params, state, value = step(params, state, x, y)
            total += float(value)
        print(f"epoch {epoch + 1}/{a.epochs}: loss {total / max(1, len(order) // a.batch):.4f} ({time.time() - started:.0f} s)", flush=True)

    by_family = {}
    for i in range(0, len(ex), 16):
        p = np.array(predict(params, jnp.asarray(ex[i : i + 16])))
        for j in range(p.shape[0]):
            by_family.setdefault(fams[i + j], []).append(iou(p[j], ey[i + j]))
    figures = {f: round(float(np.mean(v)), 4) for f, v in sorted(by_family.items())}
    for f, v in figures.items():
        print(f"  {f:14} IoU {v:.4f} (256×192, n={len(by_family[f])})")

    flat = []
    for (name, _, _) in layers():
        flat += [np.asarray(params[name]["w"]).ravel(), np.asarray(params[name]["b"]).ravel()]
    flat += [np.asarray(params["head"]["w"]).ravel(), np.asarray(params["head"]["b"]).ravel()]
    np.concatenate(flat).astype("<f4").tofile(os.path.join(a.out, "segmenter.f32"))
    recipe = {
        "input": [W, H, IN_CHANNELS],
        "widths": WIDTHS,
        "layers": [{"name": n, "in": i, "out": o, "kernel": 3} for (n, i, o) in layers()] + [{"name": "head", "in": WIDTHS[0], "out": 1, "kernel": 1}],
        "weight_layout": "per layer: weights HWIO (3×3×in×out) then bias; little-endian f32",
        "train": {"scenes": len(xs), "epochs": a.epochs, "batch": a.batch, "seed": a.seed, "seconds": round(time.time() - started)},
        "eval_iou_256x192": figures,
    }
    json.dump(recipe, open(os.path.join(a.out, "segmenter.json"), "w"), indent=1)
    if a.check:
        write_check(params, a.check, os.path.join(a.out, "segmenter.check.png"))


if __name__ == "__main__":
    main()

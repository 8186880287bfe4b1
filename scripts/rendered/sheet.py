"""Contact sheet of the worst scenes of a rendered set: per row the photo, the truth and
each engine's matte, worst first by the first engine's IoU (α > 0.5).

    python sheet.py --set target/rendered/eval --engine ours=target/mattes \
        --engine isnet=target/peers/isnet --worst 12 --out docs/images/worst.jpg

An engine's folder holds `<name>.png` alphas (`soraipixel bench-engine --save DIR` writes
ours; scripts/peer-isnet.sh writes IS-Net's). A scene an engine refused shows black.
"""

import argparse
import json
import os

import numpy as np
from PIL import Image, ImageDraw

TILE = 240


def alpha(path: str, size) -> np.ndarray:
    if not os.path.exists(path):
        return np.zeros((size[1], size[0]), np.uint8)
    return np.array(Image.open(path).convert("L").resize(size, Image.BILINEAR))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 127, b > 127
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True)
    ap.add_argument("--engine", action="append", required=True, help="NAME=DIR")
    ap.add_argument("--worst", type=int, default=12)
    ap.add_argument("--families", help="only these families (comma-separated)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    engines = [e.split("=", 1) for e in a.engine]
    wanted = set(a.families.split(",")) if a.families else None
    scenes = {}
    for line in open(os.path.join(a.set, "manifest.jsonl")):
        if line.strip():
            meta = json.loads(line)
            if not meta.get("busy") and (wanted is None or meta["family"] in wanted):
                scenes[meta["name"]] = meta
    rows = []
    for name in sorted(scenes):
        photo = Image.open(os.path.join(a.set, name + ".jpg")).convert("RGB")
        truth = alpha(os.path.join(a.set, name + ".alpha.png"), photo.size)
        mattes = [alpha(os.path.join(d, name + ".png"), photo.size) for _, d in engines]
        rows.append((iou(mattes[0], truth), name, photo, truth, mattes))
    rows.sort(key=lambda r: r[0])
    rows = rows[: a.worst]
    th = TILE * 3 // 4
    sheet = Image.new("RGB", (TILE * (2 + len(engines)), (th + 16) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (_, name, photo, truth, mattes) in enumerate(rows):
        y = r * (th + 16)
        tiles = [("photo " + name, photo), ("truth", Image.fromarray(truth))]
        tiles += [(f"{n} IoU {iou(m, truth):.2f}", Image.fromarray(m)) for (n, _), m in zip(engines, mattes)]
        for c, (label, img) in enumerate(tiles):
            sheet.paste(img.convert("RGB").resize((TILE, th), Image.BILINEAR), (c * TILE, y + 16))
            draw.text((c * TILE + 4, y + 2), label, fill="black")
    sheet.save(a.out, quality=85)
    for score, name, *_ in rows:
        print(f"{name:28} {engines[0][0]} IoU {score:.3f}")


if __name__ == "__main__":
    main()

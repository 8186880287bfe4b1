"""Renders the scenes of scenes.py with Mitsuba 3 (`scalar_rgb`): a phone-like photo (path
traced, depth of field, sensor noise, JPEG) and its ground truth (a coverage render of the
jewellery alone: alpha, and the share of it that is white stone, pearl, enamel or silver).

    python render.py --out DIR --split eval --families ring,chain --count 4 --width 640 --spp 32

Writes DIR/<split>/<family>-<seed>.jpg, .alpha.png, .bright.png and DIR/<split>/manifest.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageFilter

import mitsuba as mi

mi.set_variant(os.environ.get("MITSUBA_VARIANT", "llvm_ad_rgb"))

sys.path.insert(0, os.path.dirname(__file__))
import scenes  # noqa: E402


def ply(path: str, pts: np.ndarray, faces: np.ndarray, uv: np.ndarray | None = None) -> str:
    """Writes a binary PLY (Mitsuba's scalar variants load meshes from files)."""
    props = "property float x\nproperty float y\nproperty float z\n"
    verts = pts.astype("<f4")
    if uv is not None:
        props += "property float u\nproperty float v\n"
        verts = np.concatenate([verts, uv.astype("<f4")], 1)
    head = (
        f"ply\nformat binary_little_endian 1.0\nelement vertex {len(pts)}\n{props}"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    tris = np.zeros(len(faces), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    tris["n"], tris["i"] = 3, faces.astype("<i4")
    with open(path, "wb") as f:
        f.write(head.encode())
        f.write(np.ascontiguousarray(verts).tobytes())
        f.write(tris.tobytes())
    return path


def texture(kind: str, rgb, rng, size: int = 512) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.array(rgb, dtype=np.float64)

    def noise(scale: int) -> np.ndarray:
        small = rng.random((scale, scale))
        return np.array(Image.fromarray((small * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)) / 255.0 - 0.5

    if kind == "wood":
        grain = np.sin((x * rng.uniform(25, 60) + noise(6) * 8 + noise(24) * 1.5) * math.pi) * 0.5 + 0.5
        shade = 0.55 + 0.7 * grain[..., None] ** 2 + 0.25 * noise(96)[..., None]
        tex = base * shade
    elif kind == "fabric":
        weave = (np.sin(x * size * 0.9) * np.sin(y * size * 0.9)) * 0.25
        tex = base * (1 + weave[..., None] + 0.2 * noise(32)[..., None])
    elif kind == "velvet":
        tex = base * (1 + 0.5 * noise(16)[..., None])
    else:  # paper: fibres and uneven thickness
        tex = base * (1 + 0.03 * noise(256)[..., None] + 0.04 * noise(8)[..., None])
    return np.clip(tex, 0.01, 0.98).astype(np.float32)


def paper_mesh(extent: float, curl: float):
    n = 64
    xs = np.linspace(-extent, extent, n)
    ys = np.linspace(-extent, extent, n)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    start = extent * 0.3
    Z = np.where(Y > start, curl * ((Y - start) / (extent - start)) ** 2, 0.0)
    pts = np.stack([X, Y, Z], -1).reshape(-1, 3)
    faces = scenes._grid_faces(n, n, False, False)
    uv = np.stack([(X + extent) / (2 * extent), (Y + extent) / (2 * extent)], -1).reshape(-1, 2)
    return pts, faces, uv


# How many millimetres one texture tile spans: paper fibres, wood grain, woven threads, pile.
TILE_MM = {"paper": 80.0, "wood": 60.0, "fabric": 120.0, "velvet": 30.0}


def paper_extent(scene: scenes.Scene) -> float:
    return 6 * max(float(np.linalg.norm(scene.camera["origin"])), 50.0)


def paper_shape(scene: scenes.Scene, workdir: str, bsdf: dict) -> dict:
    pts, faces, uv = paper_mesh(paper_extent(scene), scene.curl)
    return {"type": "ply", "filename": ply(os.path.join(workdir, "paper.ply"), pts, faces, uv), "bsdf": bsdf}


def sensor(scene: scenes.Scene, width: int, height: int, spp: int) -> dict:
    cam = scene.camera
    return {
        "type": "thinlens",
        "fov": cam["fov"],
        "aperture_radius": cam["aperture"],
        "focus_distance": cam["focus"],
        "to_world": mi.ScalarTransform4f().look_at(origin=list(cam["origin"]), target=list(cam["target"]), up=[0, 1, 0]),
        "sampler": {"type": "independent", "sample_count": spp},
        "film": {"type": "hdrfilm", "width": width, "height": height, "rfilter": {"type": "box"}, "pixel_format": "rgb"},
    }


def scene_dict(scene: scenes.Scene, rng, workdir: str, width: int, height: int, spp: int, mask: bool) -> dict:
    d = {"type": "scene", "sensor": sensor(scene, width, height, spp)}
    if mask:
        d["integrator"] = {"type": "aov", "aovs": "al:albedo"}
        red = lambda v: {"type": "diffuse", "reflectance": {"type": "rgb", "value": v}}
        jewellery = lambda p: red([1.0, 1.0 if p.bright else 0.0, 0.0])
        parts = [(p, jewellery(p)) for p in scene.parts] + [(p, red([0.0, 0.0, 0.0])) for p in scene.extras]
    else:
        d["integrator"] = {"type": "path", "max_depth": 12, "rr_depth": 6}
        parts = [(p, p.bsdf) for p in scene.parts + scene.extras]
        tex = texture(scene.paper_texture, scene.paper_rgb, rng)
        # The texture repeats at its physical size (mm per tile), not stretched over the sheet.
        repeat = 2 * paper_extent(scene) / TILE_MM[scene.paper_texture]
        bitmap = {"type": "bitmap", "bitmap": mi.Bitmap(tex), "raw": True, "to_uv": mi.ScalarTransform4f().scale([repeat, repeat, 1])}
        d["paper"] = paper_shape(scene, workdir, {"type": "diffuse", "reflectance": bitmap})
        light = scene.light
        half = light["size"] / 2
        d["light"] = {
            "type": "rectangle",
            "to_world": mi.ScalarTransform4f().look_at(origin=list(light["position"]), target=[0, 0, 0], up=[0, 1, 0])
            @ mi.ScalarTransform4f().scale([half, half, 1]),
            "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [light["radiance"]] * 3}},
        }
        d["env"] = {"type": "constant", "radiance": {"type": "rgb", "value": [scene.env * 0.95, scene.env, scene.env * 1.05]}}
    for k, (p, b) in enumerate(parts):
        name = f"part{k}"
        if p.sphere:
            c, r = p.sphere
            d[name] = {"type": "sphere", "center": list(c), "radius": r, "bsdf": b}
        elif len(p.pts):
            d[name] = {"type": "ply", "filename": ply(os.path.join(workdir, name + ".ply"), p.pts, p.faces), "bsdf": b}
    return d


def develop(linear: np.ndarray, alpha: np.ndarray, scene: scenes.Scene, rng) -> np.ndarray:
    """What a phone does to the light: exposure (metered on the background), white balance,
    noise, tone curve (sRGB)."""
    linear = np.nan_to_num(linear, nan=0.0, posinf=0.0, neginf=0.0)  # a stray NaN sample would black the frame out
    background = linear[alpha < 0.01].mean(1) if (alpha < 0.01).any() else linear.mean(2).ravel()
    img = linear * (scene.exposure / max(float(np.median(background)), 1e-4)) * rng.uniform(0.93, 1.07, size=3)
    shot = rng.uniform(0.004, 0.015)
    img = img + rng.normal(size=img.shape) * np.sqrt(np.clip(img, 0, None)) * shot + rng.normal(size=img.shape) * 0.002
    img = np.clip(img, 0, 1)
    srgb = np.where(img <= 0.0031308, 12.92 * img, 1.055 * np.power(img, 1 / 2.4) - 0.055)
    out = Image.fromarray((np.clip(srgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    # Phones denoise before they save; a small median also takes out the path tracer's
    # sampling noise, which a camera does not have.
    return np.array(out.filter(ImageFilter.MedianFilter(3)))


def render_one(family: str, seed: int, out_dir: str, width: int, spp: int) -> dict:
    scene = scenes.make(family, seed)
    height = width * 3 // 4
    rng = np.random.default_rng(seed + 7)
    with tempfile.TemporaryDirectory() as work:
        photo = np.array(mi.render(mi.load_dict(scene_dict(scene, rng, work, width, height, spp, mask=False)), spp=spp))
        mask_spp = max(spp, 32)
        masks = np.array(mi.render(mi.load_dict(scene_dict(scene, rng, work, width, height, mask_spp, mask=True)), spp=mask_spp))
    stem = f"{family}-{seed}"
    Image.fromarray(develop(photo, masks[..., 0], scene, rng)).save(os.path.join(out_dir, stem + ".jpg"), quality=int(rng.integers(85, 96)))
    alpha = np.clip(masks[..., 0], 0, 1)
    bright = np.clip(masks[..., 1], 0, 1)
    Image.fromarray((alpha * 255 + 0.5).astype(np.uint8)).save(os.path.join(out_dir, stem + ".alpha.png"))
    Image.fromarray((bright * 255 + 0.5).astype(np.uint8)).save(os.path.join(out_dir, stem + ".bright.png"))
    meta = {k: v for k, v in scene.meta.items()}
    meta.update({"name": stem, "family": family, "seed": seed, "width": width, "height": height, "spp": spp,
                 "paper": scene.paper_texture, "busy": family in scenes.BUSY_FAMILIES})
    return meta


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--split", required=True, choices=["train", "eval"])
    ap.add_argument("--families", default="")
    ap.add_argument("--count", type=int, default=4, help="scenes per family")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--spp", type=int, default=32)
    a = ap.parse_args()
    families = [f for f in a.families.split(",") if f] or (
        scenes.TRAIN_FAMILIES + scenes.EMPTY_FAMILIES if a.split == "train" else scenes.TRAIN_FAMILIES + scenes.HELD_OUT_FAMILIES + scenes.BUSY_FAMILIES
    )
    if a.split == "train" and set(families) & set(scenes.HELD_OUT_FAMILIES + scenes.BUSY_FAMILIES):
        sys.exit("held-out and busy families never train anything")
    # Training and evaluation seeds never meet: evaluation counts from 1,000,000.
    base = a.first_seed + (1_000_000 if a.split == "eval" else 0)
    out = os.path.join(a.out, a.split)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "manifest.jsonl"), "a") as manifest:
        for family in families:
            for i in range(a.count):
                seed = base + i
                if os.path.exists(os.path.join(out, f"{family}-{seed}.alpha.png")):
                    continue
                t = time.time()
                meta = render_one(family, seed, out, a.width, a.spp)
                manifest.write(json.dumps(meta) + "\n")
                manifest.flush()
                print(f"{meta['name']}: {time.time() - t:.1f} s", flush=True)


if __name__ == "__main__":
    main()

"""Jewellery on paper, built as physical scenes for Mitsuba 3 (written apart from crates/synth:
nothing here shares its code or its assumptions).

Units are millimetres. Metals are measured conductors (Mitsuba's spectral data for Au, Ag,
Cu), stones are dielectrics (diamond n = 2.42, coloured stones with absorption-like tints),
pearls and enamel are glossy dielectric-coated bases, paper is a textured diffuse sheet that
may curl up at the back, lit by an area light and an environment. A scene is a plain
description (`Scene`) so the same geometry can be rendered as a photo and as masks.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

# ---------------------------------------------------------------- geometry (triangle meshes)


def _grid_faces(n: int, m: int, wrap_u: bool, wrap_v: bool) -> np.ndarray:
    faces = []
    nu = n if wrap_u else n - 1
    nv = m if wrap_v else m - 1
    for i in range(nu):
        for j in range(nv):
            a = i * m + j
            b = ((i + 1) % n) * m + j
            c = ((i + 1) % n) * m + (j + 1) % m
            d = i * m + (j + 1) % m
            faces += [[a, b, c], [a, c, d]]
    return np.array(faces, dtype=np.uint32)


def band(radius: float, width: float, thickness: float, n: int = 96, m: int = 24, power: float = 4.0):
    """A ring band: a torus whose cross-section is a superellipse (flat sides, round edges),
    lying with its axis along z."""
    u = np.linspace(0, 2 * np.pi, n, endpoint=False)
    v = np.linspace(0, 2 * np.pi, m, endpoint=False)
    U, V = np.meshgrid(u, v, indexing="ij")
    cv, sv = np.cos(V), np.sin(V)
    e = 2.0 / power
    rr = np.sign(cv) * np.abs(cv) ** e * thickness / 2
    zz = np.sign(sv) * np.abs(sv) ** e * width / 2
    x = (radius + rr) * np.cos(U)
    y = (radius + rr) * np.sin(U)
    pts = np.stack([x, y, zz], -1).reshape(-1, 3)
    return pts, _grid_faces(n, m, True, True)


def torus(major: float, minor: float, n: int = 48, m: int = 12):
    return band(major, 2 * minor, 2 * minor, n, m, power=2.0)


def brilliant(radius: float, crown: float = 0.35, pavilion: float = 0.85, facets: int = 16):
    """A round brilliant, roughly: table, crown, girdle, pavilion down to a culet; z up."""
    ring = lambda r, z, k, off=0.0: [
        [r * math.cos(2 * math.pi * (i + off) / k), r * math.sin(2 * math.pi * (i + off) / k), z] for i in range(k)
    ]
    table = ring(0.55 * radius, crown * radius, 8)
    girdle_top = ring(radius, 0.02 * radius, facets, 0.5)
    girdle_bottom = ring(radius, -0.02 * radius, facets, 0.5)
    pts = [[0, 0, crown * radius]] + table + girdle_top + girdle_bottom + [[0, 0, -pavilion * radius]]
    pts = np.array(pts, dtype=np.float64)
    t0, g0, b0, culet = 1, 9, 9 + facets, 9 + 2 * facets
    faces = []
    for i in range(8):
        faces.append([0, t0 + i, t0 + (i + 1) % 8])
    for i in range(facets):  # crown: each girdle edge to the nearest table vertex
        a, b = g0 + i, g0 + (i + 1) % facets
        t = t0 + int(round((i + 0.5) * 8 / facets)) % 8
        faces.append([t, a, b])
    for i in range(8):  # fill between table vertices and the girdle
        t, t2 = t0 + i, t0 + (i + 1) % 8
        g = g0 + int(round((i + 1) * facets / 8 - 0.5)) % facets
        faces.append([t, g, t2])
    for i in range(facets):
        a, b = g0 + i, g0 + (i + 1) % facets
        c, d = b0 + i, b0 + (i + 1) % facets
        faces += [[a, c, d], [a, d, b]]
        faces.append([c, culet, d])
    faces = np.array(faces, dtype=np.uint32)
    # Orient every face outward (convex solid around the origin).
    centre = pts.mean(0)
    for k, f in enumerate(faces):
        p = pts[f]
        normal = np.cross(p[1] - p[0], p[2] - p[0])
        if np.dot(normal, p.mean(0) - centre) < 0:
            faces[k] = f[[0, 2, 1]]
    return pts, faces


def disc(radius: float, thickness: float, n: int = 64):
    """A flat cylinder (a pendant's face, an earring back), closed top and bottom."""
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    top = np.stack([radius * np.cos(ang), radius * np.sin(ang), np.full(n, thickness / 2)], -1)
    bottom = top * [1, 1, -1]
    pts = np.concatenate([top, bottom, [[0, 0, thickness / 2], [0, 0, -thickness / 2]]])
    faces = []
    ct, cb = 2 * n, 2 * n + 1
    for i in range(n):
        j = (i + 1) % n
        faces += [[ct, i, j], [cb, n + j, n + i], [i, n + i, n + j], [i, n + j, j]]
    return pts, np.array(faces, dtype=np.uint32)


def transform(pts: np.ndarray, scale=(1, 1, 1), rot_x=0.0, rot_y=0.0, rot_z=0.0, at=(0, 0, 0)):
    p = pts * np.asarray(scale, dtype=np.float64)
    for axis, a in (("x", rot_x), ("y", rot_y), ("z", rot_z)):
        c, s = math.cos(a), math.sin(a)
        if axis == "x":
            r = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
        elif axis == "y":
            r = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        else:
            r = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        p = p @ r.T
    return p + np.asarray(at, dtype=np.float64)


# ---------------------------------------------------------------- materials

METALS = {
    # Measured conductors; rose gold is copper-rich gold, drawn here as copper with a warm tint.
    "gold": {"type": "conductor", "material": "Au"},
    "silver": {"type": "conductor", "material": "Ag"},
    "rose": {"type": "conductor", "material": "Cu", "specular_reflectance": {"type": "rgb", "value": [1.0, 0.88, 0.8]}},
}

STONES = {
    "diamond": [1.0, 1.0, 1.0],
    "ruby": [0.85, 0.12, 0.2],
    "emerald": [0.15, 0.7, 0.35],
    "sapphire": [0.15, 0.25, 0.85],
    "amethyst": [0.6, 0.3, 0.8],
}


def metal_bsdf(metal: str, roughness: float) -> dict:
    base = dict(METALS[metal])
    if roughness > 0.005:
        base["type"] = "roughconductor"
        base["alpha"] = roughness
    return base


def stone_bsdf(kind: str) -> dict:
    tint = STONES[kind]
    ior = 2.42 if kind == "diamond" else 1.76
    return {"type": "dielectric", "int_ior": ior, "ext_ior": 1.0, "specular_transmittance": {"type": "rgb", "value": tint}}


def pearl_bsdf(tint=(0.95, 0.93, 0.9)) -> dict:
    return {"type": "plastic", "diffuse_reflectance": {"type": "rgb", "value": list(tint)}, "int_ior": 1.6}


def enamel_bsdf(colour=(0.93, 0.93, 0.92)) -> dict:
    return {"type": "roughplastic", "diffuse_reflectance": {"type": "rgb", "value": list(colour)}, "alpha": 0.08}


# ---------------------------------------------------------------- scenes


@dataclass
class Part:
    """One solid of the piece: its mesh and material, and whether it is white or mirror-like
    (white stones, pearls, enamel, silver), the parts a paper-only model confuses with paper."""

    pts: np.ndarray
    faces: np.ndarray
    bsdf: dict
    bright: bool = False
    sphere: tuple | None = None  # (centre, radius) for a true sphere instead of a mesh


@dataclass
class Scene:
    family: str
    parts: list[Part]
    paper_rgb: tuple
    paper_texture: str  # "paper", "wood", "fabric", "velvet", "skin"
    curl: float  # how far the sheet curls up at the back (0 = flat)
    light: dict  # area light: position, size, radiance
    env: float  # environment radiance
    camera: dict  # origin, target, fov, aperture, focus
    exposure: float  # the paper's linear brightness after exposure (> 1 blows it out)
    extras: list[Part] = field(default_factory=list)  # props that are not jewellery (a box, a hand)
    meta: dict = field(default_factory=dict)


def _metal(rng) -> str:
    return str(rng.choice(["gold", "silver", "rose"], p=[0.4, 0.4, 0.2]))


def ring(rng, metal=None, stone=None) -> tuple[list[Part], dict]:
    metal = metal or _metal(rng)
    rough = float(rng.choice([0.0, 0.02, 0.06, 0.12]))
    r = rng.uniform(8.0, 10.0)
    width, thick = rng.uniform(1.6, 4.5), rng.uniform(1.2, 2.0)
    lying = rng.random() < 0.6  # flat on the paper, or standing on its band
    parts = []
    pts, faces = band(r, width, thick)
    if lying:
        pts = transform(pts, at=(0, 0, width / 2))
    else:
        pts = transform(pts, rot_x=math.pi / 2, at=(0, 0, r + thick / 2))
    parts.append(Part(pts, faces, metal_bsdf(metal, rough), bright=metal == "silver"))
    stone = stone if stone is not None else str(rng.choice(["none", "diamond", "diamond", "ruby", "emerald", "sapphire"]))
    if stone != "none":
        sr = rng.uniform(2.0, 3.6)
        spts, sfaces = brilliant(sr)
        if lying:  # the stone sits on the band's outer edge, table up
            angle = rng.uniform(0, 2 * math.pi)
            at = ((r + thick / 2 + sr * 0.6) * math.cos(angle), (r + thick / 2 + sr * 0.6) * math.sin(angle), width / 2 + sr * 0.2)
            spts = transform(spts, at=at)
        else:
            spts = transform(spts, at=(0, 0, 2 * r + thick + sr * 0.7))
        parts.append(Part(spts, sfaces, stone_bsdf(stone), bright=stone == "diamond"))
        for k in range(4):  # prongs
            a = 2 * math.pi * (k + 0.5) / 4
            ppts, pfaces = disc(0.35, sr * 1.4, n=12)
            centre = spts.mean(0)
            at = (centre[0] + sr * 0.95 * math.cos(a), centre[1] + sr * 0.95 * math.sin(a), centre[2])
            parts.append(Part(transform(ppts, at=at), pfaces, metal_bsdf(metal, rough), bright=metal == "silver"))
    return parts, {"metal": metal, "stone": stone, "lying": lying}


def bangle(rng, metal=None) -> tuple[list[Part], dict]:
    metal = metal or _metal(rng)
    r = rng.uniform(28, 34)
    w, t = rng.uniform(3, 9), rng.uniform(2, 4)
    pts, faces = band(r, w, t, n=160)
    return [Part(transform(pts, at=(0, 0, w / 2)), faces, metal_bsdf(metal, float(rng.choice([0.0, 0.04]))), bright=metal == "silver")], {"metal": metal}


def chain(rng, metal=None, pendant=None) -> tuple[list[Part], dict]:
    """Cable chain: alternating links along a lazy curve, optionally with a pendant."""
    metal = metal or _metal(rng)
    link_r, wire = rng.uniform(1.0, 1.8), rng.uniform(0.25, 0.45)
    length = rng.uniform(60, 110)
    count = int(length / (2 * link_r + wire))
    parts = []
    phase, bend = rng.uniform(0, 2 * math.pi), rng.uniform(0.1, 0.5)
    bsdf = metal_bsdf(metal, 0.02)
    for i in range(count):
        s = i / count
        x = (s - 0.5) * length
        y = 12 * math.sin(2 * math.pi * s * bend + phase)
        dy = 12 * 2 * math.pi * bend / length * math.cos(2 * math.pi * s * bend + phase) * length
        heading = math.atan2(dy, length)
        pts, faces = torus(link_r, wire, n=24, m=8)
        pts = transform(pts, scale=(1.35, 1, 1))  # links are longer than wide
        if i % 2:
            pts = transform(pts, rot_x=math.pi / 2 * rng.uniform(0.7, 1.0))
        pts = transform(pts, rot_z=heading, at=(x, y, link_r if i % 2 else wire))
        parts.append(Part(pts, faces, bsdf, bright=metal == "silver"))
    meta = {"metal": metal, "wire_mm": wire}
    pendant = pendant if pendant is not None else bool(rng.random() < 0.5)
    if pendant:
        kind = str(rng.choice(["stone", "enamel", "pearl"]))
        at = (rng.uniform(-10, 10), 12 * math.sin(phase + math.pi * bend) - 12, 0)
        parts += pendant_parts(rng, metal, kind, at)
        meta["pendant"] = kind
    return parts, meta


def pendant_parts(rng, metal, kind, at) -> list[Part]:
    size = rng.uniform(5, 9)
    rim_pts, rim_faces = torus(size, 0.6, n=64, m=10)
    parts = [Part(transform(rim_pts, at=(at[0], at[1], 0.6)), rim_faces, metal_bsdf(metal, 0.02), bright=metal == "silver")]
    if kind == "enamel":
        d_pts, d_faces = disc(size - 0.3, 1.0)
        parts.append(Part(transform(d_pts, at=(at[0], at[1], 0.6)), d_faces, enamel_bsdf(), bright=True))
    elif kind == "pearl":
        parts.append(Part(np.zeros((0, 3)), np.zeros((0, 3), np.uint32), pearl_bsdf(), bright=True, sphere=((at[0], at[1], size * 0.8), size * 0.8)))
    else:
        s_pts, s_faces = brilliant(size * 0.85)
        parts.append(Part(transform(s_pts, at=(at[0], at[1], size * 0.3)), s_faces, stone_bsdf("diamond"), bright=True))
    return parts


def earrings(rng, metal=None) -> tuple[list[Part], dict]:
    metal = metal or _metal(rng)
    kind = str(rng.choice(["stud_stone", "stud_pearl", "hoop"]))
    gap = rng.uniform(14, 24)
    parts = []
    for side in (-1, 1):
        cx = side * gap / 2
        if kind == "hoop":
            pts, faces = torus(rng.uniform(7, 11), rng.uniform(0.5, 0.9), n=72, m=10)
            parts.append(Part(transform(pts, at=(cx, 0, 0.8)), faces, metal_bsdf(metal, 0.02), bright=metal == "silver"))
        elif kind == "stud_pearl":
            r = rng.uniform(3, 4.5)
            parts.append(Part(np.zeros((0, 3)), np.zeros((0, 3), np.uint32), pearl_bsdf(), bright=True, sphere=((cx, 0, r), r)))
        else:
            s_pts, s_faces = brilliant(rng.uniform(2.5, 3.5))
            parts.append(Part(transform(s_pts, at=(cx, 0, 1.5)), s_faces, stone_bsdf("diamond"), bright=True))
            b_pts, b_faces = torus(3.2, 0.45, n=32, m=8)
            parts.append(Part(transform(b_pts, at=(cx, 0, 0.5)), b_faces, metal_bsdf(metal, 0.02), bright=metal == "silver"))
    return parts, {"metal": metal, "kind": kind}


def pearls(rng) -> tuple[list[Part], dict]:
    """A pearl strand lying in an arc."""
    r = rng.uniform(2.5, 4.0)
    count = int(rng.uniform(14, 24))
    arc = rng.uniform(25, 40)
    parts = []
    tint = tuple(float(x) for x in rng.choice([(0.95, 0.93, 0.9), (0.97, 0.95, 0.93), (0.93, 0.9, 0.86)]))
    for i in range(count):
        a = math.pi * (0.15 + 0.7 * i / (count - 1))
        c = (arc * math.cos(a), arc * math.sin(a) - arc * 0.5, r)
        parts.append(Part(np.zeros((0, 3)), np.zeros((0, 3), np.uint32), pearl_bsdf(tint), bright=True, sphere=(c, r)))
    return parts, {"metal": "none"}


BUILDERS = {
    "ring": ring,
    "bangle": bangle,
    "chain": chain,
    "earrings": earrings,
    "pearls": pearls,
    "pendant": lambda rng: chain(rng, pendant=True),
    "silver_band": lambda rng: ring(rng, metal="silver", stone="none"),
    "diamond_ring": lambda rng: ring(rng, stone="diamond"),
}

# What trains anything and what only evaluates are kept apart by family.
TRAIN_FAMILIES = ["ring", "bangle", "chain", "earrings"]
HELD_OUT_FAMILIES = ["pearls", "pendant", "silver_band", "diamond_ring"]
BUSY_FAMILIES = ["wood", "fabric", "box", "hand"]
# Training only: the sheet of a training scene with the piece taken away, so the network
# learns that plain paper holds nothing (lighting gradients and JPEG blocks included).
EMPTY_FAMILIES = ["blank"]


def paper(rng, blown: bool) -> tuple[tuple, str]:
    colour = rng.choice(
        [(0.92, 0.92, 0.9), (0.95, 0.94, 0.9), (0.8, 0.8, 0.8), (0.86, 0.84, 0.78), (0.75, 0.82, 0.74), (0.85, 0.78, 0.82), (0.7, 0.75, 0.85)],
        p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.07],
    )
    return tuple(float(c) for c in colour), "paper"


def make(family: str, seed: int) -> Scene:
    rng = np.random.default_rng([zlib.crc32(family.encode()), seed])
    busy = family in BUSY_FAMILIES
    blank = family in EMPTY_FAMILIES
    piece = str(rng.choice(TRAIN_FAMILIES)) if busy or blank else family
    parts, meta = BUILDERS[piece](rng)
    extras: list[Part] = []
    blown = bool(rng.random() < 0.25) and not busy  # a blown-out wood or cloth would be plain white
    paper_rgb, texture = paper(rng, blown)
    if family == "wood":
        paper_rgb, texture = (0.55, 0.36, 0.2), "wood"
    elif family == "fabric":
        paper_rgb, texture = tuple(float(c) for c in rng.choice([(0.5, 0.1, 0.15), (0.1, 0.25, 0.4), (0.6, 0.55, 0.45)])), "fabric"
    elif family == "box":
        paper_rgb, texture = tuple(float(c) for c in rng.choice([(0.12, 0.05, 0.08), (0.05, 0.06, 0.12), (0.8, 0.78, 0.74)])), "velvet"
    elif family == "hand":
        skin = tuple(float(c) for c in rng.choice([(0.75, 0.55, 0.45), (0.55, 0.38, 0.28), (0.85, 0.68, 0.58)]))
        for k in range(5):  # fingers filling the frame, the piece lying on them
            c = (-32 + 16 * k + rng.uniform(-3, 3), rng.uniform(-10, 10), -4)
            s_pts, s_faces = torus(1, 0.999, n=24, m=24)  # a round blob, stretched into a finger
            extras.append(Part(transform(s_pts, scale=(8, 60, 6), at=c), s_faces, {"type": "roughplastic", "alpha": 0.3, "diffuse_reflectance": {"type": "rgb", "value": list(skin)}}))
    # Centre the piece on the paper and turn it.
    def bounds(p: Part) -> np.ndarray:
        if p.sphere:
            c, r = np.array(p.sphere[0]), p.sphere[1]
            return np.array([c - r, c + r])
        return p.pts

    allp = np.concatenate([bounds(p) for p in parts])
    centre = (allp.min(0) + allp.max(0)) / 2
    turn = rng.uniform(0, 2 * math.pi)
    for p in parts:
        if len(p.pts):
            p.pts = transform(p.pts - [centre[0], centre[1], 0], rot_z=turn)
        if p.sphere:
            (cx, cy, cz), r = p.sphere
            q = transform(np.array([[cx - centre[0], cy - centre[1], cz]]), rot_z=turn)[0]
            p.sphere = (tuple(q), r)
    extent = float(np.max(np.abs(allp[:, :2] - centre[:2])))
    if family == "box":  # the open box's walls stand around the piece, inside the frame
        wall = tuple(float(c) for c in rng.choice([(0.05, 0.05, 0.06), (0.35, 0.05, 0.08), (0.7, 0.6, 0.4)]))
        reach = extent * rng.uniform(1.1, 1.3)
        w_pts, w_faces = disc(math.sqrt(2), 1, n=4)
        w_pts = transform(w_pts, rot_z=math.pi / 4)  # a unit square prism, stretched into each wall
        for k in range(4):
            a = k * math.pi / 2
            extras.append(Part(
                transform(w_pts, scale=(3, reach, 24), rot_z=a, at=(reach * math.cos(a), reach * math.sin(a), 12)),
                w_faces, {"type": "roughplastic", "alpha": 0.4, "diffuse_reflectance": {"type": "rgb", "value": list(wall)}}))
    # A phone held above, a little tilted; the piece fills 35–75 % of the frame's shorter
    # side (the field of view is the 4:3 frame's width), whole in the picture.
    fill = rng.uniform(0.35, 0.75)
    fov = 45.0
    height = extent / (fill * 0.75 * math.tan(math.radians(fov / 2)))
    tilt = rng.uniform(0, 0.35)
    origin = (rng.uniform(-0.1, 0.1) * height, -math.sin(tilt) * height, math.cos(tilt) * height)
    camera = {"origin": origin, "target": (0, 0, 0), "fov": fov, "aperture": rng.uniform(0.05, 0.5) * height / 150, "focus": height}
    side = rng.uniform(-1, 1)
    light = {
        "position": (side * height * rng.uniform(0.3, 1.0), rng.uniform(-0.8, 0.8) * height, height * rng.uniform(0.8, 1.6)),
        "size": height * rng.uniform(0.3, 1.2),
        "radiance": rng.uniform(3, 8),
    }
    # A light hung between the phone and the piece would hide the piece behind its back.
    lx, ly, lz = light["position"]
    if lz < origin[2] and math.hypot(lx - origin[0], ly - origin[1]) < light["size"]:
        light["position"] = (lx, ly, origin[2] * 1.05)
    # The paper's brightness as the phone exposes it (linear; 1.0 clips): blown-out sheets
    # clip to white around the piece, the rest sit where auto-exposure puts them.
    exposure = rng.uniform(1.0, 1.4) if blown else rng.uniform(0.45, 0.8)
    meta.update({"piece": "none" if blank else piece, "blown": blown, "turn": turn, "tilt": tilt})
    if blank:  # framed, lit and exposed for the piece, which is then taken away
        parts = []
    return Scene(family, parts, paper_rgb, texture, float(rng.uniform(0, 1) ** 2 * 60), light, float(rng.uniform(0.2, 0.6)), camera, exposure, extras, meta)

//! Scene layout, lighting, shadows and the camera (blur, noise, JPEG).

use std::f32::consts::PI;

use image::RgbImage;

use crate::rng::Rng;
use crate::shapes::{Fill, Metal, Part, Shape};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ring,
    Bangle,
    Chain,
    Earrings,
    Stones,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ring => "ring",
            Kind::Bangle => "bangle",
            Kind::Chain => "chain",
            Kind::Earrings => "earrings",
            Kind::Stones => "stones",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    White,
    Grey,
    Coloured,
}

impl Paper {
    pub fn name(self) -> &'static str {
        match self {
            Paper::White => "white",
            Paper::Grey => "grey",
            Paper::Coloured => "coloured",
        }
    }

    fn colour(self, rng: &mut Rng) -> [f32; 3] {
        let c: [f32; 3] = match self {
            Paper::White => [0.925, 0.918, 0.905],
            Paper::Grey => [0.60, 0.60, 0.59],
            Paper::Coloured => {
                let options = [[0.67, 0.76, 0.88], [0.90, 0.75, 0.77], [0.88, 0.82, 0.70], [0.72, 0.86, 0.78]];
                options[(rng.next_u64() % 4) as usize]
            }
        };
        let k = rng.range(0.96, 1.03);
        c.map(|v| v * k)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneSpec {
    pub kind: Kind,
    pub metal: Metal,
    pub paper: Paper,
    pub width: u32,
    pub height: u32,
    pub seed: u64,
    /// 0 = no JPEG round trip.
    pub jpeg_quality: u8,
}

impl SceneSpec {
    /// The photo most tests need: a gold ring on white paper, JPEG quality 90.
    pub fn gold_ring(width: u32, height: u32, seed: u64) -> Self {
        Self { kind: Kind::Ring, metal: Metal::Gold, paper: Paper::White, width, height, seed, jpeg_quality: 90 }
    }
}

/// A rendered photograph and its ground truth.
pub struct Scene {
    pub width: u32,
    pub height: u32,
    /// The photograph as the camera saved it (after JPEG when requested).
    pub rgb: RgbImage,
    /// The JPEG file (empty when `jpeg_quality` is 0).
    pub jpeg: Vec<u8>,
    /// Ground-truth alpha, 0..255.
    pub alpha: Vec<u8>,
    /// 1 where the pixel belongs to a thin structure (chain wire, hook).
    pub thin: Vec<u8>,
    /// 1 inside a real hole (ring or link interior, at least 2 px from its rim).
    pub hole: Vec<u8>,
}

pub fn generate(spec: &SceneSpec) -> Scene {
    let (w, h) = (spec.width.max(16) as usize, spec.height.max(16) as usize);
    let mut rng = Rng::new(spec.seed.wrapping_mul(31).wrapping_add(spec.kind as u64 * 7 + spec.metal as u64));
    let s = w.min(h) as f32;
    let parts = layout(spec, w as f32, h as f32, s, &mut rng);

    // Object layer: straight colour + coverage, painter's order.
    let mut alpha = vec![0f32; w * h];
    let mut colour = vec![[0f32; 3]; w * h];
    let mut thin = vec![0u8; w * h];
    let mut hole_depth = vec![0f32; w * h];
    for part in &parts {
        let (x0, y0, x1, y1) = part.bbox();
        let xs = (x0.floor().max(0.0) as usize)..(x1.ceil().max(0.0) as usize).min(w);
        let ys = (y0.floor().max(0.0) as usize)..(y1.ceil().max(0.0) as usize).min(h);
        for y in ys {
            for x in xs.clone() {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let i = y * w + x;
                if let Some(d) = part.hole_depth(px, py) {
                    hole_depth[i] = hole_depth[i].max(d);
                }
                let Some((c, col)) = part.sample(px, py) else {
                    continue;
                };
                let a0 = alpha[i];
                let a1 = c + a0 * (1.0 - c);
                if a1 > 0.0 {
                    for k in 0..3 {
                        colour[i][k] = (c * col[k] + a0 * (1.0 - c) * colour[i][k]) / a1;
                    }
                }
                alpha[i] = a1;
                if part.thin && c > 0.5 {
                    thin[i] = 1;
                }
            }
        }
    }

    // Lighting: gradient and vignetting on everything; shadows on the paper only.
    let paper = spec.paper.colour(&mut rng);
    let grad = rng.range(0.04, 0.12);
    let gdir = rng.range(0.0, 2.0 * PI);
    let vignette = rng.range(0.10, 0.25);
    let shadows = Shadows::new(&alpha, w, h, s, &mut rng);
    // Lens blur applies to the scene, so the ground truth is the blurred coverage.
    let blurred = blur3(&alpha, w, h);
    let colour_blurred = blur_premultiplied(&colour, &alpha, &blurred, w, h);
    drop(colour);
    let alpha = blurred;
    let noise_sigma = rng.range(1.2, 2.5);
    let mut img = RgbImage::new(w as u32, h as u32);
    for y in 0..h {
        let v = 2.0 * y as f32 / h as f32 - 1.0;
        for x in 0..w {
            let u = 2.0 * x as f32 / w as f32 - 1.0;
            let i = y * w + x;
            let light = (1.0 + grad * (u * gdir.cos() + v * gdir.sin())) * (1.0 - vignette * 0.5 * (u * u + v * v));
            let shade = shadows.at(x, y);
            let a = alpha[i];
            let f = colour_blurred[i];
            let mut px = [0u8; 3];
            for k in 0..3 {
                let bg = paper[k] * light * shade;
                let fg = (f[k] * light.sqrt()).min(1.0);
                let val = (a * fg + (1.0 - a) * bg) * 255.0 + noise_sigma * rng.normal();
                px[k] = val.round().clamp(0.0, 255.0) as u8;
            }
            img.put_pixel(x as u32, y as u32, image::Rgb(px));
        }
    }
    let alpha_u8: Vec<u8> = alpha.iter().map(|a| (a * 255.0).round().clamp(0.0, 255.0) as u8).collect();
    let hole: Vec<u8> = hole_depth.iter().zip(&alpha_u8).map(|(d, a)| u8::from(*d >= 2.0 && *a == 0)).collect();

    let (rgb, jpeg) = if spec.jpeg_quality > 0 {
        let mut buf = Vec::new();
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, spec.jpeg_quality);
        let ok =
            image::ImageEncoder::write_image(enc, img.as_raw(), w as u32, h as u32, image::ExtendedColorType::Rgb8)
                .is_ok();
        let decoded = if ok { image::load_from_memory(&buf).ok().map(|d| d.into_rgb8()) } else { None };
        match decoded {
            Some(d) => (d, buf),
            None => (img, Vec::new()),
        }
    } else {
        (img, Vec::new())
    };
    Scene { width: w as u32, height: h as u32, rgb, jpeg, alpha: alpha_u8, thin, hole }
}

/// Binomial [1 2 1]/4 blur in both directions (σ ≈ 0.7 px): the lens.
fn blur3(src: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let l = src[y * w + x.saturating_sub(1)];
            let r = src[y * w + (x + 1).min(w - 1)];
            tmp[y * w + x] = 0.25 * l + 0.5 * src[y * w + x] + 0.25 * r;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let up = y.saturating_sub(1);
        let dn = (y + 1).min(h - 1);
        for x in 0..w {
            out[y * w + x] = 0.25 * tmp[up * w + x] + 0.5 * tmp[y * w + x] + 0.25 * tmp[dn * w + x];
        }
    }
    out
}

/// Blur premultiplied colour with the same kernel and un-premultiply, so the
/// composite equals blurring the whole photographed object.
fn blur_premultiplied(
    colour: &[[f32; 3]],
    raw_alpha: &[f32],
    blurred_alpha: &[f32],
    w: usize,
    h: usize,
) -> Vec<[f32; 3]> {
    let mut out = vec![[0f32; 3]; w * h];
    for k in 0..3 {
        let ch: Vec<f32> = colour.iter().zip(raw_alpha).map(|(c, a)| c[k] * a).collect();
        for ((o, v), a) in out.iter_mut().zip(blur3(&ch, w, h)).zip(blurred_alpha) {
            o[k] = if *a > 1e-4 { v / a } else { 0.0 };
        }
    }
    out
}

/// Contact shadow (tight, dark) and cast shadow (offset, soft), computed on a
/// reduced grid: shadows are smooth.
struct Shadows {
    contact: Vec<f32>,
    cast: Vec<f32>,
    gw: usize,
    gh: usize,
    f: usize,
    k_contact: f32,
    k_cast: f32,
}

impl Shadows {
    fn new(alpha: &[f32], w: usize, h: usize, s: f32, rng: &mut Rng) -> Self {
        let f = (w.max(h) / 500).max(1);
        let (gw, gh) = (w.div_ceil(f), h.div_ceil(f));
        let mut grid = vec![0f32; gw * gh];
        for y in 0..h {
            for x in 0..w {
                grid[(y / f) * gw + x / f] += alpha[y * w + x];
            }
        }
        let n = (f * f) as f32;
        grid.iter_mut().for_each(|v| *v /= n);
        let contact_r = ((0.004 * s / f as f32).round() as usize).max(1);
        let cast_r = ((0.012 * s / f as f32).round() as usize).max(1);
        let angle = rng.range(0.0, 2.0 * PI);
        let dist = rng.range(0.01, 0.025) * s / f as f32;
        let (dx, dy) = ((angle.cos() * dist) as isize, (angle.sin() * dist) as isize);
        let mut shifted = vec![0f32; gw * gh];
        for y in 0..gh as isize {
            for x in 0..gw as isize {
                let (sx, sy) = (x - dx, y - dy);
                if sx >= 0 && sy >= 0 && (sx as usize) < gw && (sy as usize) < gh {
                    shifted[y as usize * gw + x as usize] = grid[sy as usize * gw + sx as usize];
                }
            }
        }
        let contact = box3(&grid, gw, gh, contact_r);
        let cast = box3(&shifted, gw, gh, cast_r);
        Shadows { contact, cast, gw, gh, f, k_contact: rng.range(0.3, 0.5), k_cast: rng.range(0.12, 0.3) }
    }

    /// Multiplicative shade of the paper at a full-resolution pixel (bilinear).
    fn at(&self, x: usize, y: usize) -> f32 {
        let fx = ((x as f32 + 0.5) / self.f as f32 - 0.5).max(0.0);
        let fy = ((y as f32 + 0.5) / self.f as f32 - 0.5).max(0.0);
        let (x0, y0) = ((fx as usize).min(self.gw - 1), (fy as usize).min(self.gh - 1));
        let (x1, y1) = ((x0 + 1).min(self.gw - 1), (y0 + 1).min(self.gh - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let lerp = |g: &[f32]| {
            let a = g[y0 * self.gw + x0] * (1.0 - tx) + g[y0 * self.gw + x1] * tx;
            let b = g[y1 * self.gw + x0] * (1.0 - tx) + g[y1 * self.gw + x1] * tx;
            a * (1.0 - ty) + b * ty
        };
        let c = (lerp(&self.contact) * 1.6).min(1.0);
        (1.0 - self.k_contact * c) * (1.0 - self.k_cast * lerp(&self.cast).min(1.0))
    }
}

/// Three box passes ≈ Gaussian.
fn box3(src: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut cur = src.to_vec();
    for _ in 0..3 {
        let mut tmp = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let lo = x.saturating_sub(r);
                let hi = (x + r).min(w - 1);
                let s: f32 = cur[y * w + lo..=y * w + hi].iter().sum();
                tmp[y * w + x] = s / (2 * r + 1) as f32;
            }
        }
        for x in 0..w {
            for y in 0..h {
                let lo = y.saturating_sub(r);
                let hi = (y + r).min(h - 1);
                let s: f32 = (lo..=hi).map(|yy| tmp[yy * w + x]).sum();
                cur[y * w + x] = s / (2 * r + 1) as f32;
            }
        }
    }
    cur
}

fn gem(rng: &mut Rng) -> Fill {
    let colours = [[0.75, 0.08, 0.15], [0.08, 0.55, 0.28], [0.12, 0.22, 0.72], [0.55, 0.15, 0.6]];
    Fill::Gem(colours[(rng.next_u64() % 4) as usize], rng.range(0.78, 0.92))
}

fn layout(spec: &SceneSpec, w: f32, h: f32, s: f32, rng: &mut Rng) -> Vec<Part> {
    let metal = Fill::Metal(spec.metal);
    let cx = w * rng.range(0.45, 0.55);
    let cy = h * rng.range(0.45, 0.55);
    let mut parts = Vec::new();
    let solid = |shape| Part { shape, fill: metal, thin: false };
    match spec.kind {
        Kind::Ring | Kind::Stones => {
            let r_out = s * rng.range(0.17, 0.22);
            let band = s * rng.range(0.035, 0.05);
            let ey = rng.range(0.75, 0.95);
            let rot = rng.range(-0.3, 0.3);
            parts.push(solid(Shape::Annulus { cx, cy, r_out, r_in: r_out - band, ey, rot }));
            let top_y = cy - (r_out - band * 0.5) * ey;
            if spec.kind == Kind::Ring {
                let r = s * rng.range(0.04, 0.055);
                parts.push(solid(Shape::Disc { cx, cy: top_y, r: r * 1.15, ey: 1.0, rot: 0.0 }));
                parts.push(Part {
                    shape: Shape::Disc { cx, cy: top_y, r, ey: 1.0, rot: 0.0 },
                    fill: gem(rng),
                    thin: false,
                });
            } else {
                for k in [-1.0f32, 0.0, 1.0] {
                    let r = s * if k == 0.0 { 0.065 } else { 0.045 };
                    let gx = cx + k * s * 0.085;
                    let gy = top_y + k.abs() * s * 0.02;
                    parts.push(solid(Shape::Disc { cx: gx, cy: gy, r: r * 1.1, ey: 1.0, rot: 0.0 }));
                    parts.push(Part {
                        shape: Shape::Disc { cx: gx, cy: gy, r, ey: 0.9, rot: 0.2 * k },
                        fill: gem(rng),
                        thin: false,
                    });
                }
            }
        }
        Kind::Bangle => {
            let r_out = s * rng.range(0.34, 0.4);
            let band = s * rng.range(0.025, 0.04);
            parts.push(solid(Shape::Annulus {
                cx,
                cy,
                r_out,
                r_in: r_out - band,
                ey: rng.range(0.85, 0.97),
                rot: rng.range(-0.2, 0.2),
            }));
        }
        Kind::Chain => chain(&mut parts, spec.metal, w, h, s, rng),
        Kind::Earrings => {
            for side in [-1.0f32, 1.0] {
                let ex = w * 0.5 + side * w * rng.range(0.17, 0.22);
                let ey0 = h * rng.range(0.3, 0.36);
                // Hook: an arc of wire above the drop.
                let wire = rng.range(4.0, 6.0) * s / 3000.0;
                let hook_r = s * 0.06;
                let n = 14;
                for k in 0..n {
                    let a0 = PI * (1.0 + k as f32 / n as f32);
                    let a1 = PI * (1.0 + (k + 1) as f32 / n as f32);
                    parts.push(Part {
                        shape: Shape::Capsule {
                            ax: ex + hook_r * a0.cos(),
                            ay: ey0 + hook_r * a0.sin(),
                            bx: ex + hook_r * a1.cos(),
                            by: ey0 + hook_r * a1.sin(),
                            r: wire * 0.5,
                        },
                        fill: metal,
                        thin: true,
                    });
                }
                let drop_y = ey0 + s * 0.19;
                parts.push(Part {
                    shape: Shape::Capsule { ax: ex + hook_r, ay: ey0, bx: ex, by: drop_y - s * 0.08, r: wire * 0.5 },
                    fill: metal,
                    thin: true,
                });
                let r = s * 0.085;
                parts.push(solid(Shape::Annulus { cx: ex, cy: drop_y, r_out: r, r_in: r * 0.8, ey: 1.25, rot: 0.0 }));
                parts.push(Part {
                    shape: Shape::Disc { cx: ex, cy: drop_y, r: r * 0.82, ey: 1.25, rot: 0.0 },
                    fill: gem(rng),
                    thin: false,
                });
            }
        }
    }
    parts
}

/// A cable chain lying in a U with a pendant: alternate face-on links (with a
/// visible hole) and edge-on links (a bar), wire 3–6 px at 12 MP.
fn chain(parts: &mut Vec<Part>, metal: Metal, w: f32, h: f32, s: f32, rng: &mut Rng) {
    let wire = rng.range(3.0, 6.0) * s / 3000.0;
    let pitch = wire * 3.5;
    let a = pitch * 0.8;
    let b = a * 0.75;
    let (x0, x1) = (w * rng.range(0.08, 0.15), w * rng.range(0.85, 0.92));
    let top = h * rng.range(0.06, 0.14);
    let bottom = h * rng.range(0.62, 0.7);
    let point = |t: f32| {
        let x = x0 + (x1 - x0) * t;
        let y = top + (bottom - top) * (1.0 - (2.0 * t - 1.0).powi(2));
        (x, y)
    };
    let mut pts = vec![point(0.0)];
    let mut t = 0.0f32;
    let mut k = 0usize;
    while t < 1.0 {
        let (px, py) = pts[pts.len() - 1];
        // Advance t until the arc distance reaches the pitch.
        let mut t2 = t;
        let mut q = (px, py);
        while t2 < 1.0 && ((q.0 - px).powi(2) + (q.1 - py).powi(2)).sqrt() < pitch {
            t2 += 0.0002;
            q = point(t2);
        }
        if t2 >= 1.0 {
            break;
        }
        let (mx, my) = (0.5 * (px + q.0), 0.5 * (py + q.1));
        let rot = (q.1 - py).atan2(q.0 - px);
        let shape = if k.is_multiple_of(2) {
            Shape::Annulus { cx: mx, cy: my, r_out: a, r_in: a - wire, ey: b / a, rot }
        } else {
            let (dx, dy) = (rot.cos() * (a - wire * 0.5), rot.sin() * (a - wire * 0.5));
            Shape::Capsule { ax: mx - dx, ay: my - dy, bx: mx + dx, by: my + dy, r: wire * 0.5 }
        };
        parts.push(Part { shape, fill: Fill::Metal(metal), thin: true });
        pts.push(q);
        t = t2;
        k += 1;
    }
    // Pendant at the bottom of the U.
    let (px, py) = point(0.5);
    let r = s * rng.range(0.05, 0.07);
    parts.push(Part {
        shape: Shape::Disc { cx: px, cy: py + r * 0.9, r, ey: 1.2, rot: 0.0 },
        fill: Fill::Metal(metal),
        thin: false,
    });
    parts.push(Part {
        shape: Shape::Disc { cx: px, cy: py + r * 0.9, r: r * 0.6, ey: 1.2, rot: 0.0 },
        fill: gem(rng),
        thin: false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scene_is_deterministic_and_consistent() {
        let spec = SceneSpec {
            kind: Kind::Ring,
            metal: Metal::Gold,
            paper: Paper::White,
            width: 240,
            height: 160,
            seed: 3,
            jpeg_quality: 0,
        };
        let a = generate(&spec);
        let b = generate(&spec);
        assert_eq!(a.rgb, b.rgb);
        assert_eq!(a.alpha, b.alpha);
        let fg = a.alpha.iter().filter(|&&v| v > 127).count();
        assert!(fg > 500 && fg < 240 * 160 / 2, "{fg}");
        assert!(a.hole.contains(&1), "ring has a hole");
        // Paper corners are bright, holes are background.
        assert!(a.rgb.get_pixel(2, 2).0[0] > 180);
    }

    #[test]
    fn chain_marks_thin_structures() {
        let spec = SceneSpec {
            kind: Kind::Chain,
            metal: Metal::Silver,
            paper: Paper::Grey,
            width: 1200,
            height: 900,
            seed: 1,
            jpeg_quality: 85,
        };
        let sc = generate(&spec);
        assert!(sc.thin.iter().filter(|&&v| v == 1).count() > 1000);
        assert!(!sc.jpeg.is_empty());
        // Thin wire is only a few pixels wide: far fewer thin pixels than the image.
        let thin = sc.thin.iter().filter(|&&v| v == 1).count();
        assert!(thin < 1200 * 900 / 20, "{thin}");
    }
}

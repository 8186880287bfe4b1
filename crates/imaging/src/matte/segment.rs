//! Coarse segmentation at working resolution: per-pixel evidence against the
//! paper model (shadow-tolerant), hysteresis, small-component removal, and a
//! hole policy that keeps real holes (ring interiors) open.

use image::RgbImage;

use super::MatteParams;
use super::paper::PaperModel;
use crate::plane::{Mask, Plane};

/// Per-pixel measurements against the paper model.
pub struct Features {
    /// Brightness relative to the paper (1 = paper, 0.6 = a 40 % shadow).
    pub ratio: Plane<f32>,
    /// Chroma difference from the paper, independent of brightness: a shadow
    /// (darker paper, same chroma) scores 0.
    pub chroma: Plane<f32>,
    /// Local gradient of `ratio`: sharp object edges and reflections, not soft shadows.
    pub grad: Plane<f32>,
    /// Strongest full-resolution gradient in the pixel, relative to the paper
    /// (see `fine.rs`); zero until filled in.
    pub fine: Plane<f32>,
}

/// Turn raw max-pooled gradients (R+G+B units) into fractions of the local paper
/// brightness (pixel brightness / ratio).
pub fn normalise_fine(fine: &mut Plane<f32>, ratio: &Plane<f32>, small: &RgbImage) {
    for ((f, r), px) in fine.data.iter_mut().zip(&ratio.data).zip(small.pixels()) {
        let sum = f32::from(px.0[0]) + f32::from(px.0[1]) + f32::from(px.0[2]);
        let paper = (sum / r.max(0.05)).max(24.0);
        *f /= paper;
    }
}

pub fn features(small: &RgbImage, paper: &PaperModel) -> Features {
    let (w, h) = (small.width() as usize, small.height() as usize);
    let mut ratio = Plane::new(w, h, 1f32);
    let mut chroma = Plane::new(w, h, 0f32);
    let inv_w = 2.0 / paper.width() as f32;
    for (y, row) in small.rows().enumerate() {
        let poly = paper.row(y as f64);
        for (x, px) in row.enumerate() {
            let u = (x as f32 + 0.5) * inv_w - 1.0;
            let p = poly.map(|c| (c[0] + u * (c[1] + u * (c[2] + u * c[3]))).clamp(1.0, 255.0));
            let q = [0, 1, 2].map(|c| f32::from(px.0[c]) / p[c].max(8.0));
            let r = (q[0] + q[1] + q[2]) / 3.0;
            let dev = q.iter().map(|v| (v - r).abs()).fold(0f32, f32::max);
            ratio.set(x, y, r);
            chroma.set(x, y, dev / r.max(0.3));
        }
    }
    let mut grad = Plane::new(w, h, 0f32);
    for y in 0..h {
        for x in 0..w {
            let (xi, yi) = (x as isize, y as isize);
            let gx = (ratio.at(xi + 1, yi) - ratio.at(xi - 1, yi)).abs();
            let gy = (ratio.at(xi, yi + 1) - ratio.at(xi, yi - 1)).abs();
            grad.set(x, y, 0.5 * gx.max(gy));
        }
    }
    let fine = Plane::new(w, h, 0f32);
    Features { ratio, chroma, grad, fine }
}

/// The pixel differs from the paper in colour or brightness (weak thresholds),
/// not merely by sitting next to an edge.
pub fn has_colour_evidence(f: &Features, p: &MatteParams, i: usize) -> bool {
    let (r, c) = (f.ratio.data[i], f.chroma.data[i]);
    c > p.chroma_weak || r < p.dark_weak || r > p.bright_weak
}

/// Strong evidence seeds the object; weak evidence lets it grow.
pub fn classify(f: &Features, p: &MatteParams) -> (Mask, Mask) {
    let (w, h) = (f.ratio.w, f.ratio.h);
    let mut strong = Mask::new(w, h, 0);
    let mut weak = Mask::new(w, h, 0);
    for i in 0..w * h {
        let (r, c, g, fine) = (f.ratio.data[i], f.chroma.data[i], f.grad.data[i], f.fine.data[i]);
        if c > p.chroma_strong || r < p.dark_strong || r > p.bright_strong || g > p.grad_strong || fine > p.fine_strong
        {
            strong.data[i] = 1;
        }
        if c > p.chroma_weak || r < p.dark_weak || r > p.bright_weak || g > p.grad_weak || fine > p.fine_weak {
            weak.data[i] = 1;
        }
    }
    (strong, weak)
}

const N8: [(isize, isize); 8] = [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)];
const N4: [(isize, isize); 4] = [(0, -1), (-1, 0), (1, 0), (0, 1)];

fn neighbours(x: usize, y: usize, w: usize, h: usize, offs: &'static [(isize, isize)]) -> impl Iterator<Item = usize> {
    offs.iter().filter_map(move |(dx, dy)| {
        let nx = x.checked_add_signed(*dx)?;
        let ny = y.checked_add_signed(*dy)?;
        (nx < w && ny < h).then_some(ny * w + nx)
    })
}

/// Grow from `strong` through `weak` (8-connected). Components smaller than
/// `min_area` pixels are dropped (dust, paper fibres).
pub fn hysteresis(strong: &Mask, weak: &Mask, min_area: usize) -> Mask {
    let (w, h) = (strong.w, strong.h);
    let mut out = Mask::new(w, h, 0);
    let mut stack = Vec::new();
    let mut component = Vec::new();
    for start in 0..w * h {
        if strong.data[start] == 0 || out.data[start] != 0 {
            continue;
        }
        component.clear();
        out.data[start] = 1;
        stack.push(start);
        while let Some(i) = stack.pop() {
            component.push(i);
            for n in neighbours(i % w, i / w, w, h, &N8) {
                if out.data[n] == 0 && (weak.data[n] != 0 || strong.data[n] != 0) {
                    out.data[n] = 1;
                    stack.push(n);
                }
            }
        }
        if component.len() < min_area {
            for &i in &component {
                out.data[i] = 2; // visited, rejected
            }
        }
    }
    for v in &mut out.data {
        if *v == 2 {
            *v = 0;
        }
    }
    out
}

/// Decide every enclosed background region. It stays a hole when it is thick
/// and its rim is a sharp edge (paper seen through a ring: the metal's
/// silhouette is a step). It is filled when it is thin (a clipped highlight
/// strip, a sliver between links) or when its rim is soft (a mid-tone of
/// polished silver that happens to match the paper shades smoothly into the
/// darker metal around it). The full-resolution band re-decides pixels near edges.
pub fn fill_holes(mask: &mut Mask, f: &Features, p: &MatteParams) {
    let (w, h, mw) = (mask.w as isize, mask.h as isize, mask.w);
    // Strongest gradient within two pixels of a rim pixel: the mask already
    // swallowed the edge itself, so look across it.
    let edge_near = |i: usize| {
        let (x, y) = ((i % mw) as isize, (i / mw) as isize);
        let mut g = 0f32;
        for dy in -2..=2 {
            for dx in -2..=2 {
                if (0..w).contains(&(x + dx)) && (0..h).contains(&(y + dy)) {
                    g = g.max(f.grad.at(x + dx, y + dy));
                }
            }
        }
        g
    };
    fill_holes_by(mask, 1, |rim: &[usize]| {
        let sharp = rim.iter().filter(|&&i| edge_near(i) > p.hole_rim_grad).count();
        (sharp as f32) < p.hole_rim_share * rim.len() as f32
    });
}

/// Paper seen through the piece (a chain link's eye, a pendant's bail) that the closing or
/// the network filled: an enclosed patch of the mask whose pixels have the paper's colour
/// and brightness and is as smooth as paper, at least two pixels across (a highlight along a band is a strip) and
/// mostly rimmed by wire (the open sheet within `REOPEN_WIRE` pixels behind it; a patch
/// between a stone's facets lies deep inside the stone) goes back to the background,
/// whatever the network says. The band then solves its edges against the known paper.
/// Patches touching the open sheet are left alone (a pearl's lit top on white paper), and
/// so is paper too bright for white to show brighter: there white enamel matches it too.
pub fn reopen_paper(mask: &mut Mask, f: &Features, paper: &PaperModel, p: &MatteParams) {
    if p.reopen_paper <= 0.0 {
        return;
    }
    let (w, h) = (mask.w, mask.h);
    let open_sheet = crate::plane::touching_border(&invert(mask));
    let to_sheet = crate::plane::distance_inside(&invert(&open_sheet), false);
    let like = Mask {
        w,
        h,
        data: (0..w * h)
            .map(|i| {
                let white_shows = paper.at((i % w) as f64, (i / w) as f64).iter().all(|&c| c * p.bright_weak < 255.0);
                u8::from(
                    mask.data[i] != 0
                        && white_shows
                        && f.chroma.data[i] < p.chroma_weak
                        && (p.reopen_paper..=p.bright_weak).contains(&f.ratio.data[i]),
                )
            })
            .collect(),
    };
    let like_depth = crate::plane::distance_inside(&like, false);
    for_each_component(&like, |region| {
        let inside = |i: usize| {
            let (x, y) = (i % w, i / w);
            x > 0 && y > 0 && x + 1 < w && y + 1 < h && neighbours(x, y, w, h, &N4).all(|n| open_sheet.data[n] == 0)
        };
        let wide = region.iter().any(|&i| like_depth.data[i] >= REOPEN_DEPTH);
        // Paper is smooth; facets and sparkle are not.
        let smooth = region.iter().map(|&i| f.grad.data[i]).sum::<f32>() < p.grad_weak * region.len() as f32;
        if !(wide && smooth && region.iter().all(|&i| inside(i))) {
            return;
        }
        let (mut rim, mut wire) = (0usize, 0usize);
        for &i in region {
            for n in neighbours(i % w, i / w, w, h, &N4).filter(|&n| like.data[n] == 0) {
                rim += 1;
                wire += usize::from(to_sheet.data[n] <= REOPEN_WIRE);
            }
        }
        if 2 * wire >= rim {
            for &i in region {
                mask.data[i] = 0;
            }
        }
    });
}

/// How thick (working pixels) the metal around a reopened patch may be, and how wide the
/// patch must be.
const REOPEN_WIRE: u8 = 6;
const REOPEN_DEPTH: u8 = 2;

fn invert(m: &Mask) -> Mask {
    Mask { w: m.w, h: m.h, data: m.data.iter().map(|&v| u8::from(v == 0)).collect() }
}

/// Calls `visit` with each 4-connected component of `m`'s set pixels.
fn for_each_component(m: &Mask, mut visit: impl FnMut(&[usize])) {
    let (w, h) = (m.w, m.h);
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut region = Vec::new();
    for start in 0..w * h {
        if m.data[start] == 0 || seen[start] {
            continue;
        }
        region.clear();
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            region.push(i);
            for n in neighbours(i % w, i / w, w, h, &N4) {
                if m.data[n] != 0 && !seen[n] {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
        visit(&region);
    }
}

/// Mask value for regions filled by the soft-rim rule (trusted as object).
pub const FILLED_SOFT: u8 = 2;

#[cfg(test)]
pub fn fill_thin_holes(mask: &mut Mask, max_thickness: u8) {
    fill_holes_by(mask, max_thickness, |_: &[usize]| false);
}

fn fill_holes_by(mask: &mut Mask, max_thickness: u8, soft_rim: impl Fn(&[usize]) -> bool) {
    let (w, h) = (mask.w, mask.h);
    let bg = invert(mask);
    let depth = crate::plane::distance_inside(&bg, false);
    let mut rim = Vec::new();
    for_each_component(&bg, |region| {
        let on_border = |&i: &usize| i % w == 0 || i / w == 0 || i % w + 1 == w || i / w + 1 == h;
        if region.iter().any(on_border) {
            return;
        }
        rim.clear();
        rim.extend(region.iter().filter(|&&i| depth.data[i] == 1));
        let thickest = region.iter().map(|&i| depth.data[i]).max().unwrap_or(0);
        let value = if thickest <= max_thickness {
            1
        } else if soft_rim(&rim) {
            FILLED_SOFT
        } else {
            0
        };
        if value != 0 {
            for &i in region {
                mask.data[i] = value;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis_grows_from_seeds_and_drops_specks() {
        let mut strong = Mask::new(10, 3, 0);
        let mut weak = Mask::new(10, 3, 0);
        strong.set(0, 1, 1);
        for x in 0..6 {
            weak.set(x, 1, 1);
        }
        strong.set(9, 0, 1); // isolated speck
        let m = hysteresis(&strong, &weak, 2);
        assert_eq!((0..10).map(|x| m.get(x, 1)).collect::<Vec<_>>(), [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
        assert_eq!(m.get(9, 0), 0);
    }

    #[test]
    fn thin_holes_fill_but_ring_interiors_stay() {
        // A 30×30 square ring with a 16×16 hole, plus a 1-px slit elsewhere.
        let mut m = Mask::new(40, 40, 0);
        for y in 5..35 {
            for x in 5..35 {
                let inside_hole = (12..28).contains(&x) && (12..28).contains(&y);
                m.set(x, y, u8::from(!inside_hole));
            }
        }
        for y in 6..10 {
            m.set(20, y, 0); // slit within the ring's band
        }
        fill_thin_holes(&mut m, 1);
        assert_eq!(m.get(20, 8), 1, "slit filled");
        assert_eq!(m.get(20, 20), 0, "ring hole kept");
        assert_eq!(m.get(1, 1), 0, "outside kept");
    }

    /// A gold ring of wire (radius 6–9) on `paper`, its eye showing `eye`, and the mask
    /// taken as a solid disc (what the closing or the network makes of a chain link).
    fn link(paper: [u8; 3], eye: [u8; 3]) -> (RgbImage, Mask) {
        let img = RgbImage::from_fn(40, 40, |x, y| {
            let r = ((x as f32 - 20.0).powi(2) + (y as f32 - 20.0).powi(2)).sqrt();
            image::Rgb(if r < 6.0 {
                eye
            } else if r <= 9.0 {
                [200, 150, 60]
            } else {
                paper
            })
        });
        let mut mask = Mask::new(40, 40, 0);
        for y in 0..40 {
            for x in 0..40 {
                mask.set(x, y, u8::from((x as f32 - 20.0).powi(2) + (y as f32 - 20.0).powi(2) <= 81.0));
            }
        }
        (img, mask)
    }

    fn reopened(paper: [u8; 3], eye: [u8; 3], p: &MatteParams) -> Mask {
        let (img, mut mask) = link(paper, eye);
        let model = PaperModel::constant(paper.map(f32::from), 40, 40);
        reopen_paper(&mut mask, &features(&img, &model), &model, p);
        mask
    }

    #[test]
    fn paper_seen_through_a_link_goes_back_to_the_background() {
        let paper = [200, 202, 205];
        let m = reopened(paper, paper, &MatteParams::default());
        assert_eq!(m.get(20, 20), 0, "the eye shows the paper");
        assert_eq!(m.get(20, 12), 1, "the wire stays");
        let off = MatteParams { reopen_paper: 0.0, ..Default::default() };
        assert_eq!(reopened(paper, paper, &off).get(20, 20), 1);
    }

    #[test]
    fn what_only_looks_like_paper_stays() {
        let p = MatteParams::default();
        assert_eq!(
            reopened([200, 202, 205], [250, 250, 250], &p).get(20, 20),
            1,
            "white enamel, brighter than the paper"
        );
        assert_eq!(reopened([200, 202, 205], [120, 140, 200], &p).get(20, 20), 1, "a blue stone");
        assert_eq!(reopened([255; 3], [255; 3], &p).get(20, 20), 1, "white on blown-out paper is no evidence");
    }

    #[test]
    fn shadow_scores_no_chroma_but_gold_does() {
        let paper = PaperModel::constant([230.0, 228.0, 225.0], 4, 1);
        let img = RgbImage::from_fn(4, 1, |x, _| match x {
            0 => image::Rgb([230, 228, 225]),
            1 => image::Rgb([161, 160, 158]), // 30 % shadow
            2 => image::Rgb([200, 150, 60]),  // gold
            _ => image::Rgb([60, 60, 60]),    // dark metal
        });
        let mut f = features(&img, &paper);
        f.grad = Plane::new(4, 1, 0.0); // neighbours differ wildly here; test the colour terms
        assert!(f.chroma.get(1, 0) < 0.02 && (f.ratio.get(1, 0) - 0.7).abs() < 0.02);
        assert!(f.chroma.get(2, 0) > 0.3);
        let (strong, _) = classify(&f, &MatteParams::default());
        assert_eq!(strong.data, [0, 0, 1, 1]);
    }
}

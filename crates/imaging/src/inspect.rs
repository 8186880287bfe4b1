//! Looking at a cutout: how many pieces it shows and how they sit (the detection pre-pass
//! before a generative job), and how closely a generated image's piece matches the
//! upload's (the fidelity check). Both work on a small copy of the matte: they measure
//! shapes and colours, not fine detail.

use fast_image_resize::FilterType;
use image::GrayImage;
use serde::{Deserialize, Serialize};

use crate::frame::BBox;
use crate::{ImagingError, Matte};

/// Long side of the working copy for shape measures.
const GRID: u32 = 160;
/// Alpha (of 255) from which a pixel counts as jewellery.
const SOLID: u8 = 128;

/// What the pre-pass saw in a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Separate pieces (specks under 5% of the largest piece are not counted).
    pub pieces: u32,
    /// `single`, `pair` (two pieces of about the same size) or `set`.
    pub arrangement: String,
    /// The jewellery touches the photo's edge: part of it may be cut off.
    pub cropped: bool,
    /// Enclosed openings (a ring's or bangle's centre).
    pub openings: u32,
    /// Share of the frame the jewellery covers (0..1).
    pub coverage: f32,
    /// A type the shapes suggest (`ring`, `earring`, `set`), when they clearly do.
    pub suggests: Option<String>,
}

/// How closely a generated piece matches the upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    /// 0..100; compare with the configured threshold.
    pub score: f32,
    /// Outline overlap of the two pieces after alignment (intersection over union, 0..1).
    pub shape: f32,
    /// CIE76 ΔE between the pieces' mean colours (metal dominates).
    pub colour_delta: f32,
    /// Overlap of the pieces' colour distributions (stones and enamel show here, 0..1).
    pub palette: f32,
    pub pieces_expected: u32,
    pub pieces_found: u32,
}

fn small_mask(alpha: &GrayImage, bbox: Option<BBox>) -> Result<(Vec<bool>, usize, usize), ImagingError> {
    let (w, h) = alpha.dimensions();
    let b = bbox.unwrap_or(BBox { x0: 0, y0: 0, x1: w, y1: h });
    // Scaled so the long side is GRID exactly (up or down), so boxes of any size align.
    let k = f64::from(GRID) / f64::from(b.width().max(b.height()).max(1));
    let (sw, sh) = ((f64::from(b.width()) * k).round() as u32, (f64::from(b.height()) * k).round() as u32);
    let crop = crate::resize::SrcRect {
        left: f64::from(b.x0),
        top: f64::from(b.y0),
        width: f64::from(b.width()),
        height: f64::from(b.height()),
    };
    let small = crate::resize::resize_gray(alpha, sw.max(1), sh.max(1), FilterType::Box, Some(crop))?;
    Ok((small.pixels().map(|p| p.0[0] >= SOLID).collect(), small.width() as usize, small.height() as usize))
}

/// One connected region: its size, whether it touches the edge, and its box (x0, y0, x1, y1).
struct Region {
    size: usize,
    edge: bool,
    bbox: (usize, usize, usize, usize),
}

/// The 8- (or 4-) connected regions where `mask == want`.
fn regions(mask: &[bool], w: usize, h: usize, want: bool, eight: bool) -> Vec<Region> {
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if seen[start] || mask[start] != want {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut size, mut edge) = (0usize, false);
        let mut bbox = (usize::MAX, usize::MAX, 0, 0);
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            bbox = (
                bbox.0.min(x as usize),
                bbox.1.min(y as usize),
                bbox.2.max(x as usize + 1),
                bbox.3.max(y as usize + 1),
            );
            edge |= x == 0 || y == 0 || x as usize == w - 1 || y as usize == h - 1;
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    if (dx == 0 && dy == 0) || (!eight && dx != 0 && dy != 0) {
                        continue;
                    }
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !seen[j] && mask[j] == want {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(Region { size, edge, bbox });
    }
    out
}

/// The box around the pieces (regions of at least 5% of the largest), in the matte's own
/// pixels: specks of a busy backdrop that a cutout let through must not stretch it.
fn pieces_bbox(alpha: &GrayImage) -> Result<Option<BBox>, ImagingError> {
    let (mask, w, h) = small_mask(alpha, None)?;
    let found = regions(&mask, w, h, true, true);
    let Some(largest) = found.iter().map(|r| r.size).max() else { return Ok(None) };
    let (kx, ky) = (f64::from(alpha.width()) / w as f64, f64::from(alpha.height()) / h as f64);
    let mut b: Option<(usize, usize, usize, usize)> = None;
    for r in found.iter().filter(|r| r.size * 20 >= largest && r.size >= 3) {
        let (x0, y0, x1, y1) = r.bbox;
        b = Some(b.map_or(r.bbox, |c| (c.0.min(x0), c.1.min(y0), c.2.max(x1), c.3.max(y1))));
    }
    let Some((x0, y0, x1, y1)) = b else { return Ok(None) };
    // The coarse box, one coarse cell wider, then the exact solid pixels inside it.
    let (cx, cy) = (kx.ceil(), ky.ceil());
    let window = BBox {
        x0: (x0 as f64 * kx - cx).max(0.0) as u32,
        y0: (y0 as f64 * ky - cy).max(0.0) as u32,
        x1: ((x1 as f64 * kx + cx).ceil() as u32).min(alpha.width()),
        y1: ((y1 as f64 * ky + cy).ceil() as u32).min(alpha.height()),
    };
    let (mut bx0, mut by0, mut bx1, mut by1) = (u32::MAX, u32::MAX, 0, 0);
    for y in window.y0..window.y1 {
        for x in window.x0..window.x1 {
            if alpha.get_pixel(x, y).0[0] >= SOLID {
                (bx0, by0, bx1, by1) = (bx0.min(x), by0.min(y), bx1.max(x + 1), by1.max(y + 1));
            }
        }
    }
    Ok((bx1 > bx0 && by1 > by0).then_some(BBox { x0: bx0, y0: by0, x1: bx1, y1: by1 }))
}

/// The detection pre-pass on a photo's matte.
pub fn detect(m: &Matte) -> Result<Detection, ImagingError> {
    let (mask, w, h) = small_mask(&m.alpha, None)?;
    let mut pieces: Vec<usize> = regions(&mask, w, h, true, true).into_iter().map(|r| r.size).collect();
    let largest = pieces.iter().copied().max().ok_or(ImagingError::NoSubjectFound)?;
    pieces.retain(|&s| s * 20 >= largest && s >= 3);
    pieces.sort_unstable_by(|a, b| b.cmp(a));
    let cropped = mask
        .chunks(w)
        .enumerate()
        .any(|(y, row)| (y == 0 || y == h - 1) && row.iter().any(|&v| v) || row[0] || row[w - 1]);
    let openings =
        regions(&mask, w, h, false, false).into_iter().filter(|r| !r.edge && r.size * 50 >= largest).count() as u32;
    let solid = mask.iter().filter(|&&v| v).count();
    let arrangement = match pieces.as_slice() {
        [_] => "single",
        [a, b] if *b * 10 >= *a * 7 => "pair",
        _ => "set",
    };
    let suggests = match (arrangement, openings) {
        ("pair", _) => Some("earring"),
        ("set", _) => Some("set"),
        ("single", 1) => Some("ring"),
        _ => None,
    };
    Ok(Detection {
        pieces: pieces.len() as u32,
        arrangement: arrangement.into(),
        cropped,
        openings,
        coverage: solid as f32 / (w * h).max(1) as f32,
        suggests: suggests.map(str::to_owned),
    })
}

/// The shape, colour and piece-count comparison of a generated image's cutout with the
/// upload's. `shape_weight` (0..1) is how much the outline counts: less for new viewpoints.
pub fn fidelity(reference: &Matte, candidate: &Matte, shape_weight: f32) -> Result<Fidelity, ImagingError> {
    let expected = detect(reference)?.pieces;
    let found = detect(candidate).map(|d| d.pieces).unwrap_or(0);
    let (rb, cb) =
        (pieces_bbox(&reference.alpha)?.ok_or(ImagingError::NoSubjectFound)?, pieces_bbox(&candidate.alpha)?);
    let Some(cb) = cb else {
        return Ok(Fidelity {
            score: 0.0,
            shape: 0.0,
            colour_delta: 100.0,
            palette: 0.0,
            pieces_expected: expected,
            pieces_found: 0,
        });
    };
    let shape = aligned_overlap(&reference.alpha, rb, &candidate.alpha, cb)?;
    let (rm, rh) = colours(reference);
    let (cm, ch) = colours(candidate);
    let colour_delta = ((rm[0] - cm[0]).powi(2) + (rm[1] - cm[1]).powi(2) + (rm[2] - cm[2]).powi(2)).sqrt();
    let palette: f32 = rh.iter().zip(&ch).map(|(a, b)| a.min(*b)).sum();
    let colour = (1.0 - colour_delta / 40.0).clamp(0.0, 1.0);
    let w = shape_weight.clamp(0.0, 1.0);
    let base = w * shape + (1.0 - w) * (0.5 * colour + 0.5 * palette);
    // A close-up (outline weight 0) crops the piece into arcs: its count means nothing.
    let count = if expected == found || w == 0.0 { 1.0 } else { 0.6 };
    Ok(Fidelity {
        score: (100.0 * base * count).clamp(0.0, 100.0),
        shape,
        colour_delta,
        palette,
        pieces_expected: expected,
        pieces_found: found,
    })
}

/// Both pieces scaled into the same square (keeping their aspect, centred), then
/// intersection over union of the solid pixels.
fn aligned_overlap(a: &GrayImage, ab: BBox, b: &GrayImage, bb: BBox) -> Result<f32, ImagingError> {
    let square = |alpha: &GrayImage, bbox: BBox| -> Result<Vec<bool>, ImagingError> {
        let (mask, w, h) = small_mask(alpha, Some(bbox))?;
        let side = GRID as usize;
        let (ox, oy) = ((side - w) / 2, (side - h) / 2);
        let mut out = vec![false; side * side];
        for y in 0..h {
            for x in 0..w {
                out[(y + oy) * side + x + ox] = mask[y * w + x];
            }
        }
        Ok(out)
    };
    let (sa, sb) = (square(a, ab)?, square(b, bb)?);
    let inter = sa.iter().zip(&sb).filter(|(x, y)| **x && **y).count();
    let union = sa.iter().zip(&sb).filter(|(x, y)| **x || **y).count();
    Ok(if union == 0 { 0.0 } else { inter as f32 / union as f32 })
}

/// Mean CIELAB colour of the solid jewellery pixels, and their normalised histogram over
/// an 8×8 grid of (a*, b*).
fn colours(m: &Matte) -> ([f32; 3], Vec<f32>) {
    let step = ((m.alpha.width() * m.alpha.height()) as f32 / 40_000.0).sqrt().max(1.0) as usize;
    let mut sum = [0f32; 3];
    let mut hist = vec![0f32; 64];
    let mut n = 0f32;
    for (y, row) in m.alpha.rows().enumerate().step_by(step) {
        for (x, a) in row.enumerate().step_by(step) {
            if a.0[0] < 200 {
                continue;
            }
            let lab = lab(m.foreground.get_pixel(x as u32, y as u32).0);
            for c in 0..3 {
                sum[c] += lab[c];
            }
            let bin = |v: f32| ((v + 64.0) / 16.0).clamp(0.0, 7.0) as usize;
            hist[bin(lab[1]) * 8 + bin(lab[2])] += 1.0;
            n += 1.0;
        }
    }
    let n = n.max(1.0);
    (sum.map(|s| s / n), hist.into_iter().map(|h| h / n).collect())
}

/// A cutout of a generated scene guided by the reference piece's colours: a pixel is
/// jewellery where its colour is much more typical of the reference piece than of the
/// scene's border (histogram back-projection over CIELAB), cleaned of specks. The matte
/// cutout is built for paper backdrops; generated scenes (dark velvet, busy props) need
/// this second opinion. Works on a copy of at most 512 px.
pub fn guided_cutout(decoded: &crate::Decoded, reference: &Matte) -> Result<Matte, ImagingError> {
    const SIDE: u32 = 512;
    let (w, h) = crate::resize::fit_within(decoded.width, decoded.height, SIDE);
    let small = crate::resize::resize_rgb(&decoded.rgb, w.max(1), h.max(1), FilterType::Box, None)?;
    let (w, h) = small.dimensions();
    let bin = |lab: [f32; 3]| {
        let q = |v: f32, lo: f32, step: f32| ((v - lo) / step).clamp(0.0, 7.0) as usize;
        q(lab[0], 0.0, 12.5) * 64 + q(lab[1], -64.0, 16.0) * 8 + q(lab[2], -64.0, 16.0)
    };
    let mut fg = vec![0f32; 512];
    let step = ((reference.alpha.width() * reference.alpha.height()) as f32 / 60_000.0).sqrt().max(1.0) as usize;
    for (y, row) in reference.alpha.rows().enumerate().step_by(step) {
        for (x, a) in row.enumerate().step_by(step) {
            if a.0[0] >= 200 {
                fg[bin(lab(reference.foreground.get_pixel(x as u32, y as u32).0))] += 1.0;
            }
        }
    }
    let border = (w.min(h) / 12).max(2);
    let mut bg = vec![0f32; 512];
    for (x, y, p) in small.enumerate_pixels() {
        if x < border || y < border || x >= w.saturating_sub(border) || y >= h.saturating_sub(border) {
            bg[bin(lab(p.0))] += 1.0;
        }
    }
    let (nf, nb) = (fg.iter().sum::<f32>().max(1.0), bg.iter().sum::<f32>().max(1.0));
    let mask: Vec<bool> = small
        .pixels()
        .map(|p| {
            let b = bin(lab(p.0));
            let (pf, pb) = (fg[b] / nf, bg[b] / nb);
            pf > 0.002 && pf > 3.0 * pb
        })
        .collect();
    // Specks out: keep pixels with at least 5 of their 8 neighbours set.
    let at = |x: i64, y: i64| {
        x >= 0 && y >= 0 && x < i64::from(w) && y < i64::from(h) && mask[(y * i64::from(w) + x) as usize]
    };
    let alpha = GrayImage::from_fn(w, h, |x, y| {
        let (x, y) = (i64::from(x), i64::from(y));
        let around =
            (-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dx, dy))).filter(|&(dx, dy)| at(x + dx, y + dy)).count();
        image::Luma([if at(x, y) && around >= 6 { 255 } else { 0 }])
    });
    Ok(Matte { alpha, foreground: small, paper: reference.paper, confidence: reference.confidence })
}

/// The better of the two cutouts of a generated image (paper matte, colour-guided), by how
/// well each explains the reference: a segmentation failure must not read as a changed piece.
pub fn best_fidelity(
    reference: &Matte,
    generated: &crate::Decoded,
    shape_weight: f32,
) -> Result<(Fidelity, Matte), ImagingError> {
    // A generated scene: its styled backdrop is expected, and the network never saw one.
    let params = crate::MatteParams { refuse_unsuitable: false, learned: false, ..Default::default() };
    let paper = crate::cutout(generated, &params)?;
    let guided = guided_cutout(generated, reference)?;
    let a = fidelity(reference, &paper, shape_weight)?;
    let b = fidelity(reference, &guided, shape_weight)?;
    Ok(if a.score >= b.score { (a, paper) } else { (b, guided) })
}

/// sRGB → CIELAB (D65).
fn lab(rgb: [u8; 3]) -> [f32; 3] {
    let lin = rgb.map(|c| {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    });
    let x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047;
    let y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    let z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883;
    let f = |t: f32| if t > 0.008856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb, RgbImage};

    fn matte(w: u32, h: u32, shapes: &[(i32, i32, i32, i32)], colour: [u8; 3]) -> Matte {
        // Filled discs (cx, cy, outer r, inner r): inner r > 0 makes a ring.
        let alpha = GrayImage::from_fn(w, h, |x, y| {
            let inside = shapes.iter().any(|&(cx, cy, r, hole)| {
                let d2 = (x as i32 - cx).pow(2) + (y as i32 - cy).pow(2);
                d2 <= r * r && d2 >= hole * hole
            });
            Luma([if inside { 255 } else { 0 }])
        });
        Matte {
            alpha,
            foreground: RgbImage::from_pixel(w, h, Rgb(colour)),
            paper: crate::PaperInfo { colour: [250.0; 3], neutral: true },
            confidence: 1.0,
        }
    }

    const GOLD: [u8; 3] = [212, 175, 55];

    #[test]
    fn detection_counts_pieces_openings_and_cropping() {
        let ring = detect(&matte(400, 300, &[(200, 150, 80, 50)], GOLD)).unwrap();
        assert_eq!((ring.pieces, ring.arrangement.as_str(), ring.openings), (1, "single", 1));
        assert_eq!(ring.suggests.as_deref(), Some("ring"));
        assert!(!ring.cropped);
        let pair = detect(&matte(400, 300, &[(100, 150, 40, 0), (300, 150, 38, 0)], GOLD)).unwrap();
        assert_eq!((pair.pieces, pair.arrangement.as_str()), (2, "pair"));
        let set = detect(&matte(400, 300, &[(200, 120, 90, 0), (60, 250, 30, 0), (340, 250, 30, 0)], GOLD)).unwrap();
        assert_eq!((set.pieces, set.arrangement.as_str()), (3, "set"));
        let cut = detect(&matte(400, 300, &[(10, 150, 60, 0)], GOLD)).unwrap();
        assert!(cut.cropped);
        let specks = detect(&matte(400, 300, &[(200, 150, 80, 0), (20, 20, 2, 0)], GOLD)).unwrap();
        assert_eq!(specks.pieces, 1, "dust is not a piece");
    }

    #[test]
    fn fidelity_rewards_the_same_piece_and_punishes_changes() {
        let upload = matte(400, 300, &[(200, 150, 80, 50)], GOLD);
        // The same ring, smaller and elsewhere in a bigger frame: alignment removes both.
        let moved = matte(900, 700, &[(600, 200, 40, 25)], GOLD);
        let same = fidelity(&upload, &moved, 0.5).unwrap();
        assert!(same.score > 90.0, "{same:?}");
        let silver = fidelity(&upload, &matte(400, 300, &[(200, 150, 80, 50)], [200, 200, 205]), 0.5).unwrap();
        assert!(silver.colour_delta > 30.0 && silver.score < 70.0, "{silver:?}");
        let solid = fidelity(&upload, &matte(400, 300, &[(200, 150, 80, 0)], GOLD), 0.5).unwrap();
        assert!(solid.shape < 0.7 && solid.score < same.score, "{solid:?}");
        let extra = fidelity(&upload, &matte(400, 300, &[(120, 150, 60, 35), (300, 150, 60, 35)], GOLD), 0.5).unwrap();
        assert_eq!((extra.pieces_expected, extra.pieces_found), (1, 2));
        assert!(extra.score < 70.0, "{extra:?}");
        let nothing = fidelity(&upload, &matte(400, 300, &[], GOLD), 0.5).unwrap();
        assert_eq!(nothing.score, 0.0);
    }
}

//! Correction hints: keep and remove strokes a person paints over one photo, applied to
//! its matte. Only the pixels around the strokes are visited, so a fix at 12 MP takes
//! milliseconds, not a new cutout.
//!
//! A stroke changes what it covers, and what it plainly points at: the region connected
//! to it whose colour matches the colour under the brush. A remove stroke across paper
//! kept inside a bangle clears the whole opening; a keep tap on a white stone the cutout
//! punched out fills the stone. A region may not grow far past the brush (a remove
//! stroke on one prong must not take the whole band), and a keep region must be enclosed
//! (a pearl on white paper matches the whole sheet); otherwise only the brush's own
//! footprint counts.

use std::collections::VecDeque;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::Matte;
use crate::ImagingError;

/// At most this many strokes in one correction, and this many points in all.
pub const MAX_STROKES: usize = 200;
pub const MAX_POINTS: usize = 20_000;
/// The brush may sweep this many times the photo's area in one correction.
const SWEEP: f64 = 64.0;
/// Brush radii a person can paint with, in photo pixels.
const RADII: std::ops::RangeInclusive<f32> = 1.0..=512.0;
/// A region may grow to this many times the brush's footprint (a stone, an opening; not
/// the sheet or the piece).
const GROWTH: usize = 64;
/// Colour tolerance (RGB distance, 0–255 scale): the spread under the brush, within bounds.
const TOLERANCE: (f32, f32) = (10.0, 36.0);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Brush {
    /// This is jewellery.
    Keep,
    /// This is background.
    Remove,
}

/// One stroke as painted: the brush, its radius and its path, in the photo's pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stroke {
    pub brush: Brush,
    pub radius: f32,
    pub points: Vec<[f32; 2]>,
}

/// Strokes that fit a `w×h` photo: finite, on the photo, within the limits.
pub fn validate(strokes: &[Stroke], w: u32, h: u32) -> Result<(), ImagingError> {
    let bad = |why: &str| Err(ImagingError::InvalidHints(why.into()));
    if strokes.len() > MAX_STROKES {
        return bad(&format!("at most {MAX_STROKES} strokes"));
    }
    if strokes.iter().map(|s| s.points.len()).sum::<usize>() > MAX_POINTS {
        return bad(&format!("at most {MAX_POINTS} points in all"));
    }
    for s in strokes {
        if !RADII.contains(&s.radius) {
            return bad("a brush radius is 1 to 512 pixels");
        }
        if s.points.is_empty() {
            return bad("a stroke has at least one point");
        }
        let on_photo = |[x, y]: [f32; 2]| (0.0..=w as f32).contains(&x) && (0.0..=h as f32).contains(&y);
        if !s.points.iter().all(|&p| on_photo(p)) {
            return bad("every point lies on the photo");
        }
    }
    // What the brush sweeps bounds the work (every value is finite by now): at most this many times the photo.
    let swept: f64 = strokes
        .iter()
        .flat_map(|s| {
            let d = f64::from(2.0 * s.radius + 3.0);
            s.points.windows(2).map(move |p| (f64::from((p[1][0] - p[0][0]).hypot(p[1][1] - p[0][1])) + d) * d)
        })
        .sum();
    if swept > SWEEP * f64::from(w) * f64::from(h) {
        return bad("the strokes cover too much; paint less, or with a smaller brush");
    }
    Ok(())
}

/// The strokes painted on a `from` photo, for its copy at `to` (each side scaled on its
/// own, since a resized copy rounds each side apart; points kept on the copy).
pub fn scale(strokes: &[Stroke], from: (u32, u32), to: (u32, u32)) -> Vec<Stroke> {
    let (kx, ky) = (to.0 as f32 / from.0.max(1) as f32, to.1 as f32 / from.1.max(1) as f32);
    let (w, h) = (to.0 as f32, to.1 as f32);
    strokes
        .iter()
        .map(|s| Stroke {
            brush: s.brush,
            radius: (s.radius * (kx + ky) / 2.0).clamp(*RADII.start(), *RADII.end()),
            points: s.points.iter().map(|&[x, y]| [(x * kx).clamp(0.0, w), (y * ky).clamp(0.0, h)]).collect(),
        })
        .collect()
}

/// Applies `strokes` in order (a later one wins where they overlap) to `matte`, the
/// cutout of `rgb`.
pub fn apply(rgb: &RgbImage, matte: &mut Matte, strokes: &[Stroke]) -> Result<(), ImagingError> {
    let (w, h) = rgb.dimensions();
    if matte.alpha.dimensions() != (w, h) {
        return Err(ImagingError::InvalidHints("the matte is not of this photo".into()));
    }
    validate(strokes, w, h)?;
    for s in strokes {
        let cover = footprint(s, w as usize, h as usize);
        let keep = s.brush == Brush::Keep;
        // What the stroke corrects: pixels now on the other side.
        let wrong = |i: usize| if keep { alpha(matte, i) < 128 } else { alpha(matte, i) >= 128 };
        let seeds: Vec<usize> = cover.iter().map(|&(i, _)| i).filter(|&i| wrong(i)).collect();
        let region = grow(rgb, matte, &seeds, keep, cover.len());
        for &i in &region {
            set(matte, rgb, i, keep, 1.0);
        }
        for &(i, c) in &cover {
            set(matte, rgb, i, keep, c);
        }
    }
    Ok(())
}

fn alpha(m: &Matte, i: usize) -> u8 {
    m.alpha.as_raw()[i]
}

/// Moves pixel `i` towards jewellery (`keep`) or background by coverage `c` (0–1).
fn set(m: &mut Matte, rgb: &RgbImage, i: usize, keep: bool, c: f32) {
    let target = if keep { 255.0 } else { 0.0 };
    let a = &mut m.alpha.as_mut()[i];
    let new = (f32::from(*a) + (target - f32::from(*a)) * c).round() as u8;
    if keep && new > *a {
        // A pixel kept by hand shows the photo's own colour.
        m.foreground.as_mut()[i * 3..i * 3 + 3].copy_from_slice(&rgb.as_raw()[i * 3..i * 3 + 3]);
    }
    *a = new;
}

/// Pixels within the brush of the stroke's path, with their coverage (a one-pixel soft rim).
fn footprint(s: &Stroke, w: usize, h: usize) -> Vec<(usize, f32)> {
    let r = s.radius;
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &[x, y] in &s.points {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let clampx = |v: f32| (v.max(0.0) as usize).min(w - 1);
    let clampy = |v: f32| (v.max(0.0) as usize).min(h - 1);
    let (bx0, by0, bx1, by1) = (clampx(x0 - r - 1.0), clampy(y0 - r - 1.0), clampx(x1 + r + 1.0), clampy(y1 + r + 1.0));
    let bw = bx1 - bx0 + 1;
    let mut cover = vec![0f32; bw * (by1 - by0 + 1)];
    let segments = s.points.windows(2).map(|p| (p[0], p[1])).chain(
        // A single tap is a segment of no length.
        (s.points.len() == 1).then(|| (s.points[0], s.points[0])),
    );
    for (a, b) in segments {
        let (sx0, sy0) = (clampx(a[0].min(b[0]) - r - 1.0), clampy(a[1].min(b[1]) - r - 1.0));
        let (sx1, sy1) = (clampx(a[0].max(b[0]) + r + 1.0), clampy(a[1].max(b[1]) + r + 1.0));
        for y in sy0..=sy1 {
            for x in sx0..=sx1 {
                let d = distance_to_segment([x as f32 + 0.5, y as f32 + 0.5], a, b);
                let c = (r + 0.5 - d).clamp(0.0, 1.0);
                let slot = &mut cover[(y - by0) * bw + (x - bx0)];
                *slot = slot.max(c);
            }
        }
    }
    cover.iter().enumerate().filter(|&(_, &c)| c > 0.0).map(|(k, &c)| ((by0 + k / bw) * w + bx0 + k % bw, c)).collect()
}

fn distance_to_segment(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    ((p[0] - a[0] - t * dx).powi(2) + (p[1] - a[1] - t * dy).powi(2)).sqrt()
}

/// The region connected to `seeds` (4-neighbours) on the wrong side of the matte whose
/// colour matches the seeds'. Empty when it grows past its limit, or for a keep region
/// that is not enclosed.
fn grow(rgb: &RgbImage, m: &Matte, seeds: &[usize], keep: bool, brush_area: usize) -> Vec<usize> {
    if seeds.is_empty() {
        return Vec::new();
    }
    let px = |i: usize| {
        let p = &rgb.as_raw()[i * 3..i * 3 + 3];
        [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
    };
    let n = seeds.len() as f32;
    let mean = seeds.iter().fold([0f32; 3], |acc, &i| {
        let p = px(i);
        [acc[0] + p[0] / n, acc[1] + p[1] / n, acc[2] + p[2] / n]
    });
    let dist = |p: [f32; 3]| ((p[0] - mean[0]).powi(2) + (p[1] - mean[1]).powi(2) + (p[2] - mean[2]).powi(2)).sqrt();
    let mut spread: Vec<f32> = seeds.iter().map(|&i| dist(px(i))).collect();
    let k = (spread.len() * 9 / 10).min(spread.len() - 1);
    let p90 = *spread.select_nth_unstable_by(k, f32::total_cmp).1;
    let tolerance = (1.5 * p90).clamp(TOLERANCE.0, TOLERANCE.1);

    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let wrong = |i: usize| if keep { alpha(m, i) < 255 } else { alpha(m, i) > 0 };
    let limit = brush_area.saturating_mul(GROWTH);
    let mut seen = vec![false; w * h];
    let mut queue: VecDeque<usize> = seeds.iter().copied().filter(|&i| dist(px(i)) <= tolerance).collect();
    for &i in &queue {
        seen[i] = true;
    }
    let mut region = Vec::new();
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % w, i / w);
        let frame = x == 0 || y == 0 || x == w - 1 || y == h - 1;
        if region.len() >= limit || (keep && frame) {
            return Vec::new();
        }
        region.push(i);
        let mut visit = |j: usize| {
            if !seen[j] && wrong(j) && dist(px(j)) <= tolerance {
                seen[j] = true;
                queue.push_back(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < w {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - w);
        }
        if y + 1 < h {
            visit(i + w);
        }
    }
    region
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PaperInfo;
    use image::{GrayImage, Luma, Rgb};

    /// A gold band (radius 60–80) on white paper, its opening wrongly kept and a white stone
    /// on the band (radius 8 at 70,0 from the centre) wrongly punched out.
    fn bangle() -> (RgbImage, Matte) {
        let (w, h) = (240u32, 200u32);
        let ring = |x: u32, y: u32| {
            let d = ((x as f32 - 120.0).powi(2) + (y as f32 - 100.0).powi(2)).sqrt();
            (60.0..=80.0).contains(&d)
        };
        let stone = |x: u32, y: u32| ((x as f32 - 190.0).powi(2) + (y as f32 - 100.0).powi(2)).sqrt() <= 8.0;
        let rgb = RgbImage::from_fn(w, h, |x, y| {
            if stone(x, y) {
                Rgb([250, 250, 252])
            } else if ring(x, y) {
                Rgb([200, 160, 60])
            } else {
                Rgb([244, 242, 238])
            }
        });
        let inside = |x: u32, y: u32| ((x as f32 - 120.0).powi(2) + (y as f32 - 100.0).powi(2)).sqrt() < 80.0;
        let alpha = GrayImage::from_fn(w, h, |x, y| Luma([if inside(x, y) && !stone(x, y) { 255 } else { 0 }]));
        let paper = PaperInfo { colour: [244.0, 242.0, 238.0], neutral: true };
        let m = Matte { alpha, foreground: rgb.clone(), paper, confidence: 1.0 };
        (rgb, m)
    }

    fn at(m: &Matte, x: u32, y: u32) -> u8 {
        m.alpha.get_pixel(x, y).0[0]
    }

    #[test]
    fn a_remove_stroke_clears_the_whole_opening_and_spares_the_metal() {
        let (rgb, mut m) = bangle();
        let stroke = Stroke { brush: Brush::Remove, radius: 6.0, points: vec![[100.0, 100.0], [130.0, 95.0]] };
        apply(&rgb, &mut m, &[stroke]).unwrap();
        for (x, y) in [(120, 100), (120, 45), (65, 100), (175, 100)] {
            assert_eq!(at(&m, x, y), 0, "opening at {x},{y}");
        }
        for (x, y) in [(120, 30), (45, 100), (120, 170)] {
            assert_eq!(at(&m, x, y), 255, "band at {x},{y}");
        }
    }

    #[test]
    fn a_keep_tap_fills_an_enclosed_stone_but_never_the_sheet() {
        let (rgb, mut m) = bangle();
        apply(&rgb, &mut m, &[Stroke { brush: Brush::Keep, radius: 3.0, points: vec![[190.0, 100.0]] }]).unwrap();
        assert_eq!((at(&m, 190, 93), at(&m, 196, 100), at(&m, 184, 100)), (255, 255, 255), "the whole stone");
        assert_eq!(at(&m, 20, 20), 0, "not the paper");

        // A tap on the paper itself: the sheet reaches the frame, so only the brush is kept.
        let (rgb, mut m) = bangle();
        apply(&rgb, &mut m, &[Stroke { brush: Brush::Keep, radius: 3.0, points: vec![[20.0, 20.0]] }]).unwrap();
        let kept = m.alpha.pixels().filter(|p| p.0[0] > 0).count();
        let (_, before) = bangle();
        assert!(kept - before.alpha.pixels().filter(|p| p.0[0] > 0).count() <= 40, "only the footprint");
        assert_eq!((at(&m, 20, 20), at(&m, 30, 20)), (255, 0));
    }

    #[test]
    fn a_stroke_on_the_piece_takes_only_its_footprint_with_a_soft_rim_and_later_strokes_win() {
        let (rgb, mut m) = bangle();
        let remove = Stroke { brush: Brush::Remove, radius: 4.5, points: vec![[120.0, 30.0]] };
        apply(&rgb, &mut m, std::slice::from_ref(&remove)).unwrap();
        assert_eq!((at(&m, 120, 30), at(&m, 120, 27)), (0, 0));
        assert_eq!(at(&m, 120, 40), 255, "not the whole band");
        assert!((1..255).contains(&at(&m, 124, 30)), "a soft rim: {}", at(&m, 124, 30));
        let keep = Stroke { brush: Brush::Keep, radius: 2.0, points: vec![[120.0, 30.0]] };
        apply(&rgb, &mut m, &[remove, keep]).unwrap();
        assert_eq!(at(&m, 120, 30), 255, "the later stroke wins");
    }

    #[test]
    fn strokes_scale_per_side_and_stay_on_the_copy() {
        let s = [Stroke { brush: Brush::Keep, radius: 600.0, points: vec![[4032.0, 3024.0], [0.0, 0.0]] }];
        let small = scale(&s, (4032, 3024), (1023, 767));
        let [x, y] = small[0].points[0];
        assert!(x <= 1023.0 && y <= 767.0 && x > 1022.9 && y > 766.9, "the corner stays on the copy: {x}, {y}");
        assert!(validate(&small, 1023, 767).is_ok(), "{small:?}");
        let big = scale(&[Stroke { radius: 400.0, ..s[0].clone() }], (100, 100), (400, 400));
        assert_eq!(big[0].radius, 512.0, "radius within the limits");
    }

    #[test]
    fn bad_strokes_are_refused_with_a_reason() {
        let (rgb, mut m) = bangle();
        let s = |radius, points| vec![Stroke { brush: Brush::Keep, radius, points }];
        for (strokes, why) in [
            (s(0.0, vec![[1.0, 1.0]]), "radius"),
            (s(f32::NAN, vec![[1.0, 1.0]]), "radius"),
            (s(4.0, vec![]), "at least one point"),
            (s(4.0, vec![[f32::INFINITY, 1.0]]), "on the photo"),
            (s(4.0, vec![[500.0, 1.0]]), "on the photo"),
        ] {
            let e = apply(&rgb, &mut m, &strokes).unwrap_err();
            assert_eq!(e.code(), "invalid_hints");
            assert!(e.to_string().contains(why), "{e}");
        }
        let many = vec![Stroke { brush: Brush::Keep, radius: 2.0, points: vec![[1.0, 1.0]] }; MAX_STROKES + 1];
        assert!(validate(&many, 240, 200).is_err());
        let scribble: Vec<[f32; 2]> = (0..2000).map(|i| [(i % 2) as f32 * 240.0, 100.0]).collect();
        let e = validate(&[Stroke { brush: Brush::Remove, radius: 100.0, points: scribble }], 240, 200).unwrap_err();
        assert!(e.to_string().contains("too much"), "{e}");
    }
}

//! Is this a photo the engine can cut out: a piece lying whole on plain paper? Judged on
//! the frame's outer strip, where a centred piece never lies: plain paper there is smooth
//! and matches the paper model; wood, fabric, a box or a hand is textured or is not paper
//! at all. The same measures give the matte its confidence.

use super::segment::Features;
use crate::plane::{self, Mask, Plane};

/// Why a photo cannot be cut out; each has a plain-words reshoot advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The background is textured or patterned (wood, fabric, a box).
    BusyBackground,
    /// Something other than the piece fills the frame (a hand, a box's walls).
    FillsFrame,
    /// The piece runs out of the picture.
    CutByFrame,
}

impl Problem {
    pub fn advice(self) -> &'static str {
        match self {
            Problem::BusyBackground => {
                "The background is not plain. Lay the piece on a sheet of plain white or light grey paper and take the photo again."
            }
            Problem::FillsFrame => {
                "Something other than the piece fills the picture. Take the piece off the hand or out of the box, lay it on plain paper and take the photo again."
            }
            Problem::CutByFrame => {
                "The piece runs out of the picture. Step back so that all of it is in the frame and take the photo again."
            }
        }
    }
}

/// What the outer strip and the frame's edge show.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Signals {
    /// Share of strip pixels whose brightness changes sharply (texture, edges).
    textured: f32,
    /// The same over a wider reach (mottled cloth, blotches broader than the fine measure).
    mottled: f32,
    /// Share of strip pixels the segmentation took as object.
    object: f32,
    /// The longest stretch of a frame side the segmentation took as object, as a share of
    /// that side: a chain crossing the edge is a short stretch, a cut band a long one.
    touching: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// 0–1: how far the photo is from anything that makes the matte doubtful.
    pub confidence: f32,
    pub problem: Option<Problem>,
}

/// Below this, a result is flagged for the seller to check.
pub const LOW_CONFIDENCE: f32 = 0.5;

/// A brightness change this large (relative to the paper, across four pixels of the
/// smoothed image) is texture or an edge, not paper grain or sensor noise.
const TEXTURE_CHANGE: f32 = 0.06;
/// Across twelve pixels of a 7×7 mean, a smaller change already is: paper's lighting
/// changes far more slowly, and its grain averages out.
const MOTTLE_CHANGE: f32 = 0.03;
const MOTTLE_REACH: isize = 6;
/// The strip is this share of the shorter side.
const STRIP: f32 = 0.08;

/// Where each signal starts to cast doubt, and where it makes the photo unsuitable.
const TEXTURED: (f32, f32) = (0.05, 0.25);
const MOTTLED: (f32, f32) = (0.02, 0.05);
const OBJECT: (f32, f32) = (0.05, 0.4);
const TOUCHING: (f32, f32) = (0.04, 0.12);

pub fn assess(feats: &Features, coarse: &Mask) -> Assessment {
    let signals = measure(feats, coarse);
    let doubt = |v: f32, (low, high): (f32, f32)| ((v - low) / (high - low)).clamp(0.0, 1.0);
    let confidence = (1.0 - doubt(signals.textured, TEXTURED))
        * (1.0 - doubt(signals.mottled, MOTTLED))
        * (1.0 - doubt(signals.object, OBJECT))
        * (1.0 - doubt(signals.touching, TOUCHING));
    // Texture first: grain or weave that the segmentation took for object is still a busy
    // background, not something filling the frame.
    let problem = if signals.textured >= TEXTURED.1 || signals.mottled >= MOTTLED.1 {
        Some(Problem::BusyBackground)
    } else if signals.object >= OBJECT.1 {
        Some(Problem::FillsFrame)
    } else if signals.touching >= TOUCHING.1 {
        // A cut piece crosses the strip in one place; fingers or a box's walls line it.
        Some(if signals.object >= OBJECT.0 * 2.0 { Problem::FillsFrame } else { Problem::CutByFrame })
    } else {
        None
    };
    Assessment { confidence, problem }
}

fn measure(feats: &Features, coarse: &Mask) -> Signals {
    let (w, h) = (coarse.w, coarse.h);
    let strip = ((w.min(h) as f32 * STRIP).round() as usize).max(1);
    // Sensor noise and JPEG blocks average out over 3×3; grain, weave and edges do not.
    let smooth = plane::box_mean(&feats.ratio, 1);
    let blurred = plane::box_mean(&feats.ratio, 3);
    // The wide measure reaches across a piece's own edge: only the paper around it counts
    // (a piece in the strip is what `object` and `touching` measure).
    let near_object = plane::dilate(coarse, MOTTLE_REACH as usize + 1);
    let (mut n, mut textured, mut mottled, mut object) = (0usize, 0usize, 0usize, 0usize);
    for y in 0..h {
        for x in 0..w {
            if x.min(y).min(w - 1 - x).min(h - 1 - y) >= strip {
                continue;
            }
            let i = y * w + x;
            n += 1;
            textured += usize::from(change(&smooth, x, y, 2) > TEXTURE_CHANGE);
            mottled += usize::from(near_object.data[i] == 0 && change(&blurred, x, y, MOTTLE_REACH) > MOTTLE_CHANGE);
            object += usize::from(coarse.data[i] != 0);
        }
    }
    let on = |i: usize| coarse.data[i] != 0;
    let sides = [
        longest_run((0..w).map(on)) as f32 / w as f32,
        longest_run((0..w).map(|x| on((h - 1) * w + x))) as f32 / w as f32,
        longest_run((0..h).map(|y| on(y * w))) as f32 / h as f32,
        longest_run((0..h).map(|y| on(y * w + w - 1))) as f32 / h as f32,
    ];
    let share = |k: usize| k as f32 / n.max(1) as f32;
    Signals {
        textured: share(textured),
        mottled: share(mottled),
        object: share(object),
        touching: sides.into_iter().fold(0.0, f32::max),
    }
}

/// The larger brightness change across `2 × reach` pixels, horizontally or vertically.
fn change(p: &Plane<f32>, x: usize, y: usize, reach: isize) -> f32 {
    let (x, y) = (x as isize, y as isize);
    (p.at(x + reach, y) - p.at(x - reach, y)).abs().max((p.at(x, y + reach) - p.at(x, y - reach)).abs())
}

fn longest_run(cells: impl Iterator<Item = bool>) -> usize {
    cells.fold((0, 0), |(run, best), on| if on { (run + 1, best.max(run + 1)) } else { (0, best) }).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Features of a photo whose brightness (relative to the paper) is `ratio`.
    fn features(w: usize, h: usize, ratio: impl Fn(usize, usize) -> f32) -> Features {
        let mut r = Plane::new(w, h, 0f32);
        for y in 0..h {
            for x in 0..w {
                r.set(x, y, ratio(x, y));
            }
        }
        Features { ratio: r, chroma: Plane::new(w, h, 0.0), grad: Plane::new(w, h, 0.0), fine: Plane::new(w, h, 0.0) }
    }

    fn centred_piece(w: usize, h: usize) -> Mask {
        let mut m = Mask::new(w, h, 0);
        for y in h / 3..2 * h / 3 {
            for x in w / 3..2 * w / 3 {
                m.data[y * w + x] = 1;
            }
        }
        m
    }

    #[test]
    fn a_centred_piece_on_smooth_paper_is_trusted() {
        // Grain and noise: ±2 % from pixel to pixel.
        let a = assess(
            &features(200, 150, |x, y| if (x * 7 + y * 13) % 5 == 0 { 0.98 } else { 1.0 }),
            &centred_piece(200, 150),
        );
        assert_eq!(a.problem, None);
        assert!(a.confidence > 0.99, "{a:?}");
    }

    #[test]
    fn a_grained_background_is_busy() {
        // Wood grain: light and dark stripes eight pixels apart, ±15 %.
        let a = assess(&features(200, 150, |x, _| if x % 16 < 8 { 0.85 } else { 1.15 }), &centred_piece(200, 150));
        assert_eq!(a.problem, Some(Problem::BusyBackground));
        assert!(a.confidence < 0.01);
    }

    #[test]
    fn broad_mottling_is_busy_and_a_lighting_gradient_is_not() {
        // Cloth blotches twenty pixels across, ±4 %: below the fine measure's reach.
        let blotches = |x: usize, y: usize| 1.0 + 0.04 * ((x as f32 / 7.0).sin() * (y as f32 / 6.0).cos());
        let a = assess(&features(200, 150, blotches), &centred_piece(200, 150));
        assert_eq!(a.problem, Some(Problem::BusyBackground), "{a:?}");
        // A sheet lit from one side: 30 % darker across the frame.
        let a = assess(&features(200, 150, |x, _| 1.0 - 0.3 * x as f32 / 200.0), &centred_piece(200, 150));
        assert_eq!(a.problem, None);
        assert!(a.confidence > 0.99, "{a:?}");
    }

    #[test]
    fn an_object_filling_the_frame_and_a_cut_piece_are_told_apart() {
        let full = Mask::new(200, 150, 1);
        assert_eq!(assess(&features(200, 150, |_, _| 1.0), &full).problem, Some(Problem::FillsFrame));
        // A band running off the right edge: little of the strip, a fair share of the edge.
        let mut cut = centred_piece(200, 150);
        for y in 60..90 {
            for x in 100..200 {
                cut.data[y * 200 + x] = 1;
            }
        }
        let a = assess(&features(200, 150, |_, _| 1.0), &cut);
        assert_eq!(a.problem, Some(Problem::CutByFrame), "{a:?}");
    }
}

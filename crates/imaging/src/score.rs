//! How close a matte is to a ground-truth alpha. Everything is derived from the truth
//! itself (which pixels are thin wire, which are holes), so any data set with an alpha
//! can be scored the same way: the rendered set, a peer's cutouts, real photos traced by
//! hand.

use crate::plane::{Mask, dilate, erode};

/// Scores of one matte; `None` where the picture has no such pixels.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Scores {
    /// Intersection over union of α > 0.5.
    pub iou: f64,
    /// Sum of absolute alpha differences, in thousands (α in 0..1).
    pub sad: f64,
    /// Thin structures (at most ~4 px wide): share predicted α > 0.5.
    pub thin_recall: Option<f64>,
    /// Paper seen through the piece (enclosed background, 2 px from its rim): share
    /// predicted α < 0.5.
    pub hole_correct: Option<f64>,
    /// Alpha predicted on clear background (more than 3 px from the piece), relative to
    /// the piece's alpha.
    pub halo: f64,
    /// White stones, pearls, white enamel and silver: share predicted α > 0.5.
    pub bright_recall: Option<f64>,
}

const SOME: usize = 30;

/// `predicted` and `truth` are alpha planes of the same size (0–255); `bright` marks the
/// white and mirror-like parts of the piece (0–255), when known.
pub fn score(predicted: &[u8], truth: &[u8], bright: Option<&[u8]>, w: usize, h: usize) -> Scores {
    let fg = |a: u8| a > 127;
    let (mut inter, mut union, mut sad) = (0usize, 0usize, 0u64);
    for (&p, &t) in predicted.iter().zip(truth) {
        inter += usize::from(fg(p) && fg(t));
        union += usize::from(fg(p) || fg(t));
        sad += u64::from(p.abs_diff(t));
    }
    let truth_fg = Mask { w, h, data: truth.iter().map(|&t| u8::from(fg(t))).collect() };
    // Thin: foreground an opening of radius 2 removes.
    let opened = dilate(&erode(&truth_fg, 2), 2);
    let thin: Vec<usize> = (0..w * h).filter(|&i| truth_fg.data[i] == 1 && opened.data[i] == 0).collect();
    // Holes: background components that do not touch the frame, minus a 2 px rim.
    let enclosed = enclosed_background(&truth_fg);
    let inner = erode(&enclosed, 2);
    let holes: Vec<usize> = (0..w * h).filter(|&i| inner.data[i] == 1).collect();
    // Halo: predicted alpha on background well away from the piece.
    let near = dilate(&Mask { w, h, data: truth.iter().map(|&t| u8::from(t > 0)).collect() }, 3);
    let far_mass: u64 = (0..w * h).filter(|&i| near.data[i] == 0).map(|i| u64::from(predicted[i])).sum();
    let true_mass: u64 = truth.iter().map(|&t| u64::from(t)).sum();
    let share = |idx: &[usize], hit: &dyn Fn(u8) -> bool| {
        (idx.len() >= SOME).then(|| idx.iter().filter(|&&i| hit(predicted[i])).count() as f64 / idx.len() as f64)
    };
    let bright_idx: Vec<usize> =
        bright.map(|b| (0..w * h).filter(|&i| b[i] > 127 && fg(truth[i])).collect()).unwrap_or_default();
    Scores {
        iou: if union == 0 { 1.0 } else { inter as f64 / union as f64 },
        sad: sad as f64 / 255.0 / 1000.0,
        thin_recall: share(&thin, &|p| p > 127),
        hole_correct: share(&holes, &|p| p <= 127),
        halo: if true_mass == 0 { 0.0 } else { far_mass as f64 / true_mass as f64 },
        bright_recall: share(&bright_idx, &|p| p > 127),
    }
}

/// Background pixels (0 in `fg`) in components that never reach the frame's edge.
fn enclosed_background(fg: &Mask) -> Mask {
    let (w, h) = (fg.w, fg.h);
    let mut outside = Mask::new(w, h, 0);
    let mut stack: Vec<usize> = Vec::new();
    for x in 0..w {
        stack.extend([x, (h - 1) * w + x]);
    }
    for y in 0..h {
        stack.extend([y * w, y * w + w - 1]);
    }
    while let Some(i) = stack.pop() {
        if fg.data[i] == 1 || outside.data[i] == 1 {
            continue;
        }
        outside.data[i] = 1;
        let (x, y) = (i % w, i / w);
        if x > 0 {
            stack.push(i - 1);
        }
        if x + 1 < w {
            stack.push(i + 1);
        }
        if y > 0 {
            stack.push(i - w);
        }
        if y + 1 < h {
            stack.push(i + w);
        }
    }
    Mask { w, h, data: (0..w * h).map(|i| u8::from(fg.data[i] == 0 && outside.data[i] == 0)).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring: an annulus with a hole, and a 2 px wire hanging off it.
    fn ring(w: usize, h: usize) -> Vec<u8> {
        let mut a = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f64 - 40.0).powi(2) + (y as f64 - 40.0).powi(2)).sqrt();
                if (20.0..30.0).contains(&d) || ((70..110).contains(&x) && (39..41).contains(&y)) {
                    a[y * w + x] = 255;
                }
            }
        }
        a
    }

    #[test]
    fn scores_follow_the_truth() {
        let (w, h) = (120, 80);
        let truth = ring(w, h);
        let perfect = score(&truth, &truth, Some(&truth), w, h);
        assert_eq!((perfect.iou, perfect.sad, perfect.halo), (1.0, 0.0, 0.0));
        assert_eq!(
            (perfect.thin_recall, perfect.hole_correct, perfect.bright_recall),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        // Filling the hole and losing the wire: holes and thin recall drop to zero.
        let mut filled = truth.clone();
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f64 - 40.0).powi(2) + (y as f64 - 40.0).powi(2)).sqrt();
                filled[y * w + x] = if d < 30.0 { 255 } else { 0 };
            }
        }
        let s = score(&filled, &truth, None, w, h);
        assert_eq!((s.hole_correct, s.thin_recall, s.bright_recall), (Some(0.0), Some(0.0), None));
        assert!(s.iou < 0.7);
        // Haze far from the piece is halo.
        let hazy: Vec<u8> = truth.iter().map(|&t| t.max(40)).collect();
        assert!(score(&hazy, &truth, None, w, h).halo > 0.5);
    }
}

//! Matting metrics against the ground truth of a [`Scene`].

use crate::Scene;

/// Quality of one predicted alpha against the truth.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    /// Intersection over union of α > 0.5.
    pub iou: f64,
    /// Sum of absolute alpha differences, in thousands (α in 0..1).
    pub sad: f64,
    /// Mean squared alpha error × 1000.
    pub mse: f64,
    /// Gradient error: Σ(|∇α̂| − |∇α|)², in thousands.
    pub grad: f64,
    /// Share of thin-structure pixels (true α > 0.5) predicted α > 0.5 (NaN if none).
    pub thin_recall: f64,
    /// Share of hole pixels predicted α < 0.5 (NaN if none).
    pub hole_correct: f64,
    /// Predicted alpha mass on true-background pixels / true alpha mass.
    pub halo: f64,
}

pub fn evaluate(pred: &[u8], scene: &Scene) -> Metrics {
    let (w, h) = (scene.width as usize, scene.height as usize);
    let gt = &scene.alpha;
    if pred.len() != gt.len() || w * h != gt.len() {
        return Metrics { iou: 0.0, halo: f64::INFINITY, ..Metrics::default() };
    }
    let (mut inter, mut union, mut sad, mut sq) = (0u64, 0u64, 0f64, 0f64);
    let (mut thin_n, mut thin_hit, mut hole_n, mut hole_ok) = (0u64, 0u64, 0u64, 0u64);
    let (mut false_mass, mut true_mass) = (0f64, 0f64);
    for i in 0..gt.len() {
        let (p, g) = (pred[i] > 127, gt[i] > 127);
        inter += u64::from(p && g);
        union += u64::from(p || g);
        let d = (f64::from(pred[i]) - f64::from(gt[i])) / 255.0;
        sad += d.abs();
        sq += d * d;
        if scene.thin[i] == 1 && g {
            thin_n += 1;
            thin_hit += u64::from(p);
        }
        if scene.hole[i] == 1 {
            hole_n += 1;
            hole_ok += u64::from(!p);
        }
        true_mass += f64::from(gt[i]) / 255.0;
        if gt[i] == 0 {
            false_mass += f64::from(pred[i]) / 255.0;
        }
    }
    let ratio = |a: u64, b: u64| {
        if b == 0 { f64::NAN } else { a as f64 / b as f64 }
    };
    Metrics {
        iou: if union == 0 { 1.0 } else { inter as f64 / union as f64 },
        sad: sad / 1000.0,
        mse: sq / gt.len() as f64 * 1000.0,
        grad: gradient_error(pred, gt, w, h) / 1000.0,
        thin_recall: ratio(thin_hit, thin_n),
        hole_correct: ratio(hole_ok, hole_n),
        halo: if true_mass > 0.0 { false_mass / true_mass } else { 0.0 },
    }
}

fn gradient_error(pred: &[u8], gt: &[u8], w: usize, h: usize) -> f64 {
    let mag = |a: &[u8], x: usize, y: usize| {
        let v = |xx: usize, yy: usize| f64::from(a[yy * w + xx]) / 255.0;
        let gx = v((x + 1).min(w - 1), y) - v(x.saturating_sub(1), y);
        let gy = v(x, (y + 1).min(h - 1)) - v(x, y.saturating_sub(1));
        0.5 * (gx * gx + gy * gy).sqrt()
    };
    let mut e = 0.0;
    for y in 0..h {
        for x in 0..w {
            let d = mag(pred, x, y) - mag(gt, x, y);
            e += d * d;
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    fn scene(alpha: Vec<u8>, thin: Vec<u8>, hole: Vec<u8>) -> Scene {
        Scene { width: 4, height: 1, rgb: RgbImage::new(4, 1), jpeg: Vec::new(), alpha, thin, hole }
    }

    #[test]
    fn perfect_and_imperfect_predictions() {
        let sc = scene(vec![0, 255, 255, 0], vec![0, 1, 0, 0], vec![1, 0, 0, 0]);
        let m = evaluate(&[0, 255, 255, 0], &sc);
        assert_eq!((m.iou, m.sad, m.thin_recall, m.hole_correct, m.halo), (1.0, 0.0, 1.0, 1.0, 0.0));
        let m = evaluate(&[255, 0, 255, 0], &sc);
        assert!((m.iou - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!((m.thin_recall, m.hole_correct), (0.0, 0.0));
        assert!((m.halo - 0.5).abs() < 1e-9);
        assert!(m.sad > 0.0 && m.mse > 0.0 && m.grad > 0.0);
    }
}

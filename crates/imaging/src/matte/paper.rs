//! A smooth model of the paper colour: per channel, a cubic polynomial in x and y
//! (lighting gradient + vignetting), fitted robustly at ~1 MP. Starts from the
//! border and then re-fits on every pixel that agrees with the model, so the
//! jewellery and its shadows (darker than the model) fall out as outliers.

use image::RgbImage;

const TERMS: usize = 10;
/// Samples used for the fit (a regular grid over the working image).
const TARGET_SAMPLES: usize = 40_000;

#[derive(Debug, Clone, PartialEq)]
pub struct PaperModel {
    coeffs: [[f64; TERMS]; 3],
    w: f64,
    h: f64,
}

fn basis(u: f64, v: f64) -> [f64; TERMS] {
    [1.0, u, v, u * u, u * v, v * v, u * u * u, u * u * v, u * v * v, v * v * v]
}

impl PaperModel {
    /// A flat model (tests, fallbacks).
    pub fn constant(rgb: [f32; 3], w: usize, h: usize) -> Self {
        let mut coeffs = [[0.0; TERMS]; 3];
        for (c, v) in coeffs.iter_mut().zip(rgb) {
            c[0] = f64::from(v);
        }
        PaperModel { coeffs, w: w.max(1) as f64, h: h.max(1) as f64 }
    }

    /// Paper colour (0..255 floats) at pixel centre (x, y) of the working image.
    pub fn at(&self, x: f64, y: f64) -> [f32; 3] {
        let b = basis(2.0 * (x + 0.5) / self.w - 1.0, 2.0 * (y + 0.5) / self.h - 1.0);
        let mut out = [0f32; 3];
        for (o, c) in out.iter_mut().zip(&self.coeffs) {
            *o = c.iter().zip(&b).map(|(a, b)| a * b).sum::<f64>().clamp(1.0, 255.0) as f32;
        }
        out
    }

    /// Per channel, the cubic in x for row `y`: colour = c0 + c1·u + c2·u² + c3·u³
    /// with u = 2(x+0.5)/w − 1. Evaluating a whole row costs 4 MACs per channel.
    pub fn row(&self, y: f64) -> [[f32; 4]; 3] {
        let v = 2.0 * (y + 0.5) / self.h - 1.0;
        self.coeffs.map(|c| {
            [
                (c[0] + c[2] * v + c[5] * v * v + c[9] * v * v * v) as f32,
                (c[1] + c[4] * v + c[8] * v * v) as f32,
                (c[3] + c[7] * v) as f32,
                c[6] as f32,
            ]
        })
    }

    /// Width of the image the model was fitted on.
    pub fn width(&self) -> f64 {
        self.w
    }

    /// Mean paper colour over the frame.
    pub fn mean(&self) -> [f32; 3] {
        let mut acc = [0f64; 3];
        let n = 16;
        for j in 0..n {
            for i in 0..n {
                let p = self.at((i as f64 + 0.5) * self.w / n as f64, (j as f64 + 0.5) * self.h / n as f64);
                for (a, v) in acc.iter_mut().zip(p) {
                    *a += f64::from(v);
                }
            }
        }
        acc.map(|a| (a / (n * n) as f64) as f32)
    }

    /// Robust fit on the working image.
    pub fn fit(img: &RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let stride = (((w * h) as f64 / TARGET_SAMPLES as f64).sqrt().floor() as usize).max(1);
        let mut samples: Vec<(f64, f64, [f32; 3], bool)> = Vec::new();
        let border = ((w.min(h) as f64) * 0.06).max(2.0);
        for y in (stride / 2..h).step_by(stride) {
            for x in (stride / 2..w).step_by(stride) {
                let p = img.get_pixel(x as u32, y as u32).0;
                let on_border =
                    (x as f64) < border || (y as f64) < border || (w - x) as f64 <= border || (h - y) as f64 <= border;
                samples.push((x as f64, y as f64, p.map(f32::from), on_border));
            }
        }
        let border_median = median_colour(samples.iter().filter(|s| s.3).map(|s| s.2));
        let mut model = PaperModel::constant(border_median, w, h);
        // Start: border pixels close to the border median (drops a necklace running off-frame).
        let mut inlier: Vec<bool> = samples.iter().map(|s| s.3 && rel_err(&s.2, &border_median) < 0.12).collect();
        for round in 0..5 {
            let Some(fitted) = solve(&samples, &inlier, w, h) else {
                break;
            };
            model = fitted;
            let errs: Vec<f32> = samples.iter().map(|s| rel_err(&s.2, &model.at(s.0, s.1))).collect();
            let mut current: Vec<f32> = errs.iter().zip(&inlier).filter(|(_, i)| **i).map(|(e, _)| *e).collect();
            let spread = median(&mut current) * 1.4826;
            let limit = (spread * 3.5).clamp(0.015, if round == 0 { 0.12 } else { 0.08 });
            inlier = errs.iter().map(|e| *e < limit).collect();
        }
        model
    }
}

/// Largest per-channel deviation relative to the model's brightness.
fn rel_err(p: &[f32; 3], m: &[f32; 3]) -> f32 {
    let lum = (m[0] + m[1] + m[2]) / 3.0;
    let d = (0..3).map(|c| (p[c] - m[c]).abs()).fold(0f32, f32::max);
    d / lum.max(8.0)
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    v.select_nth_unstable_by(mid, f32::total_cmp);
    v[mid]
}

fn median_colour(it: impl Iterator<Item = [f32; 3]>) -> [f32; 3] {
    let all: Vec<[f32; 3]> = it.collect();
    let mut out = [255f32; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let mut ch: Vec<f32> = all.iter().map(|p| p[c]).collect();
        if !ch.is_empty() {
            *o = median(&mut ch);
        }
    }
    out
}

/// Least squares on the inliers (normal equations, Gaussian elimination).
fn solve(samples: &[(f64, f64, [f32; 3], bool)], inlier: &[bool], w: usize, h: usize) -> Option<PaperModel> {
    let (wf, hf) = (w.max(1) as f64, h.max(1) as f64);
    let mut ata = [[0f64; TERMS]; TERMS];
    let mut atb = [[0f64; TERMS]; 3];
    let mut n = 0usize;
    for (s, _) in samples.iter().zip(inlier).filter(|(_, i)| **i) {
        let b = basis(2.0 * (s.0 + 0.5) / wf - 1.0, 2.0 * (s.1 + 0.5) / hf - 1.0);
        for i in 0..TERMS {
            for j in 0..TERMS {
                ata[i][j] += b[i] * b[j];
            }
            for c in 0..3 {
                atb[c][i] += b[i] * f64::from(s.2[c]);
            }
        }
        n += 1;
    }
    if n < 3 * TERMS {
        return None;
    }
    // A little ridge keeps the cubic terms tame where inliers are one-sided.
    for (i, row) in ata.iter_mut().enumerate() {
        row[i] += 1e-3 * n as f64;
    }
    let mut coeffs = [[0f64; TERMS]; 3];
    for c in 0..3 {
        coeffs[c] = gauss(ata, atb[c])?;
    }
    Some(PaperModel { coeffs, w: wf, h: hf })
}

fn gauss(mut a: [[f64; TERMS]; TERMS], mut b: [f64; TERMS]) -> Option<[f64; TERMS]> {
    for col in 0..TERMS {
        let pivot = (col..TERMS).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..TERMS {
            let f = a[row][col] / a[col][col];
            for k in col..TERMS {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0f64; TERMS];
    for row in (0..TERMS).rev() {
        let s: f64 = (row + 1..TERMS).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_polynomial_matches_direct_evaluation() {
        let mut m = PaperModel::constant([100.0, 120.0, 140.0], 50, 40);
        for (c, k) in m.coeffs.iter_mut().zip([1.0, 2.0, 3.0]) {
            for (i, v) in c.iter_mut().enumerate().skip(1) {
                *v = k * i as f64;
            }
        }
        let row = m.row(17.0);
        for x in [0.0, 13.0, 49.0] {
            let u = (2.0 * (x + 0.5) / 50.0 - 1.0) as f32;
            let direct = m.at(x, 17.0);
            for c in 0..3 {
                let r = row[c];
                let v = (r[0] + u * (r[1] + u * (r[2] + u * r[3]))).clamp(1.0, 255.0);
                assert!((v - direct[c]).abs() < 1e-2, "{v} vs {}", direct[c]);
            }
        }
    }

    #[test]
    fn fits_a_lit_gradient_and_ignores_a_dark_object() {
        let (w, h) = (120u32, 90u32);
        let paper = |x: u32, y: u32| {
            let u = x as f32 / w as f32;
            let v = y as f32 / h as f32;
            let vignette = 1.0 - 0.25 * ((u - 0.5).powi(2) + (v - 0.5).powi(2));
            [220.0 * vignette + 20.0 * u, 215.0 * vignette + 20.0 * u, 200.0 * vignette]
        };
        let img = RgbImage::from_fn(w, h, |x, y| {
            let inside = (x as i32 - 60).pow(2) + (y as i32 - 45).pow(2) < 25 * 25;
            if inside { image::Rgb([120, 80, 20]) } else { image::Rgb(paper(x, y).map(|v| v as u8)) }
        });
        let m = PaperModel::fit(&img);
        for (x, y) in [(60, 45), (5, 5), (110, 80), (60, 20)] {
            let got = m.at(x as f64, y as f64);
            let want = paper(x, y);
            for c in 0..3 {
                assert!((got[c] - want[c]).abs() < 4.0, "({x},{y}) c{c}: {got:?} vs {want:?}");
            }
        }
    }
}

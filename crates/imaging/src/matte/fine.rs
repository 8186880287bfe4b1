//! Scale-aware evidence for thin structures: the strongest full-resolution
//! brightness gradient inside each working pixel (max-pooled, not averaged, so a
//! 3-px chain wire keeps its contrast when the frame is reduced ~12×). Shadows
//! are smooth at full resolution and score low here.

use image::RgbImage;
use rayon::prelude::*;

use crate::plane::Plane;

/// Max over each working pixel's block of |∇(R+G+B)| / 2 (central differences),
/// in 0..255·3 units.
pub fn max_gradient(rgb: &RgbImage, sw: usize, sh: usize) -> Plane<f32> {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let mut out = Plane::new(sw, sh, 0f32);
    if w < 3 || h < 3 || sw == 0 || sh == 0 {
        return out;
    }
    let raw = rgb.as_raw();
    let luma_row = |y: usize, dst: &mut Vec<i16>| {
        dst.clear();
        dst.extend(
            raw[y * w * 3..(y + 1) * w * 3]
                .chunks_exact(3)
                .map(|p| i16::from(p[0]) + i16::from(p[1]) + i16::from(p[2])),
        );
    };
    // Full-resolution columns of each working column (runs), rows of each working row.
    let col_of = |x: usize| (((x as f64 + 0.5) * sw as f64 / w as f64) as usize).min(sw - 1);
    let row_of = |y: usize| (((y as f64 + 0.5) * sh as f64 / h as f64) as usize).min(sh - 1);
    let bounds = |n: usize, m: usize, of: &dyn Fn(usize) -> usize| {
        let mut first = vec![n; m + 1];
        for i in (0..n).rev() {
            first[of(i)] = i;
        }
        for s in (0..m).rev() {
            first[s] = first[s].min(first[s + 1]);
        }
        first
    };
    let first_col = bounds(w, sw, &col_of);
    let first_row = bounds(h, sh, &row_of);
    out.data.par_chunks_mut(sw).enumerate().for_each(|(s, orow)| {
        let (y0, y1) = (first_row[s].max(1), first_row[s + 1].min(h - 1));
        if y0 >= y1 {
            return;
        }
        let (mut up, mut mid, mut dn) = (Vec::with_capacity(w), Vec::with_capacity(w), Vec::with_capacity(w));
        luma_row(y0 - 1, &mut up);
        luma_row(y0, &mut mid);
        let mut grad = vec![0i16; w];
        for y in y0..y1 {
            luma_row(y + 1, &mut dn);
            for x in 1..w - 1 {
                let gx = (mid[x + 1] - mid[x - 1]).abs();
                let gy = (dn[x] - up[x]).abs();
                grad[x] = gx.max(gy);
            }
            for (c, o) in orow.iter_mut().enumerate() {
                let run = &grad[first_col[c]..first_col[c + 1]];
                let m = run.iter().copied().max().unwrap_or(0);
                let g = f32::from(m) * 0.5;
                if g > *o {
                    *o = g;
                }
            }
            std::mem::swap(&mut up, &mut mid);
            std::mem::swap(&mut mid, &mut dn);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thin_wire_survives_pooling_and_a_soft_shadow_does_not() {
        // 120×120: a 2-px dark wire at x = 30 and a soft ramp (shadow) from x = 60 to 100.
        let img = RgbImage::from_fn(120, 120, |x, _| {
            let v = if (30..32).contains(&x) {
                120.0
            } else if (60..100).contains(&x) {
                230.0 - (x - 60) as f32
            } else if x >= 100 {
                190.0
            } else {
                230.0
            };
            image::Rgb([v as u8; 3])
        });
        let g = max_gradient(&img, 12, 12);
        let wire = g.get(3, 5);
        let shadow = g.get(8, 5);
        assert!(wire > 100.0, "{wire}");
        assert!(shadow < 5.0, "{shadow}");
    }
}

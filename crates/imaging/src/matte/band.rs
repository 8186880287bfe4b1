//! Full-resolution pass: alpha in a band around the coarse edge (and along faint
//! thin structures) from the known background, closing of thin gaps inside metal
//! (clipped highlights), and colour decontamination of partial pixels.

use image::{GrayImage, RgbImage};
use rayon::prelude::*;

use super::MatteParams;
use super::paper::PaperModel;
use super::segment::Features;
use crate::plane::{self, Mask, Plane};

pub const BG: u8 = 0;
pub const BAND: u8 = 1;
pub const FG: u8 = 2;

/// Sure background / band / sure foreground at working resolution.
pub fn zones(coarse: &Mask, trusted: &Mask, f: &Features, _p: &MatteParams) -> Plane<u8> {
    let inside = plane::distance_inside(trusted, false);
    let outside_mask = Mask { w: coarse.w, h: coarse.h, data: coarse.data.iter().map(|&v| u8::from(v == 0)).collect() };
    let outside = plane::distance_inside(&outside_mask, false);
    let mut z = Plane::new(coarse.w, coarse.h, BG);
    for i in 0..z.data.len() {
        let faint = f.chroma.data[i] > 0.03 || f.ratio.data[i] < 0.8 || f.grad.data[i] > 0.03;
        z.data[i] = if inside.data[i] >= 3 {
            FG
        } else if coarse.data[i] != 0 || outside.data[i] <= 3 || (faint && outside.data[i] <= 8) {
            BAND
        } else {
            BG
        };
    }
    z
}

pub struct BandInputs<'a> {
    pub model: &'a PaperModel,
    pub shade: &'a Plane<f32>,
    pub fg: &'a [Plane<f32>; 3],
    pub zones: &'a Plane<u8>,
    pub small_w: usize,
    pub small_h: usize,
}

/// Shadow-tolerant colour distance of `i` from background `b`: chroma changes
/// count fully, brightening counts, darkening beyond `slack` counts partly.
#[inline]
fn distance(i: [f32; 3], b: [f32; 3], slack: f32, chroma_w: f32) -> f32 {
    let bn = (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]).sqrt().max(1.0);
    let d = [i[0] - b[0], i[1] - b[1], i[2] - b[2]];
    let along = (d[0] * b[0] + d[1] * b[1] + d[2] * b[2]) / bn;
    let perp2 = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] - along * along).max(0.0);
    let along_eff = if along < 0.0 { (-along - slack * bn).max(0.0) * 0.7 } else { along };
    (chroma_w * perp2 + along_eff * along_eff).sqrt()
}

pub fn solve(rgb: &RgbImage, inp: &BandInputs<'_>, p: &MatteParams) -> (GrayImage, RgbImage) {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let (sw, sh) = (inp.small_w, inp.small_h);
    let sx: Vec<usize> = (0..w).map(|x| (((x as f64 + 0.5) * sw as f64 / w as f64) as usize).min(sw - 1)).collect();
    // Known background at working resolution, only where the band needs it.
    let mut bg_small = vec![[0f32; 3]; sw * sh];
    for (i, b) in bg_small.iter_mut().enumerate() {
        if inp.zones.data[i] == BAND {
            let m = inp.model.at((i % sw) as f64, (i / sw) as f64);
            let s = inp.shade.data[i].min(1.02);
            *b = m.map(|c| c * s);
        }
    }
    let mut alpha = GrayImage::new(w as u32, h as u32);
    // Band pixels brighter than the background yet counted as background:
    // candidates for clipped highlights (paper-white glints on silver).
    let mut glint = GrayImage::new(w as u32, h as u32);
    let mut fg = rgb.clone();
    let slack = p.shadow_slack;
    let cw = p.chroma_weight;
    let n0 = p.noise_floor;
    // Full-resolution columns covered by each working column.
    let mut col_start = vec![w; sw + 1];
    for (x, &si) in sx.iter().enumerate().rev() {
        col_start[si] = x;
    }
    for si in (0..sw).rev() {
        col_start[si] = col_start[si].min(col_start[si + 1]);
    }
    alpha.par_chunks_mut(w).zip(fg.par_chunks_mut(w * 3)).zip(glint.par_chunks_mut(w)).enumerate().for_each(
        |(y, ((arow, frow), grow))| {
            let syi = (((y as f64 + 0.5) * sh as f64 / h as f64) as usize).min(sh - 1);
            let zrow = &inp.zones.data[syi * sw..(syi + 1) * sw];
            // Walk runs of working pixels: sure zones are a fill or nothing.
            for (si, &zone) in zrow.iter().enumerate() {
                let (x0, x1) = (col_start[si], col_start[si + 1]);
                if zone == FG {
                    arow[x0..x1].fill(255);
                    continue;
                }
                if zone == BG {
                    continue;
                }
                let k = syi * sw + si;
                let b = bg_small[k];
                let f = [inp.fg[0].data[k], inp.fg[1].data[k], inp.fg[2].data[k]];
                let span = distance(f, b, slack, cw).max(30.0);
                // Brightness along the paper's colour: a mix of paper and a piece darker than
                // it can be no brighter than its share of the piece allows.
                let bn = (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]).sqrt().max(1.0);
                let along = |c: [f32; 3]| ((c[0] - b[0]) * b[0] + (c[1] - b[1]) * b[1] + (c[2] - b[2]) * b[2]) / bn;
                let f_along = along(f);
                let darker_piece = p.tint_guard > 0.0 && f_along < -0.15 * bn;
                for x in x0..x1 {
                    let px = &mut frow[x * 3..x * 3 + 3];
                    let i = [f32::from(px[0]), f32::from(px[1]), f32::from(px[2])];
                    let mut al = ((distance(i, b, slack, cw) - n0) / (span - n0)).clamp(0.0, 1.0);
                    if darker_piece {
                        let i_along = along(i);
                        // Paper tinted by the light the metal throws on it stays as bright as
                        // paper: its colour change is not the piece. (Not for pixels brighter
                        // than the paper: a highlight on the metal.)
                        if i_along >= -n0 {
                            al = al.min((i_along / f_along).clamp(0.0, 1.0) + p.tint_guard);
                        }
                    }
                    arow[x] = (al * 255.0 + 0.5) as u8;
                    if al < 0.5 && i[0] + i[1] + i[2] > b[0] + b[1] + b[2] + 3.0 * n0 {
                        grow[x] = 1;
                    }
                    if al > 0.0 && al < 1.0 {
                        let wsolve = (al / 0.3).min(1.0);
                        for c in 0..3 {
                            let solved = ((i[c] - (1.0 - al) * b[c]) / al).clamp(0.0, 255.0);
                            px[c] = (wsolve * solved + (1.0 - wsolve) * f[c]).clamp(0.0, 255.0) as u8;
                        }
                    }
                }
            }
        },
    );
    close_thin_gaps(&mut alpha, &glint);
    (alpha, fg)
}

/// A band pixel brighter than the paper but counted as background, with
/// foreground on both sides within two pixels (horizontally or vertically), is
/// a clipped highlight inside metal: make it foreground. Openings that show
/// plain paper (chain links) are not candidates and stay open.
fn close_thin_gaps(alpha: &mut GrayImage, glint: &GrayImage) {
    let (w, h) = (alpha.width() as usize, alpha.height() as usize);
    let g = glint.as_raw();
    let a = alpha.as_raw();
    let on = |x: usize, y: usize| a[y * w + x] >= 128;
    let mut fill = Vec::new();
    for y in 2..h.saturating_sub(2) {
        for x in 2..w.saturating_sub(2) {
            if g[y * w + x] == 0 || on(x, y) {
                continue;
            }
            let horiz = (on(x - 1, y) || on(x - 2, y)) && (on(x + 1, y) || on(x + 2, y));
            let vert = (on(x, y - 1) || on(x, y - 2)) && (on(x, y + 1) || on(x, y + 2));
            if horiz || vert {
                fill.push(y * w + x);
            }
        }
    }
    let raw: &mut [u8] = alpha;
    for i in fill {
        raw[i] = 255;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_forgives_shadows_not_colour() {
        let paper = [230.0, 230.0, 230.0];
        assert!(distance([207.0, 207.0, 207.0], paper, 0.12, 2.0) < 1.0, "10 % shadow");
        assert!(distance([120.0, 120.0, 120.0], paper, 0.12, 2.0) > 40.0, "dark metal");
        assert!(distance([230.0, 200.0, 150.0], paper, 0.12, 2.0) > 50.0, "gold");
        assert!(distance([255.0, 255.0, 255.0], paper, 0.12, 2.0) > 30.0, "highlight");
    }

    #[test]
    fn thin_gaps_close_wide_ones_stay() {
        let glint = GrayImage::from_pixel(20, 10, image::Luma([1]));
        let mut a =
            GrayImage::from_fn(20, 10, |x, _| image::Luma([if x == 10 || (13..19).contains(&x) { 0 } else { 255 }]));
        let mut not_glint = a.clone();
        close_thin_gaps(&mut not_glint, &GrayImage::new(20, 10));
        assert_eq!(not_glint, a, "plain paper gaps stay open");
        close_thin_gaps(&mut a, &glint);
        assert_eq!(a.get_pixel(10, 5).0[0], 255);
        assert_eq!(a.get_pixel(15, 5).0[0], 0);
    }
}

//! Shadows and reflections drawn from the matte: the subject's alpha, shifted
//! and blurred (shadows) or mirrored and faded (reflection), darkening or
//! tinting the backdrop before the jewellery is laid over it.

use image::{GrayImage, RgbImage, RgbaImage};

use crate::plane::{Plane, box_mean};
use crate::recipe::{Reflection, Shadow};

/// The subject as laid on the canvas: premultiplied-ready RGBA at `(x, y)`.
pub struct Layer<'a> {
    pub rgba: &'a RgbaImage,
    pub x: i64,
    pub y: i64,
    /// Longest side of the subject on the canvas, in pixels (scales softness).
    pub size: f32,
}

/// Darken `bg` under the subject according to `shadow`.
pub fn draw_shadow(bg: &mut RgbImage, layer: &Layer<'_>, shadow: &Shadow) {
    let (opacity, softness, dx, dy) = match *shadow {
        Shadow::None => return,
        Shadow::Contact { opacity, softness } => (opacity, softness, 0.0, 0.004 * layer.size),
        Shadow::Drop { angle_deg, distance, softness, opacity } => {
            let (s, c) = angle_deg.to_radians().sin_cos();
            (opacity, softness, -c * distance * layer.size, s * distance * layer.size)
        }
    };
    if opacity <= 0.0 {
        return;
    }
    let sigma = (softness * layer.size).max(1.0);
    // Work on a grid coarse enough that the blur stays cheap; shadows are smooth.
    let f = ((sigma / 3.0).floor() as usize).clamp(1, 16);
    let pad = (3.0 * sigma) as i64 + dx.abs() as i64 + dy.abs() as i64 + 2;
    let (lw, lh) = (layer.rgba.width() as i64, layer.rgba.height() as i64);
    let (ox, oy) = (layer.x + dx as i64 - pad, layer.y + dy as i64 - pad);
    let gw = ((lw + 2 * pad) as usize).div_ceil(f);
    let gh = ((lh + 2 * pad) as usize).div_ceil(f);
    let mut grid = Plane::new(gw, gh, 0f32);
    for (x, y, p) in layer.rgba.enumerate_pixels() {
        let gx = (x as i64 + pad) as usize / f;
        let gy = (y as i64 + pad) as usize / f;
        if gx < gw && gy < gh {
            let i = gy * gw + gx;
            grid.data[i] += f32::from(p.0[3]) / 255.0;
        }
    }
    let norm = 1.0 / (f * f) as f32;
    grid.data.iter_mut().for_each(|v| *v *= norm);
    // Three box passes ≈ Gaussian of the requested sigma.
    let r = ((sigma / f as f32) * 0.8).round().max(1.0) as usize;
    let blurred = box_mean(&box_mean(&box_mean(&grid, r), r), r);
    // Bilinear lookup per canvas pixel: no blocks from the coarse grid.
    let (bw, bh) = (i64::from(bg.width()), i64::from(bg.height()));
    let (x0, y0) = (ox.max(0), oy.max(0));
    let (x1, y1) = ((ox + (gw * f) as i64).min(bw), (oy + (gh * f) as i64).min(bh));
    let inv = 1.0 / f as f32;
    for cy in y0..y1 {
        let fy = ((cy - oy) as f32 + 0.5) * inv - 0.5;
        let gy0 = (fy.floor().max(0.0) as usize).min(gh - 1);
        let gy1 = (gy0 + 1).min(gh - 1);
        let ty = (fy - gy0 as f32).clamp(0.0, 1.0);
        for cx in x0..x1 {
            let fx = ((cx - ox) as f32 + 0.5) * inv - 0.5;
            let gx0 = (fx.floor().max(0.0) as usize).min(gw - 1);
            let gx1 = (gx0 + 1).min(gw - 1);
            let tx = (fx - gx0 as f32).clamp(0.0, 1.0);
            let at = |gx: usize, gy: usize| blurred.data[gy * gw + gx];
            let top = at(gx0, gy0) * (1.0 - tx) + at(gx1, gy0) * tx;
            let bottom = at(gx0, gy1) * (1.0 - tx) + at(gx1, gy1) * tx;
            let v = top * (1.0 - ty) + bottom * ty;
            if v < 1e-3 {
                continue;
            }
            let k = 1.0 - (opacity * v.min(1.0) * 1.5).min(opacity);
            let px = bg.get_pixel_mut(cx as u32, cy as u32);
            for c in px.0.iter_mut() {
                *c = (f32::from(*c) * k).round() as u8;
            }
        }
    }
}

/// Mirror the subject below its lowest opaque row, fading out.
pub fn draw_reflection(bg: &mut RgbImage, layer: &Layer<'_>, alpha_bottom: u32, refl: &Reflection) {
    let (lw, lh) = layer.rgba.dimensions();
    let len = (refl.length * layer.size).max(1.0);
    let gap = (0.004 * layer.size).round() as i64;
    for dy in 0..len as u32 {
        let src_y = i64::from(alpha_bottom) - 1 - i64::from(dy);
        if src_y < 0 || src_y >= i64::from(lh) {
            break;
        }
        let fade = refl.opacity * (1.0 - dy as f32 / len).powi(2);
        let cy = layer.y + i64::from(alpha_bottom) + gap + i64::from(dy);
        if cy < 0 || cy >= i64::from(bg.height()) {
            continue;
        }
        for x in 0..lw {
            let cx = layer.x + i64::from(x);
            if cx < 0 || cx >= i64::from(bg.width()) {
                continue;
            }
            let p = layer.rgba.get_pixel(x, src_y as u32).0;
            let a = f32::from(p[3]) / 255.0 * fade;
            if a <= 0.0 {
                continue;
            }
            let dst = bg.get_pixel_mut(cx as u32, cy as u32);
            for c in 0..3 {
                dst.0[c] = (f32::from(p[c]) * a + f32::from(dst.0[c]) * (1.0 - a)).round() as u8;
            }
        }
    }
}

/// Lowest row (exclusive) of the plane holding visible alpha.
pub fn alpha_bottom(alpha: &GrayImage) -> u32 {
    let w = alpha.width() as usize;
    bottom_row(alpha.as_raw(), w.max(1), 1)
}

/// Same for the alpha channel of an RGBA layer.
pub fn layer_bottom(layer: &RgbaImage) -> u32 {
    bottom_row(layer.as_raw(), layer.width() as usize * 4, 4)
}

fn bottom_row(raw: &[u8], row_len: usize, step: usize) -> u32 {
    let offset = step - 1;
    raw.chunks_exact(row_len.max(1))
        .rposition(|row| row.iter().skip(offset).step_by(step).any(|&a| a > 128))
        .map_or(0, |y| y as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc_layer() -> RgbaImage {
        RgbaImage::from_fn(40, 40, |x, y| {
            let d = (x as f32 - 20.0).hypot(y as f32 - 20.0);
            image::Rgba([200, 150, 50, if d < 15.0 { 255 } else { 0 }])
        })
    }

    #[test]
    fn drop_shadow_falls_away_from_the_light() {
        let rgba = disc_layer();
        let layer = Layer { rgba: &rgba, x: 30, y: 30, size: 40.0 };
        let mut bg = RgbImage::from_pixel(100, 100, image::Rgb([255; 3]));
        // Light from the top: the shadow falls below.
        draw_shadow(&mut bg, &layer, &Shadow::Drop { angle_deg: 90.0, distance: 0.3, softness: 0.05, opacity: 0.5 });
        let below = bg.get_pixel(50, 72).0[0];
        let above = bg.get_pixel(50, 20).0[0];
        assert!(below < 235 && above == 255, "below {below} above {above}");
        assert_eq!(bg.get_pixel(2, 2).0, [255; 3]);
    }

    #[test]
    fn contact_shadow_hugs_the_subject_and_none_does_nothing() {
        let rgba = disc_layer();
        let layer = Layer { rgba: &rgba, x: 30, y: 30, size: 40.0 };
        let mut bg = RgbImage::from_pixel(100, 100, image::Rgb([255; 3]));
        draw_shadow(&mut bg, &layer, &Shadow::None);
        assert!(bg.pixels().all(|p| p.0 == [255; 3]));
        draw_shadow(&mut bg, &layer, &Shadow::contact());
        assert!(bg.get_pixel(50, 67).0[0] < 250);
        assert_eq!(bg.get_pixel(5, 5).0[0], 255);
    }

    #[test]
    fn reflection_appears_below() {
        let rgba = disc_layer();
        let layer = Layer { rgba: &rgba, x: 30, y: 10, size: 40.0 };
        let bottom = alpha_bottom(&GrayImage::from_fn(40, 40, |x, y| image::Luma([rgba.get_pixel(x, y).0[3]])));
        assert_eq!(bottom, 35);
        let mut bg = RgbImage::from_pixel(100, 100, image::Rgb([255; 3]));
        draw_reflection(&mut bg, &layer, bottom, &Reflection { opacity: 0.5, length: 0.5 });
        assert!(bg.get_pixel(50, 47).0[2] < 240);
        assert_eq!(bg.get_pixel(50, 5).0, [255; 3]);
    }
}

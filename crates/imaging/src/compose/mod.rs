//! Composition: backdrop, shadows and reflection from the matte, colour work
//! on the jewellery, and laying it over the backdrop.

pub mod background;
pub mod hybrid;
pub mod recolour;
pub mod retouch;
pub mod shadow;
pub mod tone;

use image::{RgbImage, RgbaImage};

/// `fg` (straight alpha) over `bg` at `(x, y)`. Fully transparent pixels leave
/// the backdrop bit-exact (pure white stays 255).
pub fn over(bg: &mut RgbImage, fg: &RgbaImage, x: i64, y: i64) {
    let (bw, bh) = (i64::from(bg.width()), i64::from(bg.height()));
    for (fx, fy, p) in fg.enumerate_pixels() {
        let a = u32::from(p.0[3]);
        if a == 0 {
            continue;
        }
        let (cx, cy) = (x + i64::from(fx), y + i64::from(fy));
        if cx < 0 || cy < 0 || cx >= bw || cy >= bh {
            continue;
        }
        let d = bg.get_pixel_mut(cx as u32, cy as u32);
        for c in 0..3 {
            d.0[c] = ((u32::from(p.0[c]) * a + u32::from(d.0[c]) * (255 - a) + 127) / 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_blends_and_leaves_transparent_pixels_exact() {
        let mut bg = RgbImage::from_pixel(4, 1, image::Rgb([255; 3]));
        let fg = RgbaImage::from_fn(3, 1, |x, _| image::Rgba([0, 0, 0, [0, 128, 255][x as usize]]));
        over(&mut bg, &fg, 1, 0);
        let r: Vec<u8> = bg.pixels().map(|p| p.0[0]).collect();
        assert_eq!(r, [255, 255, 127, 0]);
        over(&mut bg, &fg, -10, 0);
    }
}

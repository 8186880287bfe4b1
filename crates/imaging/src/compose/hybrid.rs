//! Hybrid generative shots: the model paints the scene, then the upload's own jewellery
//! pixels (the local cutout, never resampled) are laid where the model drew its copy, with
//! a shadow that follows the scene's light. Every fully opaque jewellery pixel of the
//! result is exactly the cutout's pixel.

use fast_image_resize::FilterType;
use image::{RgbImage, RgbaImage};
use serde::{Deserialize, Serialize};

use crate::compose::{over, shadow};
use crate::frame::{BBox, subject_bbox};
use crate::recipe::Shadow;
use crate::{ImagingError, Matte};

/// Alpha under this is dropped from the cutout (as in catalogue renders).
const ALPHA_FLOOR: u8 = 8;
/// The scene is enlarged past this long side only as far as the piece itself needs.
const MAX_SIDE: u32 = 4096;

/// Where the cutout went: its crop's top-left corner on the result, and the crop itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    pub x: u32,
    pub y: u32,
    /// The crop of the upload's matte that was laid (upload pixels).
    pub src_x: u32,
    pub src_y: u32,
    pub width: u32,
    pub height: u32,
}

/// Lays the upload's cutout into `scene`. `drawn` is where the model drew its own copy
/// (its cutout's box on the scene), if it could be found; otherwise the centre.
pub fn hybrid(scene: &RgbImage, drawn: Option<BBox>, original: &Matte) -> Result<(RgbImage, Placed), ImagingError> {
    let sub = subject_bbox(&original.alpha, ALPHA_FLOOR).ok_or(ImagingError::NoSubjectFound)?;
    let (sw, sh) = scene.dimensions();
    if sw == 0 || sh == 0 {
        return Err(ImagingError::EmptyImage);
    }
    let drawn = drawn.unwrap_or(BBox { x0: sw / 5, y0: sh / 5, x1: sw - sw / 5, y1: sh - sh / 5 });
    // Scale the scene so the model's copy is as large as the real piece at its own
    // resolution (it is then covered), and so the piece fits with a margin.
    let cover = (f64::from(sub.width()) / f64::from(drawn.width().max(1)))
        .max(f64::from(sub.height()) / f64::from(drawn.height().max(1)));
    let fit = (f64::from(sub.width()) * 1.1 / f64::from(sw)).max(f64::from(sub.height()) * 1.1 / f64::from(sh));
    let mut k = cover.max(fit);
    let long = f64::from(sw.max(sh));
    if long * k > f64::from(MAX_SIDE) {
        k = (f64::from(MAX_SIDE) / long).max(fit);
    }
    let (cw, ch) = (((f64::from(sw) * k).round() as u32).max(1), ((f64::from(sh) * k).round() as u32).max(1));
    let mut canvas = if (cw, ch) == (sw, sh) {
        scene.clone()
    } else {
        crate::resize::resize_rgb(scene, cw, ch, FilterType::Lanczos3, None)?
    };
    let centre = |a: u32, b: u32| (f64::from(a) + f64::from(b)) / 2.0 * k;
    let clamp = |c: f64, size: u32, room: u32| {
        (c - f64::from(size) / 2.0).round().clamp(0.0, f64::from(room.saturating_sub(size))) as u32
    };
    let x = clamp(centre(drawn.x0, drawn.x1), sub.width(), cw);
    let y = clamp(centre(drawn.y0, drawn.y1), sub.height(), ch);
    let layer = RgbaImage::from_fn(sub.width(), sub.height(), |lx, ly| {
        let (ox, oy) = (sub.x0 + lx, sub.y0 + ly);
        let c = original.foreground.get_pixel(ox, oy).0;
        let a = original.alpha.get_pixel(ox, oy).0[0];
        image::Rgba([c[0], c[1], c[2], if a < ALPHA_FLOOR { 0 } else { a }])
    });
    let size = sub.width().max(sub.height()) as f32;
    let lay = shadow::Layer { rgba: &layer, x: i64::from(x), y: i64::from(y), size };
    shadow::draw_shadow(&mut canvas, &lay, &Shadow::contact());
    let (angle_deg, strength) = light(&canvas);
    let drop = Shadow::Drop { angle_deg, distance: 0.02, softness: 0.05, opacity: 0.12 + 0.25 * strength };
    shadow::draw_shadow(&mut canvas, &lay, &drop);
    over(&mut canvas, &layer, i64::from(x), i64::from(y));
    Ok((canvas, Placed { x, y, src_x: sub.x0, src_y: sub.y0, width: sub.width(), height: sub.height() }))
}

/// The scene's light: the direction shadows fall (degrees, away from the brighter side)
/// and how directional it is (0 flat … 1 strongly one-sided).
fn light(img: &RgbImage) -> (f32, f32) {
    let (w, h) = img.dimensions();
    let step = (w.max(h) / 64).max(1);
    let (mut sx, mut sy, mut total) = (0f64, 0f64, 0f64);
    for y in (0..h).step_by(step as usize) {
        for x in (0..w).step_by(step as usize) {
            let p = img.get_pixel(x, y).0;
            let l = 0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2]);
            let half = f64::from(step) / 2.0;
            sx += l * ((f64::from(x) + half) / f64::from(w) - 0.5);
            sy += l * ((f64::from(y) + half) / f64::from(h) - 0.5);
            total += l;
        }
    }
    if total <= 0.0 {
        return (60.0, 0.0);
    }
    let (dx, dy) = (sx / total, sy / total);
    let strength = ((dx * dx + dy * dy).sqrt() * 8.0).min(1.0) as f32;
    if strength < 0.05 {
        // Even light: the usual soft shadow down and to the right.
        return (60.0, 0.0);
    }
    // A drop shadow is offset by (-cos a, sin a): pointing away from the bright side.
    ((-dy).atan2(dx).to_degrees() as f32, strength)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, Rgb};

    fn ring() -> Matte {
        let (w, h) = (300, 240);
        let alpha = GrayImage::from_fn(w, h, |x, y| {
            let d = ((x as f32 - 150.0).powi(2) + (y as f32 - 120.0).powi(2)).sqrt();
            // Soft edges: the fringe blends with the scene, the body stays exact.
            let a = (1.0 - (d - 60.0).abs() / 22.0).clamp(0.0, 1.0) * 1.6;
            Luma([(a.min(1.0) * 255.0) as u8])
        });
        let foreground = RgbImage::from_fn(w, h, |x, y| Rgb([200 + (x % 50) as u8, 160 + (y % 60) as u8, 60]));
        Matte { alpha, foreground, paper: crate::PaperInfo { colour: [250.0; 3], neutral: true }, confidence: 1.0 }
    }

    #[test]
    fn the_jewellery_pixels_are_exactly_the_cutout() {
        let m = ring();
        // A lit-from-the-left scene, smaller than the piece: it must be enlarged to fit.
        let scene = RgbImage::from_fn(200, 160, |x, _| Rgb([(250 - x) as u8, 90, 120]));
        let drawn = BBox { x0: 40, y0: 30, x1: 120, y1: 110 };
        let (out, at) = hybrid(&scene, Some(drawn), &m).unwrap();
        assert!(out.width() >= at.x + at.width && out.height() >= at.y + at.height);
        let mut opaque = 0;
        for ly in 0..at.height {
            for lx in 0..at.width {
                let (sx, sy) = (at.src_x + lx, at.src_y + ly);
                if m.alpha.get_pixel(sx, sy).0[0] == 255 {
                    assert_eq!(out.get_pixel(at.x + lx, at.y + ly), m.foreground.get_pixel(sx, sy));
                    opaque += 1;
                }
            }
        }
        assert!(opaque > 5000, "{opaque}");
        // Around the piece the scene shows, darkened by the shadow on the side away from the light.
        let right = out.get_pixel(at.x + at.width + 3, at.y + at.height / 2).0;
        let scene_there = out.get_pixel(out.width() - 1, at.y + at.height / 2).0;
        assert!(right[1] <= scene_there[1] + 1);
    }

    #[test]
    fn light_direction_follows_the_bright_side() {
        let lit_left = RgbImage::from_fn(100, 100, |x, _| Rgb([255 - 2 * x as u8; 3]));
        let (angle, strength) = light(&lit_left);
        assert!(strength > 0.3);
        // The shadow's offset (-cos a, sin a) points right, away from the light.
        assert!(-angle.to_radians().cos() > 0.8, "angle {angle}");
        let flat = RgbImage::from_pixel(50, 50, Rgb([128; 3]));
        assert_eq!(light(&flat), (60.0, 0.0));
    }
}

//! Colour correction of the jewellery: white balance and exposure taken from the
//! neutral paper it was shot on, and a gentle local contrast for metal.

use image::RgbaImage;

use crate::matte::PaperInfo;
use crate::plane::{Plane, box_mean};

/// Gains that turn the paper neutral and bring white paper toward white.
/// Coloured paper says nothing reliable about the light: no correction.
pub fn paper_gains(paper: &PaperInfo) -> Option<[f32; 3]> {
    if !paper.neutral {
        return None;
    }
    let p = paper.colour;
    let lum = (p[0] + p[1] + p[2]) / 3.0;
    if lum < 40.0 {
        return None;
    }
    // Exposure only from white-ish paper, and modestly: grey paper is meant to be grey.
    let exposure = if lum > 170.0 { (245.0 / lum).clamp(1.0, 1.25) } else { 1.0 };
    Some(p.map(|c| (lum / c.max(1.0)).clamp(0.8, 1.25) * exposure))
}

/// Apply channel gains with a soft shoulder so highlights do not clip harshly.
pub fn apply_gains(img: &mut RgbaImage, gains: [f32; 3]) {
    let luts: [[u8; 256]; 3] = gains.map(|g| std::array::from_fn(|v| shoulder(v as f32 * g)));
    for p in img.pixels_mut() {
        if p.0[3] == 0 {
            continue;
        }
        for c in 0..3 {
            p.0[c] = luts[c][usize::from(p.0[c])];
        }
    }
}

/// Linear up to 220, then compressed smoothly toward 255.
fn shoulder(v: f32) -> u8 {
    const KNEE: f32 = 220.0;
    let out = if v <= KNEE { v } else { KNEE + (255.0 - KNEE) * (1.0 - (-(v - KNEE) / (255.0 - KNEE)).exp()) };
    out.round().clamp(0.0, 255.0) as u8
}

/// Unsharp mask on luminance at a large radius (clarity), only on the subject.
pub fn local_contrast(img: &mut RgbaImage, amount: f32, radius: usize) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 || amount <= 0.0 {
        return;
    }
    let luma = Plane {
        w,
        h,
        data: img
            .pixels()
            .map(|p| 0.299 * f32::from(p.0[0]) + 0.587 * f32::from(p.0[1]) + 0.114 * f32::from(p.0[2]))
            .collect(),
    };
    // One box pass: the halo shape of a clarity filter hardly matters at 0.25.
    let blur = box_mean(&luma, radius);
    for ((p, y), b) in img.pixels_mut().zip(&luma.data).zip(&blur.data) {
        if p.0[3] < 250 || *y < 1.0 {
            continue;
        }
        let target = (y + amount * (y - b)).clamp(0.0, 255.0);
        let k = target / y;
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) * k).round().clamp(0.0, 255.0) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_paper_gives_cooling_gains() {
        let g = paper_gains(&PaperInfo { colour: [230.0, 220.0, 200.0], neutral: true }).unwrap();
        assert!(g[2] > g[1] && g[1] > g[0], "{g:?}");
        assert!(paper_gains(&PaperInfo { colour: [120.0, 160.0, 220.0], neutral: false }).is_none());
        let mut img = RgbaImage::from_pixel(2, 1, image::Rgba([230, 220, 200, 255]));
        img.put_pixel(1, 0, image::Rgba([230, 220, 200, 0]));
        apply_gains(&mut img, g);
        let p = img.get_pixel(0, 0).0;
        assert!(p[0].abs_diff(p[2]) <= 3 && p[0] > 225, "{p:?}");
        assert_eq!(img.get_pixel(1, 0).0, [230, 220, 200, 0], "transparent untouched");
    }

    #[test]
    fn shoulder_is_monotonic_and_bounded() {
        let vals: Vec<u8> = (0..400).map(|v| shoulder(v as f32)).collect();
        assert!(vals.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(vals[100], 100);
        assert!(vals[300] > 245 && vals[300] < 255, "compressed, not clipped: {}", vals[300]);
    }

    #[test]
    fn local_contrast_increases_edge_contrast() {
        let mut img = RgbaImage::from_fn(40, 10, |x, _| {
            let v = if x < 20 { 100 } else { 160 };
            image::Rgba([v, v, v, 255])
        });
        local_contrast(&mut img, 0.5, 4);
        assert!(img.get_pixel(18, 5).0[0] < 100);
        assert!(img.get_pixel(21, 5).0[0] > 160);
        assert_eq!(img.get_pixel(0, 5).0[0], 100);
    }
}

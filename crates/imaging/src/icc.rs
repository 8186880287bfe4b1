//! Embedded ICC profiles → sRGB (moxcms). Phones write Display P3; marketplaces
//! and browsers assume sRGB, so colours would shift if we kept P3 numbers.

use image::RgbImage;
use moxcms::{ColorProfile, Layout, TransformOptions};

/// Rows converted per chunk: avoids a second full-size buffer.
const CHUNK_ROWS: usize = 64;

/// Convert in place; returns whether a conversion happened. An unreadable or
/// unusable profile is ignored (the pixels are then taken as sRGB) rather than
/// failing a photo over its metadata.
pub(crate) fn convert_to_srgb(rgb: &mut RgbImage, icc: &[u8]) -> bool {
    let Ok(src) = ColorProfile::new_from_slice(icc) else {
        return false;
    };
    let srgb = ColorProfile::new_srgb();
    if is_srgb_like(&src, &srgb) {
        return false;
    }
    let Ok(transform) = src.create_transform_8bit(Layout::Rgb, &srgb, Layout::Rgb, TransformOptions::default()) else {
        return false;
    };
    let row = rgb.width() as usize * 3;
    if row == 0 {
        return false;
    }
    let mut scratch = vec![0u8; row * CHUNK_ROWS];
    for chunk in rgb.chunks_mut(row * CHUNK_ROWS) {
        let out = &mut scratch[..chunk.len()];
        if transform.transform(chunk, out).is_err() {
            return false;
        }
        chunk.copy_from_slice(out);
    }
    true
}

/// Same primaries as sRGB and no LUTs: converting would only cost time.
fn is_srgb_like(p: &ColorProfile, srgb: &ColorProfile) -> bool {
    let close = |a: &moxcms::Xyzd, b: &moxcms::Xyzd| {
        (a.x - b.x).abs() < 2e-3 && (a.y - b.y).abs() < 2e-3 && (a.z - b.z).abs() < 2e-3
    };
    p.lut_a_to_b_perceptual.is_none()
        && p.lut_a_to_b_colorimetric.is_none()
        && close(&p.red_colorant, &srgb.red_colorant)
        && close(&p.green_colorant, &srgb.green_colorant)
        && close(&p.blue_colorant, &srgb.blue_colorant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_p3_red_becomes_more_saturated_srgb_red_is_untouched() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        let mut img = RgbImage::from_pixel(3, 70, image::Rgb([200, 60, 50]));
        assert!(convert_to_srgb(&mut img, &p3));
        let px = img.get_pixel(1, 69).0;
        // P3 red is outside sRGB: red rises (or clips), green/blue fall.
        assert!(px[0] >= 200 && px[1] < 60, "{px:?}");

        let srgb = ColorProfile::new_srgb().encode().unwrap();
        let mut same = RgbImage::from_pixel(3, 3, image::Rgb([200, 60, 50]));
        assert!(!convert_to_srgb(&mut same, &srgb));
        assert_eq!(same.get_pixel(0, 0).0, [200, 60, 50]);
        assert!(!convert_to_srgb(&mut same, b"not a profile"));
    }
}

//! Watermark and branding strip, set in the bundled DejaVu Sans (Bitstream Vera
//! licence, assets/LICENSE-DejaVu.txt).

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::RgbImage;

use crate::recipe::{Branding, Watermark};
use crate::{Colour, ImagingError, Limits};

const REGULAR: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../assets/DejaVuSans-Bold.ttf");

fn font(bold: bool) -> Result<FontRef<'static>, ImagingError> {
    FontRef::try_from_slice(if bold { BOLD } else { REGULAR })
        .map_err(|e| ImagingError::EncodeFailed(format!("bundled font: {e}")))
}

/// Width in pixels of `text` at `size` px.
pub fn text_width(text: &str, size: f32, bold: bool) -> Result<f32, ImagingError> {
    let f = font(bold)?;
    let sf = f.as_scaled(PxScale::from(size));
    let mut w = 0.0;
    let mut prev = None;
    for ch in text.chars() {
        let id = sf.glyph_id(ch);
        if let Some(p) = prev {
            w += sf.kern(p, id);
        }
        w += sf.h_advance(id);
        prev = Some(id);
    }
    Ok(w)
}

/// How a run of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    pub size: f32,
    pub colour: Colour,
    pub opacity: f32,
    pub bold: bool,
}

/// Draw `text` with its baseline-left at `(x, baseline)`; returns the advance.
pub fn draw_text(img: &mut RgbImage, text: &str, x: f32, baseline: f32, style: TextStyle) -> Result<f32, ImagingError> {
    let TextStyle { size, colour, opacity, bold } = style;
    let f = font(bold)?;
    let scale = PxScale::from(size);
    let sf = f.as_scaled(scale);
    let (w, h) = (img.width() as i64, img.height() as i64);
    let mut pen = x;
    let mut prev = None;
    for ch in text.chars() {
        let id = sf.glyph_id(ch);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, baseline));
        if let Some(outline) = f.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let px = b.min.x as i64 + i64::from(gx);
                let py = b.min.y as i64 + i64::from(gy);
                if px < 0 || py < 0 || px >= w || py >= h {
                    return;
                }
                let a = (cov * opacity).clamp(0.0, 1.0);
                let d = img.get_pixel_mut(px as u32, py as u32);
                for c in 0..3 {
                    d.0[c] = (f32::from(colour.0[c]) * a + f32::from(d.0[c]) * (1.0 - a)).round() as u8;
                }
            });
        }
        pen += sf.h_advance(id);
        prev = Some(id);
    }
    Ok(pen - x)
}

/// Height of the branding strip for a canvas of height `h`.
pub fn strip_height(h: u32) -> u32 {
    ((h as f32 * 0.08).round() as u32).clamp(32, 240).min(h / 3)
}

/// The image with a branding strip added below it (nothing of the image is covered).
pub fn add_strip(img: &RgbImage, b: &Branding) -> Result<RgbImage, ImagingError> {
    let (w, h) = img.dimensions();
    let mut total = h + strip_height(h);
    while total - strip_height(total) < h {
        total += 1;
    }
    let bg = b.background.unwrap_or(Colour([24, 24, 24]));
    let mut out = RgbImage::from_pixel(w, total, image::Rgb(bg.0));
    image::imageops::replace(&mut out, img, 0, 0);
    draw_branding(&mut out, b)?;
    Ok(out)
}

/// Paint the strip over the bottom of the canvas: logo, name, phone · website.
pub fn draw_branding(img: &mut RgbImage, b: &Branding) -> Result<(), ImagingError> {
    let (w, h) = img.dimensions();
    let sh = strip_height(h);
    if sh == 0 || w < 64 {
        return Ok(());
    }
    let top = h - sh;
    let bg = b.background.unwrap_or(Colour([24, 24, 24]));
    let fg = b.text_colour.unwrap_or(if luma(bg) > 140.0 { Colour([20, 20, 20]) } else { Colour::WHITE });
    for y in top..h {
        for x in 0..w {
            img.put_pixel(x, y, image::Rgb(bg.0));
        }
    }
    let pad = sh as f32 * 0.15;
    let mut x = pad;
    if let Some(bytes) = &b.logo {
        let limits = Limits { max_bytes: 5 << 20, max_pixels: 16_000_000 };
        let logo = crate::decode(bytes, &limits)?;
        let side = (sh as f32 - 2.0 * pad).max(1.0) as u32;
        let (lw, lh) = crate::resize::fit_within(logo.width, logo.height, side);
        let rgba = match &logo.alpha {
            Some(a) => crate::matte::join_rgba(&logo.rgb, a),
            None => image::DynamicImage::ImageRgb8(logo.rgb.clone()).into_rgba8(),
        };
        let small = crate::resize::resize_rgba(&rgba, lw, lh, fast_image_resize::FilterType::Lanczos3, None)?;
        let ly = i64::from(top) + i64::from((sh - lh) / 2);
        crate::compose::over(img, &small, x as i64, ly);
        x += lw as f32 + pad;
    }
    let name_size = sh as f32 * 0.42;
    let info_size = sh as f32 * 0.26;
    let contact: Vec<&str> =
        [b.phone.as_deref(), b.website.as_deref()].into_iter().flatten().filter(|s| !s.is_empty()).collect();
    let contact = contact.join("  ·  ");
    if contact.is_empty() {
        draw_text(
            img,
            &b.business_name,
            x,
            top as f32 + sh as f32 * 0.65,
            TextStyle { size: name_size, colour: fg, opacity: 1.0, bold: true },
        )?;
    } else {
        draw_text(
            img,
            &b.business_name,
            x,
            top as f32 + sh as f32 * 0.5,
            TextStyle { size: name_size, colour: fg, opacity: 1.0, bold: true },
        )?;
        draw_text(
            img,
            &contact,
            x,
            top as f32 + sh as f32 * 0.85,
            TextStyle { size: info_size, colour: fg, opacity: 0.9, bold: false },
        )?;
    }
    Ok(())
}

/// Semi-transparent text in the lower right corner, with a faint dark outline
/// so it reads on white and on dark backdrops.
pub fn draw_watermark(img: &mut RgbImage, wm: &Watermark, bottom_reserved: u32) -> Result<(), ImagingError> {
    let (w, h) = img.dimensions();
    let size = (h.min(w) as f32 * 0.035).max(10.0);
    let tw = text_width(&wm.text, size, true)?;
    let x = (w as f32 - tw - size).max(0.0);
    let y = h as f32 - bottom_reserved as f32 - size * 0.8;
    for (dx, dy) in [(-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)] {
        draw_text(
            img,
            &wm.text,
            x + dx,
            y + dy,
            TextStyle { size, colour: Colour([40, 40, 40]), opacity: wm.opacity * 0.5, bold: true },
        )?;
    }
    draw_text(
        img,
        &wm.text,
        x,
        y,
        TextStyle { size, colour: Colour([235, 235, 235]), opacity: wm.opacity, bold: true },
    )?;
    Ok(())
}

/// `text` repeated across the whole image in staggered rows: a preview that cannot be
/// cropped clean.
pub fn tile_watermark(img: &mut RgbImage, text: &str) -> Result<(), ImagingError> {
    let (w, h) = img.dimensions();
    let size = (w.min(h) as f32 * 0.05).max(12.0);
    let step_x = text_width(text, size, true)? + size * 2.0;
    let step_y = size * 3.5;
    let mut row = 0;
    let mut y = size * 1.5;
    while y < h as f32 + size {
        let mut x = if row % 2 == 0 { 0.0 } else { -step_x / 2.0 };
        while x < w as f32 {
            for (dx, dy, colour, opacity) in
                [(1.0, 1.0, Colour([30, 30, 30]), 0.3), (0.0, 0.0, Colour([245, 245, 245]), 0.45)]
            {
                draw_text(img, text, x + dx, y + dy, TextStyle { size, colour, opacity, bold: true })?;
            }
            x += step_x;
        }
        y += step_y;
        row += 1;
    }
    Ok(())
}

fn luma(c: Colour) -> f32 {
    0.299 * f32::from(c.0[0]) + 0.587 * f32::from(c.0[1]) + 0.114 * f32::from(c.0[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_added_strip_covers_nothing() {
        let img = RgbImage::from_pixel(600, 400, image::Rgb([1, 2, 3]));
        let b = Branding { business_name: "Meera Jewels".into(), ..Branding::default() };
        let out = add_strip(&img, &b).unwrap();
        assert!(out.height() > 400);
        assert!(out.enumerate_pixels().filter(|(_, y, _)| *y < 400).all(|(_, _, p)| p.0 == [1, 2, 3]));
    }

    #[test]
    fn text_draws_ink_and_measures_width() {
        let mut img = RgbImage::from_pixel(200, 50, image::Rgb([255; 3]));
        let adv = draw_text(
            &mut img,
            "Sorai",
            5.0,
            35.0,
            TextStyle { size: 30.0, colour: Colour::BLACK, opacity: 1.0, bold: false },
        )
        .unwrap();
        assert!((adv - text_width("Sorai", 30.0, false).unwrap()).abs() < 0.01);
        assert!(adv > 50.0 && adv < 120.0);
        let inked = img.pixels().filter(|p| p.0[0] < 128).count();
        assert!(inked > 100, "{inked}");
    }

    #[test]
    fn branding_strip_covers_the_bottom_with_logo_and_text() {
        let mut img = RgbImage::from_pixel(400, 400, image::Rgb([255; 3]));
        let logo =
            crate::encode_rgb(&RgbImage::from_pixel(20, 20, image::Rgb([200, 0, 0])), crate::Format::Png, 90).unwrap();
        let b = Branding {
            logo: Some(logo),
            business_name: "Meera Jewels".into(),
            phone: Some("+91 98765 43210".into()),
            website: Some("meera.example".into()),
            ..Branding::default()
        };
        draw_branding(&mut img, &b).unwrap();
        let sh = strip_height(400);
        assert_eq!(img.get_pixel(399, 399).0, [24, 24, 24]);
        assert_eq!(img.get_pixel(200, 400 - sh - 1).0, [255; 3], "above the strip untouched");
        assert!(img.pixels().any(|p| p.0[0] > 150 && p.0[1] < 50), "logo drawn");
        let strip_text = (400 - sh..400)
            .flat_map(|y| (0..400).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[1] > 200)
            .count();
        assert!(strip_text > 50, "white text in the strip: {strip_text}");
        let bad = Branding { logo: Some(b"not an image".to_vec()), ..Branding::default() };
        assert_eq!(draw_branding(&mut img, &bad).unwrap_err().code(), "unsupported_format");
    }

    #[test]
    fn watermark_is_faint_and_in_the_corner() {
        let mut img = RgbImage::from_pixel(300, 300, image::Rgb([255; 3]));
        draw_watermark(&mut img, &Watermark { text: "SAMPLE".into(), opacity: 0.4 }, 0).unwrap();
        let changed: Vec<(u32, u32)> =
            img.enumerate_pixels().filter(|(_, _, p)| p.0 != [255; 3]).map(|(x, y, _)| (x, y)).collect();
        assert!(!changed.is_empty());
        assert!(changed.iter().all(|(x, y)| *x > 100 && *y > 240));
    }
}

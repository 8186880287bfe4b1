//! Encoding. Everything is re-encoded from pixels, so EXIF (GPS, serial numbers)
//! and other metadata of the upload never reach an output.

use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{DynamicImage, ExtendedColorType, ImageEncoder, RgbImage, RgbaImage};

use crate::{Decoded, Format, ImagingError};

fn enc_err(e: impl std::fmt::Display) -> ImagingError {
    ImagingError::EncodeFailed(e.to_string())
}

/// Encode an RGB or RGBA image. JPEG drops alpha by compositing on white.
pub fn encode(img: &DynamicImage, format: Format, quality: u8) -> Result<Vec<u8>, ImagingError> {
    match img {
        DynamicImage::ImageRgb8(rgb) => encode_rgb(rgb, format, quality),
        DynamicImage::ImageRgba8(rgba) => encode_rgba(rgba, format, quality),
        other if other.color().has_alpha() => encode_rgba(&other.to_rgba8(), format, quality),
        other => encode_rgb(&other.to_rgb8(), format, quality),
    }
}

pub fn encode_rgb(img: &RgbImage, format: Format, quality: u8) -> Result<Vec<u8>, ImagingError> {
    let (w, h) = img.dimensions();
    encode_raw(img.as_raw(), w, h, ExtendedColorType::Rgb8, format, quality)
}

pub fn encode_rgba(img: &RgbaImage, format: Format, quality: u8) -> Result<Vec<u8>, ImagingError> {
    let (w, h) = img.dimensions();
    if format == Format::Jpeg {
        let flat = RgbImage::from_fn(w, h, |x, y| {
            let p = img.get_pixel(x, y).0;
            let a = u32::from(p[3]);
            let mix = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
            image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
        });
        return encode_rgb(&flat, format, quality);
    }
    encode_raw(img.as_raw(), w, h, ExtendedColorType::Rgba8, format, quality)
}

fn encode_raw(
    data: &[u8],
    w: u32,
    h: u32,
    color: ExtendedColorType,
    format: Format,
    quality: u8,
) -> Result<Vec<u8>, ImagingError> {
    if w == 0 || h == 0 {
        return Err(ImagingError::EmptyImage);
    }
    let quality = quality.clamp(1, 100);
    let mut out = Vec::new();
    match format {
        Format::Jpeg => {
            let side = |v: u32| u16::try_from(v).map_err(|_| enc_err("a JPEG side is at most 65535 pixels"));
            let colour = match color {
                ExtendedColorType::Rgba8 => jpeg_encoder::ColorType::Rgba,
                _ => jpeg_encoder::ColorType::Rgb,
            };
            jpeg_encoder::Encoder::new(&mut out, quality).encode(data, side(w)?, side(h)?, colour).map_err(enc_err)?;
        }
        Format::Png => {
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, PngFilter::Adaptive)
                .write_image(data, w, h, color)
                .map_err(enc_err)?;
        }
        Format::Webp => {
            let enc = if color == ExtendedColorType::Rgba8 {
                webp::Encoder::from_rgba(data, w, h)
            } else {
                webp::Encoder::from_rgb(data, w, h)
            };
            let mem = enc.encode_simple(false, f32::from(quality)).map_err(|e| enc_err(format!("{e:?}")))?;
            out.extend_from_slice(&mem);
        }
        Format::Heic => {
            return Err(ImagingError::InvalidRecipe("HEIC output is not supported".into()));
        }
    }
    Ok(out)
}

/// A small preview for upload lists: fits `max_side`, JPEG (or WebP) at quality 80.
pub fn thumbnail(decoded: &Decoded, max_side: u32, format: Format) -> Result<Vec<u8>, ImagingError> {
    fit_and_encode(decoded, max_side, format, 80, fast_image_resize::FilterType::Bilinear)
}

/// A finished image in another format or size: fits `max_side` (never enlarged), keeps
/// transparency where the format has it.
pub fn convert(decoded: &Decoded, max_side: u32, format: Format, quality: u8) -> Result<Vec<u8>, ImagingError> {
    let max_side = max_side.min(decoded.width.max(decoded.height));
    fit_and_encode(decoded, max_side, format, quality, fast_image_resize::FilterType::Lanczos3)
}

fn fit_and_encode(
    decoded: &Decoded,
    max_side: u32,
    format: Format,
    quality: u8,
    filter: fast_image_resize::FilterType,
) -> Result<Vec<u8>, ImagingError> {
    let (w, h) = crate::resize::fit_within(decoded.width, decoded.height, max_side.max(1));
    // With alpha, JPEG gets the picture flattened on white (not the colours under alpha 0).
    match &decoded.alpha {
        Some(alpha) => {
            let rgba = crate::matte::join_rgba(&decoded.rgb, alpha);
            let small = crate::resize::resize_rgba(&rgba, w, h, filter, None)?;
            encode_rgba(&small, format, quality)
        }
        _ => {
            let small = crate::resize::resize_rgb(&decoded.rgb, w, h, filter, None)?;
            encode_rgb(&small, format, quality)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, decode};

    #[test]
    fn thumbnail_fits_and_is_jpeg_or_webp() {
        let d = Decoded::from_rgb(RgbImage::from_pixel(300, 120, image::Rgb([10, 200, 30])));
        let jpg = thumbnail(&d, 64, Format::Jpeg).unwrap();
        let t = decode(&jpg, &Limits::default()).unwrap();
        assert_eq!((t.width, t.height, t.format), (64, 26, Format::Jpeg));
        let webp = thumbnail(&d, 64, Format::Webp).unwrap();
        assert_eq!(crate::sniff(&webp), Some(Format::Webp));
    }

    #[test]
    fn convert_shrinks_but_never_enlarges() {
        let d = Decoded::from_rgb(RgbImage::from_pixel(300, 120, image::Rgb([10, 200, 30])));
        let png = decode(&convert(&d, 150, Format::Png, 90).unwrap(), &Limits::default()).unwrap();
        assert_eq!((png.width, png.height, png.format), (150, 60, Format::Png));
        let big = decode(&convert(&d, 4000, Format::Webp, 90).unwrap(), &Limits::default()).unwrap();
        assert_eq!((big.width, big.height, big.format), (300, 120, Format::Webp));
    }

    #[test]
    fn jpeg_output_has_no_exif_and_rgba_flattens_on_white() {
        let rgba = RgbaImage::from_pixel(16, 16, image::Rgba([0, 0, 0, 0]));
        let jpg = encode_rgba(&rgba, Format::Jpeg, 90).unwrap();
        assert!(!jpg.windows(4).any(|w| w == b"Exif"));
        let d = decode(&jpg, &Limits::default()).unwrap();
        assert!(d.rgb.pixels().all(|p| p.0.iter().all(|&c| c >= 254)));
        assert!(encode_rgb(&RgbImage::new(4, 4), Format::Heic, 90).is_err());
    }

    #[test]
    fn a_transparent_png_converts_to_jpeg_on_white() {
        let mut rgba = RgbaImage::from_pixel(40, 40, image::Rgba([0, 0, 0, 0]));
        rgba.put_pixel(20, 20, image::Rgba([200, 30, 30, 255]));
        let png = decode(&encode_rgba(&rgba, Format::Png, 90).unwrap(), &Limits::default()).unwrap();
        for bytes in [convert(&png, 40, Format::Jpeg, 95).unwrap(), thumbnail(&png, 40, Format::Jpeg).unwrap()] {
            let d = decode(&bytes, &Limits::default()).unwrap();
            assert!(d.rgb.get_pixel(2, 2).0.iter().all(|&c| c >= 250), "white, not the colour under alpha 0");
        }
    }
}

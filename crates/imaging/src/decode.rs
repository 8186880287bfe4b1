//! Decoding with limits: size and pixel-count checks from the header before any
//! pixel is decoded, EXIF orientation applied, embedded ICC profiles converted to sRGB.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};

use crate::{Format, ImagingError, sniff};

/// Hard limits applied before decoding (decompression-bomb protection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest accepted encoded file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted width × height.
    pub max_pixels: u64,
}

impl Default for Limits {
    /// 50 MiB and 64 MP: room for a 48 MP phone sensor, not for a bomb.
    fn default() -> Self {
        Limits { max_bytes: 50 << 20, max_pixels: 64_000_000 }
    }
}

impl Limits {
    /// Reject dimensions before any pixel buffer is allocated.
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<(), ImagingError> {
        if width == 0 || height == 0 {
            return Err(ImagingError::EmptyImage);
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(ImagingError::TooManyPixels {
                width: width.into(),
                height: height.into(),
                limit: self.max_pixels,
            });
        }
        Ok(())
    }

    fn check_bytes(&self, len: usize) -> Result<(), ImagingError> {
        let bytes = len as u64;
        if bytes > self.max_bytes {
            return Err(ImagingError::ImageTooLarge { bytes, limit: self.max_bytes });
        }
        Ok(())
    }

    /// Limits handed to the `image` decoders as a second line of defence.
    fn for_image_crate(&self) -> image::Limits {
        let mut l = image::Limits::default();
        let side = u32::try_from(self.max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
        l.max_image_width = Some(side);
        l.max_image_height = Some(side);
        // 16-bit RGBA plus one conversion copy.
        l.max_alloc = Some(self.max_pixels.saturating_mul(16).saturating_add(64 << 20));
        l
    }
}

/// A decoded photo, upright and in sRGB.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Colour pixels (sRGB, 8 bit), EXIF orientation already applied.
    pub rgb: RgbImage,
    /// The source's own alpha channel when it had a non-opaque one (e.g. a PNG cutout).
    pub alpha: Option<GrayImage>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// EXIF orientation tag that was applied (1 = none).
    pub orientation: u16,
    /// Whether an embedded non-sRGB ICC profile was converted.
    pub icc_converted: bool,
}

impl Decoded {
    /// Wrap an in-memory image (tests, generated scenes).
    pub fn from_rgb(rgb: RgbImage) -> Self {
        let (width, height) = rgb.dimensions();
        Decoded { rgb, alpha: None, format: Format::Png, width, height, orientation: 1, icc_converted: false }
    }

    /// This image with at most `max_pixels` pixels (Lanczos3, aspect kept), for work whose
    /// results cannot use more detail; unchanged when it is already within.
    pub fn within_pixels(self, max_pixels: u64) -> Result<Decoded, ImagingError> {
        let pixels = u64::from(self.width) * u64::from(self.height);
        if pixels <= max_pixels {
            return Ok(self);
        }
        let scale = (max_pixels as f64 / pixels as f64).sqrt();
        let (w, h) = ((f64::from(self.width) * scale) as u32, (f64::from(self.height) * scale) as u32);
        let (w, h) = (w.max(1), h.max(1));
        let filter = fast_image_resize::FilterType::Lanczos3;
        let (rgb, alpha) = match &self.alpha {
            None => (crate::resize::resize_rgb(&self.rgb, w, h, filter, None)?, None),
            Some(a) => {
                let rgba = crate::resize::resize_rgba(&crate::matte::join_rgba(&self.rgb, a), w, h, filter, None)?;
                let rgb = RgbImage::from_fn(w, h, |x, y| {
                    let p = rgba.get_pixel(x, y).0;
                    image::Rgb([p[0], p[1], p[2]])
                });
                (rgb, Some(GrayImage::from_fn(w, h, |x, y| image::Luma([rgba.get_pixel(x, y).0[3]]))))
            }
        };
        Ok(Decoded { rgb, alpha, width: w, height: h, ..self })
    }
}

/// Decode `bytes` (JPEG, PNG, WebP; HEIC where the system has libheif) within `limits`.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, ImagingError> {
    limits.check_bytes(bytes.len())?;
    let format = sniff(bytes).ok_or_else(|| ImagingError::UnsupportedFormat(String::new()))?;
    let parts = match format {
        Format::Heic => crate::heif::decode_heif(bytes, limits)?,
        Format::Jpeg => {
            check_jpeg_complete(bytes)?;
            decode_with_image(bytes, image::ImageFormat::Jpeg, limits)?
        }
        Format::Png => decode_with_image(bytes, image::ImageFormat::Png, limits)?,
        Format::Webp => decode_with_image(bytes, image::ImageFormat::WebP, limits)?,
    };
    Ok(upright(format, parts))
}

/// A photo decoded just large enough for a picture whose longer side is `long_side` (a
/// thumbnail), and the photo's full upright size. A JPEG is scaled while it is decoded
/// (1/2, 1/4 or 1/8 of each side), so a 12 MP baseline JPEG never holds its 36 MB of pixels;
/// every scan is still decoded, so a broken file fails as it does in `decode`. Other
/// formats, CMYK and 16-bit JPEGs are decoded in full.
pub fn decode_reduced(bytes: &[u8], limits: &Limits, long_side: u32) -> Result<(Decoded, u32, u32), ImagingError> {
    limits.check_bytes(bytes.len())?;
    let whole = |bytes| decode(bytes, limits).map(|d| (d.width, d.height, d));
    if sniff(bytes) != Some(Format::Jpeg) {
        return whole(bytes).map(|(w, h, d)| (d, w, h));
    }
    check_jpeg_complete(bytes)?;
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    // What this decoder does not support (arithmetic coding, say), the full decoder may.
    match decoder.read_info() {
        Err(jpeg_decoder::Error::Unsupported(_)) => return whole(bytes).map(|(w, h, d)| (d, w, h)),
        read => read.map_err(jpeg_error)?,
    }
    let info = decoder.info().ok_or(ImagingError::TruncatedImage)?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    limits.check_dimensions(width, height)?;
    let grey = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => true,
        jpeg_decoder::PixelFormat::RGB24 => false,
        _ => return whole(bytes).map(|(w, h, d)| (d, w, h)),
    };
    let (w, h) = crate::resize::fit_within(width, height, long_side);
    let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    let (w, h) = decoder.scale(clamp(w), clamp(h)).map_err(jpeg_error)?;
    let pixels = decoder.decode().map_err(jpeg_error)?;
    let (w, h) = (u32::from(w), u32::from(h));
    let pixels = if grey { pixels.iter().flat_map(|&v| [v, v, v]).collect() } else { pixels };
    let rgb = RgbImage::from_raw(w, h, pixels).ok_or(ImagingError::TruncatedImage)?;
    let exif = decoder.exif_data().map(<[u8]>::to_vec);
    let decoded = upright(Format::Jpeg, (rgb, None, decoder.icc_profile(), exif));
    let (width, height) = if decoded.orientation >= 5 { (height, width) } else { (width, height) };
    Ok((decoded, width, height))
}

fn jpeg_error(e: jpeg_decoder::Error) -> ImagingError {
    match e {
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => ImagingError::TruncatedImage,
        other => ImagingError::CorruptImage(other.to_string()),
    }
}

/// Decoded pixels in sRGB and the right way up.
fn upright(format: Format, (mut rgb, mut alpha, icc, exif): Parts) -> Decoded {
    let icc_converted = match icc {
        Some(profile) => crate::icc::convert_to_srgb(&mut rgb, &profile),
        None => false,
    };
    let orientation = exif.as_deref().map(orientation_from_exif).unwrap_or(1);
    if orientation != 1 {
        rgb = orient(DynamicImage::ImageRgb8(rgb), orientation).into_rgb8();
        alpha = alpha.map(|a| orient(DynamicImage::ImageLuma8(a), orientation).into_luma8());
    }
    let (width, height) = rgb.dimensions();
    Decoded { rgb, alpha, format, width, height, orientation, icc_converted }
}

type Parts = (RgbImage, Option<GrayImage>, Option<Vec<u8>>, Option<Vec<u8>>);

fn decode_with_image(bytes: &[u8], fmt: image::ImageFormat, limits: &Limits) -> Result<Parts, ImagingError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), fmt);
    reader.limits(limits.for_image_crate());
    let mut decoder = reader.into_decoder()?;
    // Header only so far: refuse bombs before allocating pixels.
    let (w, h) = decoder.dimensions();
    limits.check_dimensions(w, h)?;
    let icc = decoder.icc_profile().ok().flatten();
    let exif = decoder.exif_metadata().ok().flatten();
    let img = DynamicImage::from_decoder(decoder)?;
    let (rgb, alpha) = split_alpha(img);
    Ok((rgb, alpha, icc, exif))
}

/// Keep an alpha plane only when it carries information.
pub(crate) fn split_alpha(img: DynamicImage) -> (RgbImage, Option<GrayImage>) {
    if !img.color().has_alpha() {
        return (img.into_rgb8(), None);
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut rgb = RgbImage::new(w, h);
    let mut alpha = GrayImage::new(w, h);
    let mut opaque = true;
    for ((src, dst), a) in rgba.pixels().zip(rgb.pixels_mut()).zip(alpha.pixels_mut()) {
        dst.0 = [src.0[0], src.0[1], src.0[2]];
        a.0 = [src.0[3]];
        opaque &= src.0[3] == 255;
    }
    (rgb, if opaque { None } else { Some(alpha) })
}

/// zune-jpeg fills missing scan data with grey instead of failing, so a cut-off
/// upload would silently look fine: require an EOI marker after the last SOS.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), ImagingError> {
    let last = |m: u8| bytes.windows(2).rposition(|w| w[0] == 0xFF && w[1] == m);
    match (last(0xDA), last(0xD9)) {
        (Some(sos), Some(eoi)) if eoi > sos => Ok(()),
        (None, _) => Err(ImagingError::CorruptImage("no JPEG scan data".into())),
        _ => Err(ImagingError::TruncatedImage),
    }
}

pub(crate) fn orientation_from_exif(raw: &[u8]) -> u16 {
    let Ok(exif) = exif::Reader::new().read_raw(raw.to_vec()) else {
        return 1;
    };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1)
}

fn orient(mut img: DynamicImage, orientation: u16) -> DynamicImage {
    if let Some(o) = u8::try_from(orientation).ok().and_then(image::metadata::Orientation::from_exif) {
        img.apply_orientation(o);
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{encode_rgb, encode_rgba};

    fn sample(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 5) as u8, (y * 8) as u8, 128]))
    }

    #[test]
    fn within_pixels_shrinks_large_images_only() {
        let small = Decoded::from_rgb(sample(300, 200)).within_pixels(60_000).unwrap();
        assert_eq!((small.width, small.height), (300, 200));
        let shrunk = Decoded::from_rgb(sample(300, 200)).within_pixels(15_000).unwrap();
        assert_eq!((shrunk.width, shrunk.height, shrunk.rgb.dimensions()), (150, 100, (150, 100)));
        let alpha = GrayImage::from_pixel(300, 200, image::Luma([128]));
        let with_alpha = Decoded { alpha: Some(alpha), ..Decoded::from_rgb(sample(300, 200)) }.within_pixels(15_000);
        let a = with_alpha.unwrap().alpha.unwrap();
        assert_eq!((a.dimensions(), a.get_pixel(75, 50).0[0]), ((150, 100), 128));
    }

    #[test]
    fn decodes_jpeg_png_webp_round_trip() {
        let img = sample(40, 24);
        for fmt in [Format::Jpeg, Format::Png, Format::Webp] {
            let bytes = encode_rgb(&img, fmt, 95).unwrap();
            let d = decode(&bytes, &Limits::default()).unwrap();
            assert_eq!((d.width, d.height, d.format), (40, 24, fmt));
            assert!(d.alpha.is_none());
            let diff: u32 = d.rgb.as_raw().iter().zip(img.as_raw()).map(|(a, b)| a.abs_diff(*b) as u32).max().unwrap();
            assert!(diff < 40, "{fmt:?} max diff {diff}");
        }
    }

    #[test]
    fn keeps_meaningful_alpha_only() {
        let rgba = image::RgbaImage::from_fn(8, 8, |x, _| image::Rgba([1, 2, 3, if x < 4 { 0 } else { 255 }]));
        let bytes = encode_rgba(&rgba, Format::Png, 90).unwrap();
        let d = decode(&bytes, &Limits::default()).unwrap();
        assert_eq!(d.alpha.as_ref().map(|a| a.get_pixel(0, 0).0[0]), Some(0));
        let opaque = image::RgbaImage::from_pixel(8, 8, image::Rgba([1, 2, 3, 255]));
        let bytes = encode_rgba(&opaque, Format::Png, 90).unwrap();
        assert!(decode(&bytes, &Limits::default()).unwrap().alpha.is_none());
    }

    #[test]
    fn rejects_large_files_and_pixel_bombs_before_decoding() {
        let bytes = encode_rgb(&sample(64, 64), Format::Png, 90).unwrap();
        let tiny = Limits { max_bytes: 10, max_pixels: 1 << 30 };
        assert_eq!(decode(&bytes, &tiny).unwrap_err().code(), "image_too_large");
        let few = Limits { max_bytes: 1 << 30, max_pixels: 64 * 63 };
        assert_eq!(decode(&bytes, &few).unwrap_err().code(), "too_many_pixels");
        // A PNG header claiming 100000×100000 with no data: refused from the header alone.
        let mut bomb = bytes[..33].to_vec();
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let err = decode(&bomb, &Limits::default()).unwrap_err();
        assert!(matches!(err.code(), "too_many_pixels" | "corrupt_image"), "{err}");
    }

    #[test]
    fn truncated_and_corrupt_and_unknown_inputs_have_codes() {
        let img = sample(64, 64);
        for fmt in [Format::Jpeg, Format::Png, Format::Webp] {
            let bytes = encode_rgb(&img, fmt, 90).unwrap();
            let cut = &bytes[..bytes.len() * 2 / 3];
            let err = decode(cut, &Limits::default()).unwrap_err();
            assert!(matches!(err.code(), "truncated_image" | "corrupt_image"), "{fmt:?}: {err:?}");
        }
        let jpeg = encode_rgb(&img, Format::Jpeg, 90).unwrap();
        assert_eq!(decode(&jpeg[..jpeg.len() - 40], &Limits::default()).unwrap_err().code(), "truncated_image");
        let mut garbage = vec![0xFF, 0xD8, 0xFF, 0xE0];
        garbage.extend(std::iter::repeat_n(0x13, 300));
        assert_eq!(decode(&garbage, &Limits::default()).unwrap_err().code(), "corrupt_image");
        assert_eq!(decode(b"GIF89a....", &Limits::default()).unwrap_err().code(), "unsupported_format");
        assert_eq!(decode(b"", &Limits::default()).unwrap_err().code(), "unsupported_format");
    }

    #[test]
    fn heic_is_recognised_and_refused_cleanly_when_not_decodable() {
        let fake = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08mdat";
        let err = decode(fake, &Limits::default()).unwrap_err();
        let want = if heic::is_available() { "corrupt_image" } else { "unsupported_format" };
        assert_eq!(err.code(), want, "{err}");
    }

    /// Minimal little-endian TIFF with one IFD entry: Orientation = 6 (rotate 90° CW).
    fn turned_tiff() -> Vec<u8> {
        [
            &b"II*\0"[..],
            &8u32.to_le_bytes(),
            &1u16.to_le_bytes(),
            &0x0112u16.to_le_bytes(),
            &3u16.to_le_bytes(),
            &1u32.to_le_bytes(),
            &6u16.to_le_bytes(),
            &[0, 0],
            &0u32.to_le_bytes(),
        ]
        .concat()
    }

    #[test]
    fn exif_orientation_is_read_and_applied() {
        let tiff = turned_tiff();
        assert_eq!(orientation_from_exif(&tiff), 6);
        assert_eq!(orientation_from_exif(b"junk"), 1);
        let img = DynamicImage::ImageRgb8(sample(4, 2));
        let turned = orient(img, 6);
        assert_eq!((turned.width(), turned.height()), (2, 4));
    }

    #[test]
    fn reduced_decoding_scales_jpegs_and_reports_the_full_upright_size() {
        let photo = encode_rgb(&sample(1600, 1200), Format::Jpeg, 90).unwrap();
        // 1/4 would give 400×300, short of a 480×360 thumbnail: 1/2 it is.
        let (small, w, h) = decode_reduced(&photo, &Limits::default(), 480).unwrap();
        assert_eq!((small.width, small.height, w, h), (800, 600, 1600, 1200));
        let full = decode(&photo, &Limits::default()).unwrap();
        let (a, b) = (small.rgb.get_pixel(100, 50).0, full.rgb.get_pixel(200, 100).0);
        assert!(a.iter().zip(b).all(|(x, y)| x.abs_diff(y) < 24), "{a:?} vs {b:?}");

        // Turned by its EXIF tag (APP1 right after SOI): both sizes come out upright.
        let tiff = turned_tiff();
        let length = u16::try_from(2 + 6 + tiff.len()).unwrap().to_be_bytes();
        let turned = [&photo[..2], &[0xFF, 0xE1], &length, b"Exif\0\0", &tiff, &photo[2..]].concat();
        let (small, w, h) = decode_reduced(&turned, &Limits::default(), 480).unwrap();
        assert_eq!((small.width, small.height, w, h, small.orientation), (600, 800, 1200, 1600, 6));

        // Refused as `decode` refuses: a pixel bomb before decoding, a cut-off file, garbage.
        let few = Limits { max_bytes: 1 << 30, max_pixels: 1600 * 1199 };
        assert_eq!(decode_reduced(&photo, &few, 480).map(|_| ()).unwrap_err().code(), "too_many_pixels");
        let cut = &photo[..photo.len() - 40];
        assert_eq!(decode_reduced(cut, &Limits::default(), 480).map(|_| ()).unwrap_err().code(), "truncated_image");
        let mut garbage = vec![0xFF, 0xD8, 0xFF, 0xE0];
        garbage.extend(std::iter::repeat_n(0x13, 300));
        assert_eq!(decode_reduced(&garbage, &Limits::default(), 480).map(|_| ()).unwrap_err().code(), "corrupt_image");
        // Other formats are decoded whole.
        let png = encode_rgb(&sample(64, 48), Format::Png, 90).unwrap();
        let (d, w, h) = decode_reduced(&png, &Limits::default(), 16).unwrap();
        assert_eq!((d.width, w, h, d.format), (64, 64, 48, Format::Png));
    }
}

//! HEIC/HEIF input (iPhone photos) through the `heic` crate, which loads the
//! system's libheif when the first one arrives.

use crate::{ImagingError, Limits};

type Parts = (image::RgbImage, Option<image::GrayImage>, Option<Vec<u8>>, Option<Vec<u8>>);

/// Said to a seller: what to do, not how the server was built.
const NOT_HERE: &str = "iPhone HEIC photos cannot be read here yet; please send it as a JPEG (on the iPhone: Settings, Camera, Formats, Most Compatible)";

pub(crate) fn decode_heif(bytes: &[u8], limits: &Limits) -> Result<Parts, ImagingError> {
    // Header dimensions are checked before libheif allocates any pixel.
    let picture = heic::decode(bytes, |w, h| limits.check_dimensions(w, h).is_ok()).map_err(|e| match e {
        heic::Error::Unavailable => ImagingError::UnsupportedFormat(NOT_HERE.into()),
        heic::Error::Refused { width, height } => {
            limits.check_dimensions(width, height).err().unwrap_or(ImagingError::EmptyImage)
        }
        heic::Error::Corrupt(why) => ImagingError::CorruptImage(why),
    })?;
    let heic::Picture { width, height, has_alpha, pixels, icc } = picture;
    // The header passed; the decoded size (rotated) is held to the same limits.
    limits.check_dimensions(width, height)?;
    let dynamic = if has_alpha {
        image::RgbaImage::from_raw(width, height, pixels).map(image::DynamicImage::ImageRgba8)
    } else {
        image::RgbImage::from_raw(width, height, pixels).map(image::DynamicImage::ImageRgb8)
    }
    .ok_or_else(|| ImagingError::CorruptImage("HEIC plane size mismatch".into()))?;
    let (rgb, alpha) = crate::decode::split_alpha(dynamic);
    Ok((rgb, alpha, icc, None))
}

#[cfg(test)]
mod tests {
    use crate::{Limits, decode};

    /// A real iPhone-style HEIC (HEVC in HEIF, 640×480), encoded by
    /// pillow-heif's own libheif build, not by the library that decodes it:
    /// the rendered rose-gold band `tests/rendered/eval/ring-1000001.jpg`
    /// scaled to 640×480 (recipe: tests/fixtures/README.md).
    const RING_HEIC: &[u8] = include_bytes!("../tests/fixtures/ring.heic");

    #[test]
    fn an_iphone_photo_is_read_or_the_seller_is_told_what_to_do() {
        match decode(RING_HEIC, &Limits::default()) {
            Ok(decoded) => {
                assert_eq!((decoded.width, decoded.height), (640, 480));
                // Pale paper in the corner, the rose-gold band in the middle.
                let corner = decoded.rgb.get_pixel(10, 10).0;
                assert!(corner.iter().all(|&c| c > 180), "{corner:?}");
                let band = decoded.rgb.get_pixel(320, 240).0;
                assert!(band[0] > band[2] + 30, "{band:?}");
                assert!(heic::is_available());
            }
            Err(err) => {
                assert!(!heic::is_available(), "libheif is here but failed: {err}");
                let message = err.to_string();
                assert!(message.contains("as a JPEG") && !message.contains("cargo"), "{message}");
            }
        }
    }

    #[test]
    fn a_huge_heic_is_refused_before_decoding() {
        let tight = Limits { max_pixels: 100 * 100, ..Limits::default() };
        let code = decode(RING_HEIC, &tight).unwrap_err().code();
        let want = if heic::is_available() { "too_many_pixels" } else { "unsupported_format" };
        assert_eq!(code, want);
    }
}

//! HEIC/HEIF input (iPhone photos) through the system libheif, behind the
//! `heif` cargo feature so default builds need no C library.

use crate::{ImagingError, Limits};

type Parts = (image::RgbImage, Option<image::GrayImage>, Option<Vec<u8>>, Option<Vec<u8>>);

#[cfg(not(feature = "heif"))]
pub(crate) fn decode_heif(_bytes: &[u8], _limits: &Limits) -> Result<Parts, ImagingError> {
    // Said to a seller: what to do, not how the server was built.
    Err(ImagingError::UnsupportedFormat(
        "iPhone HEIC photos cannot be read here yet; please send it as a JPEG (on the iPhone: Settings, Camera, Formats, Most Compatible)".into(),
    ))
}

#[cfg(feature = "heif")]
pub(crate) fn decode_heif(bytes: &[u8], limits: &Limits) -> Result<Parts, ImagingError> {
    use libheif_rs::{ColorSpace, HeifContext, RgbChroma};

    let corrupt = |e: libheif_rs::HeifError| ImagingError::CorruptImage(e.to_string());
    let ctx = HeifContext::read_from_bytes(bytes).map_err(corrupt)?;
    let handle = ctx.primary_image_handle().map_err(corrupt)?;
    // Header dimensions first: libheif would otherwise allocate the whole image.
    limits.check_dimensions(handle.width(), handle.height())?;
    let icc = handle.color_profile_raw().map(|p| p.data);
    let has_alpha = handle.has_alpha_channel();
    let chroma = if has_alpha { RgbChroma::Rgba } else { RgbChroma::Rgb };
    // libheif applies the container's rotation/mirror itself: no EXIF step after.
    let img = handle.decode(ColorSpace::Rgb(chroma), None).map_err(corrupt)?;
    let planes = img.planes();
    let plane =
        planes.interleaved.ok_or_else(|| ImagingError::CorruptImage("HEIC without interleaved plane".into()))?;
    let (w, h) = (plane.width, plane.height);
    limits.check_dimensions(w, h)?;
    let channels = if has_alpha { 4 } else { 3 };
    let row_len = w as usize * channels;
    let mut data = Vec::with_capacity(row_len * h as usize);
    for y in 0..h as usize {
        let start = y * plane.stride;
        let row = plane.data.get(start..start + row_len).ok_or(ImagingError::TruncatedImage)?;
        data.extend_from_slice(row);
    }
    let dynamic = if has_alpha {
        image::RgbaImage::from_raw(w, h, data).map(image::DynamicImage::ImageRgba8)
    } else {
        image::RgbImage::from_raw(w, h, data).map(image::DynamicImage::ImageRgb8)
    }
    .ok_or_else(|| ImagingError::CorruptImage("HEIC plane size mismatch".into()))?;
    let (rgb, alpha) = crate::decode::split_alpha(dynamic);
    Ok((rgb, alpha, icc, None))
}

#[cfg(all(test, not(feature = "heif")))]
mod tests {
    #[test]
    fn without_libheif_the_seller_is_told_what_to_do() {
        let message = super::decode_heif(&[], &crate::Limits::default()).unwrap_err().to_string();
        assert!(message.contains("as a JPEG") && !message.contains("cargo"), "{message}");
    }
}

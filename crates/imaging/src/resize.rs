//! All resampling goes through fast_image_resize (SIMD convolution, far faster
//! than `image::imageops`). Callers pick the filter: Lanczos3 for the output
//! (sharp upscaling), Box/Bilinear for analysis copies.

use fast_image_resize::{
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
};
use image::{GrayImage, ImageBuffer, Pixel, RgbImage, RgbaImage};

use crate::ImagingError;

/// A source rectangle in source pixels (fractional edges allowed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SrcRect {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

fn err(e: impl std::fmt::Display) -> ImagingError {
    ImagingError::InvalidRecipe(format!("resize: {e}"))
}

fn resize_raw<P: Pixel<Subpixel = u8>>(
    src: &ImageBuffer<P, Vec<u8>>,
    pixel_type: PixelType,
    width: u32,
    height: u32,
    filter: FilterType,
    crop: Option<SrcRect>,
    alpha: bool,
) -> Result<ImageBuffer<P, Vec<u8>>, ImagingError> {
    if width == 0 || height == 0 || src.width() == 0 || src.height() == 0 {
        return Err(ImagingError::EmptyImage);
    }
    let src_view = ImageRef::new(src.width(), src.height(), src.as_raw(), pixel_type).map_err(err)?;
    let mut dst = Image::new(width, height, pixel_type);
    let mut opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter)).use_alpha(alpha);
    if let Some(c) = crop {
        opts = opts.crop(c.left, c.top, c.width, c.height);
    }
    Resizer::new().resize(&src_view, &mut dst, &opts).map_err(err)?;
    ImageBuffer::from_raw(width, height, dst.into_vec()).ok_or_else(|| err("buffer size"))
}

pub fn resize_rgb(
    src: &RgbImage,
    width: u32,
    height: u32,
    filter: FilterType,
    crop: Option<SrcRect>,
) -> Result<RgbImage, ImagingError> {
    resize_raw(src, PixelType::U8x3, width, height, filter, crop, false)
}

/// RGBA with premultiplied-alpha filtering, so transparent pixels' colours never bleed in.
pub fn resize_rgba(
    src: &RgbaImage,
    width: u32,
    height: u32,
    filter: FilterType,
    crop: Option<SrcRect>,
) -> Result<RgbaImage, ImagingError> {
    resize_raw(src, PixelType::U8x4, width, height, filter, crop, true)
}

pub fn resize_gray(
    src: &GrayImage,
    width: u32,
    height: u32,
    filter: FilterType,
    crop: Option<SrcRect>,
) -> Result<GrayImage, ImagingError> {
    resize_raw(src, PixelType::U8, width, height, filter, crop, false)
}

/// Size that fits `w×h` inside a `max_side` square, keeping the aspect ratio.
pub fn fit_within(w: u32, h: u32, max_side: u32) -> (u32, u32) {
    let long = w.max(h).max(1);
    if long <= max_side {
        return (w.max(1), h.max(1));
    }
    let s = f64::from(max_side) / f64::from(long);
    (((f64::from(w) * s).round() as u32).clamp(1, max_side), ((f64::from(h) * s).round() as u32).clamp(1, max_side))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizes_and_crops() {
        let src = RgbImage::from_fn(100, 50, |x, _| image::Rgb([if x < 50 { 0 } else { 200 }; 3]));
        let out = resize_rgb(&src, 10, 5, FilterType::Box, None).unwrap();
        assert_eq!(out.dimensions(), (10, 5));
        assert_eq!(out.get_pixel(0, 0).0[0], 0);
        assert_eq!(out.get_pixel(9, 4).0[0], 200);
        let right = SrcRect { left: 60.0, top: 0.0, width: 40.0, height: 50.0 };
        let crop = resize_rgb(&src, 4, 5, FilterType::Box, Some(right)).unwrap();
        assert!(crop.pixels().all(|p| p.0[0] == 200));
        assert!(resize_rgb(&src, 0, 5, FilterType::Box, None).is_err());
    }

    #[test]
    fn rgba_resize_does_not_bleed_transparent_colour() {
        let src =
            RgbaImage::from_fn(
                20,
                1,
                |x, _| {
                    if x < 10 { image::Rgba([255, 0, 0, 0]) } else { image::Rgba([0, 0, 255, 255]) }
                },
            );
        let out = resize_rgba(&src, 7, 1, FilterType::Lanczos3, None).unwrap();
        for p in out.pixels().filter(|p| p.0[3] > 20) {
            assert!(p.0[0] < 30, "{p:?}");
        }
    }

    #[test]
    fn fits_within_box() {
        assert_eq!(fit_within(4000, 3000, 400), (400, 300));
        assert_eq!(fit_within(300, 200, 400), (300, 200));
        assert_eq!(fit_within(1, 100_000, 100), (1, 100));
    }
}

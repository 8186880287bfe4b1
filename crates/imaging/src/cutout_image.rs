//! A cutout delivered the way background-removal APIs deliver it (remove.bg's options): in
//! the photo's own frame, or cropped to the subject with a margin; the subject optionally
//! scaled and placed on that canvas; on transparency or a colour; as RGBA or the alpha
//! alone; no larger than a pixel budget. Unlike `render`, nothing is recentred or padded
//! unless asked.

use image::{DynamicImage, GrayImage, Rgb, RgbImage, RgbaImage};

use crate::frame::{BBox, subject_bbox};
use crate::resize::{SrcRect, resize_rgba};
use crate::{Colour, ImagingError, Matte};

/// Space kept around a cropped subject.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Margin {
    Pixels(u32),
    /// A fraction of the subject's larger side.
    Share(f32),
}

/// Where the subject sits on the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// Where it was in the photo.
    Original,
    /// Left and top of the free space, each 0–1 (0.5, 0.5 is centred).
    At(f32, f32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The output has at most this many pixels (scaled down, never up).
    pub max_pixels: u64,
    /// Crop the canvas to the subject plus `margin`.
    pub crop: Option<Margin>,
    /// The subject's size as a share (0.1–1) of the canvas, instead of its own.
    pub scale: Option<f32>,
    /// `None`: where it was, or centred when scaled.
    pub position: Option<Position>,
    /// Flattened onto this colour instead of transparency.
    pub background: Option<Colour>,
    /// The alpha channel alone, as a greyscale image.
    pub alpha_only: bool,
}

/// The image and where the subject ended up in it.
pub struct CutoutImage {
    pub image: DynamicImage,
    pub subject: BBox,
}

/// Frames `matte` as `o` asks.
pub fn cutout_image(matte: &Matte, o: &Options) -> Result<CutoutImage, ImagingError> {
    let (w, h) = matte.alpha.dimensions();
    let bbox = subject_bbox(&matte.alpha, 8).ok_or(ImagingError::NoSubjectFound)?;
    let (bw, bh) = (f64::from(bbox.width()), f64::from(bbox.height()));
    // Canvas in photo pixels, and where its top-left corner lies in the photo.
    let (canvas_w, canvas_h, origin_x, origin_y) = match o.crop {
        None => (f64::from(w), f64::from(h), 0.0, 0.0),
        Some(margin) => {
            let m = match margin {
                Margin::Pixels(px) => f64::from(px),
                Margin::Share(s) => f64::from(s.clamp(0.0, 0.5)) * bw.max(bh),
            };
            (bw + 2.0 * m, bh + 2.0 * m, f64::from(bbox.x0) - m, f64::from(bbox.y0) - m)
        }
    };
    // The subject's scale on the canvas, then the whole output's, to fit the budget.
    let k = o.scale.map_or(1.0, |s| f64::from(s.clamp(0.1, 1.0)) * (canvas_w / bw).min(canvas_h / bh));
    let budget = o.max_pixels.max(1) as f64;
    let g = (budget / (canvas_w * canvas_h)).sqrt().min(1.0);
    let out_w = (canvas_w * g).round().max(1.0) as u32;
    let out_h = (canvas_h * g).round().max(1.0) as u32;
    let sub_w = (bw * k * g).round().clamp(1.0, f64::from(out_w.max(1)) * 4.0) as u32;
    let sub_h = (bh * k * g).round().clamp(1.0, f64::from(out_h.max(1)) * 4.0) as u32;
    let position = o.position.unwrap_or(if o.scale.is_some() { Position::At(0.5, 0.5) } else { Position::Original });
    let (left, top) = match position {
        Position::Original => {
            (((f64::from(bbox.x0) - origin_x) * g).round() as i64, ((f64::from(bbox.y0) - origin_y) * g).round() as i64)
        }
        Position::At(x, y) => (
            ((f64::from(out_w) - f64::from(sub_w)) * f64::from(x.clamp(0.0, 1.0))).round() as i64,
            ((f64::from(out_h) - f64::from(sub_h)) * f64::from(y.clamp(0.0, 1.0))).round() as i64,
        ),
    };
    let src = SrcRect { left: f64::from(bbox.x0), top: f64::from(bbox.y0), width: bw, height: bh };
    let subject = resize_rgba(&matte.to_rgba(), sub_w, sub_h, fast_image_resize::FilterType::Lanczos3, Some(src))?;
    let mut canvas = RgbaImage::new(out_w, out_h);
    for (x, y, p) in subject.enumerate_pixels() {
        let (cx, cy) = (left + i64::from(x), top + i64::from(y));
        if (0..i64::from(out_w)).contains(&cx) && (0..i64::from(out_h)).contains(&cy) {
            canvas.put_pixel(cx as u32, cy as u32, *p);
        }
    }
    let clamp = |v: i64, max: u32| v.clamp(0, i64::from(max)) as u32;
    let placed = BBox {
        x0: clamp(left, out_w),
        y0: clamp(top, out_h),
        x1: clamp(left + i64::from(sub_w), out_w),
        y1: clamp(top + i64::from(sub_h), out_h),
    };
    let image = if o.alpha_only {
        DynamicImage::ImageLuma8(GrayImage::from_fn(out_w, out_h, |x, y| image::Luma([canvas.get_pixel(x, y).0[3]])))
    } else if let Some(Colour(bg)) = o.background {
        DynamicImage::ImageRgb8(RgbImage::from_fn(out_w, out_h, |x, y| {
            let p = canvas.get_pixel(x, y).0;
            let a = u32::from(p[3]);
            let mix = |c: u8, b: u8| ((u32::from(c) * a + u32::from(b) * (255 - a) + 127) / 255) as u8;
            Rgb([mix(p[0], bg[0]), mix(p[1], bg[1]), mix(p[2], bg[2])])
        }))
    } else {
        DynamicImage::ImageRgba8(canvas)
    };
    Ok(CutoutImage { image, subject: placed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PaperInfo;

    /// A 200×100 photo whose subject is a 40×20 block at (120, 30).
    fn matte() -> Matte {
        let alpha = GrayImage::from_fn(200, 100, |x, y| {
            image::Luma([if (120..160).contains(&x) && (30..50).contains(&y) { 255 } else { 0 }])
        });
        let foreground = RgbImage::from_pixel(200, 100, Rgb([200, 160, 40]));
        Matte { alpha, foreground, paper: PaperInfo { colour: [250.0; 3], neutral: true }, confidence: 0.9 }
    }

    fn options() -> Options {
        Options { max_pixels: 1 << 30, crop: None, scale: None, position: None, background: None, alpha_only: false }
    }

    #[test]
    fn the_photos_own_frame_keeps_the_subject_where_it_was() {
        let out = cutout_image(&matte(), &options()).unwrap();
        assert_eq!((out.image.width(), out.image.height()), (200, 100));
        assert_eq!(out.subject, BBox { x0: 120, y0: 30, x1: 160, y1: 50 });
        let rgba = out.image.to_rgba8();
        assert_eq!(rgba.get_pixel(130, 40).0, [200, 160, 40, 255]);
        assert_eq!(rgba.get_pixel(10, 10).0[3], 0);
    }

    #[test]
    fn crop_margin_scale_position_background_and_budget() {
        let cropped = cutout_image(&matte(), &Options { crop: Some(Margin::Pixels(10)), ..options() }).unwrap();
        assert_eq!((cropped.image.width(), cropped.image.height()), (60, 40));
        assert_eq!(cropped.subject, BBox { x0: 10, y0: 10, x1: 50, y1: 30 });

        let scaled = cutout_image(&matte(), &Options { scale: Some(0.5), ..options() }).unwrap();
        // Half the canvas's limiting side (height 100 → 50 tall, 100 wide), centred.
        assert_eq!(scaled.subject, BBox { x0: 50, y0: 25, x1: 150, y1: 75 });
        let corner =
            cutout_image(&matte(), &Options { scale: Some(0.5), position: Some(Position::At(0.0, 1.0)), ..options() })
                .unwrap();
        assert_eq!(corner.subject, BBox { x0: 0, y0: 50, x1: 100, y1: 100 });

        let white = cutout_image(&matte(), &Options { background: Some(Colour::WHITE), ..options() }).unwrap();
        assert_eq!(white.image.as_rgb8().unwrap().get_pixel(5, 5).0, [255, 255, 255]);
        let alpha = cutout_image(&matte(), &Options { alpha_only: true, ..options() }).unwrap();
        assert_eq!(alpha.image.as_luma8().unwrap().get_pixel(130, 40).0, [255]);

        let small = cutout_image(&matte(), &Options { max_pixels: 5000, ..options() }).unwrap();
        assert_eq!((small.image.width(), small.image.height()), (100, 50));
        assert_eq!(small.subject, BBox { x0: 60, y0: 15, x1: 80, y1: 25 });
    }

    #[test]
    fn an_empty_matte_has_no_subject() {
        let mut m = matte();
        m.alpha = GrayImage::new(200, 100);
        assert!(matches!(cutout_image(&m, &options()), Err(ImagingError::NoSubjectFound)));
    }
}

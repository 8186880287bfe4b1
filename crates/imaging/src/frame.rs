//! Framing: the subject's box, how large it sits in the canvas, and which part
//! of the source lands where.

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

/// Pixel box, `x1`/`y1` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BBox {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl BBox {
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }
}

/// Box around pixels with alpha ≥ `threshold`; None when there are none.
pub fn subject_bbox(alpha: &GrayImage, threshold: u8) -> Option<BBox> {
    let (w, h) = alpha.dimensions();
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0u32, 0u32);
    for (y, row) in alpha.rows().enumerate() {
        let y = y as u32;
        let mut first = None;
        let mut last = None;
        for (x, p) in row.enumerate() {
            if p.0[0] >= threshold {
                first.get_or_insert(x as u32);
                last = Some(x as u32);
            }
        }
        if let (Some(f), Some(l)) = (first, last) {
            x0 = x0.min(f);
            x1 = x1.max(l + 1);
            y0 = y0.min(y);
            y1 = y1.max(y + 1);
        }
    }
    (x1 > x0 && y1 > y0 && x1 <= w && y1 <= h).then_some(BBox { x0, y0, x1, y1 })
}

/// Where the subject goes: the source rectangle `src` (integer pixels, inside
/// the `image`-sized source) is resampled into `dst` on a `canvas`-sized image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub canvas: (u32, u32),
    /// Size of the image `src` is measured in (the matte's).
    pub image: (u32, u32),
    pub src: BBox,
    /// Destination rectangle on the canvas (may be clipped by the canvas).
    pub dst: BBox,
    /// Source pixels per canvas pixel is 1/scale.
    pub scale: f64,
}

/// Fit `subject` into the area `area` (x, y, w, h) of a canvas so that its longer
/// relative extent fills `fill` of the area, centred. `margin` source pixels
/// around the subject come along (anti-aliased edges). `extent` is everything
/// that may be drawn (the whole piece; larger than `subject` for a close-up).
pub fn place(
    subject: BBox,
    extent: BBox,
    image: (u32, u32),
    canvas: (u32, u32),
    area: (u32, u32, u32, u32),
    fill: f64,
) -> Option<Placement> {
    let (bw, bh) = (f64::from(subject.width().max(1)), f64::from(subject.height().max(1)));
    let (ax, ay, aw, ah) = (f64::from(area.0), f64::from(area.1), f64::from(area.2), f64::from(area.3));
    if aw < 1.0 || ah < 1.0 {
        return None;
    }
    let scale = fill * (aw / bw).min(ah / bh);
    // Canvas position of the subject box's corner.
    let cx = ax + (aw - bw * scale) / 2.0;
    let cy = ay + (ah - bh * scale) / 2.0;
    // Source region = subject + a margin, clipped to the image and to what the canvas shows.
    let margin = (bw.max(bh) * 0.04).max(4.0);
    let to_src_x = |x: f64| f64::from(subject.x0) + (x - cx) / scale;
    let to_src_y = |y: f64| f64::from(subject.y0) + (y - cy) / scale;
    let sx0 = (f64::from(extent.x0) - margin).max(0.0).max(to_src_x(0.0)).floor();
    let sy0 = (f64::from(extent.y0) - margin).max(0.0).max(to_src_y(0.0)).floor();
    let sx1 = (f64::from(extent.x1) + margin).min(f64::from(image.0)).min(to_src_x(f64::from(canvas.0))).ceil();
    let sy1 = (f64::from(extent.y1) + margin).min(f64::from(image.1)).min(to_src_y(f64::from(canvas.1))).ceil();
    if sx1 <= sx0 || sy1 <= sy0 {
        return None;
    }
    let to_dst_x = |x: f64| cx + (x - f64::from(subject.x0)) * scale;
    let to_dst_y = |y: f64| cy + (y - f64::from(subject.y0)) * scale;
    let dx0 = to_dst_x(sx0).round().clamp(0.0, f64::from(canvas.0));
    let dy0 = to_dst_y(sy0).round().clamp(0.0, f64::from(canvas.1));
    let dx1 = to_dst_x(sx1).round().clamp(0.0, f64::from(canvas.0));
    let dy1 = to_dst_y(sy1).round().clamp(0.0, f64::from(canvas.1));
    if dx1 <= dx0 || dy1 <= dy0 {
        return None;
    }
    Some(Placement {
        canvas,
        image,
        src: BBox { x0: sx0 as u32, y0: sy0 as u32, x1: sx1 as u32, y1: sy1 as u32 },
        dst: BBox { x0: dx0 as u32, y0: dy0 as u32, x1: dx1 as u32, y1: dy1 as u32 },
        scale,
    })
}

/// Paper around the photo where the canvas reaches past it, in a "before" view.
const BEYOND_PHOTO: [u8; 3] = [236, 234, 230];

/// The photo as it lay before the cutout, framed exactly as `place` framed the
/// piece: pixel (x, y) of the result shows what was under pixel (x, y) of the
/// finished image, scaled to `size` pixels on the canvas's long side. `photo`
/// may be decoded at another resolution than the one `place` was measured in.
pub fn before(photo: &RgbImage, place: &Placement, size: u32) -> RgbImage {
    let (cw, ch) = (f64::from(place.canvas.0.max(1)), f64::from(place.canvas.1.max(1)));
    let out_scale = (f64::from(size.max(1)) / cw.max(ch)).min(1.0);
    let (ow, oh) = (((cw * out_scale).round() as u32).max(1), ((ch * out_scale).round() as u32).max(1));
    // Canvas → source as the renderer resampled it: `src` stretched onto `dst`.
    let (src, dst) = (place.src, place.dst);
    let per_x = f64::from(src.width().max(1)) / f64::from(dst.width().max(1));
    let per_y = f64::from(src.height().max(1)) / f64::from(dst.height().max(1));
    let to_photo_x = f64::from(photo.width()) / f64::from(place.image.0.max(1));
    let to_photo_y = f64::from(photo.height()) / f64::from(place.image.1.max(1));
    RgbImage::from_fn(ow, oh, |x, y| {
        let cx = (f64::from(x) + 0.5) * cw / f64::from(ow);
        let cy = (f64::from(y) + 0.5) * ch / f64::from(oh);
        let sx = (f64::from(src.x0) + (cx - f64::from(dst.x0)) * per_x) * to_photo_x;
        let sy = (f64::from(src.y0) + (cy - f64::from(dst.y0)) * per_y) * to_photo_y;
        image::Rgb(sample(photo, sx, sy).unwrap_or(BEYOND_PHOTO))
    })
}

/// Bilinear sample at continuous coordinates (pixel centres at +0.5); None off the photo.
fn sample(photo: &RgbImage, x: f64, y: f64) -> Option<[u8; 3]> {
    let (w, h) = (photo.width(), photo.height());
    if x < 0.0 || y < 0.0 || x >= f64::from(w) || y >= f64::from(h) {
        return None;
    }
    let (fx, fy) = ((x - 0.5).max(0.0), (y - 0.5).max(0.0));
    let (x0, y0) = ((fx as u32).min(w - 1), (fy as u32).min(h - 1));
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (tx, ty) = (fx - f64::from(x0), fy - f64::from(y0));
    let px = |x, y| photo.get_pixel(x, y).0.map(f64::from);
    let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
    Some(std::array::from_fn(|i| {
        let top = a[i] + (b[i] - a[i]) * tx;
        let bottom = c[i] + (d[i] - c[i]) * tx;
        (top + (bottom - top) * ty).round().clamp(0.0, 255.0) as u8
    }))
}

/// A close-up: a box 55 % of the subject's size over its densest part (most
/// alpha mass: the stone and setting rather than an empty ring interior).
pub fn closeup_box(alpha: &GrayImage, subject: BBox) -> BBox {
    let (sw, sh) = (subject.width(), subject.height());
    let cell = (sw.max(sh) / 64).max(1);
    let (gw, gh) = (sw.div_ceil(cell) as usize, sh.div_ceil(cell) as usize);
    // Integral image of alpha mass per cell.
    let mut integral = vec![0f64; (gw + 1) * (gh + 1)];
    let mut mass = vec![0f64; gw * gh];
    for y in subject.y0..subject.y1 {
        for x in subject.x0..subject.x1 {
            let (gx, gy) = (((x - subject.x0) / cell) as usize, ((y - subject.y0) / cell) as usize);
            mass[gy * gw + gx] += f64::from(alpha.get_pixel(x, y).0[0]);
        }
    }
    for gy in 0..gh {
        for gx in 0..gw {
            integral[(gy + 1) * (gw + 1) + gx + 1] =
                mass[gy * gw + gx] + integral[gy * (gw + 1) + gx + 1] + integral[(gy + 1) * (gw + 1) + gx]
                    - integral[gy * (gw + 1) + gx];
        }
    }
    let (ww, wh) =
        (((gw as f64 * 0.55).round() as usize).clamp(1, gw), ((gh as f64 * 0.55).round() as usize).clamp(1, gh));
    let mut best = (f64::MIN, 0usize, 0usize);
    for y in 0..=gh - wh {
        for x in 0..=gw - ww {
            let sum = integral[(y + wh) * (gw + 1) + x + ww]
                - integral[y * (gw + 1) + x + ww]
                - integral[(y + wh) * (gw + 1) + x]
                + integral[y * (gw + 1) + x];
            if sum > best.0 {
                best = (sum, x, y);
            }
        }
    }
    let x0 = subject.x0 + best.1 as u32 * cell;
    let y0 = subject.y0 + best.2 as u32 * cell;
    let b = BBox { x0, y0, x1: (x0 + ww as u32 * cell).min(subject.x1), y1: (y0 + wh as u32 * cell).min(subject.y1) };
    if b.width() == 0 || b.height() == 0 { subject } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_of_alpha() {
        let mut a = GrayImage::new(20, 10);
        a.put_pixel(3, 2, image::Luma([200]));
        a.put_pixel(15, 7, image::Luma([255]));
        a.put_pixel(18, 9, image::Luma([5]));
        assert_eq!(subject_bbox(&a, 16), Some(BBox { x0: 3, y0: 2, x1: 16, y1: 8 }));
        assert_eq!(subject_bbox(&GrayImage::new(4, 4), 16), None);
    }

    #[test]
    fn placement_fills_the_requested_share() {
        let subject = BBox { x0: 1000, y0: 500, x1: 2000, y1: 2500 };
        let p = place(subject, subject, (4000, 3000), (2000, 2000), (0, 0, 2000, 2000), 0.85).unwrap();
        // Subject height 2000 src px → 1700 canvas px.
        assert!((p.scale - 0.85).abs() < 1e-9);
        let subj_top = 1000.0 - 2000.0 * 0.85 / 2.0;
        let top_of_dst = f64::from(p.dst.y0) + (f64::from(subject.y0) - f64::from(p.src.y0)) * p.scale;
        assert!((top_of_dst - subj_top).abs() <= 1.0, "{p:?}");
        assert!(p.dst.x1 <= 2000 && p.dst.y1 <= 2000);
        assert!(p.src.x0 < subject.x0 && p.src.x1 > subject.x1);
    }

    #[test]
    fn before_lines_up_with_the_placed_piece() {
        // A 400×300 photo, grey, with a red 40×20 "piece" at (200, 100).
        let photo = RgbImage::from_fn(400, 300, |x, y| {
            let piece = (200..240).contains(&x) && (100..120).contains(&y);
            image::Rgb(if piece { [200, 30, 30] } else { [120, 120, 120] })
        });
        let subject = BBox { x0: 200, y0: 100, x1: 240, y1: 120 };
        let p = place(subject, subject, (400, 300), (1000, 1000), (0, 0, 1000, 1000), 0.8).unwrap();
        // The matte was measured on a half-size copy: the placement is in its pixels.
        let half = Placement {
            image: (200, 150),
            src: BBox { x0: p.src.x0 / 2, y0: p.src.y0 / 2, x1: p.src.x1 / 2, y1: p.src.y1 / 2 },
            ..p
        };
        for (place, photo) in [(p, photo.clone()), (half, photo)] {
            let b = before(&photo, &place, 500);
            assert_eq!(b.dimensions(), (500, 500));
            // The piece fills 80 % of the canvas's width, centred: x 100..900 of 1000,
            // y 300..700; one source pixel spans 20 canvas pixels (10 here).
            assert_eq!(b.get_pixel(250, 250).0, [200, 30, 30], "centre of the piece");
            assert_eq!(b.get_pixel(40, 250).0, [120, 120, 120], "photo left of the piece");
            assert_eq!(b.get_pixel(60, 250).0, [200, 30, 30], "its left edge, within a source pixel");
            assert_eq!(b.get_pixel(250, 140).0, [120, 120, 120], "photo above it");
            assert_eq!(b.get_pixel(250, 160).0, [200, 30, 30]);
        }
        // A canvas reaching past the photo's top shows plain paper there.
        let tall = place(subject, subject, (400, 300), (400, 4000), (0, 0, 400, 4000), 0.9).unwrap();
        assert_eq!(before(&RgbImage::new(400, 300), &tall, 1000).get_pixel(50, 2).0, BEYOND_PHOTO);
    }

    #[test]
    fn closeup_is_inside_smaller_and_on_the_dense_part() {
        // A thin ring outline with a solid "stone" in its top-right corner.
        let a = GrayImage::from_fn(100, 100, |x, y| {
            let outline =
                (20..80).contains(&x) && (30..90).contains(&y) && !((23..77).contains(&x) && (33..87).contains(&y));
            let stone = (55..80).contains(&x) && (30..55).contains(&y);
            image::Luma([if outline || stone { 255 } else { 0 }])
        });
        let s = subject_bbox(&a, 128).unwrap();
        let c = closeup_box(&a, s);
        assert!(c.width() < s.width() && c.height() < s.height());
        assert!(c.x0 >= s.x0 && c.x1 <= s.x1);
        assert!(c.x1 >= 78 && c.y0 <= 32, "{c:?} covers the stone");
    }
}

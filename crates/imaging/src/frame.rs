//! Framing: the subject's box, how large it sits in the canvas, and which part
//! of the source lands where.

use image::GrayImage;
use serde::Serialize;

/// Pixel box, `x1`/`y1` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
/// the image) is resampled into `dst` on a `canvas`-sized image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Placement {
    pub canvas: (u32, u32),
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
        src: BBox { x0: sx0 as u32, y0: sy0 as u32, x1: sx1 as u32, y1: sy1 as u32 },
        dst: BBox { x0: dx0 as u32, y0: dy0 as u32, x1: dx1 as u32, y1: dy1 as u32 },
        scale,
    })
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

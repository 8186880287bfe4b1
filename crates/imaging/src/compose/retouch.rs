//! Dust and spot removal on the jewellery: single specks (1–3 px) that stand
//! out from a smooth surrounding ring are replaced by that ring's colour. Glints
//! sit on structured surroundings and are left alone.

use image::RgbaImage;

/// Returns the number of specks removed.
pub fn remove_dust(img: &mut RgbaImage, threshold: f32) -> usize {
    let (w, h) = (img.width() as i64, img.height() as i64);
    if w < 7 || h < 7 {
        return 0;
    }
    let luma = |p: &image::Rgba<u8>| 0.299 * f32::from(p.0[0]) + 0.587 * f32::from(p.0[1]) + 0.114 * f32::from(p.0[2]);
    // Ring of pixels at chessboard distance 3 around the centre.
    let ring: Vec<(i64, i64)> = (-3..=3)
        .flat_map(|dy| (-3..=3).map(move |dx| (dx, dy)))
        .filter(|(dx, dy): &(i64, i64)| dx.abs().max(dy.abs()) == 3)
        .collect();
    let mut fixes = Vec::new();
    for y in 3..h - 3 {
        for x in 3..w - 3 {
            let centre = img.get_pixel(x as u32, y as u32);
            if centre.0[3] < 255 {
                continue;
            }
            let cl = luma(centre);
            // A speck differs from every ring pixel by > 0.8·threshold: cheap reject.
            let probe = img.get_pixel((x + 3) as u32, y as u32);
            if (cl - luma(probe)).abs() <= threshold * 0.8 {
                continue;
            }
            let (mut lo, mut hi, mut sum, mut opaque) = (f32::MAX, f32::MIN, [0f32; 3], true);
            for (dx, dy) in &ring {
                let p = img.get_pixel((x + dx) as u32, (y + dy) as u32);
                opaque &= p.0[3] == 255;
                let l = luma(p);
                lo = lo.min(l);
                hi = hi.max(l);
                for c in 0..3 {
                    sum[c] += f32::from(p.0[c]);
                }
            }
            let mean_l = (lo + hi) / 2.0;
            if opaque && hi - lo < threshold * 0.4 && (cl - mean_l).abs() > threshold {
                let n = ring.len() as f32;
                fixes.push((x, y, sum.map(|s| (s / n).round() as u8)));
            }
        }
    }
    let count = fixes.len();
    for (x, y, c) in fixes {
        // The speck may spread over its 3×3: paint those that also stand out.
        for dy in -1..=1 {
            for dx in -1..=1 {
                let p = img.get_pixel_mut((x + dx) as u32, (y + dy) as u32);
                let l = 0.299 * f32::from(p.0[0]) + 0.587 * f32::from(p.0[1]) + 0.114 * f32::from(p.0[2]);
                let cl = 0.299 * f32::from(c[0]) + 0.587 * f32::from(c[1]) + 0.114 * f32::from(c[2]);
                if (l - cl).abs() > threshold * 0.3 || (dx == 0 && dy == 0) {
                    p.0 = [c[0], c[1], c[2], p.0[3]];
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_a_speck_but_keeps_an_edge() {
        let mut img = RgbaImage::from_fn(30, 30, |x, _| {
            let v = if x < 20 { 180 } else { 90 };
            image::Rgba([v, v, v, 255])
        });
        img.put_pixel(8, 8, image::Rgba([40, 40, 40, 255]));
        let edge_before = img.get_pixel(20, 15).0;
        let n = remove_dust(&mut img, 30.0);
        assert_eq!(n, 1);
        assert_eq!(img.get_pixel(8, 8).0, [180, 180, 180, 255]);
        assert_eq!(img.get_pixel(20, 15).0, edge_before);
    }
}

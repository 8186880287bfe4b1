//! Specks: small, faint islands of alpha. Paper grain and sensor noise pass
//! the band's colour test here and there, mostly next to the outline; on a
//! marketplace's pure white they show as grey dust (and fail its background
//! check). Jewellery, even a lone stud or a chain link cut off by the
//! threshold, usually has an opaque core, so an island is dropped only when it
//! is both small and never more than faint, wherever it lies. The price: a
//! separate piece that small and that faint everywhere (a clear stone alone on
//! white) goes too; the brush brings it back.

use image::GrayImage;

/// Alpha at or below this is empty (as the renderer's floor treats it).
const EMPTY: u8 = 8;

/// Clears every 8-connected island of alpha above `EMPTY` whose strongest pixel is
/// below `peak` and whose area is at most `max_area` pixels. Returns how many went.
pub(crate) fn clear(alpha: &mut GrayImage, peak: u8, max_area: usize) -> usize {
    let (w, h) = (alpha.width() as usize, alpha.height() as usize);
    let mut seen = vec![false; w * h];
    let mut island = Vec::new();
    let mut stack = Vec::new();
    let mut cleared = 0;
    for start in 0..w * h {
        if seen[start] || alpha.as_raw()[start] <= EMPTY {
            continue;
        }
        island.clear();
        stack.push(start);
        seen[start] = true;
        let mut strongest = 0u8;
        while let Some(i) = stack.pop() {
            island.push(i);
            strongest = strongest.max(alpha.as_raw()[i]);
            let (x, y) = (i % w, i / w);
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let j = ny * w + nx;
                    if !seen[j] && alpha.as_raw()[j] > EMPTY {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if strongest < peak && island.len() <= max_area {
            let data: &mut [u8] = alpha;
            island.iter().for_each(|&i| data[i] = 0);
            cleared += 1;
        }
    }
    cleared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faint_dust_goes_and_jewellery_stays() {
        let mut a = GrayImage::new(60, 40);
        // The piece: a faint rim around an opaque core.
        for (x, y, p) in a.enumerate_pixels_mut() {
            if (10..30).contains(&x) && (10..30).contains(&y) {
                p.0[0] = if (14..26).contains(&x) && (14..26).contains(&y) { 255 } else { 40 };
            }
        }
        a.put_pixel(40, 5, image::Luma([60])); // dust
        a.put_pixel(41, 6, image::Luma([30])); // the same speck, diagonally joined
        a.put_pixel(50, 30, image::Luma([200])); // a tiny bright part: a stone's glint
        for x in 35..58 {
            a.put_pixel(x, 36, image::Luma([50])); // a long faint wire, larger than dust
        }
        assert_eq!(clear(&mut a, 96, 16), 1);
        assert_eq!((a.get_pixel(40, 5).0[0], a.get_pixel(41, 6).0[0]), (0, 0));
        assert_eq!(a.get_pixel(11, 11).0[0], 40, "the piece's soft rim stays");
        assert_eq!(a.get_pixel(50, 30).0[0], 200);
        assert_eq!(a.get_pixel(45, 36).0[0], 50);
    }
}

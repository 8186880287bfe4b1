//! Metal recolour: pixels whose chroma matches the piece's dominant metal take
//! the target metal's colour with their own brightness; stones, pearls and
//! enamel (other chroma) keep theirs.

use image::RgbaImage;

use crate::recipe::Metal;

fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

/// Brightness-independent chroma: opponent axes divided by luma.
fn chroma(p: [f32; 3]) -> [f32; 2] {
    let l = luma(p).max(16.0);
    [(p[0] - p[1]) / l, ((p[0] + p[1]) * 0.5 - p[2]) / l]
}

/// Median chroma of the opaque subject: the metal usually dominates the area.
fn dominant_chroma(img: &RgbaImage) -> Option<[f32; 2]> {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for p in img.pixels().filter(|p| p.0[3] > 200) {
        let c = chroma([p.0[0], p.0[1], p.0[2]].map(f32::from));
        a.push(c[0]);
        b.push(c[1]);
    }
    if a.is_empty() {
        return None;
    }
    let mid = a.len() / 2;
    a.select_nth_unstable_by(mid, f32::total_cmp);
    b.select_nth_unstable_by(mid, f32::total_cmp);
    Some([a[mid], b[mid]])
}

/// Returns the share of subject pixels treated as metal.
pub fn recolour(img: &mut RgbaImage, target: Metal) -> f32 {
    let Some(metal) = dominant_chroma(img) else {
        return 0.0;
    };
    let t = target.colour().to_f32();
    let t_luma = luma(t).max(1.0);
    let (mut metal_px, mut all) = (0usize, 0usize);
    for p in img.pixels_mut() {
        if p.0[3] == 0 {
            continue;
        }
        all += 1;
        let src = [p.0[0], p.0[1], p.0[2]].map(f32::from);
        let c = chroma(src);
        let d2 = (c[0] - metal[0]).powi(2) + (c[1] - metal[1]).powi(2);
        // Clipped glints are metal too (near-white, no chroma to judge by).
        let glint = src.iter().all(|&v| v > 245.0);
        let w = if glint { 1.0 } else { (-d2 / (2.0 * 0.12f32.powi(2))).exp() };
        if w < 0.02 {
            continue;
        }
        metal_px += usize::from(w > 0.5);
        let y = luma(src);
        let mut out = t.map(|v| v * y / t_luma);
        // Over-bright channels spill into the others, toward white, as highlights do.
        let excess = out.iter().map(|v| (v - 255.0).max(0.0)).fold(0f32, f32::max) / 255.0;
        if excess > 0.0 {
            out = out.map(|v| v.min(255.0) + (255.0 - v.min(255.0)) * excess.min(1.0));
        }
        for k in 0..3 {
            p.0[k] = (w * out[k] + (1.0 - w) * src[k]).round().clamp(0.0, 255.0) as u8;
        }
    }
    if all == 0 { 0.0 } else { metal_px as f32 / all as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gold_turns_silver_and_the_ruby_stays() {
        // 80 % gold pixels of varied brightness, 20 % ruby.
        let mut img = RgbaImage::from_fn(10, 10, |x, y| {
            if y < 2 {
                image::Rgba([170, 20, 40, 255])
            } else {
                let k = 0.6 + 0.05 * x as f32;
                image::Rgba([(220.0 * k) as u8, (175.0 * k) as u8, (80.0 * k) as u8, 255])
            }
        });
        let share = recolour(&mut img, Metal::Silver);
        assert!(share > 0.75 && share < 0.85, "{share}");
        let metal = img.get_pixel(5, 5).0;
        assert!(metal[0].abs_diff(metal[2]) < 12, "now neutral: {metal:?}");
        assert_eq!(img.get_pixel(3, 0).0, [170, 20, 40, 255], "stone keeps its colour");
    }
}

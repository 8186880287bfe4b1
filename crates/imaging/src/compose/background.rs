//! Backdrops: pure white, a solid colour, a two-colour gradient, or a
//! procedural texture (linen, marble, velvet) drawn from hashed value noise.

use image::RgbImage;
use rayon::prelude::*;

use crate::recipe::{Background, Texture};

/// The backdrop at `w×h`; none for `Transparent`, which has nothing to paint.
pub fn paint(bg: &Background, w: u32, h: u32) -> Option<RgbImage> {
    Some(match bg {
        Background::Transparent => return None,
        Background::White => RgbImage::from_pixel(w, h, image::Rgb([255; 3])),
        Background::Solid { colour } => RgbImage::from_pixel(w, h, image::Rgb(colour.0)),
        Background::Gradient { from, to, angle_deg } => {
            let (s, c) = angle_deg.to_radians().sin_cos();
            let (a, b) = (from.to_f32(), to.to_f32());
            let (wf, hf) = (w as f32, h as f32);
            // Project onto the direction; normalise so the corners reach 0 and 1.
            let extent = (wf * c).abs() + (hf * s).abs();
            fill(w, h, |x, y| {
                let t = (((x - wf / 2.0) * c + (y - hf / 2.0) * s) / extent.max(1.0) + 0.5).clamp(0.0, 1.0);
                [0, 1, 2].map(|k| a[k] + (b[k] - a[k]) * t)
            })
        }
        Background::Texture { texture, colour } => {
            let base = colour.to_f32();
            let scale = w.max(h) as f32 / 1000.0;
            match texture {
                Texture::Linen => fill(w, h, |x, y| {
                    let (u, v) = (x / scale, y / scale);
                    let weft = (v * 2.1).sin() * 0.5 + noise(u * 0.05, v * 1.7, 3) - 0.5;
                    let warp = (u * 2.3).sin() * 0.5 + noise(u * 1.9, v * 0.05, 5) - 0.5;
                    let k = 1.0 + 0.035 * (weft + warp) + 0.03 * (fbm(u * 0.01, v * 0.01) - 0.5);
                    base.map(|c| c * k)
                }),
                Texture::Marble => fill(w, h, |x, y| {
                    let (u, v) = (x / scale, y / scale);
                    let turb = fbm(u * 0.004, v * 0.004) * 6.0;
                    let vein = ((u * 0.006 + v * 0.004 + turb).sin()).abs().powf(0.25);
                    let k = 0.86 + 0.14 * vein + 0.02 * (noise(u * 0.2, v * 0.2, 9) - 0.5);
                    base.map(|c| c * k)
                }),
                Texture::Velvet => fill(w, h, |x, y| {
                    let (u, v) = (x / scale, y / scale);
                    let sheen = fbm(u * 0.002, v * 0.003);
                    let grain = noise(u * 0.9, v * 0.9, 11) - 0.5;
                    let k = 0.75 + 0.5 * sheen + 0.05 * grain;
                    base.map(|c| c * k)
                }),
            }
        }
    })
}

fn fill(w: u32, h: u32, f: impl Fn(f32, f32) -> [f32; 3] + Sync) -> RgbImage {
    let mut img = RgbImage::new(w, h);
    let row_len = w as usize * 3;
    if row_len == 0 {
        return img;
    }
    img.par_chunks_mut(row_len).enumerate().for_each(|(y, row)| {
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let c = f(x as f32 + 0.5, y as f32 + 0.5);
            for k in 0..3 {
                px[k] = c[k].round().clamp(0.0, 255.0) as u8;
            }
        }
    });
    img
}

fn hash(x: i32, y: i32, seed: u32) -> f32 {
    let mut h =
        (x as u32).wrapping_mul(0x8da6_b343) ^ (y as u32).wrapping_mul(0xd816_3841) ^ seed.wrapping_mul(0xcb1a_b31f);
    h ^= h >> 13;
    h = h.wrapping_mul(0x5bd1_e995);
    h ^= h >> 15;
    (h & 0xFFFF) as f32 / 65535.0
}

/// Smooth value noise in 0..1.
fn noise(x: f32, y: f32, seed: u32) -> f32 {
    let (xi, yi) = (x.floor() as i32, y.floor() as i32);
    let (tx, ty) = (x - x.floor(), y - y.floor());
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let a = hash(xi, yi, seed) + (hash(xi + 1, yi, seed) - hash(xi, yi, seed)) * sx;
    let b = hash(xi, yi + 1, seed) + (hash(xi + 1, yi + 1, seed) - hash(xi, yi + 1, seed)) * sx;
    a + (b - a) * sy
}

fn fbm(x: f32, y: f32) -> f32 {
    (0..4).map(|o| noise(x * (1 << o) as f32, y * (1 << o) as f32, 17 + o) / (1 << o) as f32).sum::<f32>() / 1.875
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Colour;

    #[test]
    fn white_is_pure_and_gradient_runs_between_colours() {
        assert!(paint(&Background::White, 8, 8).unwrap().pixels().all(|p| p.0 == [255; 3]));
        assert!(paint(&Background::Transparent, 8, 8).is_none());
        let g = paint(
            &Background::Gradient { from: Colour([0, 0, 0]), to: Colour([200, 100, 0]), angle_deg: 90.0 },
            4,
            100,
        )
        .unwrap();
        assert!(g.get_pixel(0, 0).0[0] < 10);
        assert!(g.get_pixel(0, 99).0[0] > 190);
    }

    #[test]
    fn textures_vary_around_their_tint() {
        for t in [Texture::Linen, Texture::Marble, Texture::Velvet] {
            let img = paint(&Background::Texture { texture: t, colour: Colour([200, 180, 160]) }, 200, 200).unwrap();
            let r: Vec<u8> = img.pixels().map(|p| p.0[0]).collect();
            let (lo, hi) = (r.iter().min().unwrap(), r.iter().max().unwrap());
            assert!(hi - lo > 5, "{t:?} has texture");
            let mean = r.iter().map(|&v| f64::from(v)).sum::<f64>() / r.len() as f64;
            assert!((mean - 200.0).abs() < 45.0, "{t:?} mean {mean}");
        }
    }
}

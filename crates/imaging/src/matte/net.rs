//! The learned segmenter: a small U-Net (`scripts/segmenter/train.py`, trained on the
//! rendered training families only) that says per pixel of a 256×192 copy of the photo how
//! likely it is jewellery. Pure Rust, no unsafe code.

use std::sync::OnceLock;

use fast_image_resize::FilterType;
use image::RgbImage;

use crate::ImagingError;
use crate::plane::Plane;

/// The network's input size and its channels per level (must match the training recipe,
/// `assets/segmenter.json`).
pub const W: usize = 256;
pub const H: usize = 192;
const WIDTHS: [usize; 5] = [8, 16, 32, 32, 32];
const IN_CHANNELS: usize = 6;

static WEIGHTS: &[u8] = include_bytes!("../../assets/segmenter.f32");

/// Feature maps, pixel-major with channels innermost (NHWC without the N).
struct Tensor {
    w: usize,
    h: usize,
    c: usize,
    data: Vec<f32>,
}

struct Conv {
    k: usize,
    cin: usize,
    cout: usize,
    /// (k·k·cin) × cout, row-major: the HWIO layout of the training script.
    w: Vec<f32>,
    b: Vec<f32>,
}

pub struct Segmenter {
    convs: Vec<Conv>,
    head: Conv,
}

/// The segmenter built into the binary (parsed once).
pub fn builtin() -> Result<&'static Segmenter, ImagingError> {
    static NET: OnceLock<Option<Segmenter>> = OnceLock::new();
    NET.get_or_init(|| Segmenter::from_bytes(WEIGHTS))
        .as_ref()
        .ok_or_else(|| ImagingError::invalid("the built-in segmenter weights do not match its layout"))
}

fn layout() -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut cin = IN_CHANNELS;
    for &c in &WIDTHS {
        out.extend([(cin, c), (c, c)]);
        cin = c;
    }
    for &c in WIDTHS[..WIDTHS.len() - 1].iter().rev() {
        out.extend([(cin + c, c), (c, c)]);
        cin = c;
    }
    out
}

impl Segmenter {
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let floats: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let mut at = 0;
        let mut take = |n: usize| {
            let s = floats.get(at..at + n).map(<[f32]>::to_vec);
            at += n;
            s
        };
        let mut conv = |k: usize, cin: usize, cout: usize| {
            Some(Conv { k, cin, cout, w: take(k * k * cin * cout)?, b: take(cout)? })
        };
        let convs = layout().into_iter().map(|(cin, cout)| conv(3, cin, cout)).collect::<Option<Vec<_>>>()?;
        let head = conv(1, WIDTHS[0], 1)?;
        (at == floats.len() && bytes.len().is_multiple_of(4)).then_some(Segmenter { convs, head })
    }

    /// Jewellery probability per pixel of the photo scaled to W×H (H×W for a portrait
    /// photo, which the network sees turned on its side, as it was trained: landscape).
    pub fn probability(&self, photo: &RgbImage) -> Result<Plane<f32>, ImagingError> {
        let portrait = photo.height() > photo.width();
        let turned = if portrait { transpose(photo) } else { photo.clone() };
        let p = self.landscape(&turned)?;
        Ok(if portrait { transpose_plane(&p) } else { p })
    }

    fn landscape(&self, photo: &RgbImage) -> Result<Plane<f32>, ImagingError> {
        let small = crate::resize::resize_rgb(photo, W as u32, H as u32, FilterType::Box, None)?;
        let mut convs = self.convs.iter();
        let mut next = || convs.next().ok_or_else(|| ImagingError::invalid("segmenter layout"));
        // Encoder: each level's output is kept for the decoder's skip connection.
        let mut skips: Vec<Tensor> = Vec::new();
        for _ in 0..WIDTHS.len() {
            let input = match skips.last() {
                Some(previous) => max_pool(previous),
                None => features(&small),
            };
            skips.push(conv(&conv(&input, next()?, true), next()?, true));
        }
        let mut x = skips.pop().ok_or_else(|| ImagingError::invalid("segmenter layout"))?;
        while let Some(skip) = skips.pop() {
            x = concat(&upsample(&x), &skip);
            x = conv(&conv(&x, next()?, true), next()?, true);
        }
        let logits = conv(&x, &self.head, false);
        Ok(Plane { w: W, h: H, data: logits.data.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect() })
    }
}

fn transpose(img: &RgbImage) -> RgbImage {
    RgbImage::from_fn(img.height(), img.width(), |x, y| *img.get_pixel(y, x))
}

fn transpose_plane(p: &Plane<f32>) -> Plane<f32> {
    let mut out = Plane::new(p.h, p.w, 0f32);
    for y in 0..p.h {
        for x in 0..p.w {
            out.set(y, x, p.data[y * p.w + x]);
        }
    }
    out
}

/// Colours in 0..1 and colours relative to the paper (the per-channel median of the
/// frame's outer strip), as `features` in the training script.
fn features(rgb: &RgbImage) -> Tensor {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let strip = ((w.min(h) as f32 * 0.08).round() as usize).max(1);
    let mut border: [Vec<f32>; 3] = Default::default();
    // The strip as the training script stacks it: top rows, bottom rows, left and right
    // columns (corners counted twice, as there).
    let mut push = |x: usize, y: usize| {
        let p = rgb.get_pixel(x as u32, y as u32).0;
        for (b, v) in border.iter_mut().zip(p) {
            b.push(f32::from(v) / 255.0);
        }
    };
    for y in (0..strip).chain(h - strip..h) {
        (0..w).for_each(|x| push(x, y));
    }
    for y in 0..h {
        (0..strip).chain(w - strip..w).for_each(|x| push(x, y));
    }
    let paper = border.map(|mut v| median(&mut v).max(0.05));
    let mut data = Vec::with_capacity(w * h * IN_CHANNELS);
    for p in rgb.pixels() {
        let x = p.0.map(|v| f32::from(v) / 255.0);
        data.extend(x);
        data.extend([0, 1, 2].map(|c| x[c] / paper[c] - 1.0));
    }
    Tensor { w, h, c: IN_CHANNELS, data }
}

fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    match v.len() {
        0 => 1.0,
        n if !n.is_multiple_of(2) => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// A k×k convolution with zero padding ("SAME"): each input value scales a row of the
/// weights into the output pixel's channels (contiguous, so the compiler vectorises it).
fn conv(x: &Tensor, layer: &Conv, relu: bool) -> Tensor {
    let (w, h, k, cin, cout) = (x.w, x.h, layer.k, layer.cin, layer.cout);
    debug_assert_eq!(x.c, cin);
    let half = (k / 2) as isize;
    let mut out = vec![0f32; w * h * cout];
    for y in 0..h {
        for xx in 0..w {
            let acc = &mut out[(y * w + xx) * cout..][..cout];
            acc.copy_from_slice(&layer.b);
            for ky in 0..k {
                let sy = y as isize + ky as isize - half;
                if sy < 0 || sy >= h as isize {
                    continue;
                }
                for kx in 0..k {
                    let sx = xx as isize + kx as isize - half;
                    if sx < 0 || sx >= w as isize {
                        continue;
                    }
                    let src = &x.data[(sy as usize * w + sx as usize) * cin..][..cin];
                    let rows = layer.w[(ky * k + kx) * cin * cout..][..cin * cout].chunks_exact(cout);
                    for (&a, row) in src.iter().zip(rows) {
                        acc.iter_mut().zip(row).for_each(|(o, wt)| *o += a * wt);
                    }
                }
            }
            if relu {
                acc.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
    }
    Tensor { w, h, c: cout, data: out }
}

fn max_pool(x: &Tensor) -> Tensor {
    let (w, h, c) = (x.w / 2, x.h / 2, x.c);
    let mut data = vec![f32::NEG_INFINITY; w * h * c];
    for y in 0..h * 2 {
        for xx in 0..w * 2 {
            let src = &x.data[(y * x.w + xx) * c..][..c];
            let dst = &mut data[((y / 2) * w + xx / 2) * c..][..c];
            dst.iter_mut().zip(src).for_each(|(d, s)| *d = d.max(*s));
        }
    }
    Tensor { w, h, c, data }
}

fn upsample(x: &Tensor) -> Tensor {
    let (w, h, c) = (x.w * 2, x.h * 2, x.c);
    let mut data = Vec::with_capacity(w * h * c);
    for y in 0..h {
        for xx in 0..w {
            data.extend_from_slice(&x.data[((y / 2) * x.w + xx / 2) * c..][..c]);
        }
    }
    Tensor { w, h, c, data }
}

/// Channels of `a` then of `b`, pixel by pixel.
fn concat(a: &Tensor, b: &Tensor) -> Tensor {
    let c = a.c + b.c;
    let mut data = Vec::with_capacity(a.w * a.h * c);
    for (pa, pb) in a.data.chunks_exact(a.c).zip(b.data.chunks_exact(b.c)) {
        data.extend_from_slice(pa);
        data.extend_from_slice(pb);
    }
    Tensor { w: a.w, h: a.h, c, data }
}

/// Bilinear resampling of the probability map to the working size (pixel centres aligned).
pub fn upsample_to(p: &Plane<f32>, w: usize, h: usize) -> Plane<f32> {
    let (sx, sy) = (p.w as f32 / w as f32, p.h as f32 / h as f32);
    let mut out = Plane::new(w, h, 0f32);
    for y in 0..h {
        let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (p.h - 1) as f32);
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        let y1 = (y0 + 1).min(p.h - 1);
        for x in 0..w {
            let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (p.w - 1) as f32);
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let x1 = (x0 + 1).min(p.w - 1);
            let at = |xx: usize, yy: usize| p.data[yy * p.w + xx];
            let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
            let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
            out.set(x, y, top * (1.0 - ty) + bottom * ty);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_of_another_layout_are_refused() {
        assert!(Segmenter::from_bytes(&WEIGHTS[..WEIGHTS.len() - 4]).is_none());
        assert!(Segmenter::from_bytes(&[WEIGHTS, &[0u8; 4]].concat()).is_none());
        assert!(builtin().is_ok());
    }

    /// The Rust port gives the training script's probability map on a committed rendered
    /// photo (`assets/segmenter.check.png`, written with the weights): the two JPEG decoders
    /// and box filters differ a little, the answer must not.
    #[test]
    fn the_port_matches_the_training_script() {
        let photo =
            crate::decode(include_bytes!("../../tests/rendered/eval/ring-1000000.jpg"), &crate::Limits::default())
                .unwrap();
        let expected =
            crate::decode(include_bytes!("../../assets/segmenter.check.png"), &crate::Limits::default()).unwrap();
        let got = builtin().unwrap().probability(&photo.rgb).unwrap();
        assert_eq!((got.w, got.h), (W, H));
        let (mut agree, mut diff) = (0usize, 0f32);
        for (p, e) in got.data.iter().zip(expected.rgb.pixels()) {
            let e = f32::from(e.0[0]) / 255.0;
            agree += usize::from((*p > 0.5) == (e > 0.5));
            diff += (p - e).abs();
        }
        let n = (W * H) as f32;
        assert!(agree as f32 / n > 0.99, "the masks agree on {:.4} of the pixels", agree as f32 / n);
        assert!(diff / n < 0.02, "mean difference {:.4}", diff / n);
        assert!(got.data.iter().any(|&p| p > 0.5), "the ring is found");

        // Turned to portrait, the same photo gives the same map, turned.
        let turned = builtin().unwrap().probability(&transpose(&photo.rgb)).unwrap();
        assert_eq!((turned.w, turned.h), (H, W));
        assert_eq!(transpose_plane(&turned).data, got.data);
    }
}

//! Cutout: a full-resolution alpha matte for jewellery shot on plain paper.
//!
//! Known-background matting (docs/engine.md): a smooth paper model fitted at
//! ~1 MP, shadow-tolerant evidence, hysteresis and hole policy at that scale,
//! then a full-resolution band around the coarse edge where alpha is solved from
//! the known (shaded) background, thin gaps inside metal are closed, and edge
//! colours are decontaminated.

mod band;
mod fine;
pub mod hints;
mod net;
pub mod paper;
mod segment;
mod specks;
pub mod suitability;

use fast_image_resize::FilterType;
use image::{GrayImage, RgbImage, RgbaImage};
use serde::{Deserialize, Serialize};

use crate::plane::{self, Mask, Plane};
use crate::{Decoded, ImagingError};
use paper::PaperModel;

/// Tuning knobs; the defaults are what the benchmark in docs/engine.md measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatteParams {
    /// Pixel budget of the coarse working copy.
    pub work_pixels: u32,
    pub chroma_strong: f32,
    pub chroma_weak: f32,
    /// Brightness ratios below these are object, not shadow.
    pub dark_strong: f32,
    pub dark_weak: f32,
    /// Brighter than the paper (highlights on grey or coloured paper).
    pub bright_strong: f32,
    pub bright_weak: f32,
    pub grad_strong: f32,
    pub grad_weak: f32,
    /// Full-resolution gradient (max-pooled, relative to the paper) for thin wire.
    pub fine_strong: f32,
    pub fine_weak: f32,
    /// Coarse components smaller than this fraction of the working image are dust.
    pub min_area_fraction: f32,
    /// Closed-over pixels at least this deep inside the coarse mask are trusted.
    pub trust_depth: u8,
    /// Only colour evidence (not edges alone) makes a detected pixel trusted.
    pub trust_colour_only: bool,
    /// Closing radius (working pixels) that seals broken silhouettes before holes are judged.
    pub close_radius: usize,
    /// An enclosed region stays a hole when at least `hole_rim_share` of its rim
    /// has a brightness gradient above `hole_rim_grad`.
    pub hole_rim_grad: f32,
    pub hole_rim_share: f32,
    /// Extra darkening (fraction of the local paper) forgiven in the band as
    /// residual shadow.
    pub shadow_slack: f32,
    /// Weight of chroma change against brightness change in the band distance
    /// (JPEG 4:2:0 smears chroma across ~2 px, so not too high).
    pub chroma_weight: f32,
    /// Colour distance (0..255 units) treated as noise in the band.
    pub noise_floor: f32,
    /// Refuse a photo whose background this engine cannot handle (`suitability`). On for
    /// sellers' photos; off for generated scenes, whose styled backdrops are expected.
    pub refuse_unsuitable: bool,
    /// Let the learned segmenter (`net.rs`) decide what is jewellery at the coarse scale.
    pub learned: bool,
    /// Islands of alpha whose strongest pixel stays below `speck_peak` and whose area is
    /// at most `speck_area_fraction` of the photo are dust, not jewellery (`specks.rs`).
    pub speck_peak: u8,
    pub speck_area_fraction: f32,
    /// Paper as bright as the paper beside a piece darker than it keeps at most this much
    /// alpha on top of what its brightness allows (0: off).
    pub tint_guard: f32,
    /// Paper seen through the piece (`segment::reopen_paper`): an enclosed patch of the mask
    /// with the paper's colour, at least this bright relative to it, goes back to the
    /// background (0: off).
    pub reopen_paper: f32,
}

impl Default for MatteParams {
    fn default() -> Self {
        MatteParams {
            work_pixels: 1_000_000,
            chroma_strong: 0.12,
            chroma_weak: 0.05,
            dark_strong: 0.32,
            dark_weak: 0.42,
            bright_strong: 1.10,
            bright_weak: 1.04,
            grad_strong: 0.14,
            grad_weak: 0.06,
            fine_strong: 0.25,
            fine_weak: 0.1,
            min_area_fraction: 6e-6,
            close_radius: 2,
            trust_depth: 4,
            trust_colour_only: true,
            hole_rim_grad: 0.09,
            hole_rim_share: 0.5,
            shadow_slack: 0.2,
            chroma_weight: 1.0,
            noise_floor: 7.0,
            refuse_unsuitable: true,
            learned: true,
            speck_peak: 96,
            speck_area_fraction: 2e-4,
            tint_guard: 0.01,
            reopen_paper: 0.8,
        }
    }
}

/// What the cutout learned about the paper, reused by colour correction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PaperInfo {
    /// Mean paper colour (sRGB 0..255).
    pub colour: [f32; 3],
    /// Paper is near-neutral (white/grey): usable as a white-balance reference.
    pub neutral: bool,
}

/// Alpha matte plus decontaminated foreground colours, both at input resolution.
#[derive(Debug, Clone)]
pub struct Matte {
    pub alpha: GrayImage,
    /// Input colours with edge pixels' paper contribution removed.
    pub foreground: RgbImage,
    pub paper: PaperInfo,
    /// 0–1: how much the photo looked like one this engine handles (see `suitability`).
    pub confidence: f32,
}

impl Matte {
    /// RGBA PNG-ready cutout: decontaminated colours, alpha = matte.
    pub fn to_rgba(&self) -> RgbaImage {
        join_rgba(&self.foreground, &self.alpha)
    }

    /// `--cutout`: the photo's size as an RGBA PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, ImagingError> {
        crate::encode_rgba(&self.to_rgba(), crate::Format::Png, 90)
    }
}

pub(crate) fn join_rgba(rgb: &RgbImage, alpha: &GrayImage) -> RgbaImage {
    let (w, h) = rgb.dimensions();
    let mut out = RgbaImage::new(w, h);
    for ((o, c), a) in out.pixels_mut().zip(rgb.pixels()).zip(alpha.pixels()) {
        o.0 = [c.0[0], c.0[1], c.0[2], a.0[0]];
    }
    out
}

/// Compute the matte. An input that already carries alpha (a PNG cutout) is
/// taken as it is.
pub fn cutout(decoded: &Decoded, params: &MatteParams) -> Result<Matte, ImagingError> {
    let rgb = &decoded.rgb;
    let (w, h) = rgb.dimensions();
    if w == 0 || h == 0 {
        return Err(ImagingError::EmptyImage);
    }
    if let Some(alpha) = &decoded.alpha
        && alpha.dimensions() == (w, h)
        && alpha.pixels().any(|a| a.0[0] > 127)
    {
        let paper = PaperInfo { colour: [255.0; 3], neutral: true };
        return Ok(Matte { alpha: alpha.clone(), foreground: rgb.clone(), paper, confidence: 1.0 });
    }

    // 1. Coarse copy (area average) and the paper model.
    let scale = (f64::from(params.work_pixels.max(1024)) / (f64::from(w) * f64::from(h))).sqrt().min(1.0);
    let sw = ((f64::from(w) * scale).round() as u32).max(1);
    let sh = ((f64::from(h) * scale).round() as u32).max(1);

    let small = if scale < 1.0 { crate::resize::resize_rgb(rgb, sw, sh, FilterType::Box, None)? } else { rgb.clone() };
    let model = PaperModel::fit(&small);
    let mean = model.mean();
    let lum = (mean[0] + mean[1] + mean[2]) / 3.0;
    let spread = mean.iter().map(|c| (c - lum).abs()).fold(0f32, f32::max);
    let paper = PaperInfo { colour: mean, neutral: spread < 0.06 * lum.max(1.0) };

    // 2. Evidence, hysteresis, hole policy.
    let mut feats = segment::features(&small, &model);
    feats.fine = fine::max_gradient(rgb, sw as usize, sh as usize);
    segment::normalise_fine(&mut feats.fine, &feats.ratio, &small);
    let (strong, weak) = segment::classify(&feats, params);
    let area = (sw as usize) * (sh as usize);
    let min_area = ((area as f32 * params.min_area_fraction).ceil() as usize).max(3);
    let detected = segment::hysteresis(&strong, &weak, min_area);
    let mut coarse = plane::erode(&plane::dilate(&detected, params.close_radius), params.close_radius);
    segment::fill_holes(&mut coarse, &feats, params);
    // Judged on the paper model's own segmentation: it is the paper that must be plain.
    let assessment = suitability::assess(&feats, &coarse);
    if let Some(problem) = assessment.problem.filter(|_| params.refuse_unsuitable) {
        return Err(ImagingError::UnsuitableBackground(problem));
    }
    // The network never saw an empty sheet: it only refines what the paper model found.
    if params.learned && detected.data.contains(&1) {
        let p = net::builtin()?.probability(&small)?;
        fuse(&mut coarse, &detected, &feats, &net::upsample_to(&p, sw as usize, sh as usize), params);
    }
    segment::reopen_paper(&mut coarse, &feats, &model, params);
    // Pixels that only the closing (or the thin-hole rule) added inside a thin
    // part — chain-link gaps, slivers — are re-decided at full resolution, never
    // taken as sure foreground. Deep inside wide metal they are trusted.
    let depth = plane::distance_inside(&coarse, false);
    let trusted = Mask {
        w: coarse.w,
        h: coarse.h,
        data: coarse
            .data
            .iter()
            .zip(&detected.data)
            .zip(&depth.data)
            .enumerate()
            .map(|(i, ((&c, &d), &k))| {
                // Edge-only evidence (a gradient next to wire) does not make a pixel sure
                // foreground: chain-link openings are full of such pixels.
                // Only inside the (fused) coarse mask: what the network cleared stays cleared.
                let solid =
                    c != 0 && d != 0 && (!params.trust_colour_only || segment::has_colour_evidence(&feats, params, i));
                u8::from(solid || c == segment::FILLED_SOFT || k >= params.trust_depth)
            })
            .collect(),
    };
    let on = coarse.data.iter().filter(|&&v| v != 0).count();
    // Everything taken as object is no subject either (a photo that would be refused
    // as unsuitable, when refusals are off).
    if on == 0 || on * 50 > area * 49 {
        return Err(ImagingError::NoSubjectFound);
    }

    // 3. Known background (paper × local shading) and local foreground colour.
    let bg_far = invert(&plane::dilate(&coarse, 2));
    let shade = shading(&feats.ratio, &bg_far);
    let core = plane::erode(&coarse, 2);
    let fg_est = foreground_estimate(&small, &core, &coarse);
    let zones = band::zones(&coarse, &trusted, &feats, params);
    let inputs = band::BandInputs {
        model: &model,
        shade: &shade,
        fg: &fg_est,
        zones: &zones,
        small_w: sw as usize,
        small_h: sh as usize,
    };
    let (mut alpha, foreground) = band::solve(rgb, &inputs, params);
    let max_speck = (f64::from(w) * f64::from(h) * f64::from(params.speck_area_fraction)) as usize;
    specks::clear(&mut alpha, params.speck_peak, max_speck);
    Ok(Matte { alpha, foreground, paper, confidence: assessment.confidence })
}

/// The network and the paper model vote. What the network is sure is jewellery is added
/// next to what the paper model found (white stones and pearls it cannot see), and
/// anywhere when it is very sure; what the
/// network is sure is background is removed (the paper inside a band) unless it holds wire
/// finer than the network's 256×192 view; where the network hesitates, the paper model's
/// segmentation stands.
fn fuse(coarse: &mut Mask, detected: &Mask, feats: &segment::Features, p: &Plane<f32>, params: &MatteParams) {
    let near = plane::dilate(detected, NET_REACH);
    for (i, c) in coarse.data.iter_mut().enumerate() {
        let v = p.data[i];
        if v < NET_BACKGROUND && feats.fine.data[i] < params.fine_weak {
            *c = 0;
        } else if *c == 0 && (v > NET_SURE || (v > NET_JEWELLERY && near.data[i] != 0)) {
            *c = 1;
        }
    }
}

/// The network's probabilities beyond which it overrules the paper model, and how far
/// (working pixels) from the paper model's object it may add.
const NET_BACKGROUND: f32 = 0.2;
const NET_JEWELLERY: f32 = 0.5;
const NET_REACH: usize = 4;
/// So sure that it adds even where the paper model saw nothing (white on blown-out white).
const NET_SURE: f32 = 0.8;

fn invert(m: &Mask) -> Mask {
    Mask { w: m.w, h: m.h, data: m.data.iter().map(|&v| u8::from(v == 0)).collect() }
}

/// Local shadow factor: brightness ratio averaged over nearby sure-background
/// pixels, so shadows become part of the known background.
fn shading(ratio: &Plane<f32>, background: &Mask) -> Plane<f32> {
    let weight = Plane { w: ratio.w, h: ratio.h, data: background.data.iter().map(|&b| f32::from(b)).collect() };
    let clamped = Plane { w: ratio.w, h: ratio.h, data: ratio.data.iter().map(|r| r.clamp(0.3, 1.05)).collect() };
    let near = plane::masked_mean(&clamped, &weight, 3, -1.0);
    let wide = plane::masked_mean(&clamped, &weight, 9, 1.0);
    Plane {
        w: ratio.w,
        h: ratio.h,
        data: near.data.iter().zip(&wide.data).map(|(n, w)| if *n >= 0.0 { *n } else { *w }).collect(),
    }
}

/// Typical object colour near each pixel (from the coarse interior), used as
/// the far end of the alpha scale and to stabilise decontamination.
fn foreground_estimate(small: &RgbImage, core: &Mask, coarse: &Mask) -> [Plane<f32>; 3] {
    let (w, h) = (core.w, core.h);
    // Thin parts have no eroded core: fall back to the coarse mask itself.
    let src = if core.data.iter().any(|&v| v != 0) { core } else { coarse };
    let weight = Plane { w, h, data: src.data.iter().map(|&v| f32::from(v)).collect() };
    let n: f32 = weight.data.iter().sum::<f32>().max(1.0);
    // The weight's box means are shared by the three channels.
    let den_near = plane::box_mean(&weight, 4);
    let den_far = plane::box_mean(&weight, 16);
    [0usize, 1, 2].map(|c| {
        let values = Plane { w, h, data: small.pixels().map(|p| f32::from(p.0[c])).collect() };
        let global = values.data.iter().zip(&weight.data).map(|(v, w)| v * w).sum::<f32>() / n;
        let near = plane::masked_mean_with(&values, &weight, &den_near, 4, -1.0);
        let far = plane::masked_mean_with(&values, &weight, &den_far, 16, global);
        Plane { w, h, data: near.data.iter().zip(&far.data).map(|(a, b)| if *a >= 0.0 { *a } else { *b }).collect() }
    })
}

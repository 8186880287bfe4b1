//! The whole catalogue-image pipeline: matte → framing → retouch → compose →
//! branding → encode (within the preset's byte limits) → compliance.

use std::time::Instant;

use fast_image_resize::FilterType;
use image::RgbaImage;
use serde::Serialize;

use crate::compliance::{self, ComplianceReport, Rule};
use crate::compose::{self, background, recolour, retouch, shadow, tone};
use crate::frame::{self, BBox};
use crate::recipe::{Recipe, Shadow};
use crate::{Decoded, Format, ImagingError, Matte, MatteParams, brand, encode_rgb, matte};

/// Pipeline stages, reported to the progress callback and timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Matte,
    Frame,
    Retouch,
    Compose,
    Brand,
    Encode,
    Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageTiming {
    pub stage: Stage,
    pub ms: f64,
}

/// The finished image.
#[derive(Debug, Clone, Serialize)]
pub struct Rendered {
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub format: Format,
    pub quality: u8,
    pub compliance: Option<ComplianceReport>,
    /// The matte's confidence (see `matte::suitability`).
    pub confidence: f32,
    /// Where the piece was placed: what `frame::before` needs to show the
    /// photo under the image pixel for pixel.
    pub placement: frame::Placement,
    pub timings: Vec<StageTiming>,
}

/// Alpha below this (of 255) is dropped from the subject: keeps the backdrop
/// bit-exact white away from the jewellery.
const ALPHA_FLOOR: u8 = 8;

/// Matte the photo and render the recipe.
pub fn render(
    decoded: &Decoded,
    recipe: &Recipe,
    progress: &mut dyn FnMut(Stage, f32),
) -> Result<Rendered, ImagingError> {
    recipe.validate()?;
    progress(Stage::Matte, 0.0);
    let t = Instant::now();
    let m = matte::cutout(decoded, &MatteParams::default())?;
    let matte_ms = ms(t);
    let mut out = render_matte(&m, recipe, progress)?;
    out.timings.insert(0, StageTiming { stage: Stage::Matte, ms: matte_ms });
    Ok(out)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Render from an existing matte (the web layer may cache it).
pub fn render_matte(
    m: &Matte,
    recipe: &Recipe,
    progress: &mut dyn FnMut(Stage, f32),
) -> Result<Rendered, ImagingError> {
    recipe.validate()?;
    let spec = recipe.preset.map(|p| p.spec());
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |stage: Stage, timings: &mut Vec<StageTiming>| {
        timings.push(StageTiming { stage, ms: ms(clock) });
        clock = Instant::now();
    };

    // Framing.
    progress(Stage::Frame, 0.45);
    let canvas = canvas_size(recipe);
    let subject = frame::subject_bbox(&m.alpha, 24).ok_or(ImagingError::NoSubjectFound)?;
    let (target, fill) = if recipe.closeup {
        (frame::closeup_box(&m.alpha, subject), 1.0)
    } else {
        (subject, f64::from(recipe.fill.or(spec.map(|s| s.fill)).unwrap_or(0.8)))
    };
    let strip = if recipe.branding.is_some() { brand::strip_height(canvas.1) } else { 0 };
    let area = (0, 0, canvas.0, canvas.1.saturating_sub(strip));
    let place =
        frame::place(target, subject, m.alpha.dimensions(), canvas, area, fill).ok_or(ImagingError::NoSubjectFound)?;
    let mut layer = resample_subject(m, place.src, place.dst)?;
    lap(Stage::Frame, &mut timings);

    // Retouch the jewellery itself (never its shape).
    progress(Stage::Retouch, 0.55);
    if recipe.colour_correct
        && let Some(g) = tone::paper_gains(&m.paper)
    {
        tone::apply_gains(&mut layer, g);
    }
    if recipe.dust_removal {
        retouch::remove_dust(&mut layer, 40.0);
    }
    if let Some(metal) = recipe.recolour {
        recolour::recolour(&mut layer, metal);
    }
    if recipe.local_contrast {
        let radius = ((place.dst.width().max(place.dst.height()) as f32) * 0.01).max(2.0) as usize;
        tone::local_contrast(&mut layer, 0.25, radius);
    }
    lap(Stage::Retouch, &mut timings);

    // Backdrop, shadow, reflection, subject.
    progress(Stage::Compose, 0.7);
    let done = |bytes, format, quality, compliance, timings| Rendered {
        bytes,
        width: canvas.0,
        height: canvas.1,
        format,
        quality,
        compliance,
        confidence: m.confidence,
        placement: place,
        timings,
    };
    let Some(mut img) = background::paint(&recipe.backdrop(), canvas.0, canvas.1) else {
        let mut img = RgbaImage::new(canvas.0, canvas.1);
        image::imageops::replace(&mut img, &layer, i64::from(place.dst.x0), i64::from(place.dst.y0));
        drop(layer);
        lap(Stage::Compose, &mut timings);
        progress(Stage::Encode, 0.9);
        let (format, quality) = recipe.output.map_or((Format::Png, 90), |o| (o.format, o.quality));
        let bytes = crate::encode_rgba(&img, format, quality)?;
        lap(Stage::Encode, &mut timings);
        progress(Stage::Check, 1.0);
        // Marketplaces take a JPEG on a backdrop: a transparent file is not checked against one.
        return Ok(done(bytes, format, quality, None, timings));
    };
    let pure_white = spec.is_some_and(|s| s.pure_white);
    let shadow_choice = recipe.shadow.unwrap_or(if pure_white { Shadow::None } else { Shadow::contact() });
    let size = place.dst.width().max(place.dst.height()) as f32;
    let lay = shadow::Layer { rgba: &layer, x: i64::from(place.dst.x0), y: i64::from(place.dst.y0), size };
    shadow::draw_shadow(&mut img, &lay, &shadow_choice);
    if let Some(r) = &recipe.reflection {
        let bottom = shadow::layer_bottom(&layer);
        shadow::draw_reflection(&mut img, &lay, bottom, r);
    }
    compose::over(&mut img, &layer, i64::from(place.dst.x0), i64::from(place.dst.y0));
    drop(layer);
    lap(Stage::Compose, &mut timings);

    progress(Stage::Brand, 0.85);
    if let Some(b) = &recipe.branding {
        brand::draw_branding(&mut img, b)?;
    }
    if let Some(wm) = &recipe.watermark {
        brand::draw_watermark(&mut img, wm, strip)?;
    }
    lap(Stage::Brand, &mut timings);

    progress(Stage::Encode, 0.9);
    let format = recipe.output.map(|o| o.format).or(spec.map(|s| s.format)).unwrap_or(Format::Jpeg);
    let quality = recipe.output.map(|o| o.quality).or(spec.map(|s| s.quality)).unwrap_or(90);
    let (bytes, quality) =
        encode_within(&img, format, quality, spec.and_then(|s| s.min_bytes), spec.and_then(|s| s.max_bytes))?;
    lap(Stage::Encode, &mut timings);

    progress(Stage::Check, 0.97);
    let compliance = recipe.preset.map(|p| {
        let mut report = compliance::check(p, &bytes);
        if p.spec().no_overlays {
            let overlays = recipe.branding.is_some() || recipe.watermark.is_some();
            report.push(Rule {
                id: "no_overlays",
                description: "no text, watermark or branding on the image".into(),
                passed: !overlays,
                measured: if overlays { "branding/watermark requested" } else { "none" }.into(),
                expected: "none".into(),
            });
        }
        report
    });
    lap(Stage::Check, &mut timings);
    progress(Stage::Check, 1.0);
    Ok(done(bytes, format, quality, compliance, timings))
}

/// Canvas from the aspect override, else the preset, else 2000² (or the output's long side).
fn canvas_size(recipe: &Recipe) -> (u32, u32) {
    let spec = recipe.preset.map(|p| p.spec());
    let long = recipe.output.and_then(|o| o.long_side).or(spec.map(|s| s.width.max(s.height))).unwrap_or(2000);
    match (recipe.aspect_ratio, spec) {
        (Some(a), _) => a.canvas(long),
        (None, Some(s)) if recipe.output.and_then(|o| o.long_side).is_none() => (s.width, s.height),
        (None, Some(s)) => {
            let k = f64::from(long) / f64::from(s.width.max(s.height));
            (((f64::from(s.width) * k).round() as u32).max(1), ((f64::from(s.height) * k).round() as u32).max(1))
        }
        (None, None) => (long, long),
    }
}

/// Cut the source rectangle (colours + alpha) and resample it to the destination
/// size with Lanczos3 on premultiplied alpha. Only the subject's neighbourhood
/// is touched, never the whole 12 MP frame.
fn resample_subject(m: &Matte, src: BBox, dst: BBox) -> Result<RgbaImage, ImagingError> {
    let (sw, sh) = (src.width(), src.height());
    let mut crop = RgbaImage::new(sw, sh);
    for (y, row) in crop.rows_mut().enumerate() {
        let sy = src.y0 + y as u32;
        for (x, p) in row.enumerate() {
            let sx = src.x0 + x as u32;
            let c = m.foreground.get_pixel(sx, sy).0;
            let a = m.alpha.get_pixel(sx, sy).0[0];
            let a = if a < ALPHA_FLOOR { 0 } else { a };
            p.0 = [c[0], c[1], c[2], a];
        }
    }
    let mut out = crate::resize::resize_rgba(&crop, dst.width(), dst.height(), FilterType::Lanczos3, None)?;
    // Lanczos rings a little beyond edges; faint alpha there would tint pure white.
    for p in out.pixels_mut() {
        if p.0[3] < ALPHA_FLOOR {
            p.0[3] = 0;
        }
    }
    Ok(out)
}

/// Encode, stepping the quality to land inside the preset's byte limits.
fn encode_within(
    img: &image::RgbImage,
    format: Format,
    quality: u8,
    min_bytes: Option<u64>,
    max_bytes: Option<u64>,
) -> Result<(Vec<u8>, u8), ImagingError> {
    let mut q = quality.clamp(1, 100);
    let mut bytes = encode_rgb(img, format, q)?;
    if format == Format::Png {
        return Ok((bytes, q));
    }
    while max_bytes.is_some_and(|m| bytes.len() as u64 > m) && q > 40 {
        q = q.saturating_sub(8).max(40);
        bytes = encode_rgb(img, format, q)?;
    }
    while min_bytes.is_some_and(|m| (bytes.len() as u64) < m)
        && q < 100
        && max_bytes.is_none_or(|m| bytes.len() as u64 <= m)
    {
        let next_q = (q + 4).min(100);
        let next = encode_rgb(img, format, next_q)?;
        if max_bytes.is_some_and(|m| next.len() as u64 > m) {
            break;
        }
        q = next_q;
        bytes = next;
    }
    Ok((bytes, q))
}

//! Marketplace compliance, judged from the encoded bytes alone (what the
//! marketplace itself receives): format, size, aspect, file size, pure-white
//! background, subject fill, and no embedded metadata.

use serde::Serialize;

use crate::{Format, Limits, Preset, sniff};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub description: String,
    pub passed: bool,
    pub measured: String,
    pub expected: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplianceReport {
    pub preset: Preset,
    pub passed: bool,
    pub rules: Vec<Rule>,
}

impl ComplianceReport {
    pub(crate) fn push(&mut self, rule: Rule) {
        self.passed &= rule.passed;
        self.rules.push(rule);
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

fn rule(id: &'static str, description: &str, passed: bool, measured: String, expected: String) -> Rule {
    Rule { id, description: description.to_string(), passed, measured, expected }
}

/// Pixels this close to white belong to the backdrop when finding the subject.
const NEAR_WHITE: u8 = 240;

pub fn check(preset: Preset, bytes: &[u8]) -> ComplianceReport {
    let spec = preset.spec();
    let mut report = ComplianceReport { preset, passed: true, rules: Vec::new() };
    let format = sniff(bytes);
    report.push(rule(
        "format",
        "file format",
        format == Some(spec.format),
        format.map_or("unknown", Format::name).to_string(),
        spec.format.name().to_string(),
    ));
    let size = bytes.len() as u64;
    let size_ok = spec.max_bytes.is_none_or(|m| size <= m) && spec.min_bytes.is_none_or(|m| size >= m);
    let expected = match (spec.min_bytes, spec.max_bytes) {
        (Some(lo), Some(hi)) => format!("{lo}..={hi} bytes"),
        (None, Some(hi)) => format!("<= {hi} bytes"),
        (Some(lo), None) => format!(">= {lo} bytes"),
        (None, None) => "any".into(),
    };
    report.push(rule("file_size", "file size", size_ok, format!("{size} bytes"), expected));
    report.push(rule(
        "no_metadata",
        "no EXIF/GPS or other embedded metadata",
        !has_metadata(bytes),
        if has_metadata(bytes) { "metadata present" } else { "none" }.into(),
        "none".into(),
    ));

    let decoded = match crate::decode(bytes, &Limits { max_bytes: u64::MAX, ..Limits::default() }) {
        Ok(d) => d,
        Err(e) => {
            report.push(rule("decodable", "image decodes", false, e.code().into(), "decodes".into()));
            return report;
        }
    };
    let (w, h) = (decoded.width, decoded.height);
    let (long, short) = (w.max(h), w.min(h));
    report.push(rule(
        "dimensions",
        "pixel size",
        (spec.min_long_side..=spec.max_long_side).contains(&long) && short >= spec.min_short_side,
        format!("{w}×{h}"),
        format!("longest side {}..={}, shortest ≥ {}", spec.min_long_side, spec.max_long_side, spec.min_short_side),
    ));
    let aspect_ok = if spec.aspects.is_empty() {
        let want = f64::from(spec.width) / f64::from(spec.height);
        (f64::from(w) / f64::from(h) - want).abs() <= want * 0.01
    } else {
        spec.aspects.iter().any(|a| a.matches(w, h))
    };
    let expected_aspect = if spec.aspects.is_empty() {
        format!("{}:{}", spec.width, spec.height)
    } else {
        spec.aspects.iter().map(|a| a.label()).collect::<Vec<_>>().join(" or ")
    };
    report.push(rule(
        "aspect",
        "aspect ratio",
        aspect_ok,
        format!("{:.3}", f64::from(w) / f64::from(h)),
        expected_aspect,
    ));

    let rgb = &decoded.rgb;
    let subject = subject_box(rgb);
    if spec.pure_white {
        let (pure, total) = pure_white_share(rgb);
        let share = if total == 0 { 0.0 } else { pure as f64 / total as f64 };
        let corners =
            [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)].iter().all(|&(x, y)| rgb.get_pixel(x, y).0 == [255; 3]);
        report.push(rule(
            "background_white",
            "background outside the subject is pure white RGB 255",
            corners && total > 0 && share >= 0.999,
            format!(
                "{:.3} % pure of {total} background pixels; corners {}",
                share * 100.0,
                if corners { "255" } else { "not 255" }
            ),
            "≥ 99.9 % exactly (255,255,255), corners 255".into(),
        ));
    }
    if let Some(min_fill) = spec.min_fill {
        let fill = subject
            .map_or(0.0, |(x0, y0, x1, y1)| (f64::from(x1 - x0) / f64::from(w)).max(f64::from(y1 - y0) / f64::from(h)));
        report.push(rule(
            "fill",
            "subject fills the frame (longer extent)",
            fill >= f64::from(min_fill) && fill <= 1.0,
            format!("{:.1} %", fill * 100.0),
            format!("≥ {:.0} %", min_fill * 100.0),
        ));
    }
    report.push(rule(
        "subject_present",
        "a subject is visible",
        subject.is_some(),
        subject.map_or("none".into(), |(x0, y0, x1, y1)| format!("box {x0},{y0}–{x1},{y1}")),
        "non-empty".into(),
    ));
    report
}

/// Box of pixels that are clearly not backdrop white.
fn subject_box(rgb: &image::RgbImage) -> Option<(u32, u32, u32, u32)> {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in rgb.enumerate_pixels() {
        if p.0.iter().any(|&c| c < NEAR_WHITE) {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x + 1);
            y1 = y1.max(y + 1);
        }
    }
    (x1 > x0 && y1 > y0).then_some((x0, y0, x1, y1))
}

/// Among backdrop pixels well away from anything non-white (JPEG ringing next to the
/// subject is tolerated within a margin), how many are exactly 255?
fn pure_white_share(rgb: &image::RgbImage) -> (u64, u64) {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let margin = ((w.max(h) as f64 * 0.006) as usize).max(8);
    let mut object = crate::plane::Mask::new(w, h, 0);
    for (x, y, p) in rgb.enumerate_pixels() {
        if p.0.iter().any(|&c| c < NEAR_WHITE) {
            object.set(x as usize, y as usize, 1);
        }
    }
    let near = crate::plane::dilate(&object, margin);
    // Backdrop is what lies around the piece: a white stone or a highlight enclosed by it
    // is the piece's own, however white.
    let around = crate::plane::touching_border(&crate::plane::Mask {
        w,
        h,
        data: object.data.iter().map(|&v| u8::from(v == 0)).collect(),
    });
    let (mut pure, mut total) = (0u64, 0u64);
    for (i, p) in rgb.pixels().enumerate() {
        if near.data[i] == 0 && around.data[i] != 0 {
            total += 1;
            pure += u64::from(p.0 == [255; 3]);
        }
    }
    (pure, total)
}

/// JPEG APP1 (Exif/XMP) or APP2 (ICC) segments; PNG eXIf/iCCP/tEXt chunks.
fn has_metadata(bytes: &[u8]) -> bool {
    match sniff(bytes) {
        Some(Format::Jpeg) => {
            let mut i = 2usize;
            while i + 4 <= bytes.len() && bytes[i] == 0xFF {
                let marker = bytes[i + 1];
                if marker == 0xDA {
                    break;
                }
                if marker == 0xE1 || marker == 0xE2 {
                    return true;
                }
                let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
                i += 2 + len;
            }
            false
        }
        Some(Format::Png) => [b"eXIf", b"iCCP", b"tEXt", b"iTXt"].iter().any(|t| bytes.windows(4).any(|w| w == *t)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    fn white_with_box(w: u32, h: u32, bx: u32, by: u32) -> RgbImage {
        let (x0, y0) = ((w - bx) / 2, (h - by) / 2);
        RgbImage::from_fn(w, h, |x, y| {
            if (x0..x0 + bx).contains(&x) && (y0..y0 + by).contains(&y) {
                image::Rgb([180, 140, 60])
            } else {
                image::Rgb([255; 3])
            }
        })
    }

    #[test]
    fn a_good_amazon_image_passes_every_rule() {
        let img = white_with_box(1200, 1200, 1060, 900);
        let bytes = crate::encode_rgb(&img, Format::Jpeg, 90).unwrap();
        let r = check(Preset::Amazon, &bytes);
        assert!(r.passed, "{r:#?}");
        assert!(r.rule("fill").unwrap().measured.starts_with("88."));
    }

    #[test]
    fn failures_report_the_measured_value() {
        let small_subject = crate::encode_rgb(&white_with_box(1200, 1200, 300, 300), Format::Jpeg, 90).unwrap();
        let r = check(Preset::Amazon, &small_subject);
        assert!(!r.passed);
        assert!(!r.rule("fill").unwrap().passed);
        assert!(r.rule("background_white").unwrap().passed);

        let grey = RgbImage::from_fn(1200, 1200, |x, _| image::Rgb([if x < 1100 { 250 } else { 100 }; 3]));
        let r = check(Preset::Amazon, &crate::encode_rgb(&grey, Format::Jpeg, 90).unwrap());
        assert!(!r.rule("background_white").unwrap().passed);

        let png = crate::encode_rgb(&white_with_box(800, 600, 700, 500), Format::Png, 90).unwrap();
        let r = check(Preset::Amazon, &png);
        assert!(!r.rule("format").unwrap().passed);
        assert!(!r.rule("dimensions").unwrap().passed);
        assert!(!r.rule("aspect").unwrap().passed);

        let r =
            check(Preset::Myntra, &crate::encode_rgb(&white_with_box(1080, 1440, 500, 500), Format::Jpeg, 90).unwrap());
        assert!(!r.rule("file_size").unwrap().passed, "Myntra wants 0.5–1 MB");

        let r = check(Preset::Etsy, b"garbage");
        assert!(!r.passed && r.rule("decodable").is_some());
    }

    #[test]
    fn white_inside_the_piece_is_not_backdrop() {
        // A gold band around a white stone (250), on pure white; then the same white let out
        // to the edge of the frame, where it is backdrop that is not pure.
        let ring = |open: bool| {
            RgbImage::from_fn(1200, 1200, move |x, y| {
                let r = ((x as f32 - 600.0).powi(2) + (y as f32 - 600.0).powi(2)).sqrt();
                image::Rgb(if r < 300.0 || (open && (560..640).contains(&y) && x > 600) {
                    [250; 3]
                } else if r < 500.0 {
                    [180, 140, 60]
                } else {
                    [255; 3]
                })
            })
        };
        let closed = check(Preset::Amazon, &crate::encode_rgb(&ring(false), Format::Jpeg, 90).unwrap());
        assert!(closed.rule("background_white").unwrap().passed, "{closed:#?}");
        let open = check(Preset::Amazon, &crate::encode_rgb(&ring(true), Format::Jpeg, 90).unwrap());
        assert!(!open.rule("background_white").unwrap().passed, "{open:#?}");
    }

    #[test]
    fn detects_exif() {
        let jpg = crate::encode_rgb(&RgbImage::new(8, 8), Format::Jpeg, 90).unwrap();
        assert!(!has_metadata(&jpg));
        let mut with_exif = jpg[..2].to_vec();
        with_exif.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x08, b'E', b'x', b'i', b'f', 0, 0]);
        with_exif.extend_from_slice(&jpg[2..]);
        assert!(has_metadata(&with_exif));
    }
}

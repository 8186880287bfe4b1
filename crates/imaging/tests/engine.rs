//! End-to-end: synthetic phone photos (synth crate) through decode → cutout →
//! render, checked by the same compliance rules a marketplace would apply.

use imaging::{Background, Format, Limits, Preset, Recipe, Shadow, Stage};
use synth::{Kind, Metal, Paper, SceneSpec};

#[allow(clippy::unwrap_used)] // test helper
fn photo(kind: Kind, metal: Metal, paper: Paper, seed: u64) -> (synth::Scene, imaging::Decoded) {
    let spec = SceneSpec { kind, metal, paper, width: 640, height: 480, seed, jpeg_quality: 90 };
    let scene = synth::generate(&spec);
    let decoded = imaging::decode(&scene.jpeg, &Limits::default()).unwrap();
    (scene, decoded)
}

#[test]
fn amazon_preset_output_passes_amazon_compliance() {
    let (_, decoded) = photo(Kind::Ring, Metal::Gold, Paper::White, 1);
    let mut stages = Vec::new();
    let out = imaging::render(&decoded, &Recipe::for_preset(Preset::Amazon), &mut |s, f| stages.push((s, f))).unwrap();
    assert_eq!((out.width, out.height, out.format), (2000, 2000, Format::Jpeg));
    let report = out.compliance.clone().unwrap();
    assert!(report.passed, "{report:#?}");
    // The report is the checker's own verdict on the bytes, reproducible independently.
    assert!(imaging::compliance::check(Preset::Amazon, &out.bytes).passed);
    assert!(stages.iter().any(|(s, _)| *s == Stage::Matte) && stages.last().is_some_and(|(_, f)| *f == 1.0));
    assert!(out.timings.iter().any(|t| t.stage == Stage::Encode));
}

#[test]
fn every_preset_renders_at_its_size_and_reports_rules() {
    let (_, decoded) = photo(Kind::Earrings, Metal::Silver, Paper::Grey, 2);
    let matte = imaging::cutout(&decoded, &imaging::MatteParams::default()).unwrap();
    for preset in Preset::ALL {
        let spec = preset.spec();
        let out = imaging::render_matte(&matte, &Recipe::for_preset(preset), &mut |_, _| {}).unwrap();
        assert_eq!((out.width, out.height), (spec.width, spec.height), "{}", spec.id);
        let report = out.compliance.unwrap();
        assert!(report.rule("dimensions").unwrap().passed, "{}", spec.id);
        assert!(report.rule("format").unwrap().passed, "{}", spec.id);
        assert!(report.rule("no_metadata").unwrap().passed, "{}", spec.id);
        if spec.pure_white {
            assert!(report.rule("background_white").unwrap().passed, "{}: {report:#?}", spec.id);
        }
    }
}

#[test]
fn watermark_fails_the_amazon_overlay_rule_and_styled_recipes_render() {
    let (_, decoded) = photo(Kind::Ring, Metal::RoseGold, Paper::White, 3);
    let recipe = Recipe {
        preset: Some(Preset::Amazon),
        watermark: Some(imaging::Watermark { text: "Meera".into(), opacity: 0.4 }),
        ..Recipe::default()
    };
    let report = imaging::render(&decoded, &recipe, &mut |_, _| {}).unwrap().compliance.unwrap();
    assert!(!report.passed);
    assert!(!report.rule("no_overlays").unwrap().passed);

    let styled = Recipe {
        preset: Some(Preset::InstagramPortrait),
        background: Some(Background::Texture {
            texture: imaging::Texture::Velvet,
            colour: imaging::Colour([60, 20, 40]),
        }),
        shadow: Some(Shadow::drop()),
        reflection: Some(imaging::Reflection::default()),
        recolour: Some(imaging::Metal::WhiteGold),
        aspect_ratio: Some(imaging::AspectRatio::Portrait4x5),
        ..Recipe::default()
    };
    let out = imaging::render(&decoded, &styled, &mut |_, _| {}).unwrap();
    assert_eq!((out.width, out.height), (1080, 1350));
    let img = imaging::decode(&out.bytes, &Limits::default()).unwrap();
    // Velvet backdrop: dark corners, not white.
    assert!(img.rgb.get_pixel(5, 5).0.iter().all(|&c| c < 140));
}

#[test]
fn cutout_png_is_input_sized_with_the_matte_as_alpha() {
    let (scene, decoded) = photo(Kind::Bangle, Metal::Gold, Paper::Coloured, 4);
    let matte = imaging::cutout(&decoded, &imaging::MatteParams::default()).unwrap();
    let (png, confidence) = (matte.to_png().unwrap(), matte.confidence);
    assert!(confidence > 0.99, "a centred piece on plain paper is trusted: {confidence}");
    let back = imaging::decode(&png, &Limits::default()).unwrap();
    assert_eq!((back.width, back.height, back.format), (640, 480, Format::Png));
    let alpha = back.alpha.unwrap();
    let m = synth::evaluate(alpha.as_raw(), &scene);
    assert!(m.iou > 0.9, "{m:?}");
    assert!(m.hole_correct > 0.95, "bangle interior stays transparent: {m:?}");
}

#[test]
fn a_transparent_background_gives_the_matte_as_alpha_on_the_presets_canvas() {
    let (_, decoded) = photo(Kind::Ring, Metal::Gold, Paper::Grey, 5);
    let matte = imaging::cutout(&decoded, &imaging::MatteParams::default()).unwrap();
    let recipe =
        |preset| Recipe { preset: Some(preset), background: Some(Background::Transparent), ..Recipe::default() };
    let out = imaging::render_matte(&matte, &recipe(Preset::Etsy), &mut |_, _| {}).unwrap();
    assert_eq!((out.width, out.height, out.format), (2000, 2000, Format::Png));
    assert!(out.compliance.is_none(), "a transparent file is no marketplace upload");
    let back = imaging::decode(&out.bytes, &Limits::default()).unwrap();
    let alpha = back.alpha.unwrap();
    assert_eq!(alpha.get_pixel(3, 3).0[0], 0, "no backdrop: the corners are clear");
    let solid = alpha.pixels().filter(|p| p.0[0] == 255).count() as f64 / (2000.0 * 2000.0);
    assert!((0.02..0.6).contains(&solid), "the ring is opaque where it is: {solid}");
    let grey = back.rgb.pixels().zip(alpha.pixels()).filter(|(c, a)| a.0[0] == 255 && c.0[0].abs_diff(c.0[2]) < 6);
    assert!(grey.count() < 2000 * 20, "the grey paper is not in the opaque part");

    let amazon = imaging::render_matte(&matte, &recipe(Preset::Amazon), &mut |_, _| {}).unwrap();
    assert_eq!(amazon.format, Format::Jpeg, "Amazon main images stay on pure white");
    assert!(amazon.compliance.unwrap().passed);
}

#[test]
fn blank_paper_has_no_subject() {
    let blank =
        image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([230 - (x / 40) as u8, 228 - (y / 40) as u8, 222]));
    let jpg = imaging::encode_rgb(&blank, Format::Jpeg, 90).unwrap();
    let d = imaging::decode(&jpg, &Limits::default()).unwrap();
    let err = imaging::render(&d, &Recipe::for_preset(Preset::Amazon), &mut |_, _| {}).unwrap_err();
    assert_eq!(err.code(), "no_subject_found");
}

/// Paper beside a gold piece takes on the metal's colour (the light it throws) at the
/// paper's own brightness: that tint is not the piece, and gets (almost) no alpha.
#[test]
fn paper_tinted_by_the_metal_is_not_the_piece() {
    let (cx, cy) = (160.0f32, 120.0f32);
    let photo = image::RgbImage::from_fn(320, 240, |x, y| {
        let r = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
        if r < 40.0 {
            image::Rgb([176, 136, 52]) // the gold disc, darker than the paper
        } else if r < 52.0 {
            image::Rgb([236, 226, 194]) // paper at its own brightness, tinted gold
        } else {
            image::Rgb([228, 228, 226])
        }
    });
    let d = imaging::Decoded::from_rgb(photo);
    let tint = |params: &imaging::MatteParams| {
        let m = imaging::cutout(&d, params).unwrap();
        // Mean alpha over the tinted ring, away from the disc's own edge.
        let ring: Vec<f32> = (44..50).map(|r| f32::from(m.alpha.get_pixel(160 + r, 120).0[0])).collect();
        ring.iter().sum::<f32>() / ring.len() as f32
    };
    let off = imaging::MatteParams { tint_guard: 0.0, refuse_unsuitable: false, ..Default::default() };
    let on = imaging::MatteParams { refuse_unsuitable: false, ..Default::default() };
    let (before, after) = (tint(&off), tint(&on));
    assert!(after < 16.0 && before > after * 2.0, "tinted paper alpha {before} → {after}");
}

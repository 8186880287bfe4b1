//! The engine on the committed slice of the physically rendered set
//! (`scripts/render-set.sh subset`, scenes written apart from `crates/synth`): no family may
//! score below its floor. The floors are the figures measured when the slice was made, less
//! a small margin; they rise as the engine does (docs/engine.md, "Rendered set").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_soraipixel");
const SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../imaging/tests/rendered/eval");

/// (family, lowest IoU, highest halo) for plain-paper families, from the engine of
/// 2026-12-05 with the learned segmenter (IoU less 0.03, halo plus a fifth and 0.02).
const FLOORS: &[(&str, f64, f64)] = &[
    ("bangle", 0.58, 0.14),
    ("chain", 0.53, 0.11),
    ("diamond_ring", 0.65, 0.10),
    ("earrings", 0.88, 0.02),
    ("pearls", 0.32, 0.03),
    ("pendant", 0.07, 0.02),
    ("ring", 0.84, 0.02),
    ("silver_band", 0.68, 0.05),
];
/// Busy-background photos of the slice (8) refused as unsuitable, as measured that day.
const BUSY_REFUSED: u64 = 5;

#[test]
fn no_family_of_the_rendered_slice_falls_below_its_floor() {
    let out =
        Command::new(BIN).args(["bench-engine", "--rendered-only", "--json", "--rendered", SET]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let families = report["rendered"].as_array().unwrap();
    assert!(families.len() >= 12, "every family of the slice is scored: {families:?}");
    for &(family, iou, halo) in FLOORS {
        let f = families.iter().find(|f| f["family"] == family).unwrap_or_else(|| panic!("{family} missing"));
        let (got_iou, got_halo) = (f["iou"].as_f64().unwrap(), f["halo"].as_f64().unwrap());
        assert!(got_iou >= iou, "{family}: IoU {got_iou:.4} fell below {iou}");
        assert!(got_halo <= halo, "{family}: halo {got_halo:.4} rose above {halo}");
        assert_eq!(f["unsuitable"], 0, "{family}: a plain-paper photo was refused as unsuitable");
    }
    let refused: u64 = families.iter().filter(|f| f["busy"] == true).map(|f| f["unsuitable"].as_u64().unwrap()).sum();
    assert!(refused >= BUSY_REFUSED, "only {refused} busy-background photos of the slice were refused");
}

/// A photo on wood exits with code 3 and the stable code, and writes nothing; a ring on
/// paper is cut out with its confidence in the report.
#[test]
fn an_unsuitable_photo_exits_3_and_a_good_one_reports_its_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let photo = format!("{SET}/{name}.jpg");
        let out = dir.path().join(format!("{name}.png"));
        let done = Command::new(BIN).args(["process", "--cutout", "--json", &photo, "-o"]).arg(&out).output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
        (done.status.code(), report["files"][0].clone(), out.exists())
    };
    let (code, file, written) = run("wood-1000000");
    assert_eq!((code, file["error"]["code"].as_str(), written), (Some(3), Some("unsuitable_background"), false));
    assert!(file["error"]["message"].as_str().unwrap().contains("plain"), "{file}");
    let (code, file, written) = run("ring-1000000");
    assert_eq!((code, written), (Some(0), true), "{file}");
    let confidence = file["confidence"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&confidence), "{file}");
}

/// `--background transparent`: a framed RGBA PNG whose alpha is the matte, named for it.
#[test]
fn a_transparent_background_writes_a_framed_png_with_the_matte_as_alpha() {
    let dir = tempfile::tempdir().unwrap();
    let photo = format!("{SET}/ring-1000000.jpg");
    let done = Command::new(BIN)
        .args(["process", "--background", "transparent", "--json", &photo, "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stdout));
    let png = std::fs::read(dir.path().join("ring-1000000.transparent.png")).unwrap();
    let d = imaging::decode(&png, &imaging::Limits::default()).unwrap();
    assert_eq!((d.width, d.height, d.format), (2000, 2000, imaging::Format::Png));
    let alpha = d.alpha.unwrap();
    assert_eq!(alpha.get_pixel(0, 0).0[0], 0, "no backdrop");
    assert!(alpha.pixels().filter(|p| p.0[0] == 255).count() > 40_000, "the ring is there");
}

/// A correction painted over the photo: one keep stroke over the white pendant the cutout
/// lost (rendered set, ground truth from the renderer) brings it back.
#[test]
fn a_keep_stroke_brings_back_a_lost_pendant() {
    let dir = tempfile::tempdir().unwrap();
    let photo = format!("{SET}/pendant-1000000.jpg");
    let truth =
        imaging::decode(&std::fs::read(format!("{SET}/pendant-1000000.alpha.png")).unwrap(), &Default::default())
            .unwrap()
            .rgb;
    let iou = |hints: Option<&str>| {
        let out = dir.path().join("cut.png");
        let mut cmd = Command::new(BIN);
        cmd.args(["process", "--cutout", &photo, "-o"]).arg(&out);
        if let Some(h) = hints {
            let file = dir.path().join("hints.json");
            std::fs::write(&file, h).unwrap();
            cmd.arg("--hints").arg(file);
        }
        let done = cmd.output().unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stdout));
        let alpha = imaging::decode(&std::fs::read(&out).unwrap(), &Default::default()).unwrap().alpha.unwrap();
        let (mut both, mut either) = (0u32, 0u32);
        for (a, t) in alpha.pixels().zip(truth.pixels()) {
            let (a, t) = (a.0[0] > 127, t.0[0] > 127);
            both += u32::from(a && t);
            either += u32::from(a || t);
        }
        f64::from(both) / f64::from(either)
    };
    let before = iou(None);
    let after = iou(Some(r#"[{"brush": "keep", "radius": 15, "points": [[253, 174]]}]"#));
    assert!(after > before + 0.4, "IoU {before:.3} → {after:.3} (0.20 → 0.70 when written)");

    let bad = Command::new(BIN)
        .args(["process", "--cutout", &photo, "-o"])
        .arg(dir.path().join("x.png"))
        .arg("--hints")
        .arg({
            let f = dir.path().join("bad.json");
            std::fs::write(&f, r#"[{"brush": "keep", "radius": 15, "points": [[9999, 1]]}]"#).unwrap();
            f
        })
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("invalid_hints"), "{}", String::from_utf8_lossy(&bad.stdout));
}

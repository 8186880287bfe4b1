//! The engine on the committed slice of the physically rendered set
//! (`scripts/render-set.sh subset`, scenes written apart from `crates/synth`): no family may
//! score below its floor. The floors are the figures measured when the slice was made, less
//! a small margin; they rise as the engine does (docs/engine.md, "Rendered set").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_soraipixel");

/// (family, lowest IoU, highest halo) for plain-paper families, from the engine of
/// 2026-12-04 (IoU less 0.03, halo plus a fifth and 0.02).
const FLOORS: &[(&str, f64, f64)] = &[
    ("bangle", 0.17, 3.37),
    ("chain", 0.41, 0.05),
    ("diamond_ring", 0.30, 1.63),
    ("earrings", 0.45, 1.79),
    ("pearls", 0.17, 0.06),
    ("pendant", 0.08, 0.02),
    ("ring", 0.70, 0.03),
    ("silver_band", 0.12, 0.15),
];

#[test]
fn no_family_of_the_rendered_slice_falls_below_its_floor() {
    let set = concat!(env!("CARGO_MANIFEST_DIR"), "/../imaging/tests/rendered/eval");
    let out =
        Command::new(BIN).args(["bench-engine", "--rendered-only", "--json", "--rendered", set]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let families = report["rendered"].as_array().unwrap();
    assert!(families.len() >= 12, "every family of the slice is scored: {families:?}");
    for &(family, iou, halo) in FLOORS {
        let f = families.iter().find(|f| f["family"] == family).unwrap_or_else(|| panic!("{family} missing"));
        let (got_iou, got_halo) = (f["iou"].as_f64().unwrap(), f["halo"].as_f64().unwrap());
        assert!(got_iou >= iou, "{family}: IoU {got_iou:.4} fell below {iou}");
        assert!(got_halo <= halo, "{family}: halo {got_halo:.4} rose above {halo}");
    }
}

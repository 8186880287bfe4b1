//! The engine on the physically rendered set (`scripts/render-set.sh`): scenes written
//! apart from `crates/synth` and path traced with Mitsuba 3, each with its coverage alpha
//! and a mask of its white and mirror-like parts. Scored per family with `imaging::score`;
//! busy-background families score whether the photo was refused.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use imaging::score::{Scores, score};
use imaging::{Limits, MatteParams};
use rayon::prelude::*;
use serde::Serialize;

/// One family's figures (means over its scenes).
#[derive(Debug, Default, Serialize)]
pub struct FamilyResult {
    pub family: String,
    pub n: usize,
    /// Scenes the engine refused (for busy families: the right answer).
    pub refused: usize,
    /// Of those, refused as unsuitable photos (`unsuitable_background`): on plain paper, a
    /// false alarm.
    pub unsuitable: usize,
    /// Cut out, but flagged for the seller to check (confidence below `LOW_CONFIDENCE`).
    pub flagged: usize,
    /// Of the scenes cut out, how many made an Amazon main image that passes Amazon's
    /// checks (pure white background, fill…): what a seller listing there sees. Not
    /// measured for a peer's mattes.
    pub amazon_passed: Option<usize>,
    pub busy: bool,
    /// Means over the family's scenes (optional ones over the scenes that have such pixels).
    #[serde(flatten)]
    pub mean: Scores,
}

struct Item {
    name: String,
    family: String,
    busy: bool,
}

fn read_alpha(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let d = imaging::decode(&bytes, &Limits::default()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(d.rgb.pixels().map(|p| p.0[0]).collect())
}

/// Scores every scene listed in `dir/manifest.jsonl`: our cutout, or the alpha another
/// engine left in `peer` (`<name>.png`). With `save`, our mattes are written there in the
/// same layout.
pub fn measure(
    dir: &Path,
    peer: Option<&Path>,
    save: Option<&Path>,
    params: &MatteParams,
) -> anyhow::Result<Vec<FamilyResult>> {
    if let Some(save) = save {
        std::fs::create_dir_all(save).with_context(|| format!("creating {}", save.display()))?;
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl"))
        .with_context(|| format!("no rendered set in {} (make one with scripts/render-set.sh)", dir.display()))?;
    // A scene rendered again is listed again: the last line for a name wins.
    let mut scenes = BTreeMap::new();
    for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        scenes.insert(
            text("name"),
            Item { name: text("name"), family: text("family"), busy: v["busy"].as_bool().unwrap_or(false) },
        );
    }
    let items: Vec<Item> = scenes.into_values().collect();
    let scored: Vec<anyhow::Result<(&Item, Outcome)>> = items
        .par_iter()
        .map(|it| {
            let photo = std::fs::read(dir.join(format!("{}.jpg", it.name)))?;
            let decoded =
                imaging::decode(&photo, &Limits::default()).map_err(|e| anyhow::anyhow!("{}: {e}", it.name))?;
            let truth = read_alpha(&dir.join(format!("{}.alpha.png", it.name)))?;
            let bright = read_alpha(&dir.join(format!("{}.bright.png", it.name)))?;
            let (w, h) = (decoded.width as usize, decoded.height as usize);
            let (predicted, confidence, unsuitable, amazon) = match peer {
                Some(p) => (Some(read_alpha(&p.join(format!("{}.png", it.name)))?), 1.0, false, None),
                None => match imaging::cutout(&decoded, params) {
                    Ok(m) => {
                        if let Some(save) = save {
                            let path = save.join(format!("{}.png", it.name));
                            m.alpha.save(&path).with_context(|| format!("writing {}", path.display()))?;
                        }
                        let recipe = imaging::Recipe { preset: Some(imaging::Preset::Amazon), ..Default::default() };
                        let passed = imaging::render_matte(&m, &recipe, &mut |_, _| {})
                            .is_ok_and(|r| r.compliance.is_some_and(|c| c.passed));
                        (Some(m.alpha.into_raw()), m.confidence, false, Some(passed))
                    }
                    Err(e) => (None, 0.0, matches!(e, imaging::ImagingError::UnsuitableBackground(_)), Some(false)),
                },
            };
            let scores = predicted.map(|a| score(&a, &truth, Some(&bright), w, h));
            Ok((it, Outcome { scores, flagged: confidence < imaging::LOW_CONFIDENCE, unsuitable, amazon }))
        })
        .collect();
    let mut families: BTreeMap<String, Tally> = BTreeMap::new();
    for r in scored {
        let (it, outcome) = r?;
        let t = families.entry(it.family.clone()).or_insert_with(|| Tally {
            result: FamilyResult { family: it.family.clone(), busy: it.busy, ..Default::default() },
            ..Default::default()
        });
        t.result.n += 1;
        t.result.unsuitable += usize::from(outcome.unsuitable);
        t.result.flagged += usize::from(outcome.scores.is_some() && outcome.flagged);
        if let Some(passed) = outcome.amazon {
            *t.result.amazon_passed.get_or_insert(0) += usize::from(passed);
        }
        // A refusal of a plain-paper photo scores as an empty matte.
        let s = outcome.scores.unwrap_or_else(|| {
            t.result.refused += 1;
            Scores { thin_recall: Some(0.0), bright_recall: Some(0.0), ..Scores::default() }
        });
        t.result.mean.iou += s.iou;
        t.result.mean.sad += s.sad;
        t.result.mean.halo += s.halo;
        t.thin.extend(s.thin_recall);
        t.holes.extend(s.hole_correct);
        t.bright.extend(s.bright_recall);
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    Ok(families
        .into_values()
        .map(|t| {
            let mut f = t.result;
            let n = f.n.max(1) as f64;
            f.mean.iou /= n;
            f.mean.sad /= n;
            f.mean.halo /= n;
            f.mean.thin_recall = mean(&t.thin);
            f.mean.hole_correct = mean(&t.holes);
            f.mean.bright_recall = mean(&t.bright);
            f
        })
        .collect())
}

/// One scene: its scores (none when refused), whether it was flagged or refused as unsuitable.
struct Outcome {
    scores: Option<Scores>,
    flagged: bool,
    unsuitable: bool,
    /// Our Amazon main image from this cutout passed Amazon's checks (None: a peer's).
    amazon: Option<bool>,
}

/// A family's sums while its scenes are scored; optional scores are kept where present.
#[derive(Default)]
struct Tally {
    result: FamilyResult,
    thin: Vec<f64>,
    holes: Vec<f64>,
    bright: Vec<f64>,
}

fn opt(v: Option<f64>) -> String {
    v.map_or("   —  ".into(), |x| format!("{x:.4}"))
}

pub fn print(results: &[FamilyResult]) {
    println!("\nrendered set (Mitsuba 3; not from crates/synth):");
    for f in results {
        if f.busy {
            println!(
                "  {:14} n={:<3} refused {}/{}, flagged {} (busy background: should be refused)",
                f.family, f.n, f.unsuitable, f.n, f.flagged
            );
        } else {
            println!(
                "  {:14} n={:<3} IoU {:.4}  SAD {:6.2}  thin {}  hole {}  halo {:.4}  bright {}  refused {} (as unsuitable {})  flagged {}{}",
                f.family,
                f.n,
                f.mean.iou,
                f.mean.sad,
                opt(f.mean.thin_recall),
                opt(f.mean.hole_correct),
                f.mean.halo,
                opt(f.mean.bright_recall),
                f.refused,
                f.unsuitable,
                f.flagged,
                f.amazon_passed.map_or(String::new(), |a| format!("  Amazon check passed {a}/{}", f.n - f.refused))
            );
        }
    }
}

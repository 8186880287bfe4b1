//! `soraipixel bench-fidelity`: how well the deterministic fidelity check separates a
//! faithful generated image from one whose piece changed. Synthetic photos of every
//! stratum go through the FAKE Gemini (the local engine renders each theme's scene, or the
//! same scene with half the piece gone and the metal turned silver), and the check scores
//! both. Reports the lowest faithful score, the highest changed one, and the accept and
//! reject rates at the configured threshold.

use std::time::Instant;

use anyhow::Context;
use fakes::ai::{Act, FakeAi};
use providers::ai::{Gemini, GeminiAuth, Guard, GuardSettings, Image, ImageJob, ImageModel, Pricing};

#[derive(clap::Args, Debug)]
pub struct FidelityArgs {
    /// Three strata, six themes, the hero shot only.
    #[arg(long)]
    pub quick: bool,
    /// The threshold to report rates at (the default of `cloud.fidelity_threshold`).
    #[arg(long, default_value_t = 70.0)]
    pub threshold: f32,
    /// Every n-th theme only (1: all 30).
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// Print every check's measures.
    #[arg(long)]
    pub verbose: bool,
}

fn jewellery(kind: synth::Kind) -> &'static str {
    match kind {
        synth::Kind::Ring => "ring",
        synth::Kind::Bangle => "bangle",
        synth::Kind::Chain => "chain",
        synth::Kind::Earrings => "earring",
        synth::Kind::Stones => "pendant",
    }
}

pub async fn run(args: FidelityArgs) -> anyhow::Result<()> {
    let lib = prompts::library().map_err(|e| anyhow::anyhow!("{e}"))?;
    let fake = FakeAi::start().await.context("starting the FAKE image models")?;
    let guard = std::sync::Arc::new(Guard::new("bench", GuardSettings { concurrency: 2, ..GuardSettings::default() }));
    let model =
        Gemini::new(&fake.base_url, GeminiAuth::ApiKey(fake.api_key().into()), "bench", Pricing::default(), guard)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let strata: Vec<synth::Stratum> = synth::strata().into_iter().step_by(if args.quick { 4 } else { 1 }).collect();
    let themes: Vec<&prompts::Theme> =
        lib.themes.iter().step_by(if args.quick { 5 } else { args.every.max(1) }).collect();
    let shots: &[&str] = if args.quick { &["hero"] } else { &["hero", "angle_3_4", "closeup"] };
    let (mut faithful, mut changed, mut check_ms) = (Vec::new(), Vec::new(), Vec::new());
    // Per shot: (faithful accepted, faithful, changed rejected, changed).
    let mut per_shot = vec![(0usize, 0usize, 0usize, 0usize); shots.len()];
    println!("{:<28} {:>9} {:>9} {:>7}", "stratum", "faithful", "changed", "checks");
    for stratum in &strata {
        let photo = synth::generate(&stratum.spec(1200, 900, 1)).jpeg;
        let decoded = imaging::decode(&photo, &imaging::Limits::default())?;
        let reference = imaging::cutout(&decoded, &imaging::MatteParams::default())?;
        let pieces = imaging::detect(&reference).map(|d| d.pieces).unwrap_or(1);
        let subject = prompts::Subject { jewellery: jewellery(stratum.kind), pieces };
        let (mut low, mut high, mut n) = (f32::MAX, f32::MIN, 0);
        for theme in &themes {
            for (si, shot) in shots.iter().enumerate() {
                let prompt = lib.prompt(subject, prompts::Brief::Scene { theme: &theme.id, shot }, None)?;
                let weight = lib.shot(shot).map(|s| s.shape_weight).unwrap_or(0.3);
                for distort in [false, true] {
                    if distort {
                        fake.script([Act::Distort]);
                    }
                    let job = ImageJob {
                        prompt: prompt.clone(),
                        images: vec![Image { mime: "image/jpeg".into(), bytes: photo.clone() }],
                        aspect_ratio: None,
                    };
                    let made = model.make(&job).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    let t = Instant::now();
                    let generated = imaging::decode(&made.image.bytes, &imaging::Limits::default())?;
                    // A generated image in which no piece can be found scores 0, as in the product.
                    let f = match imaging::inspect::best_fidelity(&reference, &generated, weight) {
                        Ok((f, _)) => f,
                        Err(_) => imaging::Fidelity {
                            score: 0.0,
                            shape: 0.0,
                            colour_delta: 100.0,
                            palette: 0.0,
                            pieces_expected: pieces,
                            pieces_found: 0,
                        },
                    };
                    let s = &mut per_shot[si];
                    if distort {
                        s.3 += 1;
                        s.2 += usize::from(f.score < args.threshold);
                    } else {
                        s.1 += 1;
                        s.0 += usize::from(f.score >= args.threshold);
                    }
                    check_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    if args.verbose {
                        eprintln!(
                            "{} {} {shot} {distort} {:.1} shape {:.2} dE {:.1} pal {:.2} pieces {}/{}",
                            stratum.name(),
                            theme.id,
                            f.score,
                            f.shape,
                            f.colour_delta,
                            f.palette,
                            f.pieces_found,
                            f.pieces_expected
                        );
                    }
                    if distort {
                        high = high.max(f.score);
                        changed.push(f.score);
                    } else {
                        low = low.min(f.score);
                        faithful.push(f.score);
                    }
                    n += 1;
                }
            }
        }
        println!("{:<28} {:>9.1} {:>9.1} {:>7}", stratum.name(), low, high, n);
    }
    let accepted = faithful.iter().filter(|s| **s >= args.threshold).count();
    let rejected = changed.iter().filter(|s| **s < args.threshold).count();
    let min = |v: &[f32]| v.iter().copied().fold(f32::MAX, f32::min);
    let max = |v: &[f32]| v.iter().copied().fold(f32::MIN, f32::max);
    check_ms.sort_by(f64::total_cmp);
    println!();
    for (shot, (fa, f, cr, c)) in shots.iter().zip(&per_shot) {
        println!("{shot:<12} faithful accepted {fa}/{f}, changed rejected {cr}/{c}");
    }
    println!(
        "faithful images accepted at {:.0}: {accepted}/{} (lowest score {:.1})",
        args.threshold,
        faithful.len(),
        min(&faithful)
    );
    println!(
        "changed images rejected at {:.0}: {rejected}/{} (highest score {:.1})",
        args.threshold,
        changed.len(),
        max(&changed)
    );
    println!(
        "one check (two cutouts + measures): p50 {:.0} ms, p95 {:.0} ms",
        check_ms[check_ms.len() / 2],
        check_ms[check_ms.len() * 95 / 100]
    );
    Ok(())
}

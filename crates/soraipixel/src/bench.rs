//! `soraipixel bench-engine`: matte quality on synthetic scenes with exact
//! ground truth (per stratum), and end-to-end speed and peak memory of a 12 MP
//! JPEG → 2000×2000 Amazon JPEG on one core against the floor of decoding the
//! input and encoding the output.

use std::time::Instant;

use anyhow::Context;
use imaging::matte::hints::{Brush, Stroke};
use imaging::{Format, Limits, MatteParams, Preset, Recipe};
use rayon::prelude::*;
use serde::Serialize;
use synth::{Kind, Metal, Paper, Stratum};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// A few 2 MP scenes and one 12 MP speed run (< 60 s in release).
    #[arg(long)]
    pub quick: bool,
    /// Seeds per stratum and size (full mode).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Only strata whose name contains this (e.g. "chain").
    #[arg(long)]
    pub filter: Option<String>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// A physically rendered set to score too (default: `target/rendered/eval` when
    /// `scripts/render-set.sh eval` has made it).
    #[arg(long)]
    pub rendered: Option<std::path::PathBuf>,
    /// Score another engine's mattes of the rendered set instead of ours: `<name>.png`
    /// alphas in this folder (see scripts/peer-isnet.sh).
    #[arg(long)]
    pub peer: Option<std::path::PathBuf>,
    /// Only the rendered set: no synthetic scenes, no speed run.
    #[arg(long)]
    pub rendered_only: bool,
    /// Only the speed runs (no quality scenes, no rendered set).
    #[arg(long, conflicts_with = "rendered_only")]
    pub speed_only: bool,
    /// The paper model alone, without the learned segmenter (to see what it adds).
    #[arg(long)]
    pub without_segmenter: bool,
    /// Write our matte of each rendered scene to this folder as `<name>.png` (the layout
    /// `--peer` reads), for contact sheets (scripts/rendered/sheet.py).
    #[arg(long)]
    pub save: Option<std::path::PathBuf>,
    /// Keep each speed scene's 12 MP input and its Amazon output here (`<scene>.input.jpg`,
    /// `<scene>.output.jpg`), so another codec's floor can be timed on the same files
    /// (scripts/speed-vs-libjpeg-turbo.sh).
    #[arg(long)]
    pub speed_files: Option<std::path::PathBuf>,
    /// Matte parameters to try, as JSON (`{"hole_rim_share": 0.6}`); the rest keep their defaults.
    #[arg(long)]
    pub params: Option<String>,
}

/// `--params`: the defaults with the named fields changed. A name the engine does not have
/// is an error, so a typo cannot pass for a measurement of the defaults.
fn matte_params(json: &str) -> anyhow::Result<MatteParams> {
    let given: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).context("--params")?;
    let known = serde_json::to_value(MatteParams::default())?;
    if let Some(unknown) = given.keys().find(|k| known.get(k.as_str()).is_none()) {
        anyhow::bail!("--params: the matte has no parameter `{unknown}`");
    }
    serde_json::from_value(serde_json::Value::Object(given)).context("--params")
}

#[derive(Debug, Default, Serialize)]
struct StratumResult {
    stratum: String,
    size: String,
    n: usize,
    iou: f64,
    sad: f64,
    mse: f64,
    grad: f64,
    thin_recall: Option<f64>,
    hole_correct: Option<f64>,
    halo: f64,
    matte_ms: f64,
    /// Scenes the engine refused (scored as an empty matte): false alarms on plain paper.
    refused: usize,
}

#[derive(Debug, Serialize)]
struct SpeedResult {
    scene: String,
    input_mp: f64,
    input_bytes: usize,
    decode_ms: f64,
    encode_output_ms: f64,
    end_to_end_ms: f64,
    ratio: f64,
    stages_ms: Vec<(String, f64)>,
    peak_rss_mb: Option<f64>,
    peak_rss_delta_mb: Option<f64>,
    compliance_passed: Option<bool>,
    /// Applying a remove stroke and a keep tap to the finished matte (docs/engine.md).
    correction_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    quality: Vec<StratumResult>,
    speed: Vec<SpeedResult>,
    rendered: Vec<crate::rendered_bench::FamilyResult>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let tried = match &args.params {
        Some(json) => matte_params(json)?,
        None => MatteParams::default(),
    };
    let params = MatteParams { learned: !args.without_segmenter, ..tried };
    let default_set = std::path::Path::new("target/rendered/eval");
    let rendered_dir =
        args.rendered.clone().or_else(|| default_set.join("manifest.jsonl").exists().then(|| default_set.into()));
    let rendered = match &rendered_dir {
        _ if args.speed_only => vec![],
        Some(dir) => crate::rendered_bench::measure(dir, args.peer.as_deref(), args.save.as_deref(), &params)?,
        None if args.rendered_only => anyhow::bail!("no rendered set: pass --rendered DIR"),
        None => vec![],
    };
    if args.rendered_only {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&Report { quality: vec![], speed: vec![], rendered })?);
        } else {
            crate::rendered_bench::print(&rendered);
        }
        return Ok(());
    }
    let sizes: Vec<(u32, u32)> =
        if args.quick { vec![synth::SIZE_2MP] } else { vec![synth::SIZE_2MP, synth::SIZE_12MP] };
    let seeds = if args.quick { 1 } else { args.seeds.max(1) };
    let strata: Vec<Stratum> = synth::strata()
        .into_iter()
        .filter(|_| !args.speed_only)
        .filter(|s| args.filter.as_ref().is_none_or(|f| s.name().contains(f.as_str())))
        .collect();

    let mut quality = Vec::new();
    for &(w, h) in &sizes {
        for st in &strata {
            quality.push(measure_stratum(st, w, h, seeds, &params)?);
            if !args.json {
                print_quality_row(quality.last());
            }
        }
    }

    // Speed on one core: the ratio is about work, not parallelism.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().context("building a 1-thread pool")?;
    let speed_scenes: Vec<Stratum> = if args.quick {
        vec![Stratum { kind: Kind::Ring, metal: Metal::Gold, paper: Paper::White }]
    } else {
        vec![
            Stratum { kind: Kind::Ring, metal: Metal::Gold, paper: Paper::White },
            Stratum { kind: Kind::Chain, metal: Metal::Silver, paper: Paper::White },
        ]
    };
    let runs = if args.quick { 1 } else { 3 };
    let mut speed = Vec::new();
    for st in speed_scenes {
        let r = pool.install(|| measure_speed(&st, runs, args.speed_files.as_deref()))?;
        if !args.json {
            print_speed(&r);
        }
        speed.push(r);
    }

    let report = Report { quality, speed, rendered };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if !report.rendered.is_empty() {
            crate::rendered_bench::print(&report.rendered);
        }
        print_targets(&report);
    }
    Ok(())
}

fn measure_stratum(st: &Stratum, w: u32, h: u32, seeds: u64, params: &MatteParams) -> anyhow::Result<StratumResult> {
    let results: Vec<anyhow::Result<(synth::Metrics, f64, bool)>> = (0..seeds)
        .into_par_iter()
        .map(|seed| {
            let scene = synth::generate(&st.spec(w, h, 1000 + seed));
            let decoded =
                imaging::decode(&scene.jpeg, &Limits::default()).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
            let t = Instant::now();
            let matte = imaging::cutout(&decoded, params);
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let refused = matte.is_err();
            let metrics = match matte {
                Ok(m) => synth::evaluate(m.alpha.as_raw(), &scene),
                Err(_) => synth::evaluate(&vec![0; scene.alpha.len()], &scene),
            };
            Ok((metrics, ms, refused))
        })
        .collect();
    let mut r = StratumResult {
        stratum: st.name(),
        size: format!("{}MP", (w * h + 500_000) / 1_000_000),
        ..Default::default()
    };
    let mut thin = Vec::new();
    let mut holes = Vec::new();
    for res in results {
        let (m, ms, refused) = res?;
        r.n += 1;
        r.refused += usize::from(refused);
        r.iou += m.iou;
        r.sad += m.sad;
        r.mse += m.mse;
        r.grad += m.grad;
        r.halo += m.halo;
        r.matte_ms += ms;
        if m.thin_recall.is_finite() {
            thin.push(m.thin_recall);
        }
        if m.hole_correct.is_finite() {
            holes.push(m.hole_correct);
        }
    }
    let n = r.n.max(1) as f64;
    for v in [&mut r.iou, &mut r.sad, &mut r.mse, &mut r.grad, &mut r.halo, &mut r.matte_ms] {
        *v /= n;
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    r.thin_recall = mean(&thin);
    r.hole_correct = mean(&holes);
    Ok(r)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn measure_speed(st: &Stratum, runs: usize, keep: Option<&std::path::Path>) -> anyhow::Result<SpeedResult> {
    let (w, h) = synth::SIZE_12MP;
    let scene = synth::generate(&st.spec(w, h, 7));
    let jpeg = scene.jpeg;
    let limits = Limits::default();
    let recipe = Recipe::for_preset(Preset::Amazon);
    let err = |e: imaging::ImagingError| anyhow::anyhow!("{}: {e}", e.code());

    // Peak memory of one image in flight: reset the high-water mark first.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let base = rss_kb("VmRSS");
    let mut e2e = Vec::new();
    let mut stages: Vec<(String, f64)> = Vec::new();
    let mut out_bytes = Vec::new();
    let mut compliance = None;
    for _ in 0..runs {
        let t = Instant::now();
        let d = imaging::decode(&jpeg, &limits).map_err(err)?;
        let decode_ms = t.elapsed().as_secs_f64() * 1000.0;
        let r = imaging::render(&d, &recipe, &mut |_, _| {}).map_err(err)?;
        e2e.push(t.elapsed().as_secs_f64() * 1000.0);
        stages = std::iter::once(("decode".to_string(), decode_ms))
            .chain(r.timings.iter().map(|s| (format!("{:?}", s.stage).to_lowercase(), s.ms)))
            .collect();
        compliance = r.compliance.as_ref().map(|c| c.passed);
        out_bytes = r.bytes;
    }
    let peak = if reset { rss_kb("VmHWM") } else { None };
    if let Some(dir) = keep {
        let stem = st.name().replace('/', "-");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join(format!("{stem}.input.jpg")), &jpeg)?;
        std::fs::write(dir.join(format!("{stem}.output.jpg")), &out_bytes)?;
    }

    // The floor: decode this input, encode this output.
    let mut dec = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let d = imaging::decode(&jpeg, &limits).map_err(err)?;
        dec.push(t.elapsed().as_secs_f64() * 1000.0);
        drop(d);
    }
    let output = imaging::decode(&out_bytes, &limits).map_err(err)?;
    let mut enc = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let b = imaging::encode_rgb(&output.rgb, Format::Jpeg, 90).map_err(err)?;
        enc.push(t.elapsed().as_secs_f64() * 1000.0);
        drop(b);
    }
    let (decode_ms, encode_output_ms, end_to_end_ms) = (median(dec), median(enc), median(e2e));

    // A correction as a person paints one: a remove stroke across the middle, a keep tap.
    let d = imaging::decode(&jpeg, &limits).map_err(err)?;
    let matte = imaging::cutout(&d, &MatteParams::default()).map_err(err)?;
    let (fw, fh) = (w as f32, h as f32);
    let strokes = [
        Stroke { brush: Brush::Remove, radius: 40.0, points: vec![[fw * 0.4, fh * 0.5], [fw * 0.6, fh * 0.5]] },
        Stroke { brush: Brush::Keep, radius: 25.0, points: vec![[fw * 0.5, fh * 0.45]] },
    ];
    let mut correction = Vec::new();
    for _ in 0..runs {
        let mut m = matte.clone();
        let t = Instant::now();
        imaging::matte::hints::apply(&d.rgb, &mut m, &strokes).map_err(err)?;
        correction.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(SpeedResult {
        scene: format!("{} 12MP", st.name()),
        input_mp: f64::from(w) * f64::from(h) / 1e6,
        input_bytes: jpeg.len(),
        decode_ms,
        encode_output_ms,
        end_to_end_ms,
        ratio: end_to_end_ms / (decode_ms + encode_output_ms),
        stages_ms: stages,
        peak_rss_mb: peak.map(|p| p as f64 / 1024.0),
        peak_rss_delta_mb: peak.zip(base).map(|(p, b)| p.saturating_sub(b) as f64 / 1024.0),
        compliance_passed: compliance,
        correction_ms: median(correction),
    })
}

/// A field of /proc/self/status in kB (Linux only; None elsewhere).
fn rss_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok())
}

fn opt(v: Option<f64>) -> String {
    v.map_or("   —  ".into(), |x| format!("{x:.4}"))
}

fn print_quality_row(r: Option<&StratumResult>) {
    let Some(r) = r else { return };
    println!(
        "{:26} {:>4} n={} IoU {:.4}  SAD {:7.2}  MSE {:6.3}  Grad {:7.2}  thin {}  hole {}  halo {:.4}  matte {:5.0} ms  refused {}",
        r.stratum,
        r.size,
        r.n,
        r.iou,
        r.sad,
        r.mse,
        r.grad,
        opt(r.thin_recall),
        opt(r.hole_correct),
        r.halo,
        r.matte_ms,
        r.refused
    );
}

fn print_speed(r: &SpeedResult) {
    println!(
        "\nspeed (1 core) {}: decode {:.0} ms + encode output {:.0} ms = floor {:.0} ms; end to end {:.0} ms; ratio {:.2} (target ≤ 4)",
        r.scene,
        r.decode_ms,
        r.encode_output_ms,
        r.decode_ms + r.encode_output_ms,
        r.end_to_end_ms,
        r.ratio
    );
    let stages: Vec<String> = r.stages_ms.iter().map(|(s, ms)| format!("{s} {ms:.0}")).collect();
    println!("  stages (ms): {}", stages.join(", "));
    match (r.peak_rss_mb, r.peak_rss_delta_mb) {
        (Some(p), Some(d)) => {
            println!("  peak RSS {p:.0} MB (+{d:.0} MB for the image in flight; target < 400 MB)")
        }
        _ => println!("  peak RSS: not available on this platform"),
    }
    if let Some(c) = r.compliance_passed {
        println!("  Amazon compliance: {}", if c { "passed" } else { "FAILED" });
    }
    println!("  correction (a remove stroke and a keep tap on the matte): {:.0} ms", r.correction_ms);
}

fn print_targets(report: &Report) {
    println!("\ntargets:");
    for r in &report.quality {
        let chain = r.stratum.starts_with("chain");
        let mut misses = Vec::new();
        let iou_target = if chain { 0.85 } else { 0.98 };
        if r.iou < iou_target {
            misses.push(format!("IoU {:.4} < {iou_target}", r.iou));
        }
        if chain && r.thin_recall.is_some_and(|t| t < 0.80) {
            misses.push(format!("thin recall {} < 0.80", opt(r.thin_recall)));
        }
        if r.hole_correct.is_some_and(|h| h < 0.98) {
            misses.push(format!("holes {} < 0.98", opt(r.hole_correct)));
        }
        if r.halo > 0.02 {
            misses.push(format!("halo {:.4} > 0.02", r.halo));
        }
        if r.refused > 0 {
            misses.push(format!("{} of {} refused", r.refused, r.n));
        }
        let verdict = if misses.is_empty() { "meets targets".to_string() } else { misses.join("; ") };
        println!("  {:26} {:>4}: {verdict}", r.stratum, r.size);
    }
    for s in &report.speed {
        println!(
            "  speed {}: ratio {:.2} {} 4; peak {} MB",
            s.scene,
            s.ratio,
            if s.ratio <= 4.0 { "≤" } else { ">" },
            s.peak_rss_mb.map_or("?".into(), |p| format!("{p:.0}"))
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn params_change_only_what_they_name_and_refuse_unknown_names() {
        let p = super::matte_params(r#"{"hole_rim_share": 0.6}"#).unwrap();
        assert_eq!(p.hole_rim_share, 0.6);
        assert_eq!(p.close_radius, imaging::MatteParams::default().close_radius);
        let e = super::matte_params(r#"{"hole_rim_shar": 0.6}"#).unwrap_err().to_string();
        assert!(e.contains("hole_rim_shar"), "{e}");
    }
}

//! `soraipixel process`: the local engine on files and folders.
//!
//! Each input becomes a finished catalogue image for a marketplace preset, or
//! with `--cutout` an RGBA PNG of the same size whose alpha is the matte. Files
//! run in parallel; a failing file is reported and the batch goes on; the exit
//! code is non-zero when any file failed.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, bail};
use imaging::matte::hints::Stroke;
use imaging::{
    AspectRatio, Background, ComplianceReport, Format, ImagingError, Limits, MatteParams, Metal, Preset, Recipe,
    Reflection, Shadow, Watermark,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

/// Extensions picked up when an input is a folder.
const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "heic", "heif"];

#[derive(clap::Args, Debug)]
pub struct ProcessArgs {
    /// Photos, or folders of photos (JPEG, PNG, WebP; HEIC where the system has libheif).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output file (only with a single input).
    #[arg(short = 'o', long = "output", conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    /// Output folder: `<stem>.<preset>.jpg` or `<stem>.cutout.png` inside it.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Marketplace preset (amazon, amazon_general, etsy, shopify, ebay, flipkart, myntra,
    /// ajio, meesho, instagram_square, instagram_portrait, google_shopping, whatsapp).
    /// Default: amazon on white; with another background, a 2000×2000 image for no
    /// marketplace in particular.
    #[arg(long)]
    pub preset: Option<Preset>,
    /// white, transparent (an RGBA PNG whose alpha is the matte), #rrggbb,
    /// #rrggbb-#rrggbb (gradient), linen, marble, velvet[:#rrggbb].
    #[arg(long)]
    pub background: Option<Background>,
    /// contact, drop or none.
    #[arg(long)]
    pub shadow: Option<Shadow>,
    /// Mirror reflection under the piece.
    #[arg(long)]
    pub reflection: bool,
    /// Aspect ratio override: 1:1, 3:4, 4:5, 9:16, 4:3, 16:9, 1.91:1, 2:3.
    #[arg(long)]
    pub aspect: Option<AspectRatio>,
    /// Recolour the metal: yellow_gold, rose_gold, white_gold, silver, platinum,
    /// antique_gold, copper, gunmetal or #rrggbb.
    #[arg(long)]
    pub recolour: Option<Metal>,
    /// Corrections painted on the (single) photo: a JSON array of strokes
    /// `{"brush": "keep"|"remove", "radius": px, "points": [[x, y], …]}` in its pixels.
    #[arg(long)]
    pub hints: Option<PathBuf>,
    /// Detail close-up cropped from the subject.
    #[arg(long)]
    pub closeup: bool,
    /// Watermark text in the corner.
    #[arg(long)]
    pub watermark: Option<String>,
    /// Recipe JSON file (command-line options above override its fields).
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// Write an RGBA PNG cutout (alpha = matte) instead of a catalogue image.
    #[arg(long)]
    pub cutout: bool,
    /// Print a machine-readable JSON report on stdout (no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Treat a failed compliance check as a failed file.
    #[arg(long)]
    pub strict: bool,
    /// Largest accepted input, in megapixels.
    #[arg(long, default_value_t = 64)]
    pub max_megapixels: u64,
}

#[derive(Debug, Serialize)]
struct FileReport {
    input: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<PathBuf>,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    /// Milliseconds per stage (read, decode, matte, frame, …, write).
    timings_ms: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compliance: Option<ComplianceReport>,
    /// The matte's confidence, 0–1.
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<f32>,
}

#[derive(Debug, Serialize)]
struct ErrorReport {
    code: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct BatchReport<'a> {
    files: &'a [FileReport],
    succeeded: usize,
    failed: usize,
}

pub fn run(args: ProcessArgs) -> anyhow::Result<ExitCode> {
    let inputs = expand_inputs(&args.inputs)?;
    if inputs.is_empty() {
        bail!("no images found in the given inputs");
    }
    if args.output.is_some() && inputs.len() != 1 {
        bail!("-o/--output takes a single input; use --out-dir for several");
    }
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut recipe = build_recipe(&args)?;
    // `-o out.png` / `out.webp`: the file name decides the encoding.
    if let Some(format) =
        args.output.as_ref().and_then(|o| o.extension()).and_then(|e| e.to_str()?.parse::<Format>().ok())
        && !args.cutout
    {
        let quality = recipe.output.map_or(90, |o| o.quality);
        recipe.output = Some(imaging::Output { format, quality, long_side: recipe.output.and_then(|o| o.long_side) });
    }
    recipe.validate().map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let hints: Vec<Stroke> = match &args.hints {
        Some(_) if inputs.len() != 1 => bail!("--hints are painted on one photo; give a single input"),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing hints {}", path.display()))?
        }
        None => Vec::new(),
    };
    let limits = Limits { max_pixels: args.max_megapixels.saturating_mul(1_000_000), ..Limits::default() };

    let bar = if args.json || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(inputs.len() as u64), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::new(inputs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let done = Mutex::new(());
    let reports: Vec<FileReport> = inputs
        .par_iter()
        .map(|input| {
            let report = process_one(input, &args, &recipe, &hints, &limits);
            let _guard = done.lock();
            bar.set_message(input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            bar.inc(1);
            report
        })
        .collect();
    bar.finish_and_clear();

    let failed = reports.iter().filter(|r| !r.ok).count();
    if args.json {
        let batch = BatchReport { files: &reports, succeeded: reports.len() - failed, failed };
        println!("{}", serde_json::to_string_pretty(&batch)?);
    } else {
        for r in &reports {
            print_line(r);
        }
        if reports.len() > 1 {
            println!("{} succeeded, {failed} failed", reports.len() - failed);
        }
    }
    // Exit code 3 when every failure was a photo the engine cannot cut out (reshoot it).
    let unsuitable = reports
        .iter()
        .filter(|r| r.error.as_ref().is_some_and(|e| e.code == ImagingError::UNSUITABLE_BACKGROUND))
        .count();
    Ok(match failed {
        0 => ExitCode::SUCCESS,
        f if f == unsuitable => ExitCode::from(3),
        _ => ExitCode::FAILURE,
    })
}

fn print_line(r: &FileReport) {
    let total: f64 = r.timings_ms.values().sum();
    match (&r.error, &r.output) {
        (Some(e), _) => println!("FAILED {}: {} ({})", r.input.display(), e.message, e.code),
        (None, Some(out)) => {
            let check = match &r.compliance {
                Some(c) if c.passed => " — compliance passed".to_string(),
                Some(c) => {
                    let failed: Vec<String> =
                        c.rules.iter().filter(|x| !x.passed).map(|x| format!("{} ({})", x.id, x.measured)).collect();
                    format!(" — compliance FAILED: {}", failed.join(", "))
                }
                None => String::new(),
            };
            let doubt = match r.confidence {
                Some(c) if c < imaging::LOW_CONFIDENCE => format!(" — low confidence ({c:.2}): check the edges"),
                _ => String::new(),
            };
            println!("ok {} → {} in {total:.0} ms{check}{doubt}", r.input.display(), out.display());
        }
        (None, None) => println!("ok {}", r.input.display()),
    }
}

fn build_recipe(args: &ProcessArgs) -> anyhow::Result<Recipe> {
    let mut recipe = match &args.recipe {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<Recipe>(&text).with_context(|| format!("parsing recipe {}", path.display()))?
        }
        None => Recipe::default(),
    };
    if let Some(b) = &args.background {
        recipe.background = Some(b.clone());
    }
    if args.preset.is_some() || args.recipe.is_none() {
        recipe.preset = args.preset();
    }
    if let Some(p) = recipe.preset
        && p.spec().pure_white
        && recipe.background.as_ref().is_some_and(|b| *b != Background::White)
    {
        bail!("{} requires a pure white background; choose another --preset for a coloured or transparent one", p.id());
    }
    if let Some(s) = args.shadow {
        recipe.shadow = Some(s);
    }
    if args.reflection {
        recipe.reflection = Some(Reflection::default());
    }
    if let Some(a) = args.aspect {
        recipe.aspect_ratio = Some(a);
    }
    if let Some(m) = args.recolour {
        recipe.recolour = Some(m);
    }
    recipe.closeup |= args.closeup;
    if let Some(text) = &args.watermark {
        recipe.watermark = Some(Watermark { text: text.clone(), opacity: 0.35 });
    }
    Ok(recipe)
}

/// Files as given; folders expanded to their image files (sorted, not recursive).
fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(input)
                .with_context(|| format!("reading folder {}", input.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && has_image_extension(p))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

fn has_image_extension(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

impl ProcessArgs {
    /// The preset asked for; else Amazon's, unless another background than white was asked for.
    fn preset(&self) -> Option<Preset> {
        let white = self.background.as_ref().is_none_or(|b| *b == Background::White);
        self.preset.or(white.then_some(Preset::Amazon))
    }
}

/// `<stem>.<preset>.<ext>` (`transparent` or `custom` without one) or `<stem>.cutout.png`,
/// in --out-dir or beside the input.
fn output_path(input: &Path, args: &ProcessArgs, format: Format) -> PathBuf {
    if let Some(o) = &args.output {
        return o.clone();
    }
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
    let name = if args.cutout {
        format!("{stem}.cutout.png")
    } else {
        let kind = match args.preset() {
            Some(p) => p.id(),
            None if args.background == Some(Background::Transparent) => "transparent",
            None => "custom",
        };
        format!("{stem}.{kind}.{}", format.extension())
    };
    match &args.out_dir {
        Some(dir) => dir.join(name),
        None => input.with_file_name(name),
    }
}

fn process_one(input: &Path, args: &ProcessArgs, recipe: &Recipe, hints: &[Stroke], limits: &Limits) -> FileReport {
    let mut report = FileReport {
        input: input.to_path_buf(),
        output: None,
        ok: false,
        error: None,
        width: None,
        height: None,
        timings_ms: BTreeMap::new(),
        compliance: None,
        confidence: None,
    };
    let fail = |report: &mut FileReport, code: &str, message: String| {
        report.error = Some(ErrorReport { code: code.to_string(), message });
    };
    let mut clock = Instant::now();
    let mut lap = |name: &str, timings: &mut BTreeMap<String, f64>| {
        timings.insert(name.to_string(), clock.elapsed().as_secs_f64() * 1000.0);
        clock = Instant::now();
    };
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            fail(&mut report, "read_failed", e.to_string());
            return report;
        }
    };
    lap("read", &mut report.timings_ms);
    let decoded = match imaging::decode(&bytes, limits) {
        Ok(d) => d,
        Err(e) => {
            fail(&mut report, e.code(), e.to_string());
            return report;
        }
    };
    drop(bytes);
    lap("decode", &mut report.timings_ms);

    let started = Instant::now();
    let matte = imaging::cutout(&decoded, &MatteParams::default())
        .and_then(|mut m| imaging::matte::hints::apply(&decoded.rgb, &mut m, hints).map(|()| m));
    let matte = match matte {
        Ok(m) => m,
        Err(e) => {
            fail(&mut report, e.code(), e.to_string());
            return report;
        }
    };
    report.timings_ms.insert("matte".into(), started.elapsed().as_secs_f64() * 1000.0);
    report.confidence = Some(matte.confidence);
    let made = if args.cutout {
        matte.to_png().map(|b| (b, Format::Png, decoded.width, decoded.height))
    } else {
        imaging::render_matte(&matte, recipe, &mut |_, _| {}).map(|r| {
            for t in &r.timings {
                report.timings_ms.insert(format!("{:?}", t.stage).to_lowercase(), t.ms);
            }
            report.compliance = r.compliance;
            (r.bytes, r.format, r.width, r.height)
        })
    };
    let (out_bytes, format, w, h) = match made {
        Ok(m) => m,
        Err(e) => {
            fail(&mut report, e.code(), e.to_string());
            return report;
        }
    };
    drop(decoded);
    clock = Instant::now();
    let out = output_path(input, args, format);
    if let Err(e) = std::fs::write(&out, &out_bytes) {
        fail(&mut report, "write_failed", format!("{}: {e}", out.display()));
        return report;
    }
    report.timings_ms.insert("write".into(), clock.elapsed().as_secs_f64() * 1000.0);
    report.width = Some(w);
    report.height = Some(h);
    report.output = Some(out);
    report.ok = !(args.strict && report.compliance.as_ref().is_some_and(|c| !c.passed));
    if !report.ok {
        fail(&mut report, "compliance_failed", "the output does not pass the preset's compliance check".into());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: ProcessArgs,
    }

    fn parse(argv: &[&str]) -> ProcessArgs {
        Cli::try_parse_from(std::iter::once("process").chain(argv.iter().copied())).unwrap().args
    }

    #[test]
    fn output_names_follow_the_preset_or_cutout() {
        let a = parse(&["photo.jpg", "--out-dir", "out", "--preset", "etsy"]);
        assert_eq!(output_path(Path::new("in/ring.heic"), &a, Format::Jpeg), PathBuf::from("out/ring.etsy.jpg"));
        let a = parse(&["photo.jpg", "--out-dir", "out", "--cutout"]);
        assert_eq!(output_path(Path::new("in/ring.jpg"), &a, Format::Png), PathBuf::from("out/ring.cutout.png"));
        let a = parse(&["in/ring.jpg"]);
        assert_eq!(output_path(Path::new("in/ring.jpg"), &a, Format::Jpeg), PathBuf::from("in/ring.amazon.jpg"));
        let a = parse(&["in/ring.jpg", "--background", "transparent"]);
        assert_eq!(output_path(Path::new("in/ring.jpg"), &a, Format::Png), PathBuf::from("in/ring.transparent.png"));
    }

    #[test]
    fn options_parse_into_the_recipe() {
        let a = parse(&[
            "x.jpg",
            "--preset",
            "etsy",
            "--background",
            "#fff-#eee",
            "--shadow",
            "drop",
            "--aspect",
            "4:5",
            "--recolour",
            "rose_gold",
            "--reflection",
            "--closeup",
        ]);
        let r = build_recipe(&a).unwrap();
        assert_eq!(r.preset, Some(Preset::Etsy));
        assert!(matches!(r.background, Some(Background::Gradient { .. })));
        assert_eq!(r.shadow, Some(Shadow::drop()));
        assert_eq!(r.aspect_ratio, Some(AspectRatio::Portrait4x5));
        assert_eq!(r.recolour, Some(Metal::RoseGold));
        assert!(r.reflection.is_some() && r.closeup);
        assert_eq!(build_recipe(&parse(&["x.jpg"])).unwrap().preset, Some(Preset::Amazon));
        let r = build_recipe(&parse(&["x.jpg", "--background", "transparent"])).unwrap();
        assert_eq!((r.preset, r.background), (None, Some(Background::Transparent)), "no marketplace: no white rule");
        let e = build_recipe(&parse(&["x.jpg", "--preset", "amazon", "--background", "velvet"])).unwrap_err();
        assert!(e.to_string().contains("pure white"), "{e}");
        assert!(Cli::try_parse_from(["process", "x.jpg", "--preset", "nope"]).is_err());
        assert!(Cli::try_parse_from(["process", "x.jpg", "--shadow", "sideways"]).is_err());
    }

    #[test]
    fn folders_expand_to_their_images_sorted() {
        let dir = std::env::temp_dir().join(format!("sorai-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["b.JPG", "a.png", "notes.txt"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let files = expand_inputs(std::slice::from_ref(&dir)).unwrap();
        let names: Vec<_> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["a.png", "b.JPG"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

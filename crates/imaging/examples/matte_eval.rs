//! Quick matte check on synthetic scenes: `cargo run --release -p imaging --example matte_eval [2|12] [seeds] [filter]`.
//! The full benchmark is `soraipixel bench-engine`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let size = if args.get(1).map(String::as_str) == Some("12") { synth::SIZE_12MP } else { synth::SIZE_2MP };
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let filter = args.get(3).cloned().unwrap_or_default();
    let dump = std::env::var("DUMP").is_ok();
    // PARAMS='{"shadow_slack":0.2}' overrides matte parameters for sweeps.
    let params: imaging::MatteParams = match std::env::var("PARAMS") {
        Ok(json) => serde_json::from_str(&json)?,
        Err(_) => imaging::MatteParams::default(),
    };
    let mut sum = (0.0, 0usize);
    for st in synth::strata() {
        if !st.name().contains(&filter) {
            continue;
        }
        for seed in 0..seeds {
            let sc = synth::generate(&st.spec(size.0, size.1, seed));
            let d = imaging::decode(&sc.jpeg, &imaging::Limits::default())?;
            let t = Instant::now();
            let m = imaging::cutout(&d, &params);
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            match m {
                Ok(m) => {
                    let r = synth::evaluate(m.alpha.as_raw(), &sc);
                    sum = (sum.0 + r.iou, sum.1 + 1);
                    println!(
                        "{:28} s{seed} iou {:.4} sad {:7.2} thin {:.3} hole {:.4} halo {:.4} {:6.0} ms",
                        st.name(),
                        r.iou,
                        r.sad,
                        r.thin_recall,
                        r.hole_correct,
                        r.halo,
                        ms
                    );
                    if dump {
                        panel(
                            &sc,
                            m.alpha.as_raw(),
                            &format!("/tmp/{}_{seed}_panel.png", st.name().replace('/', "_")),
                        )?;
                        let name = st.name().replace('/', "_");
                        std::fs::write(format!("/tmp/{name}_{seed}.jpg"), &sc.jpeg)?;
                        m.alpha.save(format!("/tmp/{name}_{seed}_pred.png"))?;
                        image::GrayImage::from_raw(sc.width, sc.height, sc.alpha.clone())
                            .ok_or("gt")?
                            .save(format!("/tmp/{name}_{seed}_gt.png"))?;
                    }
                }
                Err(e) => println!("{:28} s{seed} ERROR {}", st.name(), e.code()),
            }
        }
    }
    println!("mean IoU {:.4} over {}", sum.0 / sum.1.max(1) as f64, sum.1);
    Ok(())
}

/// Image | truth | prediction around the 256×256 window with the largest error.
fn panel(sc: &synth::Scene, pred: &[u8], path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = (sc.width as usize, sc.height as usize);
    let win = 256usize.min(w).min(h);
    let mut best = (0u64, 0usize, 0usize);
    for y in (0..=h - win).step_by(64) {
        for x in (0..=w - win).step_by(64) {
            let mut e = 0u64;
            for yy in (y..y + win).step_by(2) {
                for xx in (x..x + win).step_by(2) {
                    let i = yy * w + xx;
                    e += u64::from(pred[i].abs_diff(sc.alpha[i]));
                }
            }
            if e > best.0 {
                best = (e, x, y);
            }
        }
    }
    let (_, mut x0, mut y0) = best;
    if let Some((cx, cy)) = std::env::var("CROP").ok().and_then(|c| {
        let (a, b) = c.split_once(',')?;
        Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
    }) {
        (x0, y0) = (cx.min(w - win), cy.min(h - win));
    }
    let out = image::RgbImage::from_fn(win as u32 * 3, win as u32, |x, y| {
        let (panel, px) = (x as usize / win, x as usize % win);
        let (sx, sy) = (x0 + px, y0 + y as usize);
        let i = sy * w + sx;
        match panel {
            0 => *sc.rgb.get_pixel(sx as u32, sy as u32),
            1 => image::Rgb([sc.alpha[i]; 3]),
            _ => image::Rgb([pred[i]; 3]),
        }
    });
    out.save(path)?;
    println!("  panel at ({x0},{y0}) -> {path}");
    Ok(())
}

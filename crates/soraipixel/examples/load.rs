//! Load and throughput figures for a real `soraipixel serve` on loopback (docs/benchmarks.md).
//!
//! `scripts/load-run.sh [--users 50] [--photo-mb 10]` (builds in release, then runs this).
//!
//! 1. Throughput: one seller queues 8 creations of 3 images from a 12 MP photo; the time until
//!    all 24 images are made, with 1 and with 2 workers.
//! 2. Load: `--users` sellers sign up at once, each uploads a ~`--photo-mb` MB photo, asks for a
//!    marketplace pack and polls its creation, balance and studio page until done. Latency
//!    percentiles per kind of request, and the server's peak RSS (VmHWM).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a measuring tool fails loudly")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `workers` 0 means one per core (the default).
    fn start(bin: &Path, workers: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(bin)
            .arg("serve")
            .env_remove("SORAIPIXEL_CONFIG")
            .env("SORAIPIXEL__DATA_DIR", dir.path())
            .env("SORAIPIXEL__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("SORAIPIXEL__WORKERS__CONCURRENCY", workers.to_string())
            .env("SORAIPIXEL__TOKENS__WELCOME_GRANT", "1000")
            // Measuring the server, not its abuse limits.
            .env("SORAIPIXEL__SECURITY__SIGNUPS_PER_IP_HOUR", "100000")
            .env("SORAIPIXEL__LOG__FILTER", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, base: format!("http://127.0.0.1:{port}"), _dir: dir }
    }

    /// Peak resident memory of the server process so far, in MB.
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        kb / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[path = "../tests/support/seller.rs"]
mod seller;
use seller::Seller;

const PACK: [&str; 3] = ["amazon", "etsy", "instagram_square"];

async fn finished(seller: &Seller, creation: &str) -> bool {
    let c = seller.json(seller.req(Method::GET, &format!("/api/v1/creations/{creation}"))).await;
    !matches!(c["status"].as_str(), Some("queued" | "running"))
}

fn photo(width: u32, height: u32, quality: u8) -> Vec<u8> {
    synth::generate(&synth::SceneSpec { jpeg_quality: quality, ..synth::SceneSpec::gold_ring(width, height, 3) }).jpeg
}

/// Images made per minute through the queue by `workers` workers.
async fn throughput(bin: &Path, workers: usize, photo: &[u8]) -> f64 {
    let server = Server::start(bin, workers);
    let seller = Seller::signup(&server.base, "throughput@example.com").await;
    let upload = seller.upload(photo.to_vec()).await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(seller.create(&upload, &PACK).await);
    }
    for id in &ids {
        while !finished(&seller, id).await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    24.0 / started.elapsed().as_secs_f64() * 60.0
}

/// Milliseconds per request, by kind.
#[derive(Default)]
struct Timings {
    upload: Vec<f64>,
    api: Vec<f64>,
    page: Vec<f64>,
}

async fn timed(req: reqwest::RequestBuilder) -> f64 {
    let t = Instant::now();
    let res = req.send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    res.bytes().await.unwrap();
    t.elapsed().as_secs_f64() * 1000.0
}

async fn one_seller(base: String, i: usize, photo: Vec<u8>) -> Timings {
    let mut t = Timings::default();
    let seller = Seller::signup(&base, &format!("load{i}@example.com")).await;
    let start = Instant::now();
    let upload = seller.upload(photo).await;
    t.upload.push(start.elapsed().as_secs_f64() * 1000.0);
    let creation = seller.create(&upload, &PACK).await;
    loop {
        t.api.push(timed(seller.req(Method::GET, &format!("/api/v1/creations/{creation}"))).await);
        t.api.push(timed(seller.req(Method::GET, "/api/v1/tokens")).await);
        t.page.push(timed(seller.req(Method::GET, "/studio")).await);
        if finished(&seller, &creation).await {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(default)
    };
    let (users, photo_mb) = (arg("--users", 50), arg("--photo-mb", 10));
    let bin = std::env::var("SORAIPIXEL_BIN").map(PathBuf::from).unwrap_or_else(|_| {
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().join("soraipixel")
    });

    let twelve = photo(4000, 3000, 90);
    let one = throughput(&bin, 1, &twelve).await;
    let two = throughput(&bin, 2, &twelve).await;
    println!("throughput (12 MP photo, 8 creations × 3 images)");
    println!("  1 worker : {one:.1} images/min");
    println!("  2 workers: {two:.1} images/min  (×{:.2})", two / one);

    // A photo of about the asked size: the finest JPEG quality, then more pixels as needed.
    let mut side = 4000u32;
    let big = loop {
        let p = photo(side, side * 3 / 4, 98);
        if p.len() >= photo_mb * 1024 * 1024 || side >= 8000 {
            break p;
        }
        side += 500;
    };
    let server = Server::start(&bin, 0);
    let started = Instant::now();
    let sellers: Vec<_> = (0..users).map(|i| tokio::spawn(one_seller(server.base.clone(), i, big.clone()))).collect();
    let mut all = Timings::default();
    for seller in sellers {
        let t = seller.await.unwrap();
        all.upload.extend(t.upload);
        all.api.extend(t.api);
        all.page.extend(t.page);
    }
    println!(
        "load: {users} sellers at once, {:.1} MB photos ({side}×{}), every creation done after {:.0} s",
        big.len() as f64 / 1_048_576.0,
        side * 3 / 4,
        started.elapsed().as_secs_f64()
    );
    for (name, v) in [("upload", &mut all.upload), ("api (non-upload)", &mut all.api), ("page /studio", &mut all.page)]
    {
        let (p50, p99) = (percentile(v, 0.5), percentile(v, 0.99));
        println!("  {name:<17} n={:<5} p50 {p50:>8.1} ms  p99 {p99:>8.1} ms", v.len());
    }
    println!("  serve peak RSS: {:.0} MB", server.peak_rss_mb());
}

//! Scale-out as an operator runs it: `serve` without workers, and separate `worker`
//! processes against the same database and storage. A worker is killed with SIGKILL in the
//! middle of a creation; another takes the job over when its lease runs out and finishes it,
//! with every image charged exactly once and no stored object left without its row.
//! Runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_soraipixel");
const PRESETS: [&str; 12] = [
    "amazon",
    "etsy",
    "shopify",
    "instagram_square",
    "instagram_portrait",
    "flipkart",
    "myntra",
    "ajio",
    "meesho",
    "ebay",
    "google_shopping",
    "whatsapp",
];

fn start(dir: &Path, database: &str, port: u16, role: &str) -> Child {
    Command::new(BIN)
        .arg(role)
        .current_dir(dir)
        .env_remove("SORAIPIXEL_CONFIG")
        .env("SORAIPIXEL__DATA_DIR", dir)
        .env("SORAIPIXEL__DATABASE__URL", database)
        .env("SORAIPIXEL__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("SORAIPIXEL__WORKERS__IN_SERVE", "false")
        .env("SORAIPIXEL__WORKERS__LEASE_SECS", "2")
        .env("SORAIPIXEL__WORKERS__CONCURRENCY", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

struct Seller {
    base: String,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Seller {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header("sec-fetch-site", "same-origin");
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap().json().await.unwrap()
    }
}

async fn signup(base: &str) -> Seller {
    let http = reqwest::Client::new();
    for _ in 0..150 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = http
        .post(format!("{base}/api/v1/auth/signup"))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"email": "scale@example.com", "password": "kundan necklace sparkle", "name": "Asha"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    Seller { base: base.to_owned(), http, cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
}

async fn killed_worker_is_taken_over(database: String) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = start(dir.path(), &database, port, "serve");
    let seller = signup(&format!("http://127.0.0.1:{port}")).await;

    let photo = synth::generate(&synth::SceneSpec {
        kind: synth::Kind::Ring,
        metal: synth::Metal::Gold,
        paper: synth::Paper::White,
        width: 3000,
        height: 2250,
        seed: 5,
        jpeg_quality: 90,
    })
    .jpeg;
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(photo).file_name("ring.jpg").mime_str("image/jpeg").unwrap());
    let upload: Value = seller
        .http
        .post(format!("{}/api/v1/uploads", seller.base))
        .header("cookie", &seller.cookie)
        .header("x-csrf-token", &seller.csrf)
        .header("sec-fetch-site", "same-origin")
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created =
        seller.call("POST", "/api/v1/creations", Some(json!({"upload_id": upload["id"], "presets": PRESETS}))).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/creations/{id}");

    // The first worker takes the job; once it has made at least one image, kill -9 it.
    let mut first = start(dir.path(), &database, port, "worker");
    let mut seen = Value::Null;
    for _ in 0..600 {
        seen = seller.call("GET", &path, None).await;
        if seen["outputs"].as_array().is_some_and(|o| !o.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let made_before = seen["outputs"].as_array().map_or(0, Vec::len);
    assert!((1..12).contains(&made_before), "killed part-way: {made_before} of 12 made");

    // A second worker resumes after the lease expires and makes only what is missing.
    let mut second = start(dir.path(), &database, port, "worker");
    let mut done = Value::Null;
    for _ in 0..1200 {
        done = seller.call("GET", &path, None).await;
        if done["status"] != "queued" && done["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "succeeded", "{done}");
    let outputs = done["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 12);
    assert_eq!(outputs[0]["id"], seen["outputs"][0]["id"], "images made before the kill are kept, not redone");
    assert_eq!(done["tokens_charged"], 12);
    assert_eq!(seller.call("GET", "/api/v1/tokens", None).await, json!({"balance": 8, "held": 0}));
    let ledger = seller.call("GET", "/api/v1/tokens/ledger?limit=100", None).await;
    let charges = ledger["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "charge").count();
    assert_eq!(charges, 12, "each image charged once");

    // Exactly the photo, its thumbnail and twelve images are stored (a redone image lands on
    // the same path); a partial write the kill may have cut short goes with the sweep.
    let me = seller.call("GET", "/api/v1/me", None).await;
    let user_dir = dir.path().join("blobs/users").join(me["id"].as_str().unwrap());
    assert_eq!(count_files(&user_dir, false), 14);
    let swept = Command::new(BIN)
        .args(["admin", "sweep", "--grace-secs", "0"])
        .current_dir(dir.path())
        .env_remove("SORAIPIXEL_CONFIG")
        .env("SORAIPIXEL__DATA_DIR", dir.path())
        .env("SORAIPIXEL__DATABASE__URL", &database)
        .output()
        .unwrap();
    assert!(swept.status.success(), "{}", String::from_utf8_lossy(&swept.stderr));
    assert_eq!(count_files(&user_dir, true), 14, "no orphans");
    let zip = seller
        .http
        .get(format!("{}/api/v1/creations/{id}/zip", seller.base))
        .header("cookie", &seller.cookie)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    assert_eq!(archive.len(), 12);
    let mut first_file = Vec::new();
    archive.by_index(0).unwrap().read_to_end(&mut first_file).unwrap();
    assert!(first_file.starts_with(&[0xFF, 0xD8, 0xFF]));

    for child in [&mut second, &mut serve] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

/// Stored objects under `dir`; with `partial`, unfinished staging writes (`name#N`) count too.
fn count_files(dir: &Path, partial: bool) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| match p.is_dir() {
            true => count_files(&p, partial),
            false => usize::from(partial || !p.to_string_lossy().contains('#')),
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_worker_on_sqlite() {
    killed_worker_is_taken_over(String::new()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_worker_on_postgres() {
    let Some(pg) = db::testing::postgres().await else {
        return;
    };
    killed_worker_is_taken_over(pg.url()).await;
    pg.close().await;
}

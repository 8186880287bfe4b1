//! Scale-out as an operator runs it: `serve` without workers, and separate `worker`
//! processes against the same database and storage. A worker is killed with SIGKILL in the
//! middle of a creation; another takes the job over when its lease runs out and finishes it,
//! with every image charged exactly once and no stored object left without its row.
//! A worker killed in the middle of a webhook delivery leaves it to another, under the same
//! `webhook-id`. Runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
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
        .env("SORAIPIXEL__WEBHOOKS__ALLOW_PRIVATE_NETWORKS", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

mod support {
    pub mod seller;
}
use support::seller::Seller;

async fn call(seller: &Seller, method: Method, path: &str) -> Value {
    seller.json(seller.req(method, path)).await
}

async fn killed_worker_is_taken_over(database: String) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = start(dir.path(), &database, port, "serve");
    let seller = Seller::signup(&format!("http://127.0.0.1:{port}"), "scale@example.com").await;

    let photo = synth::generate(&synth::SceneSpec::gold_ring(3000, 2250, 5)).jpeg;
    let upload = seller.upload(photo).await;
    let id = seller.create(&upload, &PRESETS).await;
    let id = id.as_str();
    let path = format!("/api/v1/creations/{id}");

    // The first worker takes the job; once it has made at least one image, kill -9 it.
    let mut first = start(dir.path(), &database, port, "worker");
    let mut seen = Value::Null;
    for _ in 0..600 {
        seen = call(&seller, Method::GET, &path).await;
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
        done = call(&seller, Method::GET, &path).await;
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
    assert_eq!(call(&seller, Method::GET, "/api/v1/tokens").await, json!({"balance": 8, "held": 0}));
    let ledger = call(&seller, Method::GET, "/api/v1/tokens/ledger?limit=100").await;
    let charges = ledger["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "charge").count();
    assert_eq!(charges, 12, "each image charged once");

    // An image the killed worker stored but never recorded, or only partly wrote, is an
    // orphan until the sweep; afterwards exactly the photo, its thumbnail and twelve images.
    let me = call(&seller, Method::GET, "/api/v1/me").await;
    let user_dir = dir.path().join("blobs/users").join(me["id"].as_str().unwrap());
    assert!(count_files(&user_dir, true) >= 14);
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
    let zip =
        seller.req(Method::GET, &format!("/api/v1/creations/{id}/zip")).send().await.unwrap().bytes().await.unwrap();
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

/// A receiver that holds its first request (the worker sending it is killed meanwhile)
/// and answers the rest at once; it records each request's `webhook-id`.
async fn holding_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let record = record.clone();
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let first = {
                    let mut seen = record.lock().unwrap();
                    seen.push(id);
                    seen.len() == 1
                };
                if first {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks"), seen)
}

/// A worker SIGKILLed while a webhook delivery is in flight: another worker sends it again
/// under the same `webhook-id` (so the receiver can drop the repeat), it is recorded as
/// delivered once, and nothing more is sent.
async fn killed_worker_mid_delivery(database: String) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = start(dir.path(), &database, port, "serve");
    let seller = Seller::signup(&format!("http://127.0.0.1:{port}"), "hooks@example.com").await;
    let (url, seen) = holding_receiver().await;
    let endpoint = seller
        .json(seller.req(Method::POST, "/api/v1/webhooks").json(&json!({"url": url, "events": ["batch.finished"]})))
        .await;
    let id = endpoint["id"].as_str().unwrap_or_else(|| panic!("{endpoint}")).to_owned();
    let sent = seller.req(Method::POST, &format!("/api/v1/webhooks/{id}/test")).send().await.unwrap();
    assert_eq!(sent.status(), 202);

    let mut first = start(dir.path(), &database, port, "worker");
    let wait_for = |n: usize| {
        let seen = seen.clone();
        async move {
            for _ in 0..600 {
                if seen.lock().unwrap().len() >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("the receiver never got request {n}");
        }
    };
    wait_for(1).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = start(dir.path(), &database, port, "worker");
    wait_for(2).await;
    let path = format!("/api/v1/webhooks/{id}/deliveries");
    let mut log = Value::Null;
    for _ in 0..300 {
        log = call(&seller, Method::GET, &path).await;
        if log["deliveries"][0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log["deliveries"].as_array().map(Vec::len), Some(1), "{log}");
    assert_eq!(
        (log["deliveries"][0]["state"].as_str(), log["deliveries"][0]["response_status"].as_i64()),
        (Some("delivered"), Some(200))
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ids = seen.lock().unwrap().clone();
    assert_eq!(ids.len(), 2, "sent again once, then no more: {ids:?}");
    assert!(ids[0].starts_with("msg_") && ids[0] == ids[1], "the same webhook-id: {ids:?}");

    for child in [&mut second, &mut serve] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_mid_delivery_on_sqlite() {
    killed_worker_mid_delivery(String::new()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_mid_delivery_on_postgres() {
    let Some(pg) = db::testing::postgres().await else {
        return;
    };
    killed_worker_mid_delivery(pg.url()).await;
    pg.close().await;
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

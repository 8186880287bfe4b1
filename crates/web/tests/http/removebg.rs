//! `POST /api/v1/removebg` as a remove.bg client calls it: curl with `X-Api-Key`, a PNG
//! with alpha and remove.bg's headers back, its options, its error shape, tokens charged.

use std::process::Command;

use db::{Db, on_both_backends};
use serde_json::{Value, json};

use crate::harness::{Browser, TestApp, spawn};
use crate::uploads::ring_jpeg;

async fn key(t: &TestApp, who: &Browser, scopes: &[&str]) -> String {
    let body = json!({"name": "Migration", "scopes": scopes});
    let (status, _, key) = t.call("POST", "/api/v1/api-keys", Some(body), Some(who)).await;
    assert_eq!(status, 201, "{key}");
    key["key"].as_str().unwrap().to_owned()
}

/// A multipart call with the key: status, headers, body.
async fn remove(t: &TestApp, key: &str, form: reqwest::multipart::Form) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = t.http.post(t.url("/api/v1/removebg")).header("x-api-key", key).multipart(form).send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn photo() -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(ring_jpeg(900, 700)).file_name("ring.jpg").mime_str("image/jpeg").unwrap()
}

fn errors(body: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(body).unwrap();
    assert!(v.get("error").is_none(), "remove.bg's shape, not ours: {v}");
    v["errors"][0].clone()
}

async fn remove_bg_clients_get_their_answers(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("migrate@example.com").await;
    let secret = key(&t, &asha, &["images:write"]).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ring.jpg");
    std::fs::write(&input, ring_jpeg(900, 700)).unwrap();
    let output = dir.path().join("no-bg.png");

    // remove.bg's own example, pointed here.
    let curl = Command::new("curl")
        .args(["-s", "-D", "-", "-o"])
        .arg(&output)
        .args(["-H", &format!("X-Api-Key: {secret}"), "-F"])
        .arg(format!("image_file=@{}", input.display()))
        .args(["-F", "size=auto", &t.url("/api/v1/removebg")])
        .output()
        .expect("curl is needed (scripts/install-deps.sh installs it)");
    let head = String::from_utf8_lossy(&curl.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    for h in ["x-width: 900", "x-height: 700", "x-credits-charged: 1", "content-type: image/png"] {
        assert!(head.contains(h), "{h} missing from {head}");
    }
    let png = image::load_from_memory(&std::fs::read(&output).unwrap()).unwrap().to_rgba8();
    assert_eq!(png.dimensions(), (900, 700));
    let alpha: Vec<u8> = png.pixels().map(|p| p.0[3]).collect();
    assert!(alpha.contains(&0) && alpha.contains(&255), "a cutout: transparent paper, opaque ring");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens, json!({"balance": 19, "held": 0}), "one token, charged once");
    let (_, _, ledger) = t.call("GET", "/api/v1/tokens/ledger", None, Some(&asha)).await;
    let kinds: Vec<&str> = ledger["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["charge", "hold", "grant"]);

    // Small, cropped, on white: a JPEG within 0.25 MP, the ring filling it but for the margin.
    let form = reqwest::multipart::Form::new()
        .part("image_file", photo())
        .text("size", "preview")
        .text("crop", "true")
        .text("crop_margin", "10px")
        .text("bg_color", "ffffff");
    let (status, h, body) = remove(&t, &secret, form).await;
    assert_eq!((status, h["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    let (w, hh): (u32, u32) =
        (h["x-width"].to_str().unwrap().parse().unwrap(), h["x-height"].to_str().unwrap().parse().unwrap());
    assert!(u64::from(w) * u64::from(hh) <= 250_000 && w < 900, "{w}×{hh}");
    assert_eq!(image::load_from_memory(&body).unwrap().width(), w);
    assert!(h["x-foreground-left"].to_str().unwrap().parse::<u32>().unwrap() <= 10);

    // Base64 in, ZIP out (color.jpg + alpha.png).
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, ring_jpeg(640, 480));
    let form = reqwest::multipart::Form::new().text("image_file_b64", b64).text("format", "zip");
    let (status, h, body) = remove(&t, &secret, form).await;
    assert_eq!(
        (status, h["content-type"].to_str().unwrap()),
        (200, "application/zip"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    let names: Vec<String> = (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned()).collect();
    assert_eq!(names, ["color.jpg", "alpha.png"]);

    // What we do not do is refused by name, in remove.bg's error shape.
    let form = reqwest::multipart::Form::new()
        .part("image_file", photo())
        .text("add_shadow", "true")
        .text("roi", "10% 0% 90% 100%");
    let (status, _, body) = remove(&t, &secret, form).await;
    let e = errors(&body);
    assert_eq!((status, e["code"].as_str()), (400, Some("unsupported_parameter")));
    assert!(e["title"].as_str().unwrap().contains("add_shadow") && e["title"].as_str().unwrap().contains("roi"), "{e}");
    let form = reqwest::multipart::Form::new().text("image_url", "http://169.254.169.254/latest/meta-data/");
    let (status, _, body) = remove(&t, &secret, form).await;
    assert_eq!((status, errors(&body)["code"].as_str()), (400, Some("image_url_not_supported")));
    let form = reqwest::multipart::Form::new().part("image_file", photo()).text("bg_color", "not-a-colour");
    let (status, _, body) = remove(&t, &secret, form).await;
    assert_eq!((status, errors(&body)["code"].as_str()), (400, Some("invalid_parameter")));
    let (status, _, body) =
        remove(&t, "sp_live_wrong", reqwest::multipart::Form::new().part("image_file", photo())).await;
    assert_eq!((status, errors(&body)["code"].as_str()), (401, Some("invalid_api_key")));
    let reader = key(&t, &asha, &["images:read"]).await;
    let (status, _, body) = remove(&t, &reader, reqwest::multipart::Form::new().part("image_file", photo())).await;
    assert_eq!((status, errors(&body)["code"].as_str()), (403, Some("insufficient_scope")));
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens["balance"], 17, "only the three images made were charged");
}

/// remove.bg also takes its fields as JSON or as a urlencoded form, the photo as base64.
async fn json_and_form_bodies_work_as_on_remove_bg(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("migrate-json@example.com").await;
    let secret = key(&t, &asha, &["images:write"]).await;
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, ring_jpeg(640, 480));
    let send = |req: reqwest::RequestBuilder| {
        let req = req.header("x-api-key", &secret);
        async move {
            let res = req.send().await.unwrap();
            let (status, headers) = (res.status().as_u16(), res.headers().clone());
            (status, headers, res.bytes().await.unwrap().to_vec())
        }
    };
    let url = t.url("/api/v1/removebg");
    let body = json!({"image_file_b64": b64, "size": "preview", "bg_color": "ffffff", "crop": true});
    let (status, h, bytes) = send(t.http.post(&url).json(&body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(h["content-type"].to_str().unwrap(), "image/jpeg", "on a colour: a JPEG");
    let w: u32 = h["x-width"].to_str().unwrap().parse().unwrap();
    assert!(w < 640, "cropped, preview size");
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), w);

    let form = [("image_file_b64", b64.as_str()), ("size", "auto")];
    let (status, h, bytes) = send(t.http.post(&url).form(&form)).await;
    assert_eq!((status, h["content-type"].to_str().unwrap()), (200, "image/png"));
    assert_eq!(image::load_from_memory(&bytes).unwrap().to_rgba8().dimensions(), (640, 480));

    // Its refusals keep their shape whatever the body.
    let (status, _, bytes) = send(t.http.post(&url).json(&json!({"image_url": "http://169.254.169.254/"}))).await;
    assert_eq!((status, errors(&bytes)["code"].as_str()), (400, Some("image_url_not_supported")));
    let (status, _, bytes) = send(t.http.post(&url).json(&json!({"size": "auto"}))).await;
    assert_eq!((status, errors(&bytes)["code"].as_str()), (400, Some("missing_image")));
    let (status, _, bytes) = send(t.http.post(&url).header("content-type", "application/json").body("{not json")).await;
    assert_eq!((status, errors(&bytes)["code"].as_str()), (400, Some("invalid_json")));
    let (status, _, bytes) = send(t.http.post(&url).json(&json!({"image_file_b64": b64, "size": ["hd"]}))).await;
    assert_eq!((status, errors(&bytes)["code"].as_str()), (400, Some("invalid_json")));
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens["balance"], 18, "two images made, two charged");
}

on_both_backends!(remove_bg_clients_get_their_answers, json_and_form_bodies_work_as_on_remove_bg);

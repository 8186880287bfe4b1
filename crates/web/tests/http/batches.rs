//! Batches, ZIP downloads, format conversion, share links, cancel, and the orphan sweeper.

use std::io::Read;
use std::time::Duration;

use db::{Db, on_both_backends};
use serde_json::{Value, json};

use crate::creations::wait_done;
use crate::harness::{Browser, TestApp, header, spawn, spawn_with};
use crate::uploads::{ring_jpeg, upload};

async fn get_bytes(t: &TestApp, who: Option<&Browser>, path: &str) -> (u16, String, Vec<u8>) {
    let mut req = t.http.get(t.url(path));
    if let Some(b) = who {
        req = req.header("cookie", &b.cookie);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let kind = header(res.headers(), "content-type").to_owned();
    (status, kind, res.bytes().await.unwrap().to_vec())
}

async fn wait_batch(t: &TestApp, who: &Browser, id: &str) -> Value {
    for _ in 0..900 {
        let (status, _, b) = t.call("GET", &format!("/api/v1/batches/{id}"), None, Some(who)).await;
        assert_eq!(status, 200, "{b}");
        if b["finished"] == true {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("batch {id} did not finish");
}

async fn photos(t: &TestApp, who: &Browser, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (status, up) = upload(t, who, name, ring_jpeg(600 + 40 * i as u32, 480)).await;
        assert_eq!(status, 201, "{up}");
        ids.push(up["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().unwrap().to_string(), data)
        })
        .collect()
}

async fn a_batch_of_photos_becomes_one_zip(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("batch@example.com").await;
    let mallory = t.signup("other@example.com").await;
    let ids = photos(&t, &asha, &["ring-a.jpg", "ring-b.jpg"]).await;
    let request = json!({"upload_ids": ids, "presets": ["amazon", "etsy", "instagram_square"]});

    let (status, _, quote) = t.call("POST", "/api/v1/quotes", Some(request.clone()), Some(&asha)).await;
    assert_eq!((status, quote["tokens"].as_i64()), (200, Some(6)));
    let (status, _, _) = t.call("POST", "/api/v1/batches", Some(request.clone()), Some(&mallory)).await;
    assert_eq!(status, 404, "a batch only of one's own photos");
    let (status, _, created) = t.call("POST", "/api/v1/batches", Some(request), Some(&asha)).await;
    assert_eq!((status, created["tokens_held"].as_i64()), (202, Some(6)), "{created}");
    assert_eq!(created["creations"].as_array().unwrap().len(), 2);
    let batch = created["id"].as_str().unwrap();

    let done = wait_batch(&t, &asha, batch).await;
    assert_eq!(done["tokens_charged"].as_i64(), Some(6), "{done}");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens, json!({"balance": 14, "held": 0}));
    let (_, _, ledger) = t.call("GET", "/api/v1/tokens/ledger", None, Some(&asha)).await;
    let kinds: Vec<&str> = ledger["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "charge").count(), 6, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "hold").count(), 2, "{kinds:?}");

    // The ZIP holds every image, in a folder per photo, byte for byte what the API serves.
    let (status, kind, zipped) = get_bytes(&t, Some(&asha), &format!("/api/v1/batches/{batch}/zip")).await;
    assert_eq!((status, kind.as_str()), (200, "application/zip"));
    let files = unzip(&zipped);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ring-a/amazon.jpg",
            "ring-a/etsy.jpg",
            "ring-a/instagram_square.jpg",
            "ring-b/amazon.jpg",
            "ring-b/etsy.jpg",
            "ring-b/instagram_square.jpg"
        ]
    );
    let first = &done["creations"][0];
    let amazon = first["outputs"][0]["url"].as_str().unwrap();
    let (_, _, served) = get_bytes(&t, Some(&asha), amazon).await;
    assert_eq!(files[0].1, served);
    assert!(imaging::compliance::check(imaging::Preset::Amazon, &files[0].1).passed);
    let creation = first["id"].as_str().unwrap();
    let (status, _, zipped) = get_bytes(&t, Some(&asha), &format!("/api/v1/creations/{creation}/zip")).await;
    assert_eq!(status, 200);
    assert_eq!(unzip(&zipped).len(), 3);

    // Other formats and sizes on request; never larger than made.
    let (status, kind, png) = get_bytes(&t, Some(&asha), &format!("{amazon}?format=png&size=500")).await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    let png = imaging::decode(&png, &imaging::Limits::default()).unwrap();
    assert_eq!((png.width, png.height), (500, 500));
    let (_, kind, webp) = get_bytes(&t, Some(&asha), &format!("{amazon}?format=webp&size=9000")).await;
    assert_eq!(kind, "image/webp");
    assert_eq!(imaging::decode(&webp, &imaging::Limits::default()).unwrap().width, 2000);
    let (status, _, _) = get_bytes(&t, Some(&asha), &format!("{amazon}?format=gif")).await;
    assert_eq!(status, 422);

    // Someone else reaches none of it.
    for path in [
        format!("/api/v1/batches/{batch}"),
        format!("/api/v1/batches/{batch}/zip"),
        format!("/api/v1/creations/{creation}/zip"),
        format!("{amazon}?format=png"),
        format!("/batches/{batch}"),
    ] {
        assert_eq!(get_bytes(&t, Some(&mallory), &path).await.0, 404, "{path}");
    }
    assert_eq!(t.call("POST", &format!("/api/v1/creations/{creation}/cancel"), None, Some(&mallory)).await.0, 404);

    // A share link from the page works without an account until the creation is deleted.
    let (_, _, page) = get_bytes(&t, Some(&asha), &format!("/creations/{creation}")).await;
    let page = String::from_utf8(page).unwrap();
    let link = page.split("href=\"https://wa.me/?text=").nth(1).unwrap().split('"').next().unwrap();
    let text: String =
        form_urlencoded::parse(format!("text={}", link.replace("&amp;", "&")).as_bytes()).next().unwrap().1.into();
    let share = &text[text.find("/s/").unwrap()..];
    let (status, kind, html) = get_bytes(&t, None, share).await;
    assert_eq!((status, kind.starts_with("text/html")), (200, true));
    assert!(String::from_utf8(html).unwrap().contains("og:image"));
    let (status, kind, jpeg) = get_bytes(&t, None, &format!("{share}/image")).await;
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    assert!(imaging::decode(&jpeg, &imaging::Limits::default()).is_ok());
    let last = if share.ends_with('a') { 'b' } else { 'a' };
    let forged = format!("{}{last}", &share[..share.len() - 1]);
    assert_eq!(get_bytes(&t, None, &format!("{forged}/image")).await.0, 404, "a changed link is refused");
    assert_eq!(t.call("DELETE", &format!("/api/v1/creations/{creation}"), None, Some(&asha)).await.0, 204);
    assert_eq!(get_bytes(&t, None, &format!("{share}/image")).await.0, 404, "deleting revokes the link");
}

async fn batches_are_all_or_nothing_and_cancel_returns_the_rest(db: Db) {
    let t = spawn_with(db, |s| s.tokens.local_output_cost = 1).await;
    let asha = t.signup("cancel@example.com").await;
    let mallory = t.signup("other@example.com").await;
    let ids = photos(&t, &asha, &["a.jpg", "b.jpg", "c.jpg"]).await;
    let seven = ["amazon", "etsy", "shopify", "ebay", "flipkart", "myntra", "meesho"];
    let (status, _, body) =
        t.call("POST", "/api/v1/batches", Some(json!({"upload_ids": ids, "presets": seven})), Some(&asha)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (402, Some("insufficient_tokens")), "{body}");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens, json!({"balance": 20, "held": 0}), "21 tokens asked, none held");

    let six = &seven[..6];
    let (status, _, created) =
        t.call("POST", "/api/v1/batches", Some(json!({"upload_ids": ids, "presets": six})), Some(&asha)).await;
    assert_eq!(status, 202, "{created}");
    let last = created["creations"][2]["id"].as_str().unwrap();
    let (status, _, canceled) = t.call("POST", &format!("/api/v1/creations/{last}/cancel"), None, Some(&asha)).await;
    assert_eq!((status, canceled["status"].as_str()), (200, Some("canceled")), "{canceled}");
    let (status, _, again) = t.call("POST", &format!("/api/v1/creations/{last}/cancel"), None, Some(&asha)).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("already_finished")));

    let done = wait_batch(&t, &asha, created["id"].as_str().unwrap()).await;
    let mut charged = 0;
    for c in done["creations"].as_array().unwrap() {
        let made = c["outputs"].as_array().unwrap().len() as i64;
        assert_eq!(c["tokens_charged"].as_i64(), Some(made), "charged exactly for what was made: {c}");
        charged += made;
    }
    assert_eq!(done["creations"][2]["status"], "canceled");
    assert!(charged >= 12, "the other two finished: {charged}");
    // An image finished after the cancel is refused, not charged: the totals already hold.
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens, json!({"balance": 20 - charged, "held": 0}), "the rest came back");
    assert_eq!(t.call("POST", &format!("/api/v1/creations/{last}/cancel"), None, Some(&mallory)).await.0, 404);
}

async fn sweeper_removes_only_orphans(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("sweep@example.com").await;
    let ids = photos(&t, &asha, &["a.jpg"]).await;
    let (_, _, created) =
        t.call("POST", "/api/v1/creations", Some(json!({"upload_id": ids[0], "preset": "etsy"})), Some(&asha)).await;
    let done = wait_done(&t, &asha, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    let (_, _, me) = t.call("GET", "/api/v1/me", None, Some(&asha)).await;
    let user = me["id"].as_str().unwrap();
    let key = storage::DataKey::generate();
    let stray = format!("users/{user}/creations/gone/0.jpg");
    t.app.blobs.put(&key, &stray, b"left behind by a crash").await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    assert_eq!(t.app.sweep_orphans(app::orphans::GRACE_MS).await.unwrap(), 0, "young blobs are left alone");
    assert_eq!(t.app.sweep_orphans(0).await.unwrap(), 1);
    let left: Vec<String> = t.app.blobs.list("users").await.unwrap().into_iter().map(|b| b.path).collect();
    assert!(!left.contains(&stray));
    assert_eq!(left.len(), 3, "original, thumbnail and the output stay: {left:?}");
    let url = done["outputs"][0]["url"].as_str().unwrap();
    assert_eq!(get_bytes(&t, Some(&asha), url).await.0, 200);
}

/// A retried request with the same `Idempotency-Key` answers with what the first one made.
async fn idempotency_keys_make_retries_safe(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("retry@example.com").await;
    let ids = photos(&t, &asha, &["a.jpg", "b.jpg"]).await;
    let send = |path: &'static str, body: Value, key: &'static str| {
        let req = t
            .http
            .post(t.url(path))
            .header("cookie", &asha.cookie)
            .header("x-csrf-token", &asha.csrf)
            .header("sec-fetch-site", "same-origin")
            .header("idempotency-key", key)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let one = json!({"upload_id": ids[0], "presets": ["amazon", "etsy"]});
    let (first, a) = send("/api/v1/creations", one.clone(), "order-7f3a").await;
    let (again, b) = send("/api/v1/creations", one, "order-7f3a").await;
    assert_eq!((first, again), (202, 202));
    assert_eq!(a["id"], b["id"], "the same creation");
    let both = json!({"upload_ids": ids, "presets": ["etsy"]});
    let (_, x) = send("/api/v1/batches", both.clone(), "batch-1").await;
    let (_, y) = send("/api/v1/batches", both.clone(), "batch-1").await;
    let ids_of = |v: &Value| v["creations"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert_eq!((&x["id"], ids_of(&x)), (&y["id"], ids_of(&y)), "the same batch (statuses may have moved on)");
    let (_, z) = send("/api/v1/batches", json!({"upload_ids": ids, "presets": ["ebay"]}), "batch-1").await;
    assert_ne!(x["id"], z["id"], "the same key on a different request is a new one");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens["balance"].as_i64().unwrap() + tokens["held"].as_i64().unwrap(), 20);
    assert!(tokens["balance"].as_i64().unwrap() >= 14, "held once per request, not per retry: {tokens}");
    let listed = t.call("GET", "/api/v1/creations", None, Some(&asha)).await.2;
    assert_eq!(listed["creations"].as_array().unwrap().len(), 5);
    let (status, body) = send("/api/v1/batches", both, "with space").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_idempotency_key")));
}

on_both_backends!(
    idempotency_keys_make_retries_safe,
    a_batch_of_photos_becomes_one_zip,
    batches_are_all_or_nothing_and_cancel_returns_the_rest,
    sweeper_removes_only_orphans
);

//! API keys as integrators meet their limits: requests a minute answered 429 with
//! `Retry-After` and `RateLimit-*`, images a day, and usage per key per day that matches
//! the ledger.

use db::{Db, on_both_backends};
use serde_json::{Value, json};

use crate::creations::wait_done;
use crate::harness::spawn;
use crate::uploads::{ring_jpeg, upload};

async fn keys_are_limited_and_their_usage_matches_the_ledger(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("limits@example.com").await;
    let make = |body: Value| {
        let t = &t;
        let asha = &asha;
        async move {
            let (status, _, key) = t.call("POST", "/api/v1/api-keys", Some(body), Some(asha)).await;
            assert_eq!(status, 201, "{key}");
            key
        }
    };
    let (status, _, refused) =
        t.call("POST", "/api/v1/api-keys", Some(json!({"name": "Too fast", "per_minute": 100_000})), Some(&asha)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid_limit")));

    // Three requests a minute: the fourth waits, and every answer says where the key stands.
    let slow = make(json!({"name": "Poller", "per_minute": 3})).await;
    assert_eq!(slow["per_minute"], 3);
    let slow = slow["key"].as_str().unwrap().to_owned();
    let get = |key: String| {
        let t = &t;
        async move { t.http.get(t.url("/api/v1/creations")).header("x-api-key", key).send().await.unwrap() }
    };
    for left in ["2", "1", "0"] {
        let res = get(slow.clone()).await;
        assert_eq!((res.status().as_u16(), res.headers()["ratelimit-remaining"].to_str().unwrap()), (200, left));
        assert_eq!(res.headers()["ratelimit-limit"], "3");
    }
    let res = get(slow.clone()).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(res.headers()["ratelimit-remaining"], "0");
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");

    // Three images a day: a cutout and a two-image creation fit; one image more does not.
    let shop = make(json!({"name": "Shop sync", "images_per_day": 3})).await["key"].as_str().unwrap().to_owned();
    let part =
        reqwest::multipart::Part::bytes(ring_jpeg(800, 600)).file_name("ring.jpg").mime_str("image/jpeg").unwrap();
    let res = t
        .http
        .post(t.url("/api/v1/removebg"))
        .header("x-api-key", &shop)
        .multipart(reqwest::multipart::Form::new().part("image_file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(900, 700)).await;
    let create = |presets: Value| {
        let (t, shop, up) = (&t, &shop, &up);
        async move {
            let body = json!({"upload_id": up["id"], "engine": "local", "presets": presets});
            let res =
                t.http.post(t.url("/api/v1/creations")).header("x-api-key", shop).json(&body).send().await.unwrap();
            let status = res.status().as_u16();
            let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            (status, retry, res.json::<Value>().await.unwrap())
        }
    };
    // Two requests at once for two images each: the limit is reserved, so only one fits.
    let (a, b) = tokio::join!(create(json!(["amazon", "etsy"])), create(json!(["shopify", "ebay"])));
    let (accepted, refused) = if a.0 == 202 { (a, b) } else { (b, a) };
    assert_eq!(accepted.0, 202, "{}", accepted.2);
    assert_eq!((refused.0, refused.2["error"]["code"].as_str()), (429, Some("daily_limit_reached")), "{}", refused.2);
    assert!(refused.1.is_some_and(|r| r.parse::<u64>().unwrap() <= 86_400));
    wait_done(&t, &asha, accepted.2["id"].as_str().unwrap()).await;

    // Usage per key per day, as JSON and CSV; its tokens are the ledger's charges.
    let (status, _, usage) = t.call("GET", "/api/v1/usage", None, Some(&asha)).await;
    assert_eq!(status, 200, "{usage}");
    let rows = usage["usage"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["key_name"] == name).unwrap_or_else(|| panic!("{name}: {usage}"));
    assert_eq!((row("Poller")["calls"].as_i64(), row("Poller")["images"].as_i64()), (Some(3), Some(0)));
    let shop_row = row("Shop sync");
    assert_eq!(
        (shop_row["calls"].as_i64(), shop_row["images"].as_i64(), shop_row["tokens"].as_i64()),
        (Some(3), Some(3), Some(3))
    );
    let (_, _, ledger) = t.call("GET", "/api/v1/tokens/ledger", None, Some(&asha)).await;
    let charged: i64 = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "charge")
        .map(|e| e["amount"].as_i64().unwrap())
        .sum();
    let used: i64 = rows.iter().map(|r| r["tokens"].as_i64().unwrap()).sum();
    assert_eq!(used, charged, "usage matches the ledger");
    let csv = t.http.get(t.url("/api/v1/usage?format=csv")).header("cookie", &asha.cookie).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("day,key,key_id,calls,images,tokens\n") && text.contains(",Shop sync,"), "{text}");
    let (status, _, bad) = t.call("GET", "/api/v1/usage?from=2026-02-30", None, Some(&asha)).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (422, Some("invalid_date")));
}

on_both_backends!(keys_are_limited_and_their_usage_matches_the_ledger);

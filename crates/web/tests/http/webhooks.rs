use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use db::{Db, on_both_backends};
use serde_json::{Value, json};

use crate::creations::wait_done;
use crate::harness::{Browser, TestApp, spawn, spawn_with};
use crate::uploads::{ring_jpeg, upload};

/// What a receiver got: (webhook-id, webhook-timestamp, webhook-signature, body).
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A receiver on loopback that answers 500 to its first `failures` requests, then 204.
async fn receiver(failures: usize) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (record, calls) = (record.clone(), calls.clone());
            async move {
                let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                record.lock().unwrap().push((h("webhook-id"), h("webhook-timestamp"), h("webhook-signature"), body));
                if calls.fetch_add(1, Ordering::SeqCst) < failures {
                    (StatusCode::INTERNAL_SERVER_ERROR, "not today")
                } else {
                    (StatusCode::NO_CONTENT, "")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks"), seen)
}

async fn wait_for(seen: &Seen, n: usize) -> Vec<(String, String, String, String)> {
    for _ in 0..300 {
        if seen.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen.lock().unwrap().clone()
}

async fn deliveries(t: &TestApp, who: &Browser, endpoint: &str) -> Vec<Value> {
    let (status, _, body) = t.call("GET", &format!("/api/v1/webhooks/{endpoint}/deliveries"), None, Some(who)).await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

async fn webhooks_are_signed_retried_and_sent_once_per_event(db: Db) {
    let t = spawn_with(db, |s| {
        s.webhooks.allow_private_networks = true;
        s.webhooks.retry_schedule_secs = vec![1, 1, 1];
    })
    .await;
    let asha = t.signup("hooks@example.com").await;
    let mallory = t.signup("peek@example.com").await;
    let (url, seen) = receiver(2).await;
    let (status, _, endpoint) = t
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": url, "events": ["creation.succeeded", "batch.finished"]})),
            Some(&asha),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let (_, _, listed) = t.call("GET", "/api/v1/webhooks", None, Some(&asha)).await;
    assert_eq!(listed["webhooks"][0]["events"], json!(["creation.succeeded", "batch.finished"]));
    assert!(listed["webhooks"][0].get("secret").is_none() && !listed.to_string().contains(&secret), "shown once");
    for (method, path) in [
        ("GET", format!("/api/v1/webhooks/{id}/deliveries")),
        ("POST", format!("/api/v1/webhooks/{id}/test")),
        ("DELETE", format!("/api/v1/webhooks/{id}")),
    ] {
        assert_eq!(t.call(method, &path, None, Some(&mallory)).await.0, 404, "{method} {path}");
    }

    // A finished creation is announced; the receiver fails twice and gets it on the third try.
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(900, 700)).await;
    let request = json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon", "etsy"]});
    let (_, _, created) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    let creation = created["id"].as_str().unwrap();
    wait_done(&t, &asha, creation).await;
    let got = wait_for(&seen, 3).await;
    assert_eq!(got.len(), 3, "two failures, then delivered");
    for (msg_id, timestamp, signature, body) in &got {
        assert_eq!(msg_id, &got[0].0, "every attempt carries the event's one id");
        let ts: i64 = timestamp.parse().unwrap();
        assert_eq!(signature, &domain::webhook::sign(&secret, msg_id, ts, body.as_bytes()).unwrap(), "signed");
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (event["type"].as_str(), event["data"]["id"].as_str()),
            (Some("creation.succeeded"), Some(creation))
        );
        assert_eq!(event["data"]["outputs"].as_array().unwrap().len(), 2);
    }
    // The third answer is recorded just after the receiver sent it.
    let mut log = deliveries(&t, &asha, &id).await;
    for _ in 0..100 {
        if log[0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = deliveries(&t, &asha, &id).await;
    }
    assert_eq!(log.len(), 1, "one event, one delivery: {log:?}");
    assert_eq!(
        (log[0]["state"].as_str(), log[0]["attempts"].as_i64(), log[0]["response_status"].as_i64()),
        (Some("delivered"), Some(3), Some(204))
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(seen.lock().unwrap().len(), 3, "nothing more after it got through");

    // A test event, and "send again" with the same id.
    assert_eq!(t.call("POST", &format!("/api/v1/webhooks/{id}/test"), None, Some(&asha)).await.0, 202);
    let got = wait_for(&seen, 4).await;
    assert!(got[3].3.contains("\"webhook.test\""), "{}", got[3].3);
    let delivery = log[0]["id"].as_str().unwrap();
    let resend = format!("/api/v1/webhooks/{id}/deliveries/{delivery}/resend");
    assert_eq!(t.call("POST", &resend, None, Some(&mallory)).await.0, 404);
    assert_eq!(t.call("POST", &resend, None, Some(&asha)).await.0, 202);
    let got = wait_for(&seen, 5).await;
    assert_eq!(got[4].0, got[0].0, "sent again under the event's id, so the receiver can drop it");

    assert_eq!(t.call("DELETE", &format!("/api/v1/webhooks/{id}"), None, Some(&asha)).await.0, 204);
    let (_, _, listed) = t.call("GET", "/api/v1/webhooks", None, Some(&asha)).await;
    assert_eq!(listed["webhooks"], json!([]));
}

async fn an_endpoint_that_keeps_failing_is_paused_and_resumed_with_what_was_held(db: Db) {
    let t = spawn_with(db, |s| {
        s.webhooks.allow_private_networks = true;
        s.webhooks.retry_schedule_secs = vec![0, 0];
    })
    .await;
    let asha = t.signup("down@example.com").await;
    let (url, seen) = receiver(3).await;
    let (_, _, endpoint) =
        t.call("POST", "/api/v1/webhooks", Some(json!({"url": url, "events": ["batch.finished"]})), Some(&asha)).await;
    let id = endpoint["id"].as_str().unwrap();
    assert_eq!(t.call("POST", &format!("/api/v1/webhooks/{id}/test"), None, Some(&asha)).await.0, 202);
    let mut listed = Value::Null;
    for _ in 0..200 {
        listed = t.call("GET", "/api/v1/webhooks", None, Some(&asha)).await.2;
        if !listed["webhooks"][0]["disabled_at"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!listed["webhooks"][0]["disabled_at"].is_null(), "{listed}");
    assert_eq!(seen.lock().unwrap().len(), 3, "the first try and one per wait");
    let failed = deliveries(&t, &asha, id).await[0].clone();
    assert_eq!(failed["state"], "failed");
    let told = |mails: &[String]| mails.iter().any(|m| m.contains("stopped sending to it") && m.contains(&url));
    let mut mails = t.mails().await;
    for _ in 0..100 {
        if told(&mails) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        mails = t.mails().await;
    }
    assert!(told(&mails), "{mails:?}");

    // While paused, an event is held, not lost; "Send again" resumes and sends it too.
    assert_eq!(t.call("POST", &format!("/api/v1/webhooks/{id}/test"), None, Some(&asha)).await.0, 202);
    let held = deliveries(&t, &asha, id).await;
    assert_eq!((held.len(), held[0]["state"].as_str()), (2, Some("paused")), "{held:?}");
    let resend = format!("/api/v1/webhooks/{id}/deliveries/{}/resend", failed["id"].as_str().unwrap());
    assert_eq!(t.call("POST", &resend, None, Some(&asha)).await.0, 202);
    let got = wait_for(&seen, 5).await;
    assert_eq!(got.len(), 5, "the failed event again and the held one");
    let mut log = deliveries(&t, &asha, id).await;
    for _ in 0..100 {
        if log.iter().all(|d| d["state"] == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = deliveries(&t, &asha, id).await;
    }
    assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");
    let (_, _, listed) = t.call("GET", "/api/v1/webhooks", None, Some(&asha)).await;
    assert!(listed["webhooks"][0]["disabled_at"].is_null(), "on again: {listed}");
}

async fn each_written_listing_is_announced_once_per_generation(db: Db) {
    let t = spawn_with(db, |s| s.webhooks.allow_private_networks = true).await;
    let asha = t.signup("copy@example.com").await;
    let (url, seen) = receiver(0).await;
    let body = json!({"url": url, "events": ["listing.ready"]});
    assert_eq!(t.call("POST", "/api/v1/webhooks", Some(body), Some(&asha)).await.0, 201);
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(640, 480)).await;
    let request = json!({"upload_ids": [up["id"]], "jewellery": "ring", "notes": "Sterling silver"});
    let (status, _, created) = t.call("POST", "/api/v1/listings/batches", Some(request), Some(&asha)).await;
    assert_eq!(status, 202, "{created}");
    let got = wait_for(&seen, 1).await;
    let event: Value = serde_json::from_str(&got[0].3).unwrap();
    assert_eq!((event["type"].as_str(), event["data"]["generation"].as_i64()), (Some("listing.ready"), Some(1)));
    let listing = event["data"]["id"].as_str().unwrap().to_owned();
    assert!(event["data"]["listing"]["title"].as_str().is_some_and(|t| !t.is_empty()), "{event}");
    let path = format!("/api/v1/listings/{listing}/regenerate");
    assert_eq!(t.call("POST", &path, None, Some(&asha)).await.0, 202);
    let got = wait_for(&seen, 2).await;
    let again: Value = serde_json::from_str(&got[1].3).unwrap();
    assert_eq!((again["data"]["id"].as_str(), again["data"]["generation"].as_i64()), (Some(listing.as_str()), Some(2)));
    assert_ne!(got[0].0, got[1].0, "a new generation is a new event");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(seen.lock().unwrap().len(), 2);
}

async fn a_spend_below_the_alert_is_told_once_per_crossing(db: Db) {
    let t = spawn_with(db, |s| s.webhooks.allow_private_networks = true).await;
    let asha = t.signup("low@example.com").await;
    let (url, seen) = receiver(0).await;
    let body = json!({"url": url, "events": ["tokens.low"]});
    assert_eq!(t.call("POST", "/api/v1/webhooks", Some(body), Some(&asha)).await.0, 201);
    let (status, _, bad) = t.call("PUT", "/api/v1/tokens/alert", Some(json!({"threshold": 0})), Some(&asha)).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (422, Some("invalid_threshold")));
    assert_eq!(t.call("PUT", "/api/v1/tokens/alert", Some(json!({"threshold": 19})), Some(&asha)).await.0, 200);
    assert_eq!(t.call("GET", "/api/v1/tokens/alert", None, Some(&asha)).await.2, json!({"threshold": 19}));
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(640, 480)).await;
    let create = |presets: &[&str]| {
        let body = json!({"upload_id": up["id"], "engine": "local", "presets": presets});
        let (t, asha) = (&t, &asha);
        async move {
            let (status, _, created) = t.call("POST", "/api/v1/creations", Some(body), Some(asha)).await;
            assert_eq!(status, 202, "{created}");
        }
    };
    create(&["amazon", "etsy"]).await; // 20 → 18: crosses 19
    let got = wait_for(&seen, 1).await;
    let event: Value = serde_json::from_str(&got[0].3).unwrap();
    assert_eq!((event["type"].as_str(), event["data"]["balance"].as_i64()), (Some("tokens.low"), Some(18)));
    create(&["amazon"]).await; // 18 → 17: already below
    let me = t.call("GET", "/api/v1/me", None, Some(&asha)).await.2;
    let grant = db::ledger::Movement {
        user_id: me["id"].as_str().unwrap(),
        kind: db::ledger::Kind::Grant,
        amount: 10,
        reason: "Top-up",
        reference: "test:top-up",
        actor: "test",
    };
    t.app.db.apply(grant, app::now_ms()).await.unwrap(); // 27
    create(&["amazon", "etsy", "shopify", "flipkart", "myntra", "ajio", "meesho", "ebay", "whatsapp"]).await; // 27 → 18
    let got = wait_for(&seen, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(seen.lock().unwrap().len(), 2, "once per crossing");
    assert_ne!(got[0].0, got[1].0);
    let told = |mails: &[String]| mails.iter().filter(|m| m.contains("SoraiPixel tokens left")).count();
    let mut mails = t.mails().await;
    for _ in 0..100 {
        if told(&mails) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        mails = t.mails().await;
    }
    assert_eq!(told(&mails), 2, "{mails:?}");
}

async fn webhook_addresses_inside_private_networks_are_refused(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("ssrf@example.com").await;
    for (url, code) in [
        ("https://127.0.0.1/hooks", "private_address"),
        ("https://10.0.0.8/hooks", "private_address"),
        ("https://169.254.169.254/latest/meta-data/", "private_address"),
        ("https://[::ffff:127.0.0.1]/hooks", "private_address"),
        ("https://localhost:8080/hooks", "private_address"),
        ("http://hooks.example.com/", "invalid_url"),
        ("https://user:pw@hooks.example.com/", "invalid_url"),
    ] {
        let (status, _, body) = t
            .call("POST", "/api/v1/webhooks", Some(json!({"url": url, "events": ["creation.succeeded"]})), Some(&asha))
            .await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some(code)), "{url}: {body}");
    }
    let (status, _, body) = t
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": "https://hooks.example.com/", "events": ["x.y"]})),
            Some(&asha),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_event")));
}

/// `callback_url` on a creation or a batch: its end alone goes there, once, signed with a
/// secret of its own that a retry of the same request gets again; gone with the creation.
async fn a_callback_url_gets_its_creations_end_once(db: Db) {
    let t = spawn_with(db, |s| s.webhooks.allow_private_networks = true).await;
    let asha = t.signup("callback@example.com").await;
    let (url, seen) = receiver(0).await;
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(900, 700)).await;
    let send = |body: Value| {
        let req = t
            .http
            .post(t.url("/api/v1/creations"))
            .header("cookie", &asha.cookie)
            .header("x-csrf-token", &asha.csrf)
            .header("sec-fetch-site", "same-origin")
            .header("idempotency-key", "order-42")
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let request = json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon"], "callback_url": url});
    let (status, created) = send(request.clone()).await;
    assert_eq!(status, 202, "{created}");
    let callback = created["callback"].clone();
    let secret = callback["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && callback["url"] == json!(url), "{callback}");
    let (_, again) = send(request).await;
    assert_eq!((&again["id"], &again["callback"]), (&created["id"], &callback), "a retry gets the same callback");
    // Another creation, without a callback, sends nothing there.
    let plain = json!({"upload_id": up["id"], "engine": "local", "presets": ["etsy"]});
    let (_, _, other) = t.call("POST", "/api/v1/creations", Some(plain), Some(&asha)).await;
    let id = created["id"].as_str().unwrap();
    wait_done(&t, &asha, id).await;
    wait_done(&t, &asha, other["id"].as_str().unwrap()).await;
    let got = wait_for(&seen, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(seen.lock().unwrap().len(), 1, "one end, once: {got:?}");
    let (msg_id, timestamp, signature, body) = &got[0];
    let ts: i64 = timestamp.parse().unwrap();
    assert_eq!(signature, &domain::webhook::sign(&secret, msg_id, ts, body.as_bytes()).unwrap(), "signed");
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!((event["type"].as_str(), event["data"]["id"].as_str()), (Some("creation.succeeded"), Some(id)));
    // Not one of the seller's endpoints, but its log is there.
    let (_, _, listed) = t.call("GET", "/api/v1/webhooks", None, Some(&asha)).await;
    assert_eq!(listed["webhooks"], json!([]));
    let endpoint = callback["id"].as_str().unwrap();
    assert_eq!(deliveries(&t, &asha, endpoint).await.len(), 1);

    // A batch calls back when it has finished.
    let batch = json!({"upload_ids": [up["id"]], "engine": "local", "presets": ["ebay"], "callback_url": url});
    let (status, _, made) = t.call("POST", "/api/v1/batches", Some(batch), Some(&asha)).await;
    assert_eq!(status, 202, "{made}");
    let batch_secret = made["callback"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(batch_secret, secret);
    let got = wait_for(&seen, 2).await;
    let (msg_id, timestamp, signature, body) = &got[1];
    let ts: i64 = timestamp.parse().unwrap();
    assert_eq!(signature, &domain::webhook::sign(&batch_secret, msg_id, ts, body.as_bytes()).unwrap());
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!((event["type"].as_str(), &event["data"]["id"]), (Some("batch.finished"), &made["id"]));

    // Deleting the creation forgets where it called back; a batch's, with its last creation.
    for gone in [id, made["creations"][0]["id"].as_str().unwrap()] {
        assert_eq!(t.call("DELETE", &format!("/api/v1/creations/{gone}"), None, Some(&asha)).await.0, 204);
    }
    for callback in [endpoint, made["callback"]["id"].as_str().unwrap()] {
        let log = t.call("GET", &format!("/api/v1/webhooks/{callback}/deliveries"), None, Some(&asha)).await;
        assert_eq!(log.0, 404, "{callback}");
    }

    let elsewhere =
        json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon"], "callback_url": format!("{url}?b")});
    let (_, elsewhere) = send(elsewhere).await;
    assert_ne!(elsewhere["id"], created["id"], "another callback is another request");

    // A key may ask for a callback only if it may read what the callback carries.
    let (t, asha) = (&t, &asha);
    let key = |scopes: Value| async move {
        let body = json!({"name": "Shop", "scopes": scopes});
        t.call("POST", "/api/v1/api-keys", Some(body), Some(asha)).await.2["key"].as_str().unwrap().to_owned()
    };
    let by_key = |key: String, body: Value| {
        let req = t.http.post(t.url("/api/v1/creations")).header("x-api-key", key).json(&body);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let body = json!({"upload_id": up["id"], "presets": ["etsy"], "callback_url": url});
    let (status, refused) = by_key(key(json!(["images:write"])).await, body.clone()).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("insufficient_scope")), "{refused}");
    let (status, taken) = by_key(key(json!(["images:write", "images:read"])).await, body).await;
    assert_eq!(status, 202, "{taken}");
    assert!(taken["callback"]["secret"].as_str().unwrap().starts_with("whsec_"));
}

/// A callback that never answers fails its delivery; nothing is paused and no one is mailed
/// (nothing else would go there).
async fn a_failing_callback_just_fails(db: Db) {
    let t = spawn_with(db, |s| {
        s.webhooks.allow_private_networks = true;
        s.webhooks.retry_schedule_secs = vec![1];
    })
    .await;
    let asha = t.signup("callback-down@example.com").await;
    let (url, seen) = receiver(usize::MAX).await;
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(600, 500)).await;
    let request = json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon"], "callback_url": url});
    let (_, _, created) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    let endpoint = created["callback"]["id"].as_str().unwrap().to_owned();
    assert_eq!(wait_for(&seen, 2).await.len(), 2, "the first try and one retry");
    let mut log = deliveries(&t, &asha, &endpoint).await;
    for _ in 0..100 {
        if log[0]["state"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = deliveries(&t, &asha, &endpoint).await;
    }
    assert_eq!((log[0]["state"].as_str(), log[0]["attempts"].as_i64()), (Some("failed"), Some(2)), "{log:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!t.mails().await.iter().any(|m| m.contains("stopped sending to it")));
}

/// A callback address is checked like an endpoint's, before anything is held.
async fn callback_urls_inside_private_networks_are_refused(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("callback-ssrf@example.com").await;
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(600, 500)).await;
    for (url, code) in [
        ("https://127.0.0.1/done", "private_address"),
        ("https://169.254.169.254/latest/meta-data/", "private_address"),
        ("http://shop.example.com/done", "invalid_url"),
    ] {
        let request = json!({"upload_id": up["id"], "presets": ["amazon"], "callback_url": url});
        let (status, _, body) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
            (422, Some(code), Some("callback_url")),
            "{url}: {body}"
        );
    }
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens["held"].as_i64(), Some(0), "nothing held: {tokens}");
    assert_eq!(t.call("GET", "/api/v1/creations", None, Some(&asha)).await.2["creations"], json!([]));
}

on_both_backends!(
    webhooks_are_signed_retried_and_sent_once_per_event,
    an_endpoint_that_keeps_failing_is_paused_and_resumed_with_what_was_held,
    each_written_listing_is_announced_once_per_generation,
    a_spend_below_the_alert_is_told_once_per_crossing,
    webhook_addresses_inside_private_networks_are_refused,
    a_callback_url_gets_its_creations_end_once,
    callback_urls_inside_private_networks_are_refused,
    a_failing_callback_just_fails,
);

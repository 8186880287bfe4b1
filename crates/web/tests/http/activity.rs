//! Usage and device data: recorded server-side for sign-ins, uploads, creations, downloads
//! and payments, shown to the user with the device and a truncated network, and deleted
//! after the retention period.

use db::{Db, on_both_backends};
use fakes::razorpay::Pay;
use serde_json::{Value, json};

use crate::creations::wait_done;
use crate::harness::spawn;
use crate::uploads::{ring_jpeg, upload};

const PHONE_UA: &str =
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";

async fn activity_is_recorded_shown_and_expires(db: Db) {
    let app = spawn(db.clone()).await;
    let seller = app.signup("active@example.com").await;
    let res = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", PHONE_UA)
        .json(&json!({"email": "active@example.com", "password": "kundan necklace sparkle"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (_, up) = upload(&app, &seller, "ring.jpg", ring_jpeg(640, 480)).await;
    let request = json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon"]});
    let (_, _, c) = app.call("POST", "/api/v1/creations", Some(request), Some(&seller)).await;
    let id = c["id"].as_str().unwrap();
    wait_done(&app, &seller, id).await;
    let zip = app
        .http
        .get(app.url(&format!("/api/v1/creations/{id}/zip")))
        .header("cookie", &seller.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status().as_u16(), 200);
    let (_, _, order) =
        app.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "starter"})), Some(&seller)).await;
    let paid = app
        .razorpay
        .checkout(&Pay { order_id: order["order_id"].as_str().map(str::to_owned), ..Pay::default() })
        .unwrap();
    app.call("POST", "/api/v1/billing/verify", Some(serde_json::to_value(&paid).unwrap()), Some(&seller)).await;

    let (status, _, body) = app.call("GET", "/api/v1/me/activity", None, Some(&seller)).await;
    assert_eq!(status, 200);
    let events = body["activity"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in ["signed_in", "uploaded", "created", "downloaded", "paid"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let phone: &Value = events.iter().find(|e| e["detail"] == "signed_in").unwrap();
    assert_eq!(
        (phone["browser"].as_str(), phone["os"].as_str(), phone["device_type"].as_str()),
        (Some("Chrome"), Some("Android"), Some("mobile"))
    );
    assert_eq!(phone["ip_network"], "127.0.0.0/24", "the address is truncated");
    let payment = events.iter().find(|e| e["kind"] == "paid").unwrap();
    assert_eq!(payment["device_type"], "server", "confirmed by Razorpay, not a device");
    let html =
        app.http.get(app.url("/activity")).header("cookie", &seller.cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Activity and devices") && html.matches("data-testid=\"activity\"").count() >= 5);

    // Retention: events older than `privacy.activity_retention_days` (180) are deleted.
    let (_, _, me) = app.call("GET", "/api/v1/me", None, Some(&seller)).await;
    let old = db::activity::Event {
        kind: "uploaded".into(),
        detail: "long ago".into(),
        browser: "Firefox".into(),
        os: "Linux".into(),
        device_type: "desktop".into(),
        ip_network: "10.0.0.0/24".into(),
        created_at: app::now_ms() - 181 * 86_400_000,
    };
    db.record_activity(me["id"].as_str().unwrap(), &old).await.unwrap();
    app.app.purge_expired().await.unwrap();
    let (_, _, body) = app.call("GET", "/api/v1/me/activity", None, Some(&seller)).await;
    let after = body["activity"].as_array().unwrap();
    assert!(after.iter().all(|e| e["detail"] != "long ago"), "expired events are gone");
    assert_eq!(after.len(), events.len(), "recent events stay");
}

on_both_backends!(activity_is_recorded_shown_and_expires);

//! "Download my data": a job prepares it, the owner (only) downloads a ZIP holding
//! account.json and every upload and image in original quality; sealed at rest; emailed.

use std::io::Read;
use std::time::Duration;

use db::{Db, on_both_backends};
use fakes::razorpay::Pay;
use serde_json::{Value, json};

use crate::creations::wait_done;
use crate::harness::spawn;
use crate::uploads::{ring_jpeg, upload};

async fn export_holds_everything_and_only_the_owner_gets_it(db: Db) {
    let app = spawn(db).await;
    let email = "export.me@example.com";
    let seller = app.signup(email).await;
    let stranger = app.signup("stranger@example.com").await;
    let photo = ring_jpeg(800, 600);
    let (_, up) = upload(&app, &seller, "ring.jpg", photo.clone()).await;
    let request = json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon", "etsy"]});
    let (_, _, creation) = app.call("POST", "/api/v1/creations", Some(request), Some(&seller)).await;
    let creation_id = creation["id"].as_str().unwrap().to_owned();
    let done = wait_done(&app, &seller, &creation_id).await;
    let (_, _, order) =
        app.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "starter"})), Some(&seller)).await;
    let paid = app
        .razorpay
        .checkout(&Pay { order_id: order["order_id"].as_str().map(str::to_owned), ..Pay::default() })
        .unwrap();
    assert_eq!(
        app.call("POST", "/api/v1/billing/verify", Some(serde_json::to_value(&paid).unwrap()), Some(&seller)).await.0,
        200
    );

    let brand = json!({"brand_name": "Export Jewels", "title_format": "{brand} {type}"});
    assert_eq!(app.call("PUT", "/api/v1/brand-profile", Some(brand), Some(&seller)).await.0, 200);
    let listing = json!({"upload_ids": [up["id"]], "jewellery": "ring", "notes": "Size 7"});
    let (_, _, batch) = app.call("POST", "/api/v1/listings/batches", Some(listing), Some(&seller)).await;
    for _ in 0..100 {
        let (_, _, b) = app
            .call("GET", &format!("/api/v1/listings/batches/{}", batch["id"].as_str().unwrap()), None, Some(&seller))
            .await;
        if b["finished"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, export) = app.call("POST", "/api/v1/me/export", None, Some(&seller)).await;
    assert_eq!(status, 202, "{export}");
    let id = export["id"].as_str().unwrap().to_owned();
    let mut ready = Value::Null;
    for _ in 0..100 {
        let (_, _, e) = app.call("GET", &format!("/api/v1/me/exports/{id}"), None, Some(&seller)).await;
        if e["status"] == "ready" {
            ready = e;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let download = ready["download"].as_str().expect("ready with a link").to_owned();
    assert_eq!(app.call("GET", &format!("/api/v1/me/exports/{id}"), None, Some(&stranger)).await.0, 404);
    let get = |who: &crate::harness::Browser| app.http.get(app.url(&download)).header("cookie", &who.cookie).send();
    assert_eq!(get(&stranger).await.unwrap().status().as_u16(), 404, "only the owner");

    let res = get(&seller).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut read = |name: &str| {
        let mut buf = Vec::new();
        zip.by_name(name).unwrap_or_else(|_| panic!("{name} in the ZIP")).read_to_end(&mut buf).unwrap();
        buf
    };
    let account: Value = serde_json::from_slice(&read("account.json")).unwrap();
    assert_eq!(account["profile"]["email"], email);
    assert!(account["profile"].get("password_hash").is_none(), "never the password hash");
    assert_eq!(account["payments"][0]["amount"], 499);
    assert_eq!(account["invoices"][0]["number"], account["payments"][0]["invoice_number"]);
    assert_eq!(account["creations"][0]["settings"].as_array().map(Vec::len), Some(2), "what was asked for");
    assert_eq!(account["creations"][0]["outputs"].as_array().unwrap().len(), 2);
    assert!(account["ledger"].as_array().unwrap().len() >= 4, "welcome, purchase, hold, charges");
    assert!(!account["sessions"].as_array().unwrap().is_empty());
    assert_eq!(account["brand_profile"]["brand_name"], "Export Jewels");
    let listing = &account["listing_batches"][0]["listings"][0];
    assert_eq!((listing["status"].as_str(), listing["notes"].as_str()), (Some("ready"), Some("Size 7")), "{listing}");
    assert!(listing["listing"]["title"].as_str().is_some_and(|t| t.starts_with("Export Jewels")));
    assert_eq!(account["consents"][0]["source"], "signup", "consents and their history");
    assert_eq!(read("uploads/ring.jpg"), photo, "the original, byte for byte");
    let output = &done["outputs"][0];
    let original = app
        .http
        .get(app.url(&format!("/api/v1/outputs/{}", output["id"].as_str().unwrap())))
        .header("cookie", &seller.cookie)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let name = format!("images/{creation_id}/{}.jpg", output["label"].as_str().unwrap());
    assert_eq!(read(&name), original.to_vec(), "images in original quality");

    // Sealed at rest: the stored account.json is not readable on disk.
    let user_id = account["profile"]["id"].as_str().unwrap();
    let dir = app.data_dir.join("blobs").join("users").join(user_id).join("exports");
    let stored = std::fs::read(std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path()).unwrap();
    assert!(!stored.windows(email.len()).any(|w| w == email.as_bytes()));
    assert!(app.mails().await.iter().any(|m| m.contains(&format!("To: {email}")) && m.contains("ready to download")));
    // The sweeper keeps a live export's snapshot.
    app.app.sweep_orphans(-60_000).await.unwrap();
    assert_eq!(get(&seller).await.unwrap().status().as_u16(), 200, "still downloadable after a sweep");
}

on_both_backends!(export_holds_everything_and_only_the_owner_gets_it);

//! Admin analytics: aggregates only, groups smaller than the minimum suppressed, and no
//! personal field anywhere in the report.

use db::{Db, on_both_backends};
use serde_json::json;

use crate::harness::spawn;
use crate::uploads::{ring_jpeg, upload};

async fn analytics_are_aggregate_and_suppress_small_groups(db: Db) {
    let app = spawn(db).await;
    let mut sellers = Vec::new();
    for i in 0..6 {
        sellers.push(app.signup(&format!("seller{i}@example.com")).await);
    }
    let admin = app.signup("admin@example.com").await;
    app.app.grant_role("admin@example.com", "admin").await.unwrap();
    // One seller uploads and makes images: too few people to show.
    let (_, up) = upload(&app, &sellers[0], "ring.jpg", ring_jpeg(320, 240)).await;
    let request = json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon"]});
    assert_eq!(app.call("POST", "/api/v1/creations", Some(request), Some(&sellers[0])).await.0, 202);

    assert_eq!(app.call("GET", "/api/v1/admin/analytics", None, Some(&sellers[1])).await.0, 403);
    let (status, _, report) = app.call("GET", "/api/v1/admin/analytics?days=7", None, Some(&admin)).await;
    assert_eq!(status, 200, "{report}");
    let figures = report["figures"].as_array().unwrap();
    let value = |metric: &str| figures.iter().find(|f| f["metric"] == metric).map(|f| f["value"].clone());
    assert_eq!(value("signups"), Some(json!(7)), "seven people signed up: shown");
    assert_eq!(value("tokens_granted"), Some(json!(140)), "welcome grants of seven people");
    assert_eq!(value("creations"), Some(serde_json::Value::Null), "one person's creations: suppressed");
    assert_eq!(value("used_uploaded"), Some(serde_json::Value::Null));
    assert_eq!(value("used_signed_in"), Some(json!(7)));

    // Only date, metric and value: no field could carry a person, and no person's data is in it.
    for f in figures {
        let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["date", "metric", "value"]);
    }
    let text = report.to_string();
    for i in 0..6 {
        assert!(!text.contains(&format!("seller{i}@example.com")));
    }
    let (_, _, me) = app.call("GET", "/api/v1/me", None, Some(&sellers[0])).await;
    assert!(!text.contains(me["id"].as_str().unwrap()));
    let html = app
        .http
        .get(app.url("/admin/analytics"))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("fewer than 5 people"));
}

on_both_backends!(analytics_are_aggregate_and_suppress_small_groups);

//! Listing copy: a seller's brand profile, a batch of 20 listings written by the FAKE text
//! model (with a repair pass), two fixed by hand, a CSV and XLSX export, and all 20 pushed
//! as drafts to the FAKE Shopify with their images and alt text.

use std::time::Duration;

use db::{Db, on_both_backends};
use fakes::ai::Act;
use serde_json::{Value, json};

use crate::harness::{Browser, TestApp, spawn, spawn_without_cloud};
use crate::uploads::{ring_jpeg, upload};

async fn photos(t: &TestApp, who: &Browser, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, up) = upload(t, who, &format!("ring-{i}.jpg"), ring_jpeg(640 + i as u32, 480)).await;
        assert_eq!(status, 201, "{up}");
        ids.push(up["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn wait_batch(t: &TestApp, who: &Browser, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        let (_, _, b) = t.call("GET", &format!("/api/v1/listings/batches/{id}"), None, Some(who)).await;
        if done(&b) {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("listing batch {id} did not get there");
}

fn brand() -> Value {
    json!({
        "brand_name": "Meera Jewels", "website": "https://meera.example", "tagline": "Heirlooms for today",
        "voice_do": ["Warm and precise"], "voice_dont": ["Hype"],
        "banned_words": [{"word": "handcrafted", "replacement": "hand-finished"}],
        "collections": ["Festive"], "occasions": ["Wedding"],
        "title_format": "{brand} {metal} {type}", "lengths": {"title_min": 50, "title_max": 65, "meta_min": 140, "meta_max": 155, "alt_max": 125}
    })
}

async fn twenty_listings_in_the_brand_voice_pushed_to_shopify(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("lists@example.com").await;
    let mallory = t.signup("copycat@example.com").await;
    t.app.adjust_tokens("lists@example.com", 100, "test grant", "admin:test").await.unwrap();
    let (status, _, saved) = t.call("PUT", "/api/v1/brand-profile", Some(brand()), Some(&asha)).await;
    assert_eq!((status, saved["version"].as_i64()), (200, Some(1)), "{saved}");
    assert!(saved["instructions"].as_str().unwrap().contains("Never use: handcrafted"));
    let mut bad = brand();
    bad["title_format"] = json!("{brand} {colour}");
    let (status, _, body) = t.call("PUT", "/api/v1/brand-profile", Some(bad), Some(&asha)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("title_format")));

    let ids = photos(&t, &asha, 20).await;
    // The first listing comes back far too long: the repair pass fixes it.
    t.ai.script([Act::Verbose]);
    // A type for a photo not in the batch is refused, and nothing is held.
    let own = |i: usize| Value::Object([(ids[i].clone(), json!("pendant"))].into_iter().collect());
    let stray = json!({"upload_ids": [ids[0]], "jewellery": "ring", "jewellery_of": own(1)});
    let (status, _, body) = t.call("POST", "/api/v1/listings/batches", Some(stray), Some(&asha)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("jewellery_of")), "{body}");
    // Rings, but the third photo is a pendant.
    let request = json!({"upload_ids": ids, "jewellery": "ring", "jewellery_of": own(2),
        "notes": "Hallmarked 22k gold; adjustable band"});
    let (status, _, created) = t.call("POST", "/api/v1/listings/batches", Some(request), Some(&asha)).await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!((tokens["balance"].as_i64(), tokens["held"].as_i64()), (Some(20), Some(100)), "20 × 5 held");
    let done = wait_batch(&t, &asha, &id, |b| b["finished"] == true).await;
    let listings = done["listings"].as_array().unwrap();
    assert_eq!(listings.len(), 20);
    let kinds: Vec<&str> = listings.iter().map(|l| l["jewellery"].as_str().unwrap()).collect();
    assert_eq!((kinds[2], kinds.iter().filter(|k| **k == "ring").count()), ("pendant", 19), "each photo its own type");
    for l in listings {
        assert_eq!(l["status"], "ready", "{l}");
        let c = &l["listing"];
        let (title, meta, alt) =
            (c["title"].as_str().unwrap(), c["meta_description"].as_str().unwrap(), c["alt_text"].as_str().unwrap());
        assert!((50..=65).contains(&title.chars().count()), "{title}");
        assert!((140..=155).contains(&meta.chars().count()), "{meta}");
        assert!(alt.chars().count() < 125);
        assert!(title.starts_with("Meera Jewels"), "{title}");
        let text = c.to_string().to_lowercase();
        assert!(!text.contains("handcrafted"), "banned word replaced: {text}");
        assert_eq!(c["attributes"]["stone"], "[TBD]");
        assert_eq!(l["source"], "model");
    }
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!((tokens["balance"].as_i64(), tokens["held"].as_i64()), (Some(20), Some(0)), "20 charged");
    let repairs = t.ai.calls().iter().filter(|c| c.api == "gemini-listing").count();
    assert_eq!(repairs, 21, "one repair pass for the verbose answer");

    // Two fixed by hand; the rules still hold for edits.
    for (i, title) in [
        (0, "Meera Jewels Festive Gold Ring with Adjustable Band, 22k"),
        (1, "=HYPERLINK(\"http://evil\") Meera Jewels gold ring band"),
    ] {
        let mut edited = listings[i]["listing"].clone();
        edited["title"] = json!(title);
        let (status, _, body) = t
            .call(
                "PATCH",
                &format!("/api/v1/listings/{}", listings[i]["id"].as_str().unwrap()),
                Some(edited),
                Some(&asha),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["edited"], 1);
    }
    let mut short = listings[2]["listing"].clone();
    short["title"] = json!("Ring");
    let (status, _, body) = t
        .call("PATCH", &format!("/api/v1/listings/{}", listings[2]["id"].as_str().unwrap()), Some(short), Some(&asha))
        .await;
    assert_eq!(status, 200, "a seller's short title is kept");
    assert_eq!(body["listing"]["title"], "Ring", "as written, not padded");
    assert!(body["title_note"].as_str().unwrap().starts_with("Your title has 4 characters"), "{body}");
    let (status, _, _) = t.call("GET", &format!("/api/v1/listings/batches/{id}"), None, Some(&mallory)).await;
    assert_eq!(status, 404);
    let (status, _, _) = t
        .call(
            "PATCH",
            &format!("/api/v1/listings/{}", listings[3]["id"].as_str().unwrap()),
            Some(listings[3]["listing"].clone()),
            Some(&mallory),
        )
        .await;
    assert_eq!(status, 404);

    // CSV: one row per listing, the hand fix in it, no cell that starts a formula.
    let res = t
        .http
        .get(t.url(&format!("/api/v1/listings/batches/{id}/export?format=csv")))
        .header("cookie", &asha.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r[0].starts_with("ring-") && r[0].ends_with(".jpg")), "photos by their names: {csv}");
    assert!(rows.iter().any(|r| &r[2] == "Meera Jewels Festive Gold Ring with Adjustable Band, 22k"));
    assert!(rows.iter().all(|r| r.iter().all(|cell| !cell.starts_with(['=', '+', '-', '@']))), "{csv}");
    let res = t
        .http
        .get(t.url(&format!("/api/v1/listings/batches/{id}/export?format=xlsx")))
        .header("cookie", &asha.cookie)
        .send()
        .await
        .unwrap();
    let xlsx = res.bytes().await.unwrap();
    assert_eq!(&xlsx[..2], b"PK", "an XLSX is a ZIP");

    // Shopify: a wrong token is refused; the right one connects; all 20 go as drafts.
    let (status, _, body) = t.call("POST", &format!("/api/v1/listings/batches/{id}/shopify"), None, Some(&asha)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("no_shop")));
    let connect = |token: &str| json!({"shop": "meera-jewels.myshopify.com", "access_token": token});
    let (status, _, body) = t.call("PUT", "/api/v1/shopify", Some(connect("shpat_wrong")), Some(&asha)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("shop_refused")));
    let (status, _, body) = t.call("PUT", "/api/v1/shopify", Some(connect(t.shopify.token())), Some(&asha)).await;
    assert_eq!((status, body["shop"].as_str()), (200, Some("meera-jewels.myshopify.com")), "{body}");
    assert!(t.app.db.text_mentions(t.shopify.token()).await.is_empty(), "the token is stored sealed");
    let (status, _, body) =
        t.call("POST", &format!("/api/v1/listings/batches/{id}/shopify"), None, Some(&mallory)).await;
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = t.call("POST", &format!("/api/v1/listings/batches/{id}/shopify"), None, Some(&asha)).await;
    assert_eq!((status, body["queued"].as_i64()), (202, Some(20)));
    let pushed = wait_batch(&t, &asha, &id, |b| {
        b["listings"].as_array().unwrap().iter().all(|l| l["shopify_status"] == "pushed")
    })
    .await;
    let products = t.shopify.products();
    assert_eq!(products.len(), 20);
    for l in pushed["listings"].as_array().unwrap() {
        let p = products.iter().find(|p| Some(p.id.as_str()) == l["shopify_product_id"].as_str()).unwrap();
        assert_eq!((p.shop.as_str(), p.status.as_str()), ("meera-jewels.myshopify.com", "DRAFT"));
        assert_eq!(p.title, l["listing"]["title"].as_str().unwrap());
        assert_eq!(p.media.len(), 1);
        assert_eq!(p.media[0].0, l["listing"]["alt_text"].as_str().unwrap(), "the image carries its alt text");
        assert!(imaging::decode(&p.media[0].1, &imaging::Limits::default()).is_ok(), "a real image was uploaded");
        assert!(p.description_html.starts_with("<p>") && !p.seo_description.is_empty());
        assert!(p.metafields.iter().any(|(k, v)| k == "material" && !v.is_empty()));
        assert!(!p.metafields.iter().any(|(_, v)| v == "[TBD]"), "unknowns are not published");
    }
    // Pushing again sends nothing twice.
    let (_, _, body) = t.call("POST", &format!("/api/v1/listings/batches/{id}/shopify"), None, Some(&asha)).await;
    assert_eq!(body["queued"], 0);
    // A push whose reply was lost (the product exists, the status was never saved) finds
    // the product by its handle instead of creating a second one.
    let first = pushed["listings"][0]["id"].as_str().unwrap();
    t.app.db.set_shopify_status(first, "failed", None, Some("reply lost"), 0).await.unwrap();
    let (_, _, body) = t.call("POST", &format!("/api/v1/listings/batches/{id}/shopify"), None, Some(&asha)).await;
    assert_eq!(body["queued"], 1);
    wait_batch(&t, &asha, &id, |b| b["listings"][0]["shopify_status"] == "pushed").await;
    assert_eq!(t.shopify.products().len(), 20, "no duplicate product");
    let (status, _, _) = t.call("DELETE", "/api/v1/shopify", None, Some(&asha)).await;
    assert_eq!(status, 204);
    let (_, _, body) = t.call("GET", "/api/v1/shopify", None, Some(&asha)).await;
    assert_eq!(body["shop"], Value::Null);
}

async fn regenerate_is_charged_and_without_a_model_listings_are_built_locally(db: Db) {
    let t = spawn_without_cloud(db).await;
    let asha = t.signup("local@example.com").await;
    let ids = photos(&t, &asha, 2).await;
    let request = json!({"upload_ids": ids, "jewellery": "ring", "notes": "Sterling silver, size 6"});
    let (_, _, created) = t.call("POST", "/api/v1/listings/batches", Some(request), Some(&asha)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let done = wait_batch(&t, &asha, &id, |b| b["finished"] == true).await;
    for l in done["listings"].as_array().unwrap() {
        assert_eq!((l["status"].as_str(), l["source"].as_str()), (Some("ready"), Some("local")), "{l}");
        let title = l["listing"]["title"].as_str().unwrap();
        assert!((50..=65).contains(&title.chars().count()), "{title}");
        assert!(l["listing"]["paragraphs"].to_string().contains("size 6"));
    }
    let first = done["listings"][0]["id"].as_str().unwrap().to_owned();
    let (status, _, _) = t.call("POST", &format!("/api/v1/listings/{first}/regenerate"), None, Some(&asha)).await;
    assert_eq!(status, 202);
    wait_batch(&t, &asha, &id, |b| b["listings"][0]["generation"] == 2 && b["listings"][0]["status"] == "ready").await;
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!((tokens["balance"].as_i64(), tokens["held"].as_i64()), (Some(20 - 15), Some(0)), "3 listings written");
    // Too few tokens: refused, nothing held.
    let many = photos(&t, &asha, 2).await;
    let (status, _, body) = t
        .call("POST", "/api/v1/listings/batches", Some(json!({"upload_ids": many, "jewellery": "ring"})), Some(&asha))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (402, Some("insufficient_tokens")), "{body}");
}

on_both_backends!(twenty_listings_in_the_brand_voice_pushed_to_shopify);
on_both_backends!(regenerate_is_charged_and_without_a_model_listings_are_built_locally);

async fn listing_pages_from_brand_to_shopify(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("pages-l@example.com").await;
    let ids = photos(&t, &asha, 2).await;
    let (status, html) = t.page("/settings/brand", Some(&asha)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Not saved yet") && html.contains("data-instructions"));
    let brand = [
        ("brand_name", "Meera Jewels"),
        ("title_format", "{brand} {metal} {type}"),
        ("banned_words", "cheap = affordable\nbest"),
        ("title_min", "50"),
        ("title_max", "65"),
        ("meta_min", "140"),
        ("meta_max", "155"),
        ("alt_max", "125"),
    ];
    let (status, _, html) = t.form("/settings/brand", &asha, &brand).await;
    assert_eq!(status, 200);
    assert!(html.contains("Saved.") && html.contains("Version 1") && html.contains("Never use: cheap, best"), "{html}");
    let (status, _, html) = t.form("/settings/brand", &asha, &[("brand_name", ""), ("title_format", "{type}")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("brand name"));

    let (status, html) = t.page("/listings", Some(&asha)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Write listings") && html.contains("data-listing-quote"));
    let fields = [
        ("upload", ids[0].as_str()),
        ("upload", ids[1].as_str()),
        ("jewellery", "earring"),
        ("notes", "Silver jhumkas"),
    ];
    let (status, location, body) = t.form("/listings", &asha, &fields).await;
    assert_eq!(status, 303, "{body}");
    let id = location.trim_start_matches("/listings/").to_owned();
    let done = wait_batch(&t, &asha, &id, |b| b["finished"] == true).await;
    let (_, html) = t.page(&location, Some(&asha)).await;
    assert_eq!(html.matches("data-listing ").count(), 2);
    assert!(html.contains("Export CSV") && html.contains("Connect Shopify"));
    let first = done["listings"][0].clone();
    let l = &first["listing"];
    let edit = [
        ("title", "Meera Jewels silver jhumka earrings with bells, festive pair"),
        ("description", "Line one\nLine two"),
        ("meta_description", l["meta_description"].as_str().unwrap()),
        ("alt_text", "Silver jhumka earrings"),
        ("tags", "jhumka, silver"),
    ];
    let item = format!("/listings/{id}/items/{}", first["id"].as_str().unwrap());
    let (status, _, body) = t.form(&item, &asha, &edit).await;
    assert_eq!(status, 303, "{body}");
    let (_, _, after) = t.call("GET", &format!("/api/v1/listings/batches/{id}"), None, Some(&asha)).await;
    assert_eq!(after["listings"][0]["listing"]["paragraphs"], json!(["Line one", "Line two"]));
    assert_eq!(after["listings"][0]["edited"], 1);

    let (status, html) = t.page("/settings/shopify", Some(&asha)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Admin API access token"));
    let (status, _, _) = t
        .form("/settings/shopify", &asha, &[("shop", "meera.myshopify.com"), ("access_token", t.shopify.token())])
        .await;
    assert_eq!(status, 303);
    let (_, html) = t.page("/settings/shopify", Some(&asha)).await;
    assert!(html.contains("meera.myshopify.com"));
    let (status, location, _) = t.form(&format!("/listings/{id}/shopify"), &asha, &[]).await;
    assert_eq!((status, location.as_str()), (303, format!("/listings/{id}?queued=2").as_str()));
    let (_, html) = t.page(&location, Some(&asha)).await;
    assert!(html.contains("2 listings on their way"), "{html}");
    wait_batch(&t, &asha, &id, |b| b["listings"].as_array().unwrap().iter().all(|l| l["shopify_status"] == "pushed"))
        .await;
    assert_eq!(t.shopify.products().len(), 2);
    let (status, _, _) = t.form("/settings/shopify/disconnect", &asha, &[]).await;
    assert_eq!(status, 303);
}

on_both_backends!(listing_pages_from_brand_to_shopify);

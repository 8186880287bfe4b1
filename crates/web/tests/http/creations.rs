use std::time::Duration;

use db::{Db, on_both_backends};
use serde_json::{Value, json};

use crate::harness::{Browser, TestApp, header, spawn, spawn_with};
use crate::uploads::{ring_jpeg, upload};

pub async fn wait_done(t: &TestApp, who: &Browser, id: &str) -> Value {
    for _ in 0..600 {
        let (_, _, c) = t.call("GET", &format!("/api/v1/creations/{id}"), None, Some(who)).await;
        if matches!(c["status"].as_str(), Some("succeeded" | "failed" | "canceled")) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("creation {id} did not finish");
}

async fn marketplace_pack_through_the_queue(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("pack@example.com").await;
    let mallory = t.signup("thief@example.com").await;
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(900, 700)).await;
    let upload_id = up["id"].as_str().unwrap();
    let request = json!({"upload_id": upload_id, "engine": "local", "presets": ["amazon", "etsy", "instagram_square"]});

    let (status, _, quote) = t.call("POST", "/api/v1/quotes", Some(request.clone()), Some(&asha)).await;
    assert_eq!((status, quote["tokens"].as_i64()), (200, Some(3)));
    let (status, _, _) = t.call("POST", "/api/v1/quotes", Some(request.clone()), Some(&mallory)).await;
    assert_eq!(status, 404, "quotes only for one's own uploads");
    let (status, _, created) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    assert_eq!((status, created["tokens_held"].as_i64()), (202, Some(3)), "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens["balance"].as_i64().unwrap() + tokens["held"].as_i64().unwrap(), 20, "held, not spent yet");

    let done = wait_done(&t, &asha, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!((done["tokens_charged"].as_i64(), done["progress"].as_i64()), (Some(3), Some(100)));
    let outputs = done["outputs"].as_array().unwrap();
    let labels: Vec<&str> = outputs.iter().map(|o| o["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["amazon", "etsy", "instagram_square"]);
    assert_eq!(outputs[0]["compliance"]["passed"], true, "{}", outputs[0]["compliance"]);
    assert!(outputs.iter().all(|o| o["confidence"].as_f64().is_some_and(|c| c > 0.5)), "{outputs:?}");
    assert_eq!((outputs[0]["width"].as_i64(), outputs[0]["height"].as_i64()), (Some(2000), Some(2000)));

    let res =
        t.http.get(t.url(outputs[0]["url"].as_str().unwrap())).header("cookie", &asha.cookie).send().await.unwrap();
    assert_eq!(header(res.headers(), "content-type"), "image/jpeg");
    let jpeg = res.bytes().await.unwrap();
    let report = imaging::compliance::check(imaging::Preset::Amazon, &jpeg);
    assert!(report.passed, "the downloaded file itself passes: {report:?}");

    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens, json!({"balance": 17, "held": 0}), "charged exactly once per output");
    let (_, _, ledger) = t.call("GET", "/api/v1/tokens/ledger", None, Some(&asha)).await;
    let kinds: Vec<&str> = ledger["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["charge", "charge", "charge", "hold", "grant"]);

    // Another user can reach none of it.
    let output_url = outputs[0]["url"].as_str().unwrap();
    for path in [format!("/api/v1/creations/{id}"), format!("/api/v1/creations/{id}/events"), output_url.to_owned()] {
        let res = t.http.get(t.url(&path)).header("cookie", &mallory.cookie).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    assert_eq!(t.call("DELETE", &format!("/api/v1/creations/{id}"), None, Some(&mallory)).await.0, 404);
    let (_, _, theirs) = t.call("GET", "/api/v1/creations", None, Some(&mallory)).await;
    assert!(theirs["creations"].as_array().unwrap().is_empty());

    // Progress stream ends with the finished creation.
    let sse = t
        .http
        .get(t.url(&format!("/api/v1/creations/{id}/events")))
        .header("cookie", &asha.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(header(sse.headers(), "content-type"), "text/event-stream");
    let text = sse.text().await.unwrap();
    assert!(text.contains("event: done") && text.contains("\"succeeded\""), "{text}");

    assert_eq!(t.call("DELETE", &format!("/api/v1/creations/{id}"), None, Some(&asha)).await.0, 204);
    let res = t.http.get(t.url(output_url)).header("cookie", &asha.cookie).send().await.unwrap();
    assert_eq!(res.status(), 404, "outputs go with their creation");
}

async fn holds_are_refused_or_released(db: Db) {
    let t = spawn_with(db, |s| s.tokens.local_output_cost = 6).await;
    let b = t.signup("poor@example.com").await;
    let (_, up) = upload(&t, &b, "ring.jpg", ring_jpeg(400, 300)).await;
    let upload_id = up["id"].as_str().unwrap();
    let four = json!({"upload_id": upload_id, "presets": ["amazon", "etsy", "ebay", "flipkart"]});
    let (status, _, body) = t.call("POST", "/api/v1/creations", Some(four), Some(&b)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (402, Some("insufficient_tokens")), "{body}");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&b)).await;
    assert_eq!(tokens, json!({"balance": 20, "held": 0}), "a refused creation holds nothing");

    // A photo with no jewellery on it: the creation fails and its hold comes back.
    let blank = imaging::encode_rgb(&image_blank(400, 300), imaging::Format::Jpeg, 90).unwrap();
    let (_, up) = upload(&t, &b, "paper.jpg", blank).await;
    let (status, _, created) =
        t.call("POST", "/api/v1/creations", Some(json!({"upload_id": up["id"], "preset": "amazon"})), Some(&b)).await;
    assert_eq!(status, 202, "{created}");
    let done = wait_done(&t, &b, created["id"].as_str().unwrap()).await;
    assert_eq!((done["status"].as_str(), done["error_code"].as_str()), (Some("failed"), Some("no_subject_found")));
    assert!(done["error"].as_str().is_some_and(|e| !e.is_empty()));
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&b)).await;
    assert_eq!(tokens, json!({"balance": 20, "held": 0}), "released in full");

    // A ring on a wooden table (rendered apart from the engine): refused with a stable code
    // and reshoot advice, nothing charged.
    let wood = include_bytes!("../../../imaging/tests/rendered/eval/wood-1000000.jpg").to_vec();
    let (_, up) = upload(&t, &b, "on-the-table.jpg", wood).await;
    let (_, _, created) =
        t.call("POST", "/api/v1/creations", Some(json!({"upload_id": up["id"], "preset": "amazon"})), Some(&b)).await;
    let id = created["id"].as_str().unwrap();
    let done = wait_done(&t, &b, id).await;
    assert_eq!((done["status"].as_str(), done["error_code"].as_str()), (Some("failed"), Some("unsuitable_background")));
    assert!(done["error"].as_str().unwrap().contains("plain"), "{done}");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&b)).await;
    assert_eq!(tokens, json!({"balance": 20, "held": 0}), "an unsuitable photo costs nothing");
    let page = t.http.get(t.url(&format!("/creations/{id}"))).header("cookie", &b.cookie).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("data-reshoot") && html.contains("No tokens were charged"), "{html}");

    let (status, _, body) =
        t.call("POST", "/api/v1/creations", Some(json!({"upload_id": upload_id, "engine": "cloud"})), Some(&b)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_option")), "{body}");
    let (status, _, body) =
        t.call("POST", "/api/v1/creations", Some(json!({"upload_id": upload_id, "preset": "moon"})), Some(&b)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_body")), "{body}");
}

fn image_blank(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_pixel(w, h, image::Rgb([246, 245, 241]))
}

/// `"background": "transparent"`: an RGBA PNG whose alpha is the matte, except where the
/// marketplace demands pure white; a shadow on nothing is refused in words.
async fn transparent_outputs_carry_the_matte_as_alpha(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("clear@example.com").await;
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(900, 700)).await;
    let upload_id = up["id"].as_str().unwrap();
    let shadow = json!({"upload_id": upload_id, "background": "transparent", "shadow": {"kind": "drop"}});
    let (status, _, body) = t.call("POST", "/api/v1/creations", Some(shadow), Some(&asha)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_recipe")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("transparent"), "{body}");
    let (status, _, body) = t
        .call("POST", "/api/v1/quotes", Some(json!({"upload_id": upload_id, "background": "tartan"})), Some(&asha))
        .await;
    assert_eq!(status, 422, "{body}");

    let request = json!({"upload_id": upload_id, "presets": ["amazon", "etsy"], "background": "transparent"});
    let (status, _, created) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    assert_eq!(status, 202, "{created}");
    let done = wait_done(&t, &asha, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let outputs = done["outputs"].as_array().unwrap();
    assert_eq!((outputs[0]["format"].as_str(), outputs[1]["format"].as_str()), (Some("jpeg"), Some("png")));
    assert_eq!(outputs[0]["compliance"]["passed"], true, "Amazon stays on pure white");

    let get = |path: String| {
        let req = t.http.get(t.url(&path)).header("cookie", &asha.cookie);
        async move { req.send().await.unwrap().bytes().await.unwrap() }
    };
    let url = outputs[1]["url"].as_str().unwrap();
    let png = imaging::decode(&get(url.to_owned()).await, &imaging::Limits::default()).unwrap();
    let alpha = png.alpha.expect("the PNG has alpha");
    assert_eq!((alpha.get_pixel(0, 0).0[0], png.width), (0, 2000));
    assert!(alpha.pixels().any(|p| p.0[0] == 255), "the ring is opaque");
    let jpeg = imaging::decode(&get(format!("{url}?format=jpeg")).await, &imaging::Limits::default()).unwrap();
    assert!(jpeg.rgb.get_pixel(0, 0).0.iter().all(|&c| c >= 250), "as JPEG it lies on white");
}

/// The viewer's "before": the photo framed exactly as the image, for its owner only.
async fn the_photo_under_an_image_lines_up_with_it(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("before@example.com").await;
    let mallory = t.signup("nosy@example.com").await;
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(900, 700)).await;
    let request = json!({"upload_id": up["id"], "presets": ["amazon"]});
    let (status, _, created) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    assert_eq!(status, 202, "{created}");
    let done = wait_done(&t, &asha, created["id"].as_str().unwrap()).await;
    let id = done["outputs"][0]["id"].as_str().unwrap();
    let get = |path: String, cookie: String| {
        let req = t.http.get(t.url(&path)).header("cookie", cookie);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.bytes().await.unwrap())
        }
    };
    // 500 px: decoded in full; 120 px: the JPEG decoded at half scale, still lined up.
    for (size, least) in [(500, 1000), (120, 50)] {
        let (status, before) = get(format!("/api/v1/outputs/{id}/before?size={size}"), asha.cookie.clone()).await;
        assert_eq!(status, 200);
        let before = imaging::decode(&before, &imaging::Limits::default()).unwrap();
        let (_, after) = get(format!("/api/v1/outputs/{id}?size={size}"), asha.cookie.clone()).await;
        let after = imaging::decode(&after, &imaging::Limits::default()).unwrap();
        assert_eq!((before.width, before.height), (after.width, after.height));
        // Where the image shows the ring (well below white), the photo shows it too, not paper.
        let ring: Vec<(u32, u32)> = after
            .rgb
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0.iter().min().is_some_and(|&c| c < 150))
            .map(|(x, y, _)| (x, y))
            .collect();
        let paper = before.rgb.get_pixel(3, 3).0.iter().map(|&c| i32::from(c)).sum::<i32>();
        let dark = ring
            .iter()
            .filter(|&&(x, y)| before.rgb.get_pixel(x, y).0.iter().map(|&c| i32::from(c)).sum::<i32>() < paper - 90)
            .count();
        assert!(
            ring.len() > least && dark * 10 >= ring.len() * 9,
            "{size} px: {dark} of {} ring pixels line up",
            ring.len()
        );
    }
    let (status, _) = get(format!("/api/v1/outputs/{id}/before"), mallory.cookie.clone()).await;
    assert_eq!(status, 404, "only the owner's");
}

/// The brush: a free preview of the cutout with the strokes applied, then the creation's
/// images made again with them, free; only the owner's, only with strokes that fit.
async fn corrections_are_previewed_and_saved_free(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("brush@example.com").await;
    let mallory = t.signup("brush-thief@example.com").await;
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(900, 700)).await;
    let upload_id = up["id"].as_str().unwrap();
    let post = |path: String, body: Value, who: &Browser| {
        let req = t.http.post(t.url(&path)).header("cookie", &who.cookie).header("x-csrf-token", &who.csrf);
        async move { req.header("sec-fetch-site", "same-origin").json(&body).send().await.unwrap() }
    };
    let opaque = |png: &[u8]| {
        let d = imaging::decode(png, &imaging::Limits::default()).unwrap();
        (d.width, d.alpha.unwrap().pixels().filter(|p| p.0[0] > 127).count())
    };
    // The ring lies around the centre of the photo; this stroke covers its left half.
    let left = json!([{"brush": "remove", "radius": 120, "points": [[330, 250], [330, 450]]}]);
    let request = json!({"upload_id": upload_id, "presets": ["etsy"], "background": "transparent"});
    let (_, _, created) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    let first = wait_done(&t, &asha, created["id"].as_str().unwrap()).await;
    let corrections = format!("/api/v1/creations/{}/corrections", first["id"].as_str().unwrap());
    let preview = format!("{corrections}/preview");
    let res = post(preview.clone(), json!({"strokes": [], "size": 450}), &asha).await;
    assert_eq!(header(res.headers(), "content-type"), "image/png");
    let (width, whole) = opaque(&res.bytes().await.unwrap());
    assert_eq!(width, 450, "at screen size");
    let (_, fixed) =
        opaque(&post(preview.clone(), json!({"strokes": left, "size": 450}), &asha).await.bytes().await.unwrap());
    assert!(fixed * 10 < whole * 8 && fixed > 0, "the stroke took a part away: {whole} → {fixed}");
    assert_eq!(post(preview.clone(), json!({"strokes": left}), &mallory).await.status(), 404);
    let off = json!({"strokes": [{"brush": "keep", "radius": 5, "points": [[5000, 10]]}]});
    let res = post(preview, off, &asha).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "invalid_hints");
    assert_eq!(post(corrections.clone(), json!({"strokes": left}), &mallory).await.status(), 404);
    let res = post(corrections.clone(), json!({"strokes": []}), &asha).await;
    assert_eq!(res.status(), 422, "a correction paints something");
    let res = post(corrections, json!({"strokes": left}), &asha).await;
    assert_eq!(res.status(), 202);
    let fix = res.json::<Value>().await.unwrap();
    assert_eq!(fix["tokens_held"], 0, "{fix}");
    let fixed = wait_done(&t, &asha, fix["id"].as_str().unwrap()).await;
    assert_eq!((fixed["status"].as_str(), fixed["tokens_charged"].as_i64()), (Some("succeeded"), Some(0)), "{fixed}");
    let get = |o: &Value| {
        let req = t.http.get(t.url(o["outputs"][0]["url"].as_str().unwrap())).header("cookie", &asha.cookie);
        async move { req.send().await.unwrap().bytes().await.unwrap() }
    };
    let (_, before) = opaque(&get(&first).await);
    let (_, after) = opaque(&get(&fixed).await);
    assert!(after * 10 < before * 8, "the saved images follow the strokes: {before} → {after}");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens, json!({"balance": 19, "held": 0}), "paid once for the photo");
    let (_, statement) = t.page("/tokens", Some(&asha)).await;
    assert!(statement.contains("Cutout fixed by hand, free"), "the fix is in the statement at no cost");

    // "Make again with other settings" from the fixed images keeps the strokes.
    let fixed_id = fixed["id"].as_str().unwrap();
    let (_, page) = t.page(&format!("/creations/{fixed_id}"), Some(&asha)).await;
    assert!(page.contains(&format!("fixes_from={fixed_id}")), "the link carries the fix");
    let fields = [
        ("upload", upload_id),
        ("presets", "etsy"),
        ("background", "transparent"),
        ("recolour", "rose_gold"),
        ("fixes_from", fixed_id),
    ];
    let (status, location, _) = t.form("/studio/create", &asha, &fields).await;
    assert_eq!(status, 303);
    let again = wait_done(&t, &asha, location.trim_start_matches("/creations/")).await;
    let (_, kept) = opaque(&get(&again).await);
    assert!(kept * 10 < before * 8, "made again without the part the seller removed: {before} → {kept}");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens["balance"], 18, "new images are paid for");
}

/// A verdict per image and person, changeable; a thumbs down on a studio image points to
/// the brush; nobody else's image can be rated.
async fn feedback_is_one_per_image_and_changeable(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("verdict@example.com").await;
    let mallory = t.signup("verdict-thief@example.com").await;
    let (_, up) = upload(&t, &asha, "ring.jpg", ring_jpeg(900, 700)).await;
    let request = json!({"upload_id": up["id"], "presets": ["etsy"]});
    let (_, _, created) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    let done = wait_done(&t, &asha, created["id"].as_str().unwrap()).await;
    let path = format!("/api/v1/outputs/{}/feedback", done["outputs"][0]["id"].as_str().unwrap());

    let down = json!({"rating": "down", "categories": ["cutout_wrong", "blurry"], "text": "edges of the prongs"});
    let (status, _, f) = t.call("PUT", &path, Some(down.clone()), Some(&asha)).await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["categories"], json!(["cutout_wrong", "blurry"]));
    assert_eq!(f["fix_url"], format!("/creations/{}/fix", done["id"].as_str().unwrap()));
    let (status, _, f) = t.call("PUT", &path, Some(json!({"rating": "up"})), Some(&asha)).await;
    assert_eq!((status, f["rating"].as_str(), f["fix_url"].is_null()), (200, Some("up"), true), "changed: {f}");
    assert_eq!(t.call("PUT", &path, Some(down), Some(&mallory)).await.0, 404, "only one's own images");
    let (status, _, e) =
        t.call("PUT", &path, Some(json!({"rating": "up", "categories": ["blurry"]})), Some(&asha)).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("invalid_category")));
    let (status, _, e) = t.call("PUT", &path, Some(json!({"rating": "sideways"})), Some(&asha)).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("invalid_rating")));

    let (_, page) = t.page(&format!("/creations/{}", done["id"].as_str().unwrap()), Some(&asha)).await;
    assert!(page.contains("Thanks, glad you like it."), "the card shows the verdict");
}

/// Staff see the images to look at, and give back what one cost, once, with a reason the
/// seller sees; sellers cannot reach the queue.
async fn the_review_queue_lists_doubtful_and_marked_down_images(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("doubt@example.com").await;
    let admin = t.signup("staff@example.com").await;
    t.app.grant_role("staff@example.com", "admin").await.unwrap();
    // A ring path traced apart from the engine, its photo cut so that the band runs out of
    // the frame a little: cut out, but with a low confidence (further out, it is refused).
    let ring = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../imaging/tests/rendered/eval/ring-1000000.jpg"));
    let ring = image::load_from_memory(&ring.unwrap()).unwrap();
    let cut = ring.crop_imm(124, 0, ring.width() - 124, ring.height()).to_rgb8();
    let mut photo = Vec::new();
    cut.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut photo, 90)).unwrap();
    let (_, up) = upload(&t, &asha, "cut.jpg", photo).await;
    let (_, _, created) = t
        .call("POST", "/api/v1/creations", Some(json!({"upload_id": up["id"], "presets": ["etsy"]})), Some(&asha))
        .await;
    let done = wait_done(&t, &asha, created["id"].as_str().unwrap()).await;
    let output = &done["outputs"][0];
    assert!(output["confidence"].as_f64().unwrap() < 0.5, "{done}");

    assert_eq!(t.page("/admin/review", Some(&asha)).await.0, 403, "sellers cannot see the queue");
    let (status, page) = t.page("/admin/review?reason=confidence", Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("data-testid=\"review-item\"").count(), 1, "{page}");
    assert!(page.contains("Doubtful cutout (0."), "{page}");
    assert!(page.contains("Studio · Etsy"), "the image named in words, not by its preset id: {page}");
    let (_, down) = t.page("/admin/review?reason=down", Some(&admin)).await;
    assert!(!down.contains("data-testid=\"review-item\""), "not marked down yet");
    let path = format!("/api/v1/outputs/{}/feedback", output["id"].as_str().unwrap());
    let verdict = json!({"rating": "down", "categories": ["bad_background"], "text": "cloth shows"});
    assert_eq!(t.call("PUT", &path, Some(verdict), Some(&asha)).await.0, 200);
    let (_, down) = t.page("/admin/review?reason=down", Some(&admin)).await;
    assert!(down.contains("Bad background") && down.contains("cloth shows"), "{down}");
    // The week's figures: one studio image, rated and marked down, and what was wrong.
    let (_, all) = t.page("/admin/review", Some(&admin)).await;
    let figures = ["Studio · Etsy", "1", "1", "1", "100%"].map(|cell| cell.to_owned()).join("</td><td class=\"num\">");
    assert!(all.contains(&format!("<td>{figures}</td>")), "{all}");
    assert!(all.contains("What was wrong: Bad background (1)"), "{all}");

    let refund = format!("/admin/review/{}/refund", output["id"].as_str().unwrap());
    let (status, location, _) = t.form(&refund, &admin, &[("reason", "cloth kept in the cutout")]).await;
    assert_eq!((status, location.as_str()), (303, "/admin/review?refunded=1"));
    let (_, location, _) = t.form(&refund, &admin, &[("reason", "again")]).await;
    assert_eq!(location, "/admin/review?refunded=0", "once");
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&asha)).await;
    assert_eq!(tokens["balance"], 20, "the image's token came back");
    let (_, _, log) = t.call("GET", "/api/v1/me/audit", None, Some(&asha)).await;
    assert!(log.to_string().contains("cloth kept in the cutout"), "the seller sees why: {log}");
    assert_eq!(t.form(&refund, &asha, &[("reason", "free tokens")]).await.0, 403);
    let strokes = json!({"strokes": [{"brush": "keep", "radius": 5, "points": [[10, 10]]}]});
    let corrections = format!("/api/v1/creations/{}/corrections", done["id"].as_str().unwrap());
    let (status, _, e) = t.call("POST", &corrections, Some(strokes), Some(&asha)).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("not_correctable")),
        "a refunded image is not re-made free"
    );
}

on_both_backends!(
    the_review_queue_lists_doubtful_and_marked_down_images,
    feedback_is_one_per_image_and_changeable,
    corrections_are_previewed_and_saved_free,
    marketplace_pack_through_the_queue,
    holds_are_refused_or_released,
    transparent_outputs_carry_the_matte_as_alpha,
    the_photo_under_an_image_lines_up_with_it
);

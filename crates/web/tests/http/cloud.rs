//! The cloud engine through the queue against the FAKE Gemini, OpenAI and fal servers:
//! holds and charges per tier, fidelity failures retried and never charged, hybrid pixels
//! exact, fallbacks charged at the cheaper tier, try-on photos deleted, and visitors'
//! watermarked previews.

use db::{Db, on_both_backends};
use fakes::ai::Act;
use serde_json::{Value, json};

use crate::creations::wait_done;
use crate::harness::{Browser, TestApp, spawn, spawn_without_cloud};
use crate::uploads::{ring_jpeg, upload};

async fn seller(t: &TestApp, email: &str, tokens: i64) -> (Browser, String) {
    let b = t.signup(email).await;
    if tokens != 20 {
        t.app.adjust_tokens(email, tokens - 20, "test grant", "admin:test").await.unwrap();
    }
    let (_, up) = upload(t, &b, "ring.jpg", ring_jpeg(900, 700)).await;
    (b, up["id"].as_str().unwrap().to_owned())
}

async fn balance(t: &TestApp, who: &Browser) -> (i64, i64) {
    let (_, _, v) = t.call("GET", "/api/v1/tokens", None, Some(who)).await;
    (v["balance"].as_i64().unwrap(), v["held"].as_i64().unwrap())
}

async fn create(t: &TestApp, who: &Browser, body: Value) -> Value {
    let (status, _, created) = t.call("POST", "/api/v1/creations", Some(body), Some(who)).await;
    assert_eq!(status, 202, "{created}");
    wait_done(t, who, created["id"].as_str().unwrap()).await
}

fn scores(done: &Value) -> Vec<f64> {
    done["outputs"].as_array().unwrap().iter().map(|o| o["fidelity"]["score"].as_f64().unwrap()).collect()
}

async fn theme_pack_is_held_charged_and_recorded(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "pack@example.com", 100).await;
    let request = json!({"upload_id": photo, "engine": "cloud", "operation": "pack", "theme": "velvet_black",
                         "jewellery": "ring", "instructions": "soft festive mood"});
    let (status, _, quote) = t.call("POST", "/api/v1/quotes", Some(request.clone()), Some(&asha)).await;
    assert_eq!((status, quote["tokens"].as_i64()), (200, Some(24)), "3 standard images at 8");
    let done = create(&t, &asha, request).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let labels: Vec<&str> = done["outputs"].as_array().unwrap().iter().map(|o| o["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["hero", "angle_3_4", "closeup"]);
    for o in done["outputs"].as_array().unwrap() {
        assert_eq!((o["provider"].as_str(), o["model"].as_str()), (Some("gemini"), Some("gemini-2.5-flash-image")));
        assert_eq!(o["prompt_version"].as_str(), Some(prompts::library().unwrap().version.as_str()));
        assert_eq!((o["tier"].as_str(), o["tokens_charged"].as_i64()), (Some("standard"), Some(8)));
        assert!(o["fidelity"]["judge"].as_f64().is_some(), "the vision judge ran: {o}");
    }
    assert!(scores(&done).iter().all(|s| *s >= 70.0), "{:?}", scores(&done));
    assert_eq!(done["tokens_charged"], 24);
    assert_eq!(done["detection"]["pieces"], 1, "{}", done["detection"]);
    assert_eq!(balance(&t, &asha).await, (76, 0));
    let prompts: Vec<String> = t.ai.calls().iter().filter(|c| c.api == "gemini").map(|c| c.prompt.clone()).collect();
    assert_eq!(prompts.len(), 3);
    assert!(prompts.iter().all(|p| p.contains("midnight black velvet") && p.ends_with("soft festive mood")));
    assert!(prompts[0].contains("whole band"), "ring geometry rule");
    assert!(t.ai.calls().iter().all(|c| c.api.starts_with("gemini")), "a standard request never reaches OpenAI or fal");
}

on_both_backends!(theme_pack_is_held_charged_and_recorded);

async fn fidelity_failures_are_retried_at_our_cost_and_never_charged(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "retry@example.com", 100).await;
    let hero =
        json!({"upload_id": photo, "engine": "cloud", "theme": "marble_white", "shots": ["hero"], "jewellery": "ring"});
    // The first image loses half the ring and turns silver: rejected, made again, charged once.
    t.ai.script([Act::Distort]);
    let done = create(&t, &asha, hero.clone()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let output = &done["outputs"][0];
    assert_eq!((output["fidelity"]["attempts"].as_i64(), output["tokens_charged"].as_i64()), (Some(2), Some(8)));
    assert_eq!(balance(&t, &asha).await, (92, 0));
    let calls = t.app.db.calls_for_creation(done["id"].as_str().unwrap()).await.unwrap();
    let outcomes: Vec<(&str, &str)> = calls.iter().map(|(p, o, _)| (p.as_str(), o.as_str())).collect();
    assert!(outcomes.contains(&("scene", "rejected")) && outcomes.contains(&("scene", "ok")), "{outcomes:?}");
    let rejected = calls.iter().find(|(_, o, _)| o == "rejected").unwrap().2.unwrap();
    assert!(rejected < 70.0, "the rejected image scored {rejected}");

    // Every try fails (1 + retry budget of 2): nothing made, nothing charged, the user told.
    t.ai.script([Act::Distort, Act::Distort, Act::Distort]);
    let done = create(&t, &asha, hero).await;
    assert_eq!((done["status"].as_str(), done["tokens_charged"].as_i64()), (Some("failed"), Some(0)), "{done}");
    assert!(done["notice"].as_str().unwrap().contains("not charged"), "{done}");
    assert_eq!(balance(&t, &asha).await, (92, 0), "the hold came back in full");
    // The page says why in words, then offers to try again or choose again.
    let failed = done["id"].as_str().unwrap();
    let (_, page) = t.page(&format!("/creations/{failed}"), Some(&asha)).await;
    assert!(page.contains("We could not make these images.") && page.contains("Nothing was charged."), "{page}");
    assert!(page.contains("Hero: did not keep your design closely enough"), "the shot by its name: {page}");
    assert!(!page.contains("hero:") && !page.contains("see why") && !page.contains(".."), "{page}");
    assert!(page.contains("Try again") && page.contains("Another quality or other choices"));
    let (status, location, _) =
        t.form(&format!("/creations/{failed}/again"), &asha, &[("idempotency_key", "k1")]).await;
    assert_eq!(status, 303);
    let again = wait_done(&t, &asha, location.trim_start_matches("/creations/")).await;
    assert_eq!((again["status"].as_str(), again["tokens_charged"].as_i64()), (Some("succeeded"), Some(8)), "{again}");
    let (_, twice, _) = t.form(&format!("/creations/{failed}/again"), &asha, &[("idempotency_key", "k1")]).await;
    assert_eq!(twice, location, "a double tap asks once");
    assert_eq!(balance(&t, &asha).await, (84, 0));
    let (status, _, _) = t.form(&format!("/creations/{}/again", again["id"].as_str().unwrap()), &asha, &[]).await;
    assert_eq!(status, 422, "only images that could not be made");

    // A model that declines (safety) skips the shot, uncharged.
    t.ai.script([Act::Refuse]);
    let two = json!({"upload_id": photo, "engine": "cloud", "theme": "marble_white", "shots": ["hero", "flat_lay"], "jewellery": "ring"});
    let done = create(&t, &asha, two).await;
    assert_eq!((done["status"].as_str(), done["outputs"].as_array().unwrap().len()), (Some("succeeded"), 1));
    assert!(done["notice"].as_str().unwrap().contains("declined"), "{done}");
    assert_eq!(balance(&t, &asha).await, (76, 0));
}

async fn a_fallback_is_charged_at_the_tier_that_made_the_image(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "ultra@example.com", 100).await;
    let ultra = json!({"upload_id": photo, "engine": "cloud", "theme": "solid_sage", "shots": ["hero"],
                       "jewellery": "ring", "tier": "ultra"});
    let (_, _, quote) = t.call("POST", "/api/v1/quotes", Some(ultra.clone()), Some(&asha)).await;
    assert_eq!(quote["tokens"], 60, "held at the ultra price");
    // OpenAI answers 500 (maybe processed, so not sent again): Gemini pro makes it instead.
    t.ai.script([Act::Fail(500)]);
    let done = create(&t, &asha, ultra).await;
    let o = &done["outputs"][0];
    assert_eq!((o["tier"].as_str(), o["model"].as_str()), (Some("pro"), Some("gemini-3-pro-image-preview")), "{done}");
    assert_eq!((o["tokens_charged"].as_i64(), done["tokens_charged"].as_i64()), (Some(20), Some(20)));
    assert_eq!(balance(&t, &asha).await, (80, 0), "40 of the 60 held came back");
    let apis: Vec<&str> = t.ai.calls().iter().map(|c| c.api).filter(|a| *a != "gemini-judge").collect::<Vec<_>>();
    assert_eq!(apis, ["openai", "gemini"]);

    // Without OpenAI configured there is no ultra tier to ask for.
    let (status, _, body) = t
        .call(
            "POST",
            "/api/v1/quotes",
            Some(json!({"upload_id": photo, "engine": "cloud", "theme": "solid_sage",
              "shots": ["hero"], "jewellery": "ring", "tier": "platinum"})),
            Some(&asha),
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

async fn hybrid_shots_keep_the_uploads_jewellery_pixels(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "hybrid@example.com", 100).await;
    let done = create(
        &t,
        &asha,
        json!({"upload_id": photo, "engine": "cloud", "theme": "velvet_emerald", "shots": ["hero"],
               "jewellery": "ring", "hybrid": true}),
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let o = &done["outputs"][0];
    assert_eq!(o["format"], "png", "stored losslessly");
    let at = &o["fidelity"]["hybrid"];
    let bytes = t.http.get(t.url(o["url"].as_str().unwrap())).header("cookie", &asha.cookie).send().await.unwrap();
    let made = imaging::decode(&bytes.bytes().await.unwrap(), &imaging::Limits::default()).unwrap();
    // The upload's cutout, made the same way the worker made it.
    let decoded = imaging::decode(&ring_jpeg(900, 700), &imaging::Limits::default()).unwrap();
    let cutout = imaging::cutout(&decoded, &imaging::MatteParams::default()).unwrap();
    let n = |k: &str| at[k].as_u64().unwrap() as u32;
    let (x, y, sx, sy, w, h) = (n("x"), n("y"), n("src_x"), n("src_y"), n("width"), n("height"));
    let mut same = 0;
    for dy in 0..h {
        for dx in 0..w {
            if cutout.alpha.get_pixel(sx + dx, sy + dy).0[0] == 255 {
                assert_eq!(made.rgb.get_pixel(x + dx, y + dy), cutout.foreground.get_pixel(sx + dx, sy + dy));
                same += 1;
            }
        }
    }
    assert!(same > 1000, "{same} opaque jewellery pixels compared");
    assert!(o["fidelity"]["score"].as_f64().unwrap() >= 70.0, "{o}");
}

on_both_backends!(fidelity_failures_are_retried_at_our_cost_and_never_charged);
on_both_backends!(a_fallback_is_charged_at_the_tier_that_made_the_image);
on_both_backends!(hybrid_shots_keep_the_uploads_jewellery_pixels);

fn look() -> Value {
    json!({"gender": "woman", "age_group": "26_35", "nationality": "indian", "skin_tone": "wheatish",
           "background": "studio", "outfit": "saree"})
}

async fn recolour_model_shots_and_try_on(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "models@example.com", 200).await;
    let mallory = t.signup("mallory@example.com").await;
    let recolour = json!({"upload_id": photo, "engine": "cloud", "operation": "recolour", "metal": "rose_gold", "jewellery": "ring"});
    let done = create(&t, &asha, recolour).await;
    assert_eq!((done["status"].as_str(), done["tokens_charged"].as_i64()), (Some("succeeded"), Some(7)), "{done}");
    assert_eq!(done["outputs"][0]["label"], "recolour-rose_gold");
    assert!(t.ai.calls().iter().rev().find(|c| c.api == "gemini").unwrap().prompt.contains("rose gold"));

    // Model shots: up to four poses, the same look in every prompt; adults only.
    let model = |poses: Value, look: Value| json!({"upload_id": photo, "engine": "cloud", "operation": "model", "jewellery": "ring", "poses": poses, "look": look});
    let done = create(&t, &asha, model(json!(["standing", "hand_closeup"]), look())).await;
    assert_eq!((done["outputs"].as_array().unwrap().len(), done["tokens_charged"].as_i64()), (2, Some(16)), "{done}");
    let prompts: Vec<String> =
        t.ai.calls().iter().rev().filter(|c| c.api == "gemini").take(2).map(|c| c.prompt.clone()).collect();
    assert!(prompts.iter().all(|p| p.contains("Indian woman") && p.contains("silk saree") && p.contains("adult")));
    let five = json!(["standing", "seated", "walking", "side", "back"]);
    let (status, _, body) = t.call("POST", "/api/v1/creations", Some(model(five, look())), Some(&asha)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("poses")), "{body}");
    let mut minor = look();
    minor["age_group"] = json!("13_17");
    let (status, _, body) =
        t.call("POST", "/api/v1/creations", Some(model(json!(["standing"]), minor)), Some(&asha)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("age_group")), "{body}");

    // Try-on: the person's photo needs a consent tick, is the user's own, and is gone afterwards.
    let (_, person) = upload(&t, &asha, "me.jpg", ring_jpeg(600, 800)).await;
    let person = person["id"].as_str().unwrap();
    let try_on = |consent: bool| {
        json!({"upload_id": photo, "engine": "cloud", "operation": "try_on", "jewellery": "ring",
               "person_upload_id": person, "person_consent": consent})
    };
    let (status, _, body) = t.call("POST", "/api/v1/creations", Some(try_on(false)), Some(&asha)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("consent_required")));
    let mut same = try_on(true);
    same["person_upload_id"] = json!(photo);
    let (status, _, body) = t.call("POST", "/api/v1/creations", Some(same), Some(&asha)).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("person_upload_id")),
        "the jewellery photo is never deleted as a person's"
    );
    let (_, mallorys_photo) = upload(&t, &mallory, "ring.jpg", ring_jpeg(600, 500)).await;
    let mut theirs = try_on(true);
    theirs["person_upload_id"] = mallorys_photo["id"].clone();
    let (status, _, _) = t.call("POST", "/api/v1/creations", Some(theirs), Some(&asha)).await;
    assert_eq!(status, 404, "someone else's photo is not found");
    let done = create(&t, &asha, try_on(true)).await;
    assert_eq!((done["status"].as_str(), done["outputs"][0]["label"].as_str()), (Some("succeeded"), Some("try-on")));
    assert_eq!(t.ai.calls().iter().rev().find(|c| c.api == "gemini").unwrap().images, 2, "jewellery and person");
    let (status, _, _) = t.call("GET", &format!("/api/v1/uploads/{person}"), None, Some(&asha)).await;
    assert_eq!(status, 404, "the person's photo was deleted when the job ended");
}

async fn upscale_and_regenerate_start_from_ones_own_output(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "hd@example.com", 100).await;
    let mallory = t.signup("thief2@example.com").await;
    let done = create(
        &t,
        &asha,
        json!({"upload_id": photo, "engine": "cloud", "theme": "solid_white",
                                        "shots": ["hero", "dramatic"], "jewellery": "ring"}),
    )
    .await;
    let hero = done["outputs"][0].clone();
    for op in ["upscale", "regenerate"] {
        let (status, _, _) = t
            .call(
                "POST",
                "/api/v1/creations",
                Some(json!({"engine": "cloud", "operation": op, "output_id": hero["id"]})),
                Some(&mallory),
            )
            .await;
        assert_eq!(status, 404, "{op} of someone else's image");
    }
    let hd = create(&t, &asha, json!({"engine": "cloud", "operation": "upscale", "output_id": hero["id"]})).await;
    let o = &hd["outputs"][0];
    assert_eq!(
        (o["label"].as_str(), o["provider"].as_str(), o["tokens_charged"].as_i64()),
        (Some("hd"), Some("fal"), Some(4)),
        "{hd}"
    );
    assert_eq!(
        (o["width"].as_i64().unwrap(), o["height"].as_i64().unwrap()),
        (hero["width"].as_i64().unwrap() * 2, hero["height"].as_i64().unwrap() * 2)
    );
    assert!(o["fidelity"]["score"].as_f64().unwrap() > 90.0, "scaled back down it is the source: {o}");
    let again = create(&t, &asha, json!({"engine": "cloud", "operation": "regenerate", "output_id": hero["id"]})).await;
    assert_eq!((again["outputs"].as_array().unwrap().len(), again["outputs"][0]["label"].as_str()), (1, Some("hero")));
    assert_eq!(again["upload_id"].as_str(), Some(photo.as_str()));
    assert_eq!(balance(&t, &asha).await, (100 - 16 - 4 - 8, 0));
}

/// A thumbs down on a generated image offers it again, free, once; a remake of an image not
/// marked down, of a studio image or of someone else's is refused.
async fn a_thumbs_down_earns_one_free_remake(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "remake@example.com", 100).await;
    let mallory = t.signup("remake-thief@example.com").await;
    let done = create(
        &t,
        &asha,
        json!({"upload_id": photo, "engine": "cloud", "theme": "solid_white", "shots": ["hero", "dramatic"], "jewellery": "ring"}),
    )
    .await;
    assert_eq!(balance(&t, &asha).await, (84, 0));
    let (hero, dramatic) = (done["outputs"][0]["id"].as_str().unwrap(), done["outputs"][1]["id"].as_str().unwrap());
    let remake = |id: &str| format!("/api/v1/outputs/{id}/remake");
    let (status, _, e) = t.call("POST", &remake(hero), None, Some(&asha)).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("not_remakeable")), "not marked down yet");
    let down = json!({"rating": "down", "categories": ["distorted"]});
    let (_, _, f) = t.call("PUT", &format!("/api/v1/outputs/{hero}/feedback"), Some(down), Some(&asha)).await;
    assert_eq!(f["free_remake"], true, "{f}");
    assert_eq!(t.call("POST", &remake(hero), None, Some(&mallory)).await.0, 404);
    let (status, _, first) = t.call("POST", &remake(hero), None, Some(&asha)).await;
    assert_eq!((status, first["tokens_held"].as_i64()), (202, Some(0)), "{first}");
    let again = wait_done(&t, &asha, first["id"].as_str().unwrap()).await;
    assert_eq!((again["status"].as_str(), again["tokens_charged"].as_i64()), (Some("succeeded"), Some(0)), "{again}");
    assert_eq!(again["outputs"][0]["label"], "hero");
    let (_, page) = t.page(&format!("/creations/{}", first["id"].as_str().unwrap()), Some(&asha)).await;
    assert!(page.contains("Made again, free"), "the page says it cost nothing");
    let (_, _, second) = t.call("POST", &remake(hero), None, Some(&asha)).await;
    assert_eq!(second["id"], first["id"], "once: asking again answers with the same remake");
    let free = again["outputs"][0]["id"].as_str().unwrap();
    let (_, _, f) =
        t.call("PUT", &format!("/api/v1/outputs/{free}/feedback"), Some(json!({"rating": "down"})), Some(&asha)).await;
    assert_eq!(f["free_remake"], false, "a free image earns no free remake: {f}");
    assert_eq!(t.call("POST", &remake(free), None, Some(&asha)).await.0, 422, "no chain of free remakes");
    let (status, _, _) = t.call("POST", &remake(dramatic), None, Some(&asha)).await;
    assert_eq!(status, 422, "only the image marked down");
    assert_eq!(balance(&t, &asha).await, (84, 0), "the remake cost nothing");
    // The remake is in the ledger as a creation that cost nothing, once, and the statement says so.
    let (_, _, ledger) = t.call("GET", "/api/v1/tokens/ledger", None, Some(&asha)).await;
    let free: Vec<&Value> =
        ledger["entries"].as_array().unwrap().iter().filter(|e| e["amount"].as_i64() == Some(0)).collect();
    assert_eq!(free.len(), 1, "{ledger}");
    assert_eq!((free[0]["kind"].as_str(), free[0]["reason"].as_str()), (Some("hold"), Some("Made again for free")));
    let (_, statement) = t.page("/tokens", Some(&asha)).await;
    assert!(statement.contains("Made again for free"), "{statement}");
}

async fn without_a_configured_engine_cloud_requests_are_refused(db: Db) {
    let t = spawn_without_cloud(db).await;
    let (asha, photo) = seller(&t, "nocloud@example.com", 20).await;
    let (status, _, body) = t
        .call(
            "POST",
            "/api/v1/creations",
            Some(json!({"upload_id": photo, "engine": "cloud", "theme": "solid_white",
              "shots": ["hero"], "jewellery": "ring"})),
            Some(&asha),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("engine_unavailable")));
    assert_eq!(balance(&t, &asha).await, (20, 0));
}

on_both_backends!(recolour_model_shots_and_try_on);
on_both_backends!(upscale_and_regenerate_start_from_ones_own_output);
on_both_backends!(a_thumbs_down_earns_one_free_remake);
on_both_backends!(without_a_configured_engine_cloud_requests_are_refused);

async fn trial_token(t: &TestApp) -> String {
    let (status, _, body) = t.call("POST", "/api/v1/previews/token", None, None).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn ask_preview(t: &TestApp, token: &str, theme: &str) -> (u16, Value) {
    let part =
        reqwest::multipart::Part::bytes(ring_jpeg(900, 700)).file_name("ring.jpg").mime_str("image/jpeg").unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("theme", theme.to_owned())
        .text("jewellery", "ring")
        .text("trial_token", token.to_owned());
    let res = t
        .http
        .post(t.url("/api/v1/previews"))
        .header("sec-fetch-site", "same-origin")
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn visitors_get_one_watermarked_preview_a_day(db: Db) {
    let t = spawn(db).await;
    let token = trial_token(&t).await;
    let (status, body) = ask_preview(&t, "forged.token", "velvet_black").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_or_expired_token")), "{body}");
    let (status, created) = ask_preview(&t, &token, "velvet_black").await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/previews/{id}");
    let mut done = Value::Null;
    for _ in 0..300 {
        let res = t.http.get(t.url(&path)).header("x-trial-token", &token).send().await.unwrap();
        done = res.json().await.unwrap();
        if done["status"] != "queued" && done["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["fidelity"].as_f64().unwrap() >= 70.0);
    // Another device (token) cannot see it.
    let other = trial_token(&t).await;
    let res = t.http.get(t.url(&path)).header("x-trial-token", &other).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = t.http.get(t.url(done["image_url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let preview = imaging::decode(&res.bytes().await.unwrap(), &imaging::Limits::default()).unwrap();
    assert!(preview.width.max(preview.height) <= 768, "a small copy only");
    // The watermark runs across the whole dark velvet frame: light text in every quadrant,
    // far from the piece in the middle.
    let (w, h) = (preview.width, preview.height);
    for (qx, qy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let light = (0..h / 4)
            .flat_map(|y| (0..w / 4).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let p = preview.rgb.get_pixel(qx * w * 3 / 4 + x, qy * h * 3 / 4 + y).0;
                p.iter().all(|&c| c > 90)
            })
            .count();
        assert!(light > 40, "quadrant {qx},{qy}: {light} watermark pixels");
    }
    // Only the watermarked image is stored: the photo went when the job ended.
    let stored: Vec<String> = walk(&t.data_dir.join("blobs/previews").join(id));
    assert_eq!(stored, ["image.jpg"], "{stored:?}");

    // One a day per device; a new device from the same network gets its own.
    let (status, body) = ask_preview(&t, &token, "marble_white").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("already_claimed")), "{body}");
    let (status, _) = ask_preview(&t, &other, "marble_white").await;
    assert_eq!(status, 202);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

on_both_backends!(visitors_get_one_watermarked_preview_a_day);

async fn pages_to_create_with_ai_and_to_try_it_free(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "pages@example.com", 100).await;
    let (status, html) = t.page(&format!("/studio/ai?upload={photo}"), Some(&asha)).await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("class=\"theme\"").count(), 30, "the whole gallery");
    for text in ["Midnight black velvet", "Mughal heritage", "Detail close-up", "Hand close-up", "consent", "DEV MODE"]
    {
        assert!(html.contains(text), "{text}");
    }
    let res = t.http.get(t.url("/themes/velvet_black.jpg")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    assert_eq!(t.http.get(t.url("/themes/moon.jpg")).send().await.unwrap().status(), 404);

    let fields = [
        ("upload", photo.as_str()),
        ("operation", "scene"),
        ("theme", "rose_petal"),
        ("shots", "hero"),
        ("shots", "flat_lay"),
        ("jewellery", "ring"),
        ("tier", "standard"),
        ("instructions", ""),
    ];
    let (status, location, body) = t.form("/studio/ai/create", &asha, &fields).await;
    assert_eq!(status, 303, "{body}");
    let id = location.trim_start_matches("/creations/").to_owned();
    let done = wait_done(&t, &asha, &id).await;
    assert_eq!((done["status"].as_str(), done["tokens_charged"].as_i64()), (Some("succeeded"), Some(16)));
    let (_, html) = t.page(&location, Some(&asha)).await;
    assert_eq!(html.matches("data-fidelity").count(), 2, "each image shows its design match");
    assert!(html.contains("Design match") && html.contains("Make this shot again") && html.contains("HD upscale"));
    assert!(html.contains("We saw 1 piece"));
    let output = done["outputs"][0]["id"].as_str().unwrap();
    let (status, location, _) =
        t.form("/studio/ai/create", &asha, &[("output_id", output), ("operation", "upscale")]).await;
    assert_eq!(status, 303);
    assert_eq!(wait_done(&t, &asha, location.trim_start_matches("/creations/")).await["status"], "succeeded");
    // A refused choice comes back on the page with the reason.
    let (status, _, body) = t
        .form(
            "/studio/ai/create",
            &asha,
            &[("upload", &photo), ("operation", "scene"), ("theme", "moon"), ("shots", "hero"), ("jewellery", "ring")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("not one of the choices"), "{body}");

    // Visitors: the free preview page, its form, and the result page.
    let (status, html) = t.page("/try", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"trial_token\" value=\"\""), "the token is issued with the first preview");
    let part =
        reqwest::multipart::Part::bytes(ring_jpeg(800, 600)).file_name("ring.jpg").mime_str("image/jpeg").unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("theme", "marble_white")
        .text("jewellery", "ring")
        .text("trial_token", "");
    let res = t.http.post(t.url("/try")).header("sec-fetch-site", "same-origin").multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let result = res.headers()["location"].to_str().unwrap().to_owned();
    let mut html = String::new();
    for _ in 0..200 {
        html = t.page(&result, None).await.1;
        if !html.contains("data-preview-pending") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(html.contains("data-preview") && html.contains("design match"), "{html}");
    assert!(html.contains("data-trial-token=\""), "the browser keeps the device's token");
}

on_both_backends!(pages_to_create_with_ai_and_to_try_it_free);

async fn admins_see_what_the_models_cost(db: Db) {
    let t = spawn(db).await;
    let (asha, photo) = seller(&t, "usage@example.com", 100).await;
    t.ai.script([Act::Distort]);
    create(
        &t,
        &asha,
        json!({"upload_id": photo, "engine": "cloud", "theme": "solid_grey", "shots": ["hero"], "jewellery": "ring"}),
    )
    .await;
    let (status, _, _) = t.call("GET", "/api/v1/admin/ai-usage", None, Some(&asha)).await;
    assert_eq!(status, 403);
    t.app.grant_role("usage@example.com", "admin").await.unwrap();
    let (status, _, usage) = t.call("GET", "/api/v1/admin/ai-usage", None, Some(&asha)).await;
    assert_eq!(status, 200);
    let calls = usage["calls"].as_array().unwrap();
    let count = |outcome: &str| {
        calls
            .iter()
            .filter(|c| c["outcome"] == outcome && c["provider"] == "gemini")
            .map(|c| c["calls"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!((count("rejected"), count("ok") >= 1), (1, true), "{usage}");
    // Every image call is priced, rejected ones too (they cost us): 39 000 µ$ per image.
    let mut images = calls.iter().filter(|c| c["model"] == "gemini-2.5-flash-image");
    assert!(
        images.clone().count() >= 2
            && images.all(|c| c["cost_micros"].as_i64().unwrap() >= 39_000 * c["calls"].as_i64().unwrap()),
        "{usage}"
    );
    let (status, html) = t.page("/admin/ai-usage", Some(&asha)).await;
    assert_eq!(status, 200);
    assert!(html.contains("rejected") && html.contains("gemini-2.5-flash-image"));
}

on_both_backends!(admins_see_what_the_models_cost);

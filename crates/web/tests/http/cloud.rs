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
    t.app.adjust_tokens(email, tokens - 20, "test grant", "admin:test").await.unwrap();
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
}

on_both_backends!(theme_pack_is_held_charged_and_recorded);

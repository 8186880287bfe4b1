//! The cloud clients (`providers::ai`) against the FAKE Gemini, OpenAI and fal.ai servers:
//! the same requests, replies, errors and retries as the real protocols.

use std::sync::Arc;

use fakes::ai::{Act, FakeAi};
use providers::ai::{
    AiError, Fal, Gemini, GeminiAuth, Guard, GuardSettings, Image, ImageJob, ImageModel, OpenAi, Pricing, Question,
    VisionModel,
};

fn photo() -> Image {
    Image { mime: "image/jpeg".into(), bytes: synth::generate(&synth::SceneSpec::gold_ring(480, 360, 3)).jpeg }
}

fn guard() -> Arc<Guard> {
    Arc::new(Guard::new("test", GuardSettings { failures_to_open: 100, ..GuardSettings::default() }))
}

fn job(prompt: &str) -> ImageJob {
    ImageJob { prompt: prompt.into(), images: vec![photo()], aspect_ratio: Some("4:5".into()) }
}

const PRICE: Pricing =
    Pricing { per_image_micros: 39_000, per_million_input_micros: 300_000, per_million_output_micros: 0 };

#[tokio::test]
async fn gemini_makes_images_and_answers_in_json() {
    let fake = FakeAi::start().await.unwrap();
    let auth = GeminiAuth::ApiKey(fake.api_key().into());
    let g = Gemini::new(&fake.base_url, auth, "gemini-2.5-flash-image", PRICE, guard()).unwrap();
    let made = g.make(&job("Photograph the ring resting on midnight black velvet")).await.unwrap();
    assert_eq!(made.image.mime, "image/png");
    let d = imaging::decode(&made.image.bytes, &imaging::Limits::default()).unwrap();
    let (w, h) = d.rgb.dimensions();
    assert!((w as i32 * 5 - h as i32 * 4).abs() <= 5, "the 4:5 aspect ratio was passed: {w}x{h}");
    assert!(made.usage.input_tokens > 0 && made.usage.cost_micros >= 39_000, "{:?}", made.usage);
    let calls = fake.calls();
    assert_eq!((calls[0].api, calls[0].model.as_str(), calls[0].images), ("gemini", "gemini-2.5-flash-image", 1));
    assert!(calls[0].prompt.contains("velvet"));

    let schema = serde_json::json!({ "type": "object", "properties": { "score": { "type": "number" } } });
    let q = Question { prompt: "Same design?".into(), images: vec![photo(), made.image], schema };
    let answer = g.ask(&q).await.unwrap();
    assert_eq!(answer.json["score"], 90.0);

    let wrong = Gemini::new(&fake.base_url, GeminiAuth::ApiKey("nope".into()), "m", PRICE, guard()).unwrap();
    assert!(matches!(wrong.make(&job("x")).await, Err(AiError::Api { status: 401, .. })));
}

#[tokio::test]
async fn gemini_through_vertex_reads_its_token_file() {
    let fake = FakeAi::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{}\n", fake.api_key())).unwrap();
    let auth = GeminiAuth::Vertex { project: "shop".into(), location: "us-central1".into(), token_file };
    let g = Gemini::new(&fake.base_url, auth, "gemini-3-pro-image-preview", PRICE, guard()).unwrap();
    assert!(g.make(&job("on white marble")).await.is_ok());
}

#[tokio::test]
async fn only_unprocessed_requests_are_sent_again() {
    let fake = FakeAi::start().await.unwrap();
    let g = Gemini::new(&fake.base_url, GeminiAuth::ApiKey(fake.api_key().into()), "m", PRICE, guard()).unwrap();
    // 503 and 429 mean the request was not processed: retried, and the third try succeeds.
    fake.script([Act::Fail(503), Act::Fail(429)]);
    assert!(g.make(&job("x")).await.is_ok());
    assert_eq!(fake.calls().len(), 3);
    // A 500 may have been processed (and billed): not sent again.
    fake.script([Act::Fail(500)]);
    assert!(matches!(g.make(&job("x")).await, Err(AiError::Api { status: 500, .. })));
    assert_eq!(fake.calls().len(), 4);
    fake.script([Act::Refuse]);
    assert!(matches!(g.make(&job("x")).await, Err(AiError::Refused(r)) if r.contains("SAFETY")));
}

#[tokio::test]
async fn a_failing_provider_opens_its_circuit() {
    let fake = FakeAi::start().await.unwrap();
    let g = Arc::new(Guard::new(
        "gemini",
        GuardSettings { failures_to_open: 2, open_secs: 60, ..GuardSettings::default() },
    ));
    let gemini = Gemini::new(&fake.base_url, GeminiAuth::ApiKey(fake.api_key().into()), "m", PRICE, g.clone()).unwrap();
    fake.script([Act::Fail(500), Act::Fail(500)]);
    assert!(gemini.make(&job("x")).await.is_err());
    assert!(gemini.make(&job("x")).await.is_err());
    assert!(matches!(gemini.make(&job("x")).await, Err(AiError::Unavailable(_))));
    assert_eq!(fake.calls().len(), 2, "an open circuit makes no call");
}

#[tokio::test]
async fn openai_edits_images() {
    let fake = FakeAi::start().await.unwrap();
    let o = OpenAi::new(&fake.base_url, fake.api_key(), "gpt-image-1", PRICE, guard()).unwrap();
    let made = o.make(&job("Change only its metal to polished rose gold")).await.unwrap();
    assert!(imaging::decode(&made.image.bytes, &imaging::Limits::default()).is_ok());
    assert_eq!((made.usage.input_tokens, made.usage.output_tokens), (800, 4200));
    assert_eq!(fake.calls()[0].model, "gpt-image-1");
    fake.script([Act::Refuse]);
    assert!(matches!(o.make(&job("x")).await, Err(AiError::Api { status: 400, .. })));
}

#[tokio::test]
async fn fal_upscales_through_the_queue() {
    let fake = FakeAi::start().await.unwrap();
    let f = Fal::new(&fake.base_url, fake.api_key(), "fal-ai/esrgan", 2, PRICE, guard()).unwrap();
    let made = f.make(&job("")).await.unwrap();
    let big = imaging::decode(&made.image.bytes, &imaging::Limits::default()).unwrap();
    assert_eq!(big.rgb.dimensions(), (960, 720));
    let wrong = Fal::new(&fake.base_url, "nope", "fal-ai/esrgan", 2, PRICE, guard()).unwrap();
    assert!(matches!(wrong.make(&job("")).await, Err(AiError::Api { status: 401, .. })));
}

use db::{Db, on_both_backends};
use serde_json::json;

use crate::harness::{browser, header, spawn};

async fn phone_code_signup_and_login(db: Db) {
    let t = spawn(db).await;
    let (status, _, _) = t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "98765 43210"})), None).await;
    assert_eq!(status, 202);
    let (mobile, code) = t.sms.lock().unwrap().last().cloned().unwrap();
    assert_eq!(mobile, "919876543210", "E.164 with India as the default region, as MSG91 wants it");
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, _, body) =
        t.call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": "+919876543210", "code": wrong})), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_code")));
    let (status, headers, body) =
        t.call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": "+919876543210", "code": code})), None).await;
    assert_eq!((status, body["created"].as_bool()), (201, Some(true)), "{body}");
    assert_eq!(body["user"]["phone_verified"], true);
    let b = browser(&headers, &body);
    let (_, _, me) = t.call("GET", "/api/v1/me", None, Some(&b)).await;
    assert_eq!(me["phone"], "+919876543210");
    let (status, _, _) =
        t.call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": "+919876543210", "code": code})), None).await;
    assert_eq!(status, 400, "a code works once");

    // A second sign-in with a fresh code reaches the same account.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "+919876543210"})), None).await.0, 202);
    let code = t.sms.lock().unwrap().last().unwrap().1.clone();
    let (status, _, body) =
        t.call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": "+919876543210", "code": code})), None).await;
    assert_eq!((status, body["created"].as_bool(), body["user"]["id"].as_str()), (200, Some(false), me["id"].as_str()));
}

async fn otp_brute_force_and_resend_are_limited(db: Db) {
    let t = spawn(db).await;
    assert_eq!(t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "+919812345678"})), None).await.0, 202);
    let (status, headers, body) =
        t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "+919812345678"})), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "resend throttled");
    assert!(header(&headers, "retry-after").parse::<u64>().unwrap() >= 1);

    let code = t.sms.lock().unwrap().last().unwrap().1.clone();
    let wrong = |i: u32| format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
    for i in 0..4 {
        let (status, _, _) = t
            .call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": "+919812345678", "code": wrong(i)})), None)
            .await;
        assert_eq!(status, 400);
    }
    let (status, _, body) = t
        .call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": "+919812345678", "code": wrong(4)})), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "fifth wrong attempt locks the code"
    );
    let (status, _, _) =
        t.call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": "+919812345678", "code": code})), None).await;
    assert_eq!(status, 400, "even the right code is refused once locked");

    let (status, _, body) = t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "hello"})), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_phone")));
}

async fn otp_sends_are_capped_per_phone(db: Db) {
    let t = crate::harness::spawn_with(db, |s| {
        s.security.otp_resend_seconds = 1;
        s.security.otp_sends_per_phone_hour = 2;
    })
    .await;
    for _ in 0..2 {
        assert_eq!(t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "+919800000001"})), None).await.0, 202);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    assert_eq!(t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "+919800000001"})), None).await.0, 429);
    assert_eq!(t.sms.lock().unwrap().len(), 2, "refused sends reach no one");
}

on_both_backends!(phone_code_signup_and_login, otp_brute_force_and_resend_are_limited, otp_sends_are_capped_per_phone);

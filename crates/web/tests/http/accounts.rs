use db::{Db, on_both_backends};
use serde_json::json;

use crate::harness::{header, spawn};

async fn signup_login_logout(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("Asha@Example.com").await;
    let (status, _, me) = t.call("GET", "/api/v1/me", None, Some(&asha)).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "asha@example.com");
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["marketing_opt_in"], false, "marketing is opt-in");
    assert!(me.get("password_hash").is_none());

    // An address someone has proven is theirs alone (an unverified one is only claimed).
    verify_latest(&t, "asha@example.com").await;
    let (status, _, body) = t
        .call(
            "POST",
            "/api/v1/auth/signup",
            Some(json!({"email": "asha@example.com", "password": "another long secret", "name": "X"})),
            None,
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("email_taken")));
    for (input, code) in [
        (json!({"email": "not-an-email", "password": "kundan necklace sparkle", "name": "A"}), "invalid_email"),
        (json!({"email": "b@example.com", "password": "Password123!", "name": "A"}), "password_breached"),
        (json!({"email": "b@example.com", "password": "short", "name": "A"}), "password_too_short"),
        (json!({"email": "b@example.com", "password": "kundan necklace sparkle", "name": " "}), "invalid_name"),
        (
            json!({"email": "b@example.com", "password": "kundan necklace sparkle", "name": "A", "phone": "12"}),
            "invalid_phone",
        ),
    ] {
        let (status, _, body) = t.call("POST", "/api/v1/auth/signup", Some(input), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some(code)), "{body}");
    }
    let (status, _, body) = t.call("POST", "/api/v1/auth/signup", Some(json!({"email": "b@example.com"})), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_body")));

    // Wrong password and unknown email: the same answer.
    let (s1, _, wrong) = t.login("asha@example.com", "not the password at all").await;
    let (s2, _, unknown) = t.login("nobody@example.com", "not the password at all").await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown);

    let (status, second, _) = t.login("ASHA@example.com", "kundan necklace sparkle").await;
    assert_eq!(status, 200);
    let second = second.unwrap();
    assert_ne!(second.cookie, asha.cookie, "every sign-in gets a fresh session token");

    let (status, headers, _) = t.call("POST", "/api/v1/auth/logout", None, Some(&asha)).await;
    assert_eq!(status, 204);
    assert!(header(&headers, "set-cookie").contains("Max-Age=0"));
    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&asha)).await.0, 401, "the signed-out session is gone");
    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&second)).await.0, 200, "other sessions stay");
}

/// Unknown emails must not answer measurably faster than wrong passwords: both run Argon2.
async fn login_timing_does_not_reveal_accounts(db: Db) {
    let t = spawn(db).await;
    t.signup("timing@example.com").await;
    let mut known = std::time::Duration::ZERO;
    let mut unknown = std::time::Duration::ZERO;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        t.login("timing@example.com", "wrong password here").await;
        known += start.elapsed();
        let start = std::time::Instant::now();
        t.login("ghost@example.com", "wrong password here").await;
        unknown += start.elapsed();
    }
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!(ratio > 0.4, "unknown-email logins take {ratio:.2}× the time of wrong passwords");
}

async fn email_verification_from_the_outbox(db: Db) {
    let t = spawn(db).await;
    let b = t.signup("verify@example.com").await;
    let token = t.mailed_token("verify@example.com", "/verify-email").await.expect("verification mail");
    let (status, _, me) = t.call("POST", "/api/v1/auth/verify-email", Some(json!({"token": token})), None).await;
    assert_eq!((status, me["email_verified"].as_bool()), (200, Some(true)));
    let (status, _, body) = t.call("POST", "/api/v1/auth/verify-email", Some(json!({"token": token})), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_or_expired_token")),
        "links are single-use"
    );

    // Correcting the email needs the password and a confirmation sent to the new address;
    // until it is opened, the account keeps its address.
    let (status, _, me) = t
        .call(
            "PATCH",
            "/api/v1/me",
            Some(json!({"email": "new@example.com", "company": "Asha Jewels", "website": "ashajewels.in",
                        "current_password": "kundan necklace sparkle"})),
            Some(&b),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["email"].as_str(), me["pending"]["email"].as_str()),
        (Some("verify@example.com"), Some("new@example.com"))
    );
    assert_eq!(me["website"], "https://ashajewels.in");
    let new_token = t.mailed_token("new@example.com", "/verify-email").await.expect("mail to the new address");
    let (status, _, me) = t.call("POST", "/api/v1/auth/verify-email", Some(json!({"token": new_token})), None).await;
    assert_eq!(
        (status, me["email"].as_str(), me["email_verified"].as_bool()),
        (200, Some("new@example.com"), Some(true))
    );

    t.signup("other@example.com").await;
    verify_latest(&t, "other@example.com").await;
    let taken = json!({"email": "other@example.com", "current_password": "kundan necklace sparkle"});
    let (status, _, body) = t.call("PATCH", "/api/v1/me", Some(taken), Some(&b)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("email_taken")), "verified elsewhere");
    let (status, _, body) = t.call("PATCH", "/api/v1/me", Some(json!({"phone": "+91 12"})), Some(&b)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("phone")));
    let (status, _, body) = t.call("PATCH", "/api/v1/me", Some(json!({"role": "admin"})), Some(&b)).await;
    assert_eq!(status, 422, "role is not user-editable: {body}");
}

async fn verify_latest(t: &crate::harness::TestApp, email: &str) {
    let token = t.mailed_token(email, "/verify-email").await.expect("verification mail");
    assert_eq!(t.call("POST", "/api/v1/auth/verify-email", Some(json!({"token": token})), None).await.0, 200);
}

async fn password_reset(db: Db) {
    let t = spawn(db).await;
    let b = t.signup("reset@example.com").await;
    verify_latest(&t, "reset@example.com").await;
    let before = t.mails().await.len();
    assert_eq!(
        t.call("POST", "/api/v1/auth/password/forgot", Some(json!({"email": "ghost@example.com"})), None).await.0,
        202
    );
    assert_eq!(t.mails().await.len(), before, "no mail for unknown addresses, same answer");
    assert_eq!(
        t.call("POST", "/api/v1/auth/password/forgot", Some(json!({"email": "reset@example.com"})), None).await.0,
        202
    );
    let token = t.mailed_token("reset@example.com", "/reset-password").await.unwrap();
    let (status, _, body) = t
        .call("POST", "/api/v1/auth/password/reset", Some(json!({"token": token, "password": "password"})), None)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        t.call(
            "POST",
            "/api/v1/auth/password/reset",
            Some(json!({"token": token, "password": "a brand new sentence"})),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&b)).await.0, 401, "reset ends every session");
    assert_eq!(
        t.call(
            "POST",
            "/api/v1/auth/password/reset",
            Some(json!({"token": token, "password": "yet another sentence"})),
            None
        )
        .await
        .0,
        400,
        "single use"
    );
    assert_eq!(t.login("reset@example.com", "kundan necklace sparkle").await.0, 401);
    assert_eq!(t.login("reset@example.com", "a brand new sentence").await.0, 200);
}

async fn sessions_and_api_keys(db: Db) {
    let t = spawn(db).await;
    let phone_a = t.signup("devices@example.com").await;
    let (_, laptop, _) = t.login("devices@example.com", "kundan necklace sparkle").await;
    let laptop = laptop.unwrap();
    let mallory = t.signup("mallory@example.com").await;

    let (_, _, list) = t.call("GET", "/api/v1/me/sessions", None, Some(&laptop)).await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions[0]["ip_network"].as_str().unwrap().ends_with(".0/24"), "addresses are truncated");
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.call("DELETE", &format!("/api/v1/me/sessions/{other_id}"), None, Some(&mallory)).await.0,
        404,
        "not mallory's"
    );
    let (status, _, body) = t.call("POST", "/api/v1/me/sessions/revoke-others", None, Some(&laptop)).await;
    assert_eq!((status, body["ended"].as_u64()), (200, Some(1)));
    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&phone_a)).await.0, 401);

    let (status, _, key) = t.call("POST", "/api/v1/api-keys", Some(json!({"name": "Shop sync"})), Some(&laptop)).await;
    assert_eq!(status, 201);
    let secret = key["key"].as_str().unwrap().to_owned();
    let bearer = |path: &str| t.http.get(t.url(path)).bearer_auth(&secret);
    assert_eq!(
        bearer("/api/v1/me").send().await.unwrap().json::<serde_json::Value>().await.unwrap()["email"],
        "devices@example.com"
    );
    let (_, _, keys) = t.call("GET", "/api/v1/api-keys", None, Some(&laptop)).await;
    assert!(
        keys["api_keys"][0].get("key").is_none() && keys["api_keys"][0].get("token_digest").is_none(),
        "secrets are shown once"
    );
    let key_id = key["id"].as_str().unwrap();
    assert_eq!(t.call("DELETE", &format!("/api/v1/api-keys/{key_id}"), None, Some(&mallory)).await.0, 404);
    assert_eq!(t.call("DELETE", &format!("/api/v1/api-keys/{key_id}"), None, Some(&laptop)).await.0, 204);
    let res = bearer("/api/v1/me").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["code"], "invalid_api_key");

    let (_, _, log) = t.call("GET", "/api/v1/me/audit", None, Some(&laptop)).await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["signed_up", "signed_in", "signed_out_other_devices", "api_key_created", "api_key_deleted"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
}

async fn pages_render(db: Db) {
    let t = spawn(db).await;
    for path in [
        "/",
        "/signup",
        "/login",
        "/login/phone",
        "/forgot-password",
        "/privacy",
        "/contact",
        "/developers",
        "/reset-password?token=x",
        "/verify-email?token=x",
    ] {
        let res = t.http.get(t.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("<title>") && !html.contains("<script>"), "{path}: no inline script");
    }
    let res = t.http.get(t.url("/dashboard")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), header(res.headers(), "location")), (303, "/login"));
    let css = t.http.get(t.url("/static/app.css")).send().await.unwrap();
    assert_eq!(header(css.headers(), "content-type"), "text/css");
    assert!(header(css.headers(), "cache-control").contains("immutable"));
}

async fn welcome_tokens_daily_reward_and_ledger(db: Db) {
    let t = spawn(db).await;
    let b = t.signup("tokens@example.com").await;
    let (_, _, me) = t.call("GET", "/api/v1/me", None, Some(&b)).await;
    assert_eq!(me["token_balance"], 20, "welcome grant");
    let (status, _, balance) = t.call("POST", "/api/v1/tokens/daily-reward", None, Some(&b)).await;
    assert_eq!((status, balance["balance"].as_i64()), (200, Some(22)));
    let (status, headers, body) = t.call("POST", "/api/v1/tokens/daily-reward", None, Some(&b)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("already_claimed")));
    assert!(header(&headers, "retry-after").parse::<u64>().unwrap() <= 86_400);
    let (_, _, ledger) = t.call("GET", "/api/v1/tokens/ledger", None, Some(&b)).await;
    let reasons: Vec<&str> =
        ledger["entries"].as_array().unwrap().iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["Daily reward", "Welcome tokens"]);
    let (_, _, tokens) = t.call("GET", "/api/v1/tokens", None, Some(&b)).await;
    assert_eq!(tokens, json!({"balance": 22, "held": 0}));
    let page = t.http.get(t.url("/tokens")).header("cookie", &b.cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Daily reward") && page.contains("Welcome tokens"));
}

on_both_backends!(
    welcome_tokens_daily_reward_and_ledger,
    signup_login_logout,
    login_timing_does_not_reveal_accounts,
    email_verification_from_the_outbox,
    password_reset,
    sessions_and_api_keys,
    pages_render
);

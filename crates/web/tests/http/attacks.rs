//! The attacks of the adversarial review (issue 21), each replayed against the server: every
//! one of them got through before its fix.

use std::time::Duration;

use db::{Db, on_both_backends};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Browser, TestApp, browser, header, link_token, spawn, spawn_with};

const PASSWORD: &str = "kundan necklace sparkle";

/// A key with every scope a key can have.
async fn api_key(t: &TestApp, who: &Browser, scopes: Option<&[&str]>) -> String {
    let body = match scopes {
        Some(s) => json!({"name": "Shop sync", "scopes": s}),
        None => json!({"name": "Shop sync"}),
    };
    let (status, _, key) = t.call("POST", "/api/v1/api-keys", Some(body), Some(who)).await;
    assert_eq!(status, 201, "{key}");
    key["key"].as_str().unwrap().to_owned()
}

async fn with_key(t: &TestApp, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = t.http.request(method.parse().unwrap(), t.url(path)).header("x-api-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A JSON POST from a client at `ip` (behind the proxy): its status.
async fn post_from(t: &TestApp, ip: &str, path: &str, body: Value) -> u16 {
    let req = t.http.post(t.url(path)).header("x-forwarded-for", ip).header("sec-fetch-site", "same-origin");
    req.json(&body).send().await.unwrap().status().as_u16()
}

async fn sms_code(t: &TestApp, phone_digits: &str) -> String {
    t.sms.lock().unwrap().iter().rev().find(|(m, _)| m == phone_digits).map(|(_, c)| c.clone()).expect("a code")
}

async fn verify(t: &TestApp, email: &str) {
    let token = t.mailed_token(email, "/verify-email").await.expect("verification mail");
    let (status, _, body) = t.call("POST", "/api/v1/auth/verify-email", Some(json!({"token": token})), None).await;
    assert_eq!(status, 200, "{body}");
}

/// F1: an attacker who put the victim's number on their account is never signed into by it;
/// the victim gets their own account and the unverified claim is dropped.
async fn sms_sign_in_never_opens_an_unverified_claim(db: Db) {
    let t = spawn(db).await;
    let (status, _, _) = t
        .call(
            "POST",
            "/api/v1/auth/signup",
            Some(json!({"email": "mallory@example.com", "password": PASSWORD, "name": "M", "phone": "+919876500001"})),
            None,
        )
        .await;
    assert_eq!(status, 201);
    let mallory = t.login("mallory@example.com", PASSWORD).await.1.unwrap();

    assert_eq!(t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "+919876500001"})), None).await.0, 202);
    let code = sms_code(&t, "919876500001").await;
    let (status, headers, body) =
        t.call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": "+919876500001", "code": code})), None).await;
    assert_eq!((status, body["created"].as_bool()), (201, Some(true)), "a new account, not mallory's: {body}");
    assert!(body["user"]["email"].is_null());
    let victim = browser(&headers, &body);
    let (_, _, me) = t.call("GET", "/api/v1/me", None, Some(&victim)).await;
    assert_eq!((me["phone"].as_str(), me["phone_verified"].as_bool()), (Some("+919876500001"), Some(true)));

    let (_, _, theirs) = t.call("GET", "/api/v1/me", None, Some(&mallory)).await;
    assert!(theirs["phone"].is_null(), "the unverified claim is dropped: {theirs}");
    let (_, _, log) = t.call("GET", "/api/v1/me/audit", None, Some(&mallory)).await;
    assert!(log.to_string().contains("phone_claim_dropped"), "{log}");
}

/// F1: a number counts only once a code sent to it comes back, bound to the account that
/// asked; changing it needs the password.
async fn a_phone_is_verified_only_by_its_own_code(db: Db) {
    let t = spawn(db).await;
    let owner = t.signup("owner@example.com").await;
    let (status, _, body) = t.call("PATCH", "/api/v1/me", Some(json!({"phone": "+919876500002"})), Some(&owner)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("reauthentication_required")), "{body}");
    let wrong = json!({"phone": "+919876500002", "current_password": "not my password"});
    let (status, _, body) = t.call("PATCH", "/api/v1/me", Some(wrong), Some(&owner)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("wrong_password")));
    let right = json!({"phone": "+919876500002", "current_password": PASSWORD});
    let (status, _, body) = t.call("PATCH", "/api/v1/me", Some(right), Some(&owner)).await;
    assert_eq!((status, body["pending"]["phone"].as_str()), (200, Some("+919876500002")), "{body}");
    assert!(body["phone"].is_null(), "not the account's number until proven");

    // A sign-in code for that number does not prove it for this account.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "+919876500002"})), None).await.0, 202);
    let sign_in_code = sms_code(&t, "919876500002").await;
    let (status, _, _) = t
        .call(
            "POST",
            "/api/v1/me/phone/verify",
            Some(json!({"phone": "+919876500002", "code": sign_in_code})),
            Some(&owner),
        )
        .await;
    assert_eq!(status, 400);

    // A session alone cannot get a code for a new number: only the profile change, with
    // the password, sends one.
    let (status, _, body) = t.call("POST", "/api/v1/me/phone", None, Some(&owner)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("no_phone")));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = json!({"phone": "+919876500002", "current_password": PASSWORD});
    assert_eq!(t.call("PATCH", "/api/v1/me", Some(again), Some(&owner)).await.0, 200);
    let code = sms_code(&t, "919876500002").await;
    let (status, _, me) = t
        .call("POST", "/api/v1/me/phone/verify", Some(json!({"phone": "+919876500002", "code": code})), Some(&owner))
        .await;
    assert_eq!((status, me["phone_verified"].as_bool()), (200, Some(true)), "{me}");
}

/// F2: an email change needs the password and a link to the new address; when it happens,
/// every other session and every API key ends, and the old address is told.
async fn an_email_change_is_proven_and_locks_out_the_rest(db: Db) {
    let t = spawn(db).await;
    let owner = t.signup("first@example.com").await;
    verify(&t, "first@example.com").await;
    let other = t.login("first@example.com", PASSWORD).await.1.unwrap();
    let key = api_key(&t, &owner, None).await;

    let (status, _, body) =
        t.call("PATCH", "/api/v1/me", Some(json!({"email": "second@example.com"})), Some(&owner)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("current_password")));
    let change = json!({"email": "second@example.com", "current_password": PASSWORD});
    let (status, _, body) = t.call("PATCH", "/api/v1/me", Some(change), Some(&owner)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["email"].as_str(), body["pending"]["email"].as_str()),
        (Some("first@example.com"), Some("second@example.com")),
        "the address changes only once the link is opened"
    );
    verify(&t, "second@example.com").await;

    let (status, _, me) = t.call("GET", "/api/v1/me", None, Some(&owner)).await;
    assert_eq!((status, me["email"].as_str()), (200, Some("second@example.com")), "the asking session stays");
    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&other)).await.0, 401, "other sessions end");
    assert_eq!(with_key(&t, "GET", "/api/v1/me", &key, None).await.0, 401, "keys are revoked");
    let told = t.mails().await.iter().any(|m| m.contains("To: first@example.com") && m.contains("Security notice"));
    assert!(told, "the old address hears of it");
}

/// F2: a key made before a password reset (the pre-hijack case) stops working, and so does
/// every session; forgot-password mails verified addresses only.
async fn nothing_survives_a_password_reset(db: Db) {
    let t = spawn(db).await;
    let owner = t.signup("reset-owner@example.com").await;
    let key = api_key(&t, &owner, None).await;
    let before = t.mails().await.len();
    assert_eq!(
        t.call("POST", "/api/v1/auth/password/forgot", Some(json!({"email": "reset-owner@example.com"})), None).await.0,
        202
    );
    assert_eq!(t.mails().await.len(), before, "an unverified address gets no reset link");

    verify(&t, "reset-owner@example.com").await;
    assert_eq!(
        t.call("POST", "/api/v1/auth/password/forgot", Some(json!({"email": "reset-owner@example.com"})), None).await.0,
        202
    );
    let token = t.mailed_token("reset-owner@example.com", "/reset-password").await.expect("reset link");
    let reset = json!({"token": token, "password": "a brand new sentence"});
    assert_eq!(t.call("POST", "/api/v1/auth/password/reset", Some(reset), None).await.0, 204);
    assert_eq!(with_key(&t, "GET", "/api/v1/me", &key, None).await.0, 401, "the key died with the old password");
    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&owner)).await.0, 401);
}

/// F2: whoever proves an inbox keeps the address; an earlier unverified claim loses it and
/// can no longer sign in with it. Once verified, nobody else can sign up with it.
async fn an_unverified_claim_loses_to_the_inbox_owner(db: Db) {
    let t = spawn(db).await;
    let squatter = t.signup("victim@example.com").await;
    let squatter_key = api_key(&t, &squatter, None).await;
    let squatters_mail = t.mails().await;
    let victim = t.signup("victim@example.com").await;
    // Both links go to one inbox and mail jobs finish in any order: open the victim's own.
    let victims_mail = t.mails().await.into_iter().find(|m| !squatters_mail.contains(m)).expect("the victim's mail");
    let token = link_token(&victims_mail, "/verify-email").expect("a verification link");
    assert_eq!(t.call("POST", "/api/v1/auth/verify-email", Some(json!({"token": token})), None).await.0, 200);

    let (_, _, me) = t.call("GET", "/api/v1/me", None, Some(&victim)).await;
    assert_eq!((me["email"].as_str(), me["email_verified"].as_bool()), (Some("victim@example.com"), Some(true)));
    let (_, _, theirs) = t.call("GET", "/api/v1/me", None, Some(&squatter)).await;
    assert!(theirs["email"].is_null(), "{theirs}");
    assert_ne!(theirs["id"], me["id"]);
    let (_, body) = with_key(&t, "GET", "/api/v1/me", &squatter_key, None).await;
    assert_ne!(body["id"], me["id"], "the squatter's key never reaches the victim's account");
    let (status, signed_in, _) = t.login("victim@example.com", PASSWORD).await;
    assert_eq!(status, 200);
    let (_, _, who) = t.call("GET", "/api/v1/me", None, signed_in.as_ref()).await;
    assert_eq!(who["id"], me["id"]);
    let (status, _, body) = t
        .call(
            "POST",
            "/api/v1/auth/signup",
            Some(json!({"email": "victim@example.com", "password": "another long secret", "name": "X"})),
            None,
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("email_taken")));
}

/// F2: a key reaches only what its scopes allow, and never the account itself.
async fn keys_stay_inside_their_scopes(db: Db) {
    let t = spawn(db).await;
    let owner = t.signup("scopes@example.com").await;
    let full = api_key(&t, &owner, None).await;
    assert_eq!(with_key(&t, "GET", "/api/v1/me", &full, None).await.0, 200);
    for (method, path, body) in [
        ("PATCH", "/api/v1/me", Some(json!({"email": "thief@example.com"}))),
        ("DELETE", "/api/v1/me", Some(json!({"password": PASSWORD}))),
        ("POST", "/api/v1/me/export", None),
        ("PUT", "/api/v1/me/consents", Some(json!({"marketing": true}))),
        ("POST", "/api/v1/api-keys", Some(json!({"name": "another"}))),
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "starter"}))),
        ("GET", "/api/v1/me/sessions", None),
        ("POST", "/api/v1/me/phone", Some(json!({"phone": "+919876500003"}))),
    ] {
        let (status, answer) = with_key(&t, method, path, &full, body).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("api_key_not_allowed")), "{method} {path}");
    }
    let read_only = api_key(&t, &owner, Some(&["images:read"])).await;
    let (status, body) = with_key(&t, "POST", "/api/v1/quotes", &read_only, Some(json!({"upload_id": "x"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("insufficient_scope")));
    assert_eq!(with_key(&t, "GET", "/api/v1/creations", &read_only, None).await.0, 200);
    assert_eq!(with_key(&t, "GET", "/api/v1/me", &read_only, None).await.0, 403);
    let (status, _, body) =
        t.call("POST", "/api/v1/api-keys", Some(json!({"name": "k", "scopes": ["billing:write"]})), Some(&owner)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_scope")));
}

/// F3: only what the server knows decides the price list; a language or a copied cookie
/// never does, and a fresh country from the CDN outranks the cookie.
async fn the_browser_cannot_pick_its_price_list(db: Db) {
    let t = spawn_with(db, |s| {
        s.server.behind_proxy = true;
        s.billing.country_header = Some("cf-ipcountry".into());
        s.billing.default_currency = "USD".into();
    })
    .await;
    let plans = |headers: Vec<(&'static str, String)>| {
        let mut req = t.http.get(t.url("/api/v1/billing/plans"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move {
            let res = req.send().await.unwrap();
            let cookie = header(res.headers(), "set-cookie").split(';').next().unwrap_or_default().to_owned();
            (res.json::<Value>().await.unwrap()["currency"].as_str().unwrap_or_default().to_owned(), cookie)
        }
    };
    let from = |ip: &str| ("x-forwarded-for", ip.to_owned());
    let (currency, _) = plans(vec![("accept-language", "en-IN".into()), from("203.0.113.9")]).await;
    assert_eq!(currency, "USD", "the browser's language never lowers the price");
    let (currency, indian) = plans(vec![("cf-ipcountry", "IN".into()), from("203.0.113.9")]).await;
    assert_eq!(currency, "INR");
    let (currency, _) = plans(vec![("cookie", indian.clone()), from("203.0.113.9")]).await;
    assert_eq!(currency, "INR", "the cookie stands in for the decision on the network it was made for");
    let (currency, _) = plans(vec![("cookie", indian.clone()), from("198.51.100.4")]).await;
    assert_eq!(currency, "USD", "a cookie copied to another network counts for nothing");
    let (currency, _) = plans(vec![("cookie", indian), ("cf-ipcountry", "US".into()), from("203.0.113.9")]).await;
    assert_eq!(currency, "USD", "a fresh country outranks the cookie");
}

/// F4: parallel guesses are counted before any password is checked.
async fn parallel_guesses_are_counted_first(db: Db) {
    let t = spawn(db).await;
    t.signup("guessed@example.com").await;
    let guesses = (0..25).map(|i| {
        let t = &t;
        async move { t.login("guessed@example.com", &format!("wrong guess number {i}")).await.0 }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 10, "{checked} of 25 parallel guesses were checked: {statuses:?}");
    assert_eq!(checked + statuses.iter().filter(|s| **s == 429).count(), 25);
}

/// F4: guesses from elsewhere lock out that network, not the owner; past the account's
/// ceiling, the owner's own network still gets in.
async fn guesses_from_elsewhere_do_not_lock_the_owner_out(db: Db) {
    let t = spawn_with(db, |s| {
        s.server.behind_proxy = true;
        s.security.login_attempts_per_account_hour = 14;
    })
    .await;
    t.signup("owner-login@example.com").await;
    verify(&t, "owner-login@example.com").await; // only a verified holder's networks are known
    let login = |ip: &'static str, password: &'static str| {
        post_from(&t, ip, "/api/v1/auth/login", json!({"email": "owner-login@example.com", "password": password}))
    };
    assert_eq!(login("203.0.113.7", PASSWORD).await, 200, "the owner's network, known from now on");
    for _ in 0..10 {
        assert_eq!(login("198.51.100.7", "wrong password guess").await, 401);
    }
    assert_eq!(login("198.51.100.7", "wrong password guess").await, 429, "that network is stopped");
    assert_eq!(login("203.0.113.7", PASSWORD).await, 200, "the owner is not");
    for _ in 0..4 {
        login("192.0.2.8", "wrong password guess").await;
    }
    assert_eq!(login("192.0.2.9", "wrong password guess").await, 429, "past the ceiling, strangers wait");
    assert_eq!(login("203.0.113.7", PASSWORD).await, 200, "the owner's network still gets in");
}

/// F5: nobody can use up the owner's password resets.
async fn others_cannot_use_up_password_resets(db: Db) {
    let t = spawn_with(db, |s| s.server.behind_proxy = true).await;
    t.signup("forgetful@example.com").await;
    verify(&t, "forgetful@example.com").await;
    let forgot =
        |ip: &'static str| post_from(&t, ip, "/api/v1/auth/password/forgot", json!({"email": "forgetful@example.com"}));
    for _ in 0..3 {
        assert_eq!(forgot("198.51.100.9").await, 202);
    }
    assert_eq!(forgot("198.51.100.9").await, 429);
    assert_eq!(forgot("203.0.113.10").await, 202, "the owner's own network is not blocked");
    let token = t.mailed_token("forgetful@example.com", "/reset-password").await.expect("a reset link");
    let reset = json!({"token": token, "password": "a brand new sentence"});
    assert_eq!(t.call("POST", "/api/v1/auth/password/reset", Some(reset), None).await.0, 204);
    let links = t.mails().await.iter().filter(|m| m.contains("/reset-password?token=")).count();
    assert_eq!(links, 1, "one link every two minutes, however many ask");
}

/// Posts a multipart form whose one field (`disposition`) holds `total` bytes, sending
/// until the server answers or hangs up: (the status line, the bytes sent).
async fn post_big_field(t: &TestApp, path: &str, disposition: &str, total: usize) -> (String, usize) {
    let addr = t.base.trim_start_matches("http://").to_owned();
    let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nSec-Fetch-Site: same-origin\r\n\
         Content-Type: multipart/form-data; boundary=big\r\nContent-Length: {}\r\n\r\n\
         --big\r\nContent-Disposition: form-data; {disposition}\r\n\r\n",
        total + 200
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = c.into_split();
    let sender = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < total && writer.write_all(&chunk).await.is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut answer)).await.unwrap().unwrap();
    let status = String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or_default().to_owned();
    (status, sender.await.unwrap())
}

/// F6: form fields are read against their own limits, without a sign-in too, and refused
/// long before a huge one ends.
async fn oversized_form_fields_are_refused_early(db: Db) {
    let t = spawn_with(db, |s| s.uploads.max_bytes = 1024 * 1024).await;
    for path in ["/try", "/api/v1/previews"] {
        let (status, _) = post_big_field(&t, path, "name=\"theme\"", 100 * 1024).await;
        assert!(status.starts_with("HTTP/1.1 413"), "{path}: {status}");
    }
    let total = 30 * 1024 * 1024;
    let (status, sent) = post_big_field(&t, "/api/v1/previews", "name=\"file\"; filename=\"a.jpg\"", total).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(sent < total, "refused before the whole body was read ({sent} bytes sent)");
}

/// F9: a slow upload that keeps arriving is not cut off; one that stalls is.
async fn slow_uploads_finish_and_stalled_ones_end(db: Db) {
    let t = spawn_with(db, |s| s.server.request_timeout_secs = 2).await;
    let owner = t.signup("slow@example.com").await;
    let photo = crate::uploads::ring_jpeg(400, 300);
    let upload = |pause: Duration, chunks: usize| {
        let (t, owner, photo) = (&t, &owner, photo.clone());
        async move {
            let boundary = "slowboundary";
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ring.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&photo);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            let size = body.len().div_ceil(chunks);
            let parts: Vec<Vec<u8>> = body.chunks(size).map(<[u8]>::to_vec).collect();
            let stream = futures_util::stream::iter(parts).then(move |c| async move {
                tokio::time::sleep(pause).await;
                Ok::<_, std::io::Error>(c)
            });
            t.http
                .post(t.url("/api/v1/uploads"))
                .header("cookie", &owner.cookie)
                .header("x-csrf-token", &owner.csrf)
                .header("sec-fetch-site", "same-origin")
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    use futures_util::StreamExt;
    assert_eq!(upload(Duration::from_millis(500), 8).await, 201, "4 s of steady arrival is fine");
    assert_eq!(upload(Duration::from_millis(3500), 2).await, 408, "a body that stalls past the limit is cut off");
}

/// F10: headers must arrive in time, idle connections close, and one network cannot hold
/// every connection.
async fn slow_and_idle_connections_are_closed(db: Db) {
    let t = spawn_with(db, |s| {
        s.server.header_timeout_secs = 1;
        s.server.idle_timeout_secs = 2;
        s.server.max_connections_per_network = 8;
    })
    .await;
    let addr = t.base.trim_start_matches("http://").to_owned();
    let closed_within = |mut c: tokio::net::TcpStream, limit: Duration| async move {
        let mut buf = [0u8; 4096];
        let started = std::time::Instant::now();
        loop {
            match tokio::time::timeout(limit, c.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return started.elapsed() < limit,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
    };
    let mut trickle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    trickle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert!(closed_within(trickle, Duration::from_secs(4)).await, "unfinished headers are dropped");

    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(closed_within(idle, Duration::from_secs(5)).await, "an idle keep-alive connection is closed");

    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ninth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = ninth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), ninth.read_to_end(&mut answer)).await;
    assert!(answer.is_empty(), "the ninth connection from one network is refused");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(t.http.get(t.url("/healthz")).send().await.unwrap().status(), 200, "places come back");
}

/// F7: a line break in a one-line field would start a new line in someone's inbox.
async fn one_line_fields_refuse_line_breaks(db: Db) {
    let t = spawn(db).await;
    let signup = json!({"email": "lines@example.com", "password": PASSWORD,
                        "name": "Asha\nYour account is locked, call +1 555 0100"});
    let (status, _, body) = t.call("POST", "/api/v1/auth/signup", Some(signup), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_characters")));
    let owner = t.signup("lines@example.com").await;
    let (status, _, body) =
        t.call("PATCH", "/api/v1/me", Some(json!({"address": "12 MG Road\r\nBengaluru 560001"})), Some(&owner)).await;
    assert_eq!((status, body["address"].as_str()), (200, Some("12 MG Road\nBengaluru 560001")), "{body}");
    let (status, _, _) = t.call("PATCH", "/api/v1/me", Some(json!({"company": "A\nB"})), Some(&owner)).await;
    assert_eq!(status, 422);
}

/// F8: `back=` only ever leads to our own pages, and a line break in it is no error.
async fn back_links_stay_on_our_site(db: Db) {
    let t = spawn(db).await;
    let owner = t.signup("back@example.com").await;
    for (back, expected) in [
        ("/studio", "/studio"),
        ("/\t/evil.example/", "/dashboard"),
        ("//evil.example/", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("/x\r\nSet-Cookie: a=b", "/dashboard"),
    ] {
        let (status, location, _) = t.form("/privacy/acknowledge", &owner, &[("back", back)]).await;
        assert_eq!((status, location.as_str()), (303, expected), "{back:?}");
    }
}

/// Also seen: private images are never cached, `/metrics` is closed behind a proxy, a
/// webhook body replayed under a new event id is still a replay, the FAKE Razorpay's controls
/// need its keys.
async fn leftovers_are_closed(db: Db) {
    let t = spawn_with(db, |s| s.server.behind_proxy = true).await;
    let owner = t.signup("leftovers@example.com").await;
    let (status, upload) = crate::uploads::upload(&t, &owner, "ring.jpg", crate::uploads::ring_jpeg(400, 300)).await;
    assert_eq!(status, 201);
    let id = upload["id"].as_str().unwrap();
    let res = t.http.get(t.url(&format!("/api/v1/uploads/{id}/original"))).header("cookie", &owner.cookie);
    let res = res.send().await.unwrap();
    assert_eq!((res.status().as_u16(), header(res.headers(), "cache-control")), (200, "private, no-store"));
    assert_eq!(t.http.get(t.url("/metrics")).send().await.unwrap().status(), 404, "behind a proxy, all is loopback");

    let body = br#"{"entity":"event","event":"payment.captured","payload":{},"created_at":1}"#;
    let signature = providers::razorpay::sign(t.razorpay.webhook_secret(), body);
    let deliver = |event_id: &'static str| {
        let t = &t;
        let signature = signature.clone();
        async move {
            let res = t
                .http
                .post(t.url("/webhooks/razorpay"))
                .header("x-razorpay-signature", signature)
                .header("x-razorpay-event-id", event_id)
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            res.json::<Value>().await.unwrap()["status"].as_str().unwrap_or_default().to_owned()
        }
    };
    assert_ne!(deliver("evt_first").await, "replay");
    assert_eq!(deliver("evt_forged_new_id").await, "replay", "the signed body names the event");

    let res = t.http.post(format!("{}/_fake/checkout", t.razorpay.base_url)).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 401, "the fake's controls need its keys");
}

/// Also seen: one monthly plan at a time is the database's rule, so parallel checkouts
/// leave exactly one plan that can be paid.
async fn one_monthly_plan_at_a_time(db: Db) {
    let t = spawn(db).await;
    let buyer = t.signup("plans@example.com").await;
    let starts = (0..4).map(|_| {
        let (t, buyer) = (&t, &buyer);
        async move { t.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "growth"})), Some(buyer)).await }
    });
    let started: Vec<String> = futures_util::future::join_all(starts)
        .await
        .into_iter()
        .filter_map(|(status, _, body)| (status == 201).then(|| body["subscription_id"].as_str().unwrap().to_owned()))
        .collect();
    assert!(!started.is_empty());
    let paid = started
        .iter()
        .filter(|id| {
            let pay = fakes::razorpay::Pay { subscription_id: Some((*id).clone()), ..fakes::razorpay::Pay::default() };
            t.razorpay.checkout(&pay).is_ok()
        })
        .count();
    assert_eq!(paid, 1, "of {} checkouts started, exactly one can be paid", started.len());
}

on_both_backends!(
    one_monthly_plan_at_a_time,
    sms_sign_in_never_opens_an_unverified_claim,
    a_phone_is_verified_only_by_its_own_code,
    an_email_change_is_proven_and_locks_out_the_rest,
    nothing_survives_a_password_reset,
    an_unverified_claim_loses_to_the_inbox_owner,
    keys_stay_inside_their_scopes,
    the_browser_cannot_pick_its_price_list,
    parallel_guesses_are_counted_first,
    guesses_from_elsewhere_do_not_lock_the_owner_out,
    others_cannot_use_up_password_resets,
    oversized_form_fields_are_refused_early,
    slow_uploads_finish_and_stalled_ones_end,
    slow_and_idle_connections_are_closed,
    one_line_fields_refuse_line_breaks,
    back_links_stay_on_our_site,
    leftovers_are_closed,
);

//! Invitations: a newcomer through a friend's link gets extra tokens once their email is
//! proven; the inviter is rewarded then and at the first payment, once each, after the hold
//! (0 days here); not for a sign-up from the inviter's own network, not past the monthly
//! limit, and a refund takes the payment's reward back.

use db::{Db, on_both_backends};
use fakes::razorpay::Pay;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::harness::{Browser, TestApp, browser, spawn_with};

const PASSWORD: &str = "kundan necklace sparkle";

/// Posts `body` from `ip` (the server sits behind a proxy here).
async fn post_from(t: &TestApp, path: &str, ip: &str, body: Value) -> (u16, HeaderMap, Value) {
    let res = t
        .http
        .post(t.url(path))
        .header("sec-fetch-site", "same-origin")
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

/// Signs up from `ip`, through `code` if given.
async fn signup_from(t: &TestApp, email: &str, ip: &str, code: Option<&str>) -> Browser {
    let mut body = json!({"email": email, "password": PASSWORD, "name": "Invitee"});
    if let Some(code) = code {
        body["referral_code"] = json!(code);
    }
    let (status, headers, body) = post_from(t, "/api/v1/auth/signup", ip, body).await;
    assert_eq!(status, 201, "{body}");
    browser(&headers, &body)
}

async fn prove_email(t: &TestApp, email: &str) {
    let token = t.mailed_token(email, "/verify-email").await.expect("verification mail");
    let (status, _, body) = t.call("POST", "/api/v1/auth/verify-email", Some(json!({"token": token})), None).await;
    assert_eq!(status, 200, "{body}");
}

async fn balance(t: &TestApp, who: &Browser) -> i64 {
    t.call("GET", "/api/v1/tokens", None, Some(who)).await.2["balance"].as_i64().unwrap()
}

/// Buys the Starter pack through the FAKE Razorpay; returns the payment's id.
async fn buy(t: &TestApp, who: &Browser) -> String {
    let (status, _, order) =
        t.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "starter"})), Some(who)).await;
    assert_eq!(status, 201, "{order}");
    let pay = Pay { order_id: order["order_id"].as_str().map(str::to_owned), ..Pay::default() };
    let paid = t.razorpay.checkout(&pay).unwrap();
    let (status, _, body) =
        t.call("POST", "/api/v1/billing/verify", Some(serde_json::to_value(&paid).unwrap()), Some(who)).await;
    assert_eq!(status, 200, "{body}");
    paid.razorpay_payment_id
}

async fn invites(t: &TestApp, who: &Browser) -> Vec<Value> {
    let (status, _, body) = t.call("GET", "/api/v1/referrals", None, Some(who)).await;
    assert_eq!(status, 200, "{body}");
    body["invites"].as_array().unwrap().clone()
}

async fn invitations_reward_once_and_not_oneself(db: Db) {
    let t = spawn_with(db, |s| {
        s.server.behind_proxy = true;
        s.referrals.hold_days = 0;
        s.referrals.max_rewards_per_month = 2;
    })
    .await;
    let meera = signup_from(&t, "meera@example.com", "203.0.113.5", None).await;
    let (status, _, mine) = t.call("GET", "/api/v1/referrals", None, Some(&meera)).await;
    assert_eq!(status, 200, "{mine}");
    let link = mine["link"].as_str().unwrap().to_owned();
    let code = link.split_once("/signup?ref=").expect("a sign-up link").1.to_owned();
    assert_eq!(t.call("GET", "/api/v1/referrals", None, Some(&meera)).await.2["link"], link.as_str(), "one link");
    assert_eq!(t.call("GET", "/api/v1/referrals", None, None).await.0, 401);

    // A second account of hers, from her own network: remembered, never rewarded.
    let again = signup_from(&t, "meera.again@example.com", "203.0.113.77", Some(&code)).await;
    prove_email(&t, "meera.again@example.com").await;
    assert_eq!(balance(&t, &again).await, 20, "no bonus for inviting oneself");
    // Nor another address of her own inbox, from elsewhere.
    let alias = signup_from(&t, "meera+shop@example.com", "192.0.2.77", Some(&code)).await;
    prove_email(&t, "meera+shop@example.com").await;
    assert_eq!(balance(&t, &alias).await, 20, "no bonus for an alias of her own inbox");
    // An unknown code stops nobody.
    signup_from(&t, "stale@example.com", "192.0.2.50", Some("no-such-code")).await;

    // A friend from elsewhere: extra tokens once proven; Meera's reward is held, then given once.
    let priya = signup_from(&t, "priya@example.com", "198.51.100.20", Some(&code)).await;
    assert_eq!(invites(&t, &meera).await[0]["status"], "waiting");
    prove_email(&t, "priya@example.com").await;
    assert_eq!(balance(&t, &priya).await, 23);
    assert_eq!(balance(&t, &meera).await, 20, "held first");
    assert_eq!(t.app.give_due_referral_rewards().await.unwrap(), 1);
    assert_eq!(t.app.give_due_referral_rewards().await.unwrap(), 0, "given once");
    assert_eq!(balance(&t, &meera).await, 25);

    // Her first payment earns Meera 10 more; a second one earns nothing.
    let first = buy(&t, &priya).await;
    buy(&t, &priya).await;
    assert_eq!(t.app.give_due_referral_rewards().await.unwrap(), 1);
    assert_eq!(balance(&t, &meera).await, 35);

    // Past the limit of rewards in 30 days (2 here), a new friend's earns nothing.
    signup_from(&t, "ravi@example.com", "192.0.2.9", Some(&code)).await;
    prove_email(&t, "ravi@example.com").await;
    assert_eq!(t.app.give_due_referral_rewards().await.unwrap(), 0);

    // The first payment refunded: its reward is taken back.
    let admin = t.signup("staff@example.com").await;
    t.app.grant_role("staff@example.com", "admin").await.unwrap();
    let refund = format!("/api/v1/admin/payments/{first}/refunds");
    let (status, _, body) = t.call("POST", &refund, Some(json!({"reason": "asked"})), Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(balance(&t, &meera).await, 25);

    // Through the phone sign-up too: listed by the phone's last digits, waiting for an email.
    let phone = "+919812300077";
    let (status, ..) = post_from(&t, "/api/v1/auth/otp/send", "198.51.100.99", json!({"phone": phone})).await;
    assert_eq!(status, 202);
    let sms = t.sms.lock().unwrap().last().unwrap().1.clone();
    let verify = json!({"phone": phone, "code": sms, "referral_code": code});
    assert_eq!(post_from(&t, "/api/v1/auth/otp/verify", "198.51.100.99", verify).await.0, 201);

    // Meera's list: who came (masked), and what became of each reward.
    let list = invites(&t, &meera).await;
    let by = |who: &str| list.iter().find(|i| i["who"] == who).unwrap_or_else(|| panic!("{who}: {list:?}"));
    assert_eq!(list.len(), 5, "an unknown code joins nobody's list: {list:?}");
    assert_eq!(list[0]["who"], "…077");
    assert_eq!(list[0]["status"], "waiting");
    let own: Vec<&Value> = list.iter().filter(|i| i["who"] == "me•••@example.com").collect();
    assert!(own.iter().all(|i| i["status"] == "not_rewarded"), "{own:?}");
    let why: Vec<&str> = own.iter().filter_map(|i| i["not_rewarded_because"].as_str()).collect();
    assert_eq!(why, vec!["same_inbox", "same_network"], "newest first");
    let rewards: Vec<(&str, &str)> = by("pr•••@example.com")["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(rewards, vec![("verified", "given"), ("first_payment", "reversed")]);
    assert_eq!(by("ra•••@example.com")["rewards"][0]["status"], "over_limit");
    let (_, page) = t.page("/referrals", Some(&meera)).await;
    assert!(page.contains("Joined from your own network, so no reward."), "{page}");
    assert!(page.contains("Joined with another address of your own, so no reward."), "{page}");
    assert!(page.contains("10 tokens for their first payment, cancelled"), "{page}");
    assert!(!page.contains("over_limit") && !page.contains("first_payment"), "words, not codes");
    let (_, statement) = t.page("/tokens", Some(&meera)).await;
    assert!(statement.contains("Invitation reward cancelled and taken back"), "not a refund of hers: {statement}");
    let (_, _, ledger) = t.call("GET", "/api/v1/tokens/ledger", None, Some(&meera)).await;
    assert!(
        ledger.to_string().contains("Invitation reward: a friend you invited made their first payment"),
        "{ledger}"
    );
}

on_both_backends!(invitations_reward_once_and_not_oneself);

//! Billing against the FAKE Razorpay: packs, subscriptions, webhooks (forged, replayed,
//! reordered, racing the verify call), tampered payments, refunds after spending, prices
//! decided by the server.

use db::{Db, on_both_backends};
use fakes::razorpay::{Pay, Webhook};
use serde_json::{Value, json};

use crate::harness::{Browser, TestApp, header, spawn, spawn_with};

async fn balance(app: &TestApp, who: &Browser) -> i64 {
    let (_, _, body) = app.call("GET", "/api/v1/tokens", None, Some(who)).await;
    body["balance"].as_i64().unwrap()
}

async fn post_webhook(app: &TestApp, body: &str, signature: &str, event_id: &str) -> (u16, Value) {
    let res = app
        .http
        .post(app.url("/webhooks/razorpay"))
        .header("content-type", "application/json")
        .header("x-razorpay-signature", signature)
        .header("x-razorpay-event-id", event_id)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn deliver(app: &TestApp, hooks: &[Webhook]) {
    for h in hooks {
        let (status, body) = post_webhook(app, &h.body, &h.signature, &h.event_id).await;
        assert_eq!(status, 200, "{} → {body}", h.event);
    }
}

/// Starts a checkout for `plan` and returns Razorpay's order or subscription id.
async fn start(app: &TestApp, who: &Browser, plan: &str) -> Value {
    let (status, _, body) = app.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": plan})), Some(who)).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn verify(app: &TestApp, who: &Browser, paid: &fakes::razorpay::CheckoutSuccess) -> (u16, Value) {
    let (status, _, body) =
        app.call("POST", "/api/v1/billing/verify", Some(serde_json::to_value(paid).unwrap()), Some(who)).await;
    (status, body)
}

fn pay_order(order_id: &str) -> Pay {
    Pay { order_id: Some(order_id.to_owned()), ..Pay::default() }
}

async fn make_admin(app: &TestApp, email: &str) -> Browser {
    let b = app.signup(email).await;
    app.app.grant_role(email, "admin").await.unwrap();
    b
}

async fn pack_bought_once_however_often_told(db: Db) {
    let app = spawn(db).await;
    let buyer = app.signup("buyer@example.com").await;
    assert_eq!(balance(&app, &buyer).await, 20, "welcome grant");
    // A proven address gets the receipt.
    let token = app.mailed_token("buyer@example.com", "/verify-email").await.expect("verification mail");
    let (status, _, _) = app.call("POST", "/api/v1/auth/verify-email", Some(json!({"token": token})), None).await;
    assert_eq!(status, 200);
    let order = start(&app, &buyer, "starter").await;
    assert_eq!(
        (order["kind"].as_str(), order["amount"].as_i64(), order["currency"].as_str()),
        (Some("order"), Some(499), Some("USD"))
    );
    assert_eq!(order["key_id"], app.razorpay.key_id());
    let paid = app.razorpay.checkout(&pay_order(order["order_id"].as_str().unwrap())).unwrap();

    let (status, body) = verify(&app, &buyer, &paid).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["tokens"].as_i64(), body["balance"].as_i64()),
        (Some("captured"), Some(80), Some(100))
    );
    let invoice = body["invoice_number"].as_str().unwrap().to_owned();
    assert!(invoice.starts_with("SP-") && invoice.ends_with("-000001"), "{invoice}");

    // Razorpay delivers each event again and again; verify is repeated too.
    let hooks = app.razorpay.webhooks();
    assert_eq!(
        hooks.iter().map(|h| h.event.as_str()).collect::<Vec<_>>(),
        ["payment.authorized", "payment.captured", "order.paid"]
    );
    for _ in 0..10 {
        deliver(&app, &hooks).await;
    }
    let (status, _) = verify(&app, &buyer, &paid).await;
    assert_eq!(status, 200);
    assert_eq!(balance(&app, &buyer).await, 100, "one grant");
    let (_, _, ledger) = app.call("GET", "/api/v1/tokens/ledger", None, Some(&buyer)).await;
    let grants: Vec<&Value> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reference"].as_str().unwrap().starts_with("payment:"))
        .collect();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["amount"], 80);
    let receipts: Vec<String> =
        app.mails().await.into_iter().filter(|m| m.contains("Subject: Your SoraiPixel receipt")).collect();
    assert_eq!(receipts.len(), 1, "one receipt however often told");
    assert!(
        receipts[0].contains("$4.99") && receipts[0].contains(&format!("/billing/invoices/{invoice}")),
        "{receipts:?}"
    );

    let (_, _, history) = app.call("GET", "/api/v1/billing/payments", None, Some(&buyer)).await;
    let payment = &history["payments"][0];
    assert_eq!((payment["status"].as_str(), payment["tokens_granted"].as_i64()), (Some("captured"), Some(80)));
    assert_eq!(history["payments"].as_array().unwrap().len(), 1);
    let events = app.app.db.payment_events(payment["razorpay_payment_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.source == "webhook").count(), 3, "each event stored once");

    let (status, _, inv) = app.call("GET", &format!("/api/v1/billing/invoices/{invoice}"), None, Some(&buyer)).await;
    assert_eq!(status, 200, "{inv}");
    assert_eq!(
        (inv["total"].as_str(), inv["invoice"]["buyer_email"].as_str()),
        (Some("$4.99"), Some("buyer@example.com"))
    );
    let stranger = app.signup("stranger@example.com").await;
    let (status, _, _) = app.call("GET", &format!("/api/v1/billing/invoices/{invoice}"), None, Some(&stranger)).await;
    assert_eq!(status, 404, "invoices are their buyer's");
    let (status, body) = verify(&app, &stranger, &paid).await;
    assert_eq!(status, 404, "someone else's order: {body}");
}

async fn forged_or_tampered_payments_grant_nothing(db: Db) {
    let app = spawn(db).await;
    let buyer = app.signup("buyer@example.com").await;

    // The browser cannot name a price or a currency.
    let (status, _, body) = app
        .call(
            "POST",
            "/api/v1/billing/orders",
            Some(json!({"plan_id": "starter", "amount": 100, "currency": "INR"})),
            Some(&buyer),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_body")), "{body}");

    // A forged Checkout signature.
    let order = start(&app, &buyer, "starter").await;
    let mut paid = app.razorpay.checkout(&pay_order(order["order_id"].as_str().unwrap())).unwrap();
    paid.razorpay_signature = providers::razorpay::sign("guessed-secret", b"x");
    let (status, body) = verify(&app, &buyer, &paid).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_signature")));

    // Webhooks: changed on the way, signed with the wrong secret, or unsigned.
    let captured = app.razorpay.webhooks().into_iter().find(|h| h.event == "payment.captured").unwrap();
    let tampered = captured.body.replace("\"amount\":499", "\"amount\":49900");
    assert_ne!(tampered, captured.body);
    let (status, body) = post_webhook(&app, &tampered, &captured.signature, "evt_tampered").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_signature")));
    let wrong = providers::razorpay::sign("not-the-webhook-secret", captured.body.as_bytes());
    assert_eq!(post_webhook(&app, &captured.body, &wrong, "evt_wrong").await.0, 400);
    assert_eq!(post_webhook(&app, &captured.body, "", "evt_unsigned").await.0, 400);
    assert_eq!(balance(&app, &buyer).await, 20, "nothing granted");

    // Paid, but not the order's amount (or currency): signed correctly, still refused.
    for pay in [
        Pay { amount: Some(100), ..pay_order(start(&app, &buyer, "creator").await["order_id"].as_str().unwrap()) },
        Pay {
            currency: Some("INR".into()),
            ..pay_order(start(&app, &buyer, "creator").await["order_id"].as_str().unwrap())
        },
    ] {
        let before = app.razorpay.webhooks().len();
        let paid = app.razorpay.checkout(&pay).unwrap();
        let (status, body) = verify(&app, &buyer, &paid).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("payment_mismatch")), "{body}");
        deliver(&app, &app.razorpay.webhooks()[before..]).await;
    }
    assert_eq!(balance(&app, &buyer).await, 20, "nothing granted");

    let admin = make_admin(&app, "admin@example.com").await;
    let (status, _, list) = app.call("GET", "/api/v1/admin/payments?anomalies_only=true", None, Some(&admin)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["payments"].as_array().unwrap().len(), 2, "both flagged for admins: {list}");
    let (status, _, _) = app.call("GET", "/api/v1/admin/payments", None, Some(&buyer)).await;
    assert_eq!(status, 403);

    // Guessing signatures is cut off, as is flooding Razorpay with orders.
    let order = start(&app, &buyer, "starter").await;
    let mut paid = app.razorpay.checkout(&pay_order(order["order_id"].as_str().unwrap())).unwrap();
    let genuine = paid.razorpay_signature.clone();
    paid.razorpay_signature = "0".repeat(64);
    let mut statuses = vec![];
    for _ in 0..9 {
        // One forged signature was sent above: ten in all.
        statuses.push(verify(&app, &buyer, &paid).await.0);
    }
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    paid.razorpay_signature = genuine;
    let (status, body) = verify(&app, &buyer, &paid).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "even a right guess is refused now"
    );
    let mut started = 4; // orders made above
    loop {
        let (status, _, _) =
            app.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "starter"})), Some(&buyer)).await;
        if status == 429 {
            break;
        }
        assert_eq!(status, 201);
        started += 1;
        assert!(started <= 30, "checkouts are limited");
    }
    assert_eq!(started, 30);
}

/// Refunded before we heard of the capture (a refund from Razorpay's dashboard, events
/// delivered newest first; or an uncaptured payment Razorpay returned): nothing is granted.
async fn refunded_before_captured_grants_nothing(db: Db) {
    let app = spawn(db).await;
    let buyer = app.signup("buyer@example.com").await;
    let order = start(&app, &buyer, "creator").await;
    let paid = app.razorpay.checkout(&pay_order(order["order_id"].as_str().unwrap())).unwrap();
    let gateway = app.app.gateway().unwrap();
    gateway.client.refund(&paid.razorpay_payment_id, 1299, "dashboard-refund").await.unwrap();
    let mut hooks = app.razorpay.webhooks();
    hooks.reverse();
    assert_eq!(hooks[0].event, "refund.processed");
    deliver(&app, &hooks).await;
    let (status, body) = verify(&app, &buyer, &paid).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("payment_not_captured")), "{body}");
    assert_eq!(balance(&app, &buyer).await, 20);
    let payment = app.app.db.payment(&paid.razorpay_payment_id).await.unwrap();
    assert_eq!((payment.status.as_str(), payment.tokens_granted, payment.amount_refunded), ("refunded", 0, 1299));
}

/// With real keys the checkout page loads Razorpay's script, and only that page may.
async fn live_checkout_allows_razorpay_on_its_page_only(db: Db) {
    let app = spawn_with(db, |s| {
        s.billing.razorpay = Some(settings::Razorpay {
            key_id: "replaced by the harness".into(),
            key_secret: "replaced by the harness".into(),
            webhook_secret: "replaced by the harness".into(),
            base_url: String::new(),
        });
    })
    .await;
    let buyer = app.signup("buyer@example.com").await;
    let (status, _, html) = app.form("/billing/checkout", &buyer, &[("plan_id", "starter")]).await;
    assert_eq!(status, 200);
    assert!(html.contains("https://checkout.razorpay.com/v1/checkout.js") && !html.contains("DEV MODE"));
    let res = app
        .http
        .post(app.url("/billing/checkout"))
        .header("cookie", &buyer.cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", buyer.csrf.as_str()), ("plan_id", "starter")])
        .send()
        .await
        .unwrap();
    let csp = header(res.headers(), "content-security-policy").to_owned();
    assert!(csp.contains("script-src 'self' https://checkout.razorpay.com"), "{csp}");
    assert_eq!(header(res.headers(), "cross-origin-opener-policy"), "same-origin-allow-popups");
    let res = app.http.get(app.url("/pricing")).send().await.unwrap();
    assert!(
        !header(res.headers(), "content-security-policy").contains("razorpay"),
        "other pages keep the strict policy"
    );
}

async fn verify_racing_webhooks_grants_once(db: Db) {
    let app = spawn(db).await;
    let buyer = app.signup("buyer@example.com").await;
    let order = start(&app, &buyer, "pro").await;
    let paid = app.razorpay.checkout(&pay_order(order["order_id"].as_str().unwrap())).unwrap();
    let hooks = app.razorpay.webhooks();
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (http, url, hooks, paid, buyer) =
            (app.http.clone(), app.base.clone(), hooks.clone(), paid.clone(), buyer.clone());
        racers.spawn(async move {
            if i % 4 == 0 {
                let res = http
                    .post(format!("{url}/api/v1/billing/verify"))
                    .header("sec-fetch-site", "same-origin")
                    .header("cookie", &buyer.cookie)
                    .header("x-csrf-token", &buyer.csrf)
                    .json(&paid)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status().as_u16(), 200);
            } else {
                // Reordered: the last event first.
                let h = &hooks[(hooks.len() - 1) - (i % hooks.len())];
                let res = http
                    .post(format!("{url}/webhooks/razorpay"))
                    .header("x-razorpay-signature", &h.signature)
                    .header("x-razorpay-event-id", &h.event_id)
                    .body(h.body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status().as_u16(), 200);
            }
        });
    }
    while let Some(r) = racers.join_next().await {
        r.unwrap();
    }
    assert_eq!(balance(&app, &buyer).await, 620, "20 welcome + 600 once");
}

async fn refunds_claw_back_but_never_below_zero(db: Db) {
    let app = spawn(db).await;
    let buyer = app.signup("buyer@example.com").await;
    let admin = make_admin(&app, "admin@example.com").await;
    let order = start(&app, &buyer, "starter").await;
    let paid = app.razorpay.checkout(&pay_order(order["order_id"].as_str().unwrap())).unwrap();
    assert_eq!(verify(&app, &buyer, &paid).await.0, 200);
    // The buyer spends most of what they bought.
    app.app.adjust_tokens("buyer@example.com", -90, "spent on images", "test").await.unwrap();
    assert_eq!(balance(&app, &buyer).await, 10);

    let path = format!("/api/v1/admin/payments/{}/refunds", paid.razorpay_payment_id);
    let (status, _, _) = app.call("POST", &path, Some(json!({"reason": "asked nicely"})), Some(&buyer)).await;
    assert_eq!(status, 403, "only admins refund");
    let (status, _, body) =
        app.call("POST", &path, Some(json!({"amount": 99_999, "reason": "too much"})), Some(&admin)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_refund")));

    let (status, _, body) = app.call("POST", &path, Some(json!({"reason": "customer request"})), Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["tokens_clawed"].as_i64(), body["shortfall"].as_i64()), (Some(10), Some(70)));
    assert_eq!(balance(&app, &buyer).await, 0, "never negative");
    // Razorpay's refund.processed webhook arrives afterwards, twice: nothing more happens.
    let refund_hook: Vec<Webhook> =
        app.razorpay.webhooks().into_iter().filter(|h| h.event == "refund.processed").collect();
    deliver(&app, &refund_hook).await;
    deliver(&app, &refund_hook).await;
    assert_eq!(balance(&app, &buyer).await, 0);
    let payment = app.app.db.payment(&paid.razorpay_payment_id).await.unwrap();
    assert_eq!((payment.status.as_str(), payment.amount_refunded, payment.shortfall), ("refunded", 499, 70));
    let (status, _, _) = app.call("POST", &path, Some(json!({"reason": "again"})), Some(&admin)).await;
    assert_eq!(status, 422, "nothing left to refund");

    // Razorpay reports that a refund failed after all: the tokens come back, once.
    let processed = &refund_hook[0];
    let mut event: Value = serde_json::from_str(&processed.body).unwrap();
    event["event"] = json!("refund.failed");
    event["payload"]["refund"]["entity"]["status"] = json!("failed");
    let body = event.to_string();
    let signature = providers::razorpay::sign(app.razorpay.webhook_secret(), body.as_bytes());
    assert_eq!(post_webhook(&app, &body, &signature, "evt_refund_failed").await.0, 200);
    assert_eq!(post_webhook(&app, &body, &signature, "evt_refund_failed_again").await.0, 200);
    assert_eq!(balance(&app, &buyer).await, 10, "the 10 taken come back, once");
    let payment = app.app.db.payment(&paid.razorpay_payment_id).await.unwrap();
    assert_eq!((payment.status.as_str(), payment.amount_refunded, payment.shortfall), ("captured", 0, 0));
    app.app.adjust_tokens("buyer@example.com", -10, "spent the rest", "test").await.unwrap();

    // A partial refund takes back its share, and the ledger says why.
    let order = start(&app, &buyer, "creator").await;
    let paid = app.razorpay.checkout(&pay_order(order["order_id"].as_str().unwrap())).unwrap();
    assert_eq!(verify(&app, &buyer, &paid).await.0, 200);
    assert_eq!(balance(&app, &buyer).await, 250);
    let path = format!("/api/v1/admin/payments/{}/refunds", paid.razorpay_payment_id);
    let (status, _, body) =
        app.call("POST", &path, Some(json!({"amount": 650, "reason": "half the pack"})), Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(balance(&app, &buyer).await, 125);
    let totals =
        app.app.db.ledger_totals(&app.app.db.user_by_email("buyer@example.com").await.unwrap().id).await.unwrap();
    assert_eq!(totals.balance, 125, "the ledger adds up to the balance");
}

async fn monthly_plan_grants_once_per_period(db: Db) {
    let app = spawn(db).await;
    let buyer = app.signup("buyer@example.com").await;
    let abandoned = start(&app, &buyer, "business").await["subscription_id"].as_str().unwrap().to_owned();
    let checkout = start(&app, &buyer, "growth").await;
    assert_eq!((checkout["kind"].as_str(), checkout["amount"].as_i64()), (Some("subscription"), Some(1999)));
    let sub_id = checkout["subscription_id"].as_str().unwrap().to_owned();
    let replaced = app.razorpay.checkout(&Pay { subscription_id: Some(abandoned), ..Pay::default() });
    assert!(replaced.is_err(), "an unpaid checkout gives way to the next one and can no longer be paid");

    let paid = app.razorpay.checkout(&Pay { subscription_id: Some(sub_id.clone()), ..Pay::default() }).unwrap();
    let (status, body) = verify(&app, &buyer, &paid).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(balance(&app, &buyer).await, 420);
    deliver(&app, &app.razorpay.webhooks()).await;
    deliver(&app, &app.razorpay.webhooks()).await;
    assert_eq!(balance(&app, &buyer).await, 420, "first month once");
    let (status, _, body) =
        app.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "business"})), Some(&buyer)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("already_subscribed")));

    // Next month.
    let before = app.razorpay.webhooks().len();
    app.razorpay.renew(&sub_id).unwrap();
    let renewal = app.razorpay.webhooks()[before..].to_vec();
    deliver(&app, &renewal).await;
    deliver(&app, &renewal).await;
    assert_eq!(balance(&app, &buyer).await, 820);

    // A second, different charge for the same period: recorded and flagged, not granted.
    let charged = renewal.iter().find(|h| h.event == "subscription.charged").unwrap();
    let mut event: Value = serde_json::from_str(&charged.body).unwrap();
    event["payload"]["payment"]["entity"]["id"] = json!("pay_SecondCharge01");
    let body = event.to_string();
    let signature = providers::razorpay::sign(app.razorpay.webhook_secret(), body.as_bytes());
    assert_eq!(post_webhook(&app, &body, &signature, "evt_second_charge").await.0, 200);
    assert_eq!(balance(&app, &buyer).await, 820, "one grant per period");
    let second = app.app.db.payment("pay_SecondCharge01").await.unwrap();
    assert_eq!(second.tokens_granted, 0);
    assert!(second.anomaly.is_some());

    // Cards fail until Razorpay halts the subscription: nothing is granted.
    let before = app.razorpay.webhooks().len();
    app.razorpay.halt(&sub_id).unwrap();
    deliver(&app, &app.razorpay.webhooks()[before..]).await;
    let growth = |history: &Value| {
        history["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["razorpay_subscription_id"] == sub_id.as_str())
            .unwrap()
            .clone()
    };
    let (_, _, history) = app.call("GET", "/api/v1/billing/payments", None, Some(&buyer)).await;
    assert_eq!(growth(&history)["status"], "halted");
    assert_eq!(balance(&app, &buyer).await, 820);

    // Cancel from the account: at the end of the period; then it ends, and a late
    // "activated" cannot bring it back.
    let id = growth(&history)["id"].as_str().unwrap().to_owned();
    let (status, _, body) =
        app.call("POST", &format!("/api/v1/billing/subscriptions/{id}/cancel"), None, Some(&buyer)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cancel_at_period_end"], true);
    let stranger = app.signup("stranger@example.com").await;
    let (status, _, _) =
        app.call("POST", &format!("/api/v1/billing/subscriptions/{id}/cancel"), None, Some(&stranger)).await;
    assert_eq!(status, 404);
    let before = app.razorpay.webhooks().len();
    app.razorpay.renew(&sub_id).unwrap();
    deliver(&app, &app.razorpay.webhooks()[before..]).await;
    let activated = app.razorpay.webhooks().into_iter().find(|h| h.event == "subscription.activated").unwrap();
    let (status, _) = post_webhook(&app, &activated.body, &activated.signature, "evt_late_activation").await;
    assert_eq!(status, 200);
    let (_, _, history) = app.call("GET", "/api/v1/billing/payments", None, Some(&buyer)).await;
    assert_eq!(growth(&history)["status"], "cancelled");
    assert_eq!(balance(&app, &buyer).await, 820);

    // Checkout's handler verified only after the next month was charged (and no webhook had
    // come): the first payment still pays the first month, so no month is lost.
    let stranger_sub = start(&app, &stranger, "growth").await["subscription_id"].as_str().unwrap().to_owned();
    let first = app.razorpay.checkout(&Pay { subscription_id: Some(stranger_sub.clone()), ..Pay::default() }).unwrap();
    app.razorpay.renew(&stranger_sub).unwrap();
    let (status, body) = verify(&app, &stranger, &first).await;
    assert_eq!((status, body["tokens"].as_i64()), (200, Some(400)), "{body}");
    deliver(&app, &app.razorpay.webhooks()).await;
    assert_eq!(balance(&app, &stranger).await, 20 + 400 + 400, "two months paid, two granted");
}

async fn prices_are_decided_by_the_server(db: Db) {
    let app = spawn_with(db, |s| {
        s.server.behind_proxy = true;
        s.billing.country_header = Some("cf-ipcountry".into());
        s.billing.default_currency = "USD".into();
    })
    .await;
    let get = |headers: Vec<(&'static str, String)>| {
        let mut req = app.http.get(app.url("/api/v1/billing/plans"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move {
            let res = req.send().await.unwrap();
            let cookie = header(res.headers(), "set-cookie").split(';').next().unwrap_or_default().to_owned();
            (res.json::<Value>().await.unwrap(), cookie)
        }
    };
    let (body, cookie) = get(vec![("cf-ipcountry", "IN".into())]).await;
    assert_eq!(body["currency"], "INR");
    assert_eq!(
        (body["plans"][0]["amount"].as_i64(), body["plans"][0]["display"].as_str()),
        (Some(14_900), Some("₹149"))
    );
    assert!(cookie.starts_with("__Host-sp_currency=INR."), "{cookie}");
    let (body, _) = get(vec![("cf-ipcountry", "DE".into())]).await;
    assert_eq!(body["currency"], "EUR");
    let (body, again) = get(vec![("cookie", cookie.clone())]).await;
    assert_eq!((body["currency"].as_str(), again.as_str()), (Some("INR"), ""), "the signed cookie keeps the currency");
    let forged = cookie.replacen("INR.", "EUR.", 1);
    let (body, _) = get(vec![("cookie", forged)]).await;
    assert_eq!(body["currency"], "USD", "a forged cookie is ignored");
    let (body, _) = get(vec![("accept-language", "en-IN".into())]).await;
    assert_eq!(body["currency"], "USD", "the configured default, whatever the browser's language");

    // The pricing page's switch: dollars may become euros (the choice stands), nothing else.
    let switch = |cookie: &str, country: &str, want: &str| {
        let req = app
            .http
            .post(app.url("/pricing/currency"))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", cookie)
            .header("cf-ipcountry", country)
            .form(&[("currency", want)]);
        async move {
            let res = req.send().await.unwrap();
            let set = header(res.headers(), "set-cookie").split(';').next().unwrap_or_default().to_owned();
            (res.status().as_u16(), set)
        }
    };
    let (_, dollars) = get(vec![("cf-ipcountry", "US".into())]).await;
    let (status, euros) = switch(&dollars, "US", "EUR").await;
    assert_eq!(status, 303);
    assert!(euros.starts_with("__Host-sp_currency=USD-EUR."), "{euros}");
    let (body, _) = get(vec![("cookie", euros.clone()), ("cf-ipcountry", "US".into())]).await;
    assert_eq!((body["currency"].as_str(), body["plans"][0]["display"].as_str()), (Some("EUR"), Some("€4.99")));
    for (country, want) in [("IN", "USD"), ("DE", "USD"), ("DE", "INR"), ("US", "INR")] {
        assert_eq!(switch("", country, want).await.0, 422, "{country}: never to {want}, a lower price");
    }
    let (body, _) = get(vec![("cookie", euros.clone()), ("cf-ipcountry", "IN".into())]).await;
    assert_eq!(body["currency"], "INR", "a switch stands only under the decision it was made from");
    let forged = dollars.replacen("USD.", "USD-EUR.", 1);
    let (body, _) = get(vec![("cookie", forged)]).await;
    assert_eq!(body["currency"], "USD", "a forged switch is ignored");
    assert_eq!(body["plans"].as_array().unwrap().len(), 5);

    // A GeoIP database (MaxMind format) places the visitor when no CDN header does.
    let geo = tempfile::tempdir().unwrap();
    let path = geo.path().join("country.mmdb");
    std::fs::write(&path, fakes::geoip::country_database(&[(std::net::Ipv4Addr::new(127, 0, 0, 0), 8, "IN")])).unwrap();
    let second = db::testing::sqlite().await;
    let placed = spawn_with(second.db.clone(), |s| {
        s.billing.geoip_database = Some(path.clone());
        s.billing.default_currency = "USD".into();
    })
    .await;
    let res =
        placed.http.get(placed.url("/api/v1/billing/plans")).header("accept-language", "en-US").send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["currency"], "INR", "GeoIP places the visitor");

    // Without the proxy setting, the header is anyone's to send and is ignored.
    let third = db::testing::sqlite().await;
    let direct = spawn_with(third.db.clone(), |s| {
        s.billing.country_header = Some("cf-ipcountry".into());
        s.billing.default_currency = "USD".into();
    })
    .await;
    let res = direct.http.get(direct.url("/api/v1/billing/plans")).header("cf-ipcountry", "IN").send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["currency"], "USD");
}

async fn admins_edit_plans_without_touching_open_orders(db: Db) {
    let app = spawn(db).await;
    let buyer = app.signup("buyer@example.com").await;
    let admin = make_admin(&app, "admin@example.com").await;
    let order = start(&app, &buyer, "starter").await;
    let edit = app::billing::admin::PlanEdit {
        name: "Starter".into(),
        tokens: 100,
        price_inr: 19_900,
        price_usd: 599,
        price_eur: 599,
        active: true,
    };
    let admin_principal = app.app.session_principal(&admin_session(&admin)).await.unwrap().unwrap();
    let saved = app.app.edit_plan(&admin_principal, "starter", &edit).await.unwrap();
    assert_eq!((saved.version, saved.tokens), (2, 100));
    let paid = app.razorpay.checkout(&pay_order(order["order_id"].as_str().unwrap())).unwrap();
    let (status, body) = verify(&app, &buyer, &paid).await;
    assert_eq!((status, body["tokens"].as_i64()), (200, Some(80)), "sold at version 1");
    let (_, _, plans) = app.call("GET", "/api/v1/billing/plans", None, None).await;
    assert_eq!(plans["plans"][0]["amount"], 599);
    let buyer_principal = app.app.session_principal(&admin_session(&buyer)).await.unwrap().unwrap();
    assert!(matches!(app.app.edit_plan(&buyer_principal, "starter", &edit).await, Err(app::AppError::Forbidden)));
}

async fn pages_for_buyers_and_admins(db: Db) {
    // An installation that sells in rupees to visitors it cannot place.
    let app = spawn_with(db, |s| {
        s.billing.default_currency = "INR".into();
        s.billing.seller_gstin = Some("27ABCDE1234F1Z5".into());
        s.contact.company = "SoraiPixel Studio LLP".into();
    })
    .await;
    let (status, html) = app.page("/pricing", None).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("₹149") && html.contains("₹549") && !html.contains(".00") && html.contains("Start free"),
        "INR prices for India"
    );

    let buyer = app.signup("buyer@example.com").await;
    let (status, html) = app.page("/pricing", Some(&buyer)).await;
    assert!(status == 200 && html.contains("Buy Starter") && html.contains("Subscribe to Growth"));
    let (status, _, html) = app.form("/billing/checkout", &buyer, &[("plan_id", "starter")]).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("DEV MODE") && html.contains("simulated") && !html.contains("checkout.razorpay.com"),
        "simulated, no third-party script"
    );
    let order_id = html.split("\"order_id\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let paid = app.razorpay.checkout(&pay_order(&order_id)).unwrap();
    assert_eq!(verify(&app, &buyer, &paid).await.0, 200);

    let (_, _, html) = app.form("/billing/gstin", &buyer, &[("gstin", "29ABCDE1234F1Z5")]).await;
    assert!(html.is_empty(), "redirected");
    let (_, _, html) = app.form("/billing/gstin", &buyer, &[("gstin", "nonsense")]).await;
    assert!(html.contains("A GSTIN has 15 characters"), "clear error");
    let (status, html) = app.page("/billing", Some(&buyer)).await;
    assert_eq!(status, 200);
    assert!(html.contains("80 tokens (Starter pack)") && html.contains("₹149<") && html.contains("29ABCDE1234F1Z5"));
    let number = html.split("/billing/invoices/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (status, html) = app.page(&format!("/billing/invoices/{number}"), Some(&buyer)).await;
    assert_eq!(status, 200);
    // The invoice was issued before the GSTIN was added, so GST is intra-state (ours).
    assert!(
        html.contains("Tax invoice")
            && html.contains("CGST 9%")
            && html.contains("₹11.36")
            && html.contains("SoraiPixel Studio LLP"),
        "{html}"
    );

    // A second purchase after the GSTIN: inter-state (29 ≠ 27) → IGST.
    let (_, _, html) = app.form("/billing/checkout", &buyer, &[("plan_id", "starter")]).await;
    let order_id = html.split("\"order_id\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let paid = app.razorpay.checkout(&pay_order(&order_id)).unwrap();
    let (_, body) = verify(&app, &buyer, &paid).await;
    let (_, html) =
        app.page(&format!("/billing/invoices/{}", body["invoice_number"].as_str().unwrap()), Some(&buyer)).await;
    assert!(html.contains("IGST 18%") && html.contains("₹22.73") && html.contains("GSTIN 29ABCDE1234F1Z5"), "{html}");

    for path in ["/admin/payments", "/admin/plans", "/admin/revenue"] {
        assert_eq!(app.page(path, Some(&buyer)).await.0, 403, "{path}");
    }
    let admin = make_admin(&app, "admin@example.com").await;
    let (status, html) = app.page("/admin/payments?currency=INR&email=buyer", Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("data-testid=\"admin-payment\"").count(), 2);
    let (status, html) = app.page("/admin/revenue", Some(&admin)).await;
    assert!(status == 200 && html.contains("₹298.00"), "two captured INR payments");
    deliver(&app, &app.razorpay.webhooks()).await;
    let payment = app.app.db.payment(&paid.razorpay_payment_id).await.unwrap();
    let (status, html) = app.page(&format!("/admin/payments/{}", payment.id), Some(&admin)).await;
    assert!(status == 200 && html.contains("payment.captured") && html.contains("checkout"), "events listed");
    let (status, location, _) = app
        .form(&format!("/admin/payments/{}/refund", payment.id), &admin, &[("amount", "74.50"), ("reason", "half")])
        .await;
    assert_eq!((status, location.as_str()), (303, format!("/admin/payments/{}?refunded=1", payment.id).as_str()));
    assert_eq!(balance(&app, &buyer).await, 20 + 80 + 40);
    let (status, location, body) = app
        .form(
            "/admin/plans/pro",
            &admin,
            &[
                ("name", "Pro"),
                ("tokens", "650"),
                ("price_inr", "849"),
                ("price_usd", "26.99"),
                ("price_eur", "26.99"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!((status, location.as_str()), (303, "/admin/plans?saved=1"), "{body}");
    let (_, html) = app.page("/pricing", None).await;
    assert!(html.contains("₹849<") && !html.contains("₹849.00") && html.contains("650 tokens"));
    let (_, _, html) = app
        .form(
            "/admin/plans/pro",
            &admin,
            &[("name", "Pro"), ("tokens", "650"), ("price_inr", "0.5"), ("price_usd", "1"), ("price_eur", "1")],
        )
        .await;
    assert!(html.contains("Prices must be at least"), "clear error");
}

/// The session token inside a browser's cookie.
fn admin_session(b: &Browser) -> String {
    b.cookie.split_once('=').unwrap().1.to_owned()
}

on_both_backends!(
    pack_bought_once_however_often_told,
    forged_or_tampered_payments_grant_nothing,
    verify_racing_webhooks_grants_once,
    refunds_claw_back_but_never_below_zero,
    monthly_plan_grants_once_per_period,
    prices_are_decided_by_the_server,
    admins_edit_plans_without_touching_open_orders,
    pages_for_buyers_and_admins,
    refunded_before_captured_grants_nothing,
    live_checkout_allows_razorpay_on_its_page_only
);

//! Deleting an account: confirmed by password, sessions and API keys dead at once, monthly
//! plans stopped, no row anywhere mentioning the person, no stored object left, payments kept
//! for the law but detached, and an email saying so.

use db::{Db, on_both_backends};
use fakes::razorpay::Pay;
use serde_json::json;

use crate::creations::wait_done;
use crate::harness::spawn;
use crate::uploads::{ring_jpeg, upload};

async fn nothing_of_a_deleted_account_remains(db: Db) {
    let app = spawn(db.clone()).await;
    let email = "leela.deleted@example.com";
    let seller = app.signup(email).await;
    let other = app.signup("stays@example.com").await;
    let (_, _, me) = app.call("GET", "/api/v1/me", None, Some(&seller)).await;
    let user_id = me["id"].as_str().unwrap().to_owned();
    let change =
        json!({"phone": "+919876543210", "company": "Leela Gems", "current_password": "kundan necklace sparkle"});
    assert_eq!(app.call("PATCH", "/api/v1/me", Some(change), Some(&seller)).await.0, 200);
    let code = app.sms.lock().unwrap().last().unwrap().1.clone();
    let proof = json!({"phone": "+919876543210", "code": code});
    assert_eq!(app.call("POST", "/api/v1/me/phone/verify", Some(proof), Some(&seller)).await.0, 200);

    // A photo, finished images, an API key, a pack, a monthly plan, a GSTIN.
    let (_, up) = upload(&app, &seller, "ring.jpg", ring_jpeg(800, 600)).await;
    let request = json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon", "etsy"]});
    let (_, _, creation) = app.call("POST", "/api/v1/creations", Some(request), Some(&seller)).await;
    assert_eq!(wait_done(&app, &seller, creation["id"].as_str().unwrap()).await["status"], "succeeded");
    let (_, _, key) = app.call("POST", "/api/v1/api-keys", Some(json!({"name": "Shop sync"})), Some(&seller)).await;
    let api_key = key["key"].as_str().unwrap().to_owned();
    let (_, _, order) =
        app.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "starter"})), Some(&seller)).await;
    let paid = app
        .razorpay
        .checkout(&Pay { order_id: order["order_id"].as_str().map(str::to_owned), ..Pay::default() })
        .unwrap();
    let (status, _, verified) =
        app.call("POST", "/api/v1/billing/verify", Some(serde_json::to_value(&paid).unwrap()), Some(&seller)).await;
    assert_eq!(status, 200, "{verified}");
    let (_, _, sub) =
        app.call("POST", "/api/v1/billing/orders", Some(json!({"plan_id": "growth"})), Some(&seller)).await;
    let sub_id = sub["subscription_id"].as_str().unwrap().to_owned();
    let monthly = app.razorpay.checkout(&Pay { subscription_id: Some(sub_id.clone()), ..Pay::default() }).unwrap();
    assert_eq!(
        app.call("POST", "/api/v1/billing/verify", Some(serde_json::to_value(&monthly).unwrap()), Some(&seller))
            .await
            .0,
        200
    );
    let principal = app.app.session_principal(seller.cookie.split_once('=').unwrap().1).await.unwrap().unwrap();
    app.app.set_gstin(&principal, "29ABCDE1234F1Z5").await.unwrap();
    // Staff gave her tokens: their own log names her by her address, until she goes.
    let staff = app.signup("staff@example.com").await;
    app.app.grant_role("staff@example.com", "admin").await.unwrap();
    let adjust = format!("/admin/people/{user_id}/tokens");
    assert_eq!(app.form(&adjust, &staff, &[("amount", "5"), ("reason", "goodwill")]).await.0, 303);
    assert!(!app.app.blobs.list(&format!("users/{user_id}/")).await.unwrap().is_empty());
    assert!(!db.text_mentions(email).await.is_empty(), "the scan finds the person before");

    // Confirmation is required, and must be right.
    let (status, _, body) = app.call("DELETE", "/api/v1/me", Some(json!({})), Some(&seller)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("confirmation_required")));
    let (status, _, _) =
        app.call("DELETE", "/api/v1/me", Some(json!({"password": "wrong guess"})), Some(&seller)).await;
    assert_eq!(status, 401);
    let (status, headers, _) =
        app.call("DELETE", "/api/v1/me", Some(json!({"password": "kundan necklace sparkle"})), Some(&seller)).await;
    assert_eq!(status, 204);
    assert!(crate::harness::header(&headers, "set-cookie").contains("Max-Age=0"));
    let delivered = app.mails().await; // the goodbye mail waits in the outbox until sent

    // Signed out everywhere at once: the session and the API key are dead.
    assert_eq!(app.call("GET", "/api/v1/me", None, Some(&seller)).await.0, 401);
    let res = app.http.get(app.url("/api/v1/me")).bearer_auth(&api_key).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);

    // No row anywhere (jobs included) mentions them: not their id, email, phone, name or
    // company, nor the ids of their photos and creations.
    let (upload_id, creation_id) = (up["id"].as_str().unwrap(), creation["id"].as_str().unwrap());
    for needle in [user_id.as_str(), email, "+919876543210", "Leela Gems", "29ABCDE1234F1Z5", upload_id, creation_id] {
        let found = db.text_mentions(needle).await;
        let allowed = |t: &str| needle == "29ABCDE1234F1Z5" && t == "invoices"; // B2B invoices must carry it
        assert!(found.iter().all(|(t, ..)| allowed(t)), "{needle} still in {found:?}");
    }
    // Their stored objects are gone.
    assert!(app.app.blobs.list(&format!("users/{user_id}/")).await.unwrap().is_empty());
    // What the law keeps: amounts, dates, invoice numbers — detached.
    let payment = app.app.db.payment(&paid.razorpay_payment_id).await.unwrap();
    assert_eq!((payment.user_id, payment.amount, payment.invoice_number.is_some()), (None, 499, true));
    let invoice = app.app.db.invoice(payment.invoice_number.as_deref().unwrap()).await.unwrap();
    assert_eq!((invoice.buyer_name.as_str(), invoice.buyer_email.as_str(), invoice.user_id), ("", "", None));
    // The monthly plan was stopped at Razorpay, so nothing is charged again.
    let remote = app.app.gateway().unwrap().client.subscription(&sub_id).await.unwrap();
    assert_eq!(remote.status, "cancelled");
    // The last email says it is done; other accounts are untouched.
    assert!(delivered.iter().any(|m| m.contains(&format!("To: {email}")) && m.contains("has been deleted")));
    assert_eq!(app.call("GET", "/api/v1/me", None, Some(&other)).await.0, 200);
    // (Checked last: a sign-in attempt counts against the typed email for its limit window,
    // and such counters are purged after two days.)
    assert_eq!(app.login(email, "kundan necklace sparkle").await.0, 401);
}

/// An account without a password confirms deletion with a fresh SMS code.
async fn a_phone_only_account_is_deleted_with_a_code(db: Db) {
    let app = spawn(db.clone()).await;
    let phone = "+919812300001";
    assert_eq!(app.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": phone})), None).await.0, 202);
    let code = app.sms.lock().unwrap().last().unwrap().1.clone();
    let (status, headers, body) =
        app.call("POST", "/api/v1/auth/otp/verify", Some(json!({"phone": phone, "code": code})), None).await;
    assert_eq!(status, 201, "{body}");
    let who = crate::harness::browser(&headers, &body);
    let (status, _, body) = app.call("DELETE", "/api/v1/me", Some(json!({"password": "anything"})), Some(&who)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("code")), "no password to give: {body}");
    let (status, _, _) = app.call("DELETE", "/api/v1/me", Some(json!({"code": "000000"})), Some(&who)).await;
    assert_eq!(status, 400, "a code must have been sent and be right");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(app.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": phone})), None).await.0, 202);
    let code = app.sms.lock().unwrap().last().unwrap().1.clone();
    let (status, _, _) = app.call("DELETE", "/api/v1/me", Some(json!({"code": code})), Some(&who)).await;
    assert_eq!(status, 204);
    assert_eq!(app.call("GET", "/api/v1/me", None, Some(&who)).await.0, 401);
    assert!(db.text_mentions(phone).await.is_empty(), "{:?}", db.text_mentions(phone).await);
}

on_both_backends!(nothing_of_a_deleted_account_remains, a_phone_only_account_is_deleted_with_a_code);

//! Staff looking after people: search, suspend (sign-in and API keys refused, sessions
//! ended), reactivate, each with a reason in the audit log on both sides.

use db::{Db, on_both_backends};
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn};

const PASSWORD: &str = "kundan necklace sparkle";

async fn me_by_key(t: &TestApp, key: &str) -> (u16, Value) {
    let res = t.http.get(t.url("/api/v1/me")).header("x-api-key", key).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn a_suspended_account_is_refused_everywhere_until_reactivated(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("asha.mehta@example.com").await;
    let admin = t.signup("staff@example.com").await;
    t.app.grant_role("staff@example.com", "admin").await.unwrap();
    let (_, _, made) = t
        .call("POST", "/api/v1/api-keys", Some(json!({"name": "Shop", "scopes": ["account:read"]})), Some(&asha))
        .await;
    let key = made["key"].as_str().unwrap().to_owned();
    assert_eq!(me_by_key(&t, &key).await.0, 200);
    // A request of hers already past the door when the suspension comes (below).
    let token = asha.cookie.split_once('=').unwrap().1.split(';').next().unwrap();
    let in_flight = t.app.session_principal(token).await.unwrap().unwrap();
    let (_, photo) = crate::uploads::upload(&t, &asha, "ring.jpg", crate::uploads::ring_jpeg(600, 500)).await;
    let request = json!({"upload_id": photo["id"], "presets": ["etsy"]});
    let (_, _, shown) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    crate::creations::wait_done(&t, &asha, shown["id"].as_str().unwrap()).await;
    let output = t.app.db.outputs_of(shown["id"].as_str().unwrap()).await.unwrap().remove(0);
    let shared = t.app.share_path(&output);
    let opens = |path: String| {
        let req = t.http.get(t.url(&path));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(opens(shared.clone()).await, 200);

    // Only staff search; a part of the address finds her.
    assert_eq!(t.call("GET", "/api/v1/admin/users?q=mehta", None, Some(&asha)).await.0, 403);
    let (status, _, found) = t.call("GET", "/api/v1/admin/users?q=MEHTA@", None, Some(&admin)).await;
    assert_eq!(status, 200, "{found}");
    let users = found["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{found}");
    let id = users[0]["id"].as_str().unwrap().to_owned();
    assert_eq!((users[0]["email"].as_str(), &users[0]["suspended_at"]), (Some("asha.mehta@example.com"), &Value::Null));
    let (_, _, by_id) = t.call("GET", &format!("/api/v1/admin/users?q={id}"), None, Some(&admin)).await;
    assert_eq!(by_id["users"][0]["id"].as_str(), Some(id.as_str()));
    let (_, _, wild) = t.call("GET", "/api/v1/admin/users?q=%25%25", None, Some(&admin)).await;
    assert_eq!(wild["users"], json!([]), "a % is a letter, not a wildcard");

    // Suspended: with a reason only, not by herself, not twice.
    let suspend = format!("/api/v1/admin/users/{id}/suspend");
    let (status, _, refused) = t.call("POST", &suspend, Some(json!({"reason": ""})), Some(&admin)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid_reason")));
    assert_eq!(t.call("POST", &suspend, Some(json!({"reason": "chargebacks"})), Some(&asha)).await.0, 403);
    let (status, _, person) =
        t.call("POST", &suspend, Some(json!({"reason": "three chargebacks this week"})), Some(&admin)).await;
    assert_eq!(status, 200, "{person}");
    assert!(person["suspended_at"].as_i64().is_some());
    let (status, _, twice) = t.call("POST", &suspend, Some(json!({"reason": "again"})), Some(&admin)).await;
    assert_eq!((status, twice["error"]["code"].as_str()), (422, Some("already_suspended")));
    let admin_id = t.call("GET", "/api/v1/me", None, Some(&admin)).await.2["id"].as_str().unwrap().to_owned();
    let own = format!("/api/v1/admin/users/{admin_id}/suspend");
    let (status, _, refused) = t.call("POST", &own, Some(json!({"reason": "testing"})), Some(&admin)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("cannot_suspend_self")));

    // Her session is over, her password and her key are refused in words.
    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&asha)).await.0, 401);
    let (status, _, body) = t.login("asha.mehta@example.com", PASSWORD).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("account_suspended")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("This account is suspended."));
    // The sign-in page says so in words, not with a code.
    let res = t
        .http
        .post(t.url("/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", "asha.mehta@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let page = res.text().await.unwrap();
    assert!(page.contains("This account is suspended. If you think this is a mistake"), "{page}");
    assert!(!page.contains("account_suspended"));
    let (status, body) = me_by_key(&t, &key).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("account_suspended")));
    let (status, _, body) = t.login("asha.mehta@example.com", "not her password").await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")), "nothing told");
    assert_eq!(opens(shared.clone()).await, 404, "her shared images stop with her account");

    // Work she asked for is not started; what it held comes back.
    let request = serde_json::from_value(json!({"upload_id": photo["id"], "presets": ["amazon", "etsy"]})).unwrap();
    let client = app::Client { ip: "203.0.113.9".parse().unwrap(), user_agent: "test".into() };
    let (accepted, _) = t.app.create_creation(&in_flight, request, &client).await.unwrap();
    let mut ended = t.app.db.creation(&accepted.id).await.unwrap();
    for _ in 0..200 {
        if ended.status != "queued" && ended.status != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        ended = t.app.db.creation(&accepted.id).await.unwrap();
    }
    assert_eq!((ended.status.as_str(), ended.error_code.as_deref()), ("failed", Some("account_suspended")));
    assert!(t.app.db.outputs_of(&accepted.id).await.unwrap().is_empty(), "nothing made");
    let tokens = t.app.db.balance(&id).await.unwrap();
    assert_eq!((tokens.balance, tokens.held), (19, 0), "the hold came back (one token went on the shared image)");
    // Nor is a listing written for her; its tokens come back too.
    let request = serde_json::from_value(json!({"upload_ids": [photo["id"]], "jewellery": "ring"})).unwrap();
    let batch = t.app.create_listing_batch(&in_flight, &request, &client).await.unwrap();
    let mut listing = t.app.db.listings_of_batch(&id, &batch.id).await.unwrap().remove(0);
    for _ in 0..200 {
        if !matches!(listing.status.as_str(), "queued" | "running") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        listing = t.app.db.listings_of_batch(&id, &batch.id).await.unwrap().remove(0);
    }
    assert!(listing.error.as_deref().is_some_and(|e| e.starts_with("This account is suspended")), "{listing:?}");
    let tokens = t.app.db.balance(&id).await.unwrap();
    assert_eq!((tokens.balance, tokens.held), (19, 0), "the listing's hold came back");

    // Reactivated: she signs in, the key works, and both logs say who did what and why.
    let reactivate = format!("/api/v1/admin/users/{id}/reactivate");
    let (status, _, person) =
        t.call("POST", &reactivate, Some(json!({"reason": "the bank cleared it"})), Some(&admin)).await;
    assert_eq!((status, &person["suspended_at"]), (200, &Value::Null), "{person}");
    let (status, asha, _) = t.login("asha.mehta@example.com", PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(me_by_key(&t, &key).await.0, 200);
    assert_eq!(opens(shared).await, 200);
    let (_, _, log) = t.call("GET", "/api/v1/me/audit", None, asha.as_ref()).await;
    let staff_actor = format!("admin:{admin_id}");
    let entries = log["entries"].as_array().unwrap();
    let entry =
        |action: &str| entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("{action}: {log}"));
    assert_eq!(
        (entry("account_suspended")["actor"].as_str(), entry("account_suspended")["detail"].as_str()),
        (Some(staff_actor.as_str()), Some("three chargebacks this week"))
    );
    assert_eq!(entry("account_suspended")["ip_network"].as_str(), Some(""), "not the staff member's network");
    assert_eq!(entry("account_reactivated")["detail"].as_str(), Some("the bank cleared it"));
    let (_, _, own) = t.call("GET", "/api/v1/me/audit", None, Some(&admin)).await;
    let own = own["entries"].as_array().unwrap();
    let says = |e: &Value| e["detail"].as_str().unwrap_or_default().to_owned();
    assert!(
        own.iter().any(
            |e| e["action"] == "suspended_user" && says(e) == "asha.mehta@example.com: three chargebacks this week"
        ),
        "{own:?}"
    );
}

on_both_backends!(a_suspended_account_is_refused_everywhere_until_reactivated);

/// The person's row in staff's search page: the link to their file.
fn file_link(page: &str) -> String {
    let start = page.find("href=\"/admin/people/").unwrap() + 6;
    page[start..].split('"').next().unwrap().to_owned()
}

fn verification_mails(mails: &[String]) -> usize {
    mails.iter().filter(|m| m.contains("To: asha.mehta@example.com") && m.contains("/verify-email?token=")).count()
}

async fn staff_pages_read_an_account_and_act_on_it_with_reasons_and_support_only_reads(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("asha.mehta@example.com").await;
    let admin = t.signup("staff@example.com").await;
    t.app.grant_role("staff@example.com", "admin").await.unwrap();
    let support = t.signup("help@example.com").await;
    t.app.grant_role("help@example.com", "support").await.unwrap();
    let (_, photo) = crate::uploads::upload(&t, &asha, "ring.jpg", crate::uploads::ring_jpeg(600, 500)).await;
    let request = json!({"upload_id": photo["id"], "presets": ["etsy"]});
    let (_, _, shown) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    crate::creations::wait_done(&t, &asha, shown["id"].as_str().unwrap()).await;
    let output = t.app.db.outputs_of(shown["id"].as_str().unwrap()).await.unwrap().remove(0);

    // Sellers are refused; staff find her by a piece of her address.
    assert_eq!(t.page("/admin/people?q=mehta", Some(&asha)).await.0, 403);
    let (status, found) = t.page("/admin/people?q=Asha.Mehta", Some(&support)).await;
    assert_eq!(status, 200);
    assert!(found.contains("asha.mehta@example.com") && found.contains("(not proven)"), "{found}");
    let file = file_link(&found);
    let id = file.rsplit('/').next().unwrap().to_owned();

    // Support reads her file (balance, what she made, her devices) but has no actions, and
    // posting one anyway is refused.
    let (status, page) = t.page(&file, Some(&support)).await;
    assert_eq!(status, 200);
    assert!(page.contains("1 photo uploaded · 1 creation · 1 image made"), "{page}");
    assert!(page.contains("data-testid=\"balance\">19<"), "{page}");
    assert!(!page.contains("Act on this account") && !page.contains(&format!("/images/{}", output.id)));
    for (action, fields) in [("suspend", vec![]), ("tokens", vec![("amount", "50")]), ("role", vec![("role", "admin")])]
    {
        let mut all = vec![("reason", "I would like to")];
        all.extend(fields);
        let (status, _, _) = t.form(&format!("{file}/{action}"), &support, &all).await;
        assert_eq!(status, 403, "support posting {action}");
    }
    let image = format!("{file}/images/{}", output.id);
    assert_eq!(t.page(&image, Some(&support)).await.0, 403, "pictures only after an audited look");

    // Looking at her pictures takes a reason; then they show, for this staff member only.
    let (status, _, page) = t.form(&format!("{file}/content"), &support, &[("reason", "")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("Say why, in a few words"), "{page}");
    let (status, location, _) =
        t.form(&format!("{file}/content"), &support, &[("reason", "her ticket about a blurry ring")]).await;
    assert_eq!((status, location.as_str()), (303, format!("{file}?done=content#content").as_str()));
    let (_, page) = t.page(&format!("{file}?done=content"), Some(&support)).await;
    assert!(page.contains(&image), "{page}");
    let res = t.http.get(t.url(&image)).header("cookie", &support.cookie).send().await.unwrap();
    assert_eq!((res.status().as_u16(), crate::harness::header(res.headers(), "content-type")), (200, "image/jpeg"));
    let small = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert!(small.width().max(small.height()) <= 320, "a thumbnail, not the image");
    assert_eq!(t.page(&image, Some(&admin)).await.0, 403, "another staff member has not looked");

    // An admin acts: tokens with a reason (a bad amount is said in words), her sessions
    // ended, the email proof sent again, her role changed; never their own role.
    let (status, _, page) = t.form(&format!("{file}/tokens"), &admin, &[("amount", "five"), ("reason", "x")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("Write a whole number of tokens"), "{page}");
    let (status, location, _) =
        t.form(&format!("{file}/tokens"), &admin, &[("amount", "+5"), ("reason", "goodwill for a late image")]).await;
    assert_eq!((status, location), (303, format!("{file}?done=tokens")));
    assert_eq!(t.app.db.balance(&id).await.unwrap().balance, 24);
    let (_, page) = t.page(&format!("{file}?done=tokens"), Some(&admin)).await;
    assert!(page.contains("Tokens adjusted.") && page.contains("goodwill for a late image"), "{page}");

    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&asha)).await.0, 200);
    let (status, _, _) = t.form(&format!("{file}/sessions"), &admin, &[("reason", "she lost her phone")]).await;
    assert_eq!(status, 303);
    assert_eq!(t.call("GET", "/api/v1/me", None, Some(&asha)).await.0, 401, "signed out everywhere");

    let before = verification_mails(&t.mails().await);
    let (status, _, _) = t.form(&format!("{file}/verification"), &admin, &[("reason", "the first mail bounced")]).await;
    assert_eq!(status, 303);
    assert_eq!(verification_mails(&t.mails().await), before + 1);

    let (status, _, _) =
        t.form(&format!("{file}/role"), &admin, &[("role", "support"), ("reason", "joins the help desk")]).await;
    assert_eq!(status, 303);
    assert_eq!(t.app.db.user_by_id(&id).await.unwrap().role, "support");
    let admin_id = t.app.db.user_by_email("staff@example.com").await.unwrap().id;
    let (status, _, page) = t
        .form(&format!("/admin/people/{admin_id}/role"), &admin, &[("role", "user"), ("reason", "stepping down")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("Another admin must change your role."), "{page}");
    let (status, _, _) =
        t.form(&format!("/admin/people/{admin_id}/tokens"), &admin, &[("amount", "500"), ("reason", "bonus")]).await;
    assert_eq!(status, 422, "nobody adjusts their own tokens");
    // Support reads the other admin pages too, and changes nothing there either.
    assert_eq!(t.page("/admin/plans", Some(&support)).await.0, 200);
    let plan = [("name", "Starter"), ("tokens", "1"), ("price_inr", "1"), ("price_usd", "1"), ("price_eur", "1")];
    assert_eq!(t.form("/admin/plans/starter", &support, &plan).await.0, 403);
    assert_eq!(t.form(&format!("/admin/review/{}/refund", output.id), &support, &[("reason", "why not")]).await.0, 403);

    // She reads every one of those in her security log, marked as staff's, with the reason;
    // the staff members' own logs name her.
    let (_, asha, _) = t.login("asha.mehta@example.com", PASSWORD).await;
    let (_, settings) = t.page("/settings", asha.as_ref()).await;
    for line in [
        "Content viewed <span class=\"pill\">by our staff</span> <span class=\"muted\">— her ticket about a blurry ring",
        "Tokens adjusted <span class=\"pill\">by our staff</span> <span class=\"muted\">— +5 tokens: goodwill for a late image",
        "Sessions ended <span class=\"pill\">by our staff</span> <span class=\"muted\">— 1 signed-in device: she lost her phone",
        "Verification resent <span class=\"pill\">by our staff</span>",
        "Role changed <span class=\"pill\">by our staff</span> <span class=\"muted\">— Support (read only): joins the help desk",
    ] {
        assert!(settings.contains(line), "{line}\n{settings}");
    }
    let (_, _, own) = t.call("GET", "/api/v1/me/audit", None, Some(&support)).await;
    assert!(
        own["entries"].as_array().unwrap().iter().any(|e| e["action"] == "viewed_content"
            && e["detail"] == "asha.mehta@example.com: her ticket about a blurry ring"),
        "{own}"
    );
    let (_, _, own) = t.call("GET", "/api/v1/me/audit", None, Some(&admin)).await;
    let actions: Vec<&str> = own["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["adjusted_tokens", "ended_sessions", "resent_verification", "changed_role"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}

on_both_backends!(staff_pages_read_an_account_and_act_on_it_with_reasons_and_support_only_reads);

//! Consents with their history, and the policy notice until acknowledged.

use db::{Db, on_both_backends};
use serde_json::json;

use crate::harness::spawn;

async fn consents_are_off_by_default_and_every_change_is_kept(db: Db) {
    let app = spawn(db).await;
    let seller = app.signup("choices@example.com").await;
    let (status, _, c) = app.call("GET", "/api/v1/me/consents", None, Some(&seller)).await;
    assert_eq!(status, 200);
    assert_eq!((c["marketing"].as_bool(), c["model_training"].as_bool()), (Some(false), Some(false)));
    let history = c["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "the sign-up choice is recorded");
    assert_eq!((history[0]["purpose"].as_str(), history[0]["source"].as_str()), (Some("marketing"), Some("signup")));
    assert_eq!(history[0]["policy_version"], c["policy_version"]);

    let (_, _, c) = app.call("PUT", "/api/v1/me/consents", Some(json!({"model_training": true})), Some(&seller)).await;
    assert_eq!((c["marketing"].as_bool(), c["model_training"].as_bool()), (Some(false), Some(true)));
    let (_, _, c) = app
        .call("PUT", "/api/v1/me/consents", Some(json!({"marketing": true, "model_training": false})), Some(&seller))
        .await;
    assert_eq!((c["marketing"].as_bool(), c["model_training"].as_bool()), (Some(true), Some(false)));
    assert_eq!(c["history"].as_array().unwrap().len(), 4);
    assert_eq!(c["history"][0]["source"], "api");
    let (status, _, _) =
        app.call("PUT", "/api/v1/me/consents", Some(json!({"sell_my_data": true})), Some(&seller)).await;
    assert_eq!(status, 422, "unknown purposes are refused");

    // The settings form: unchecked boxes mean no; unchanged choices add nothing.
    let res = app
        .http
        .post(app.url("/settings/consents"))
        .header("cookie", &seller.cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", seller.csrf.as_str()), ("marketing", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (_, _, c) = app.call("GET", "/api/v1/me/consents", None, Some(&seller)).await;
    assert_eq!(c["history"].as_array().unwrap().len(), 4);
    let (_, _, me) = app.call("GET", "/api/v1/me", None, Some(&seller)).await;
    assert_eq!((me["marketing_opt_in"].as_bool(), me["model_training_opt_in"].as_bool()), (Some(true), Some(false)));
    let (_, _, log) = app.call("GET", "/api/v1/me/audit", None, Some(&seller)).await;
    assert!(log.to_string().contains("consent_withdrawn"), "{log}");
}

async fn a_significant_policy_change_shows_until_acknowledged(db: Db) {
    let app = spawn(db.clone()).await;
    let (_, _, anonymous) = app.call("GET", "/api/v1/policy", None, None).await;
    assert!(anonymous["acknowledged"].is_null());
    let current = anonymous["version"].as_str().unwrap().to_owned();
    let seller = app.signup("policy@example.com").await;
    let (_, _, p) = app.call("GET", "/api/v1/policy", None, Some(&seller)).await;
    assert_eq!(p["acknowledged"], true, "accepted at sign-up");
    let page = |path: &'static str| {
        let req = app.http.get(app.url(path)).header("cookie", &seller.cookie);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    assert!(!page("/dashboard").await.contains("data-testid=\"policy-notice\""));

    // A user who last saw the earlier version.
    let (_, _, me) = app.call("GET", "/api/v1/me", None, Some(&seller)).await;
    let user_id = me["id"].as_str().unwrap();
    db.acknowledge_policy(user_id, "2026-03", 1).await.unwrap();
    let html = page("/dashboard").await;
    assert!(html.contains("data-testid=\"policy-notice\"") && html.contains("We updated our privacy policy"));
    let (_, _, p) = app.call("GET", "/api/v1/policy", None, Some(&seller)).await;
    assert_eq!(p["acknowledged"], false);
    let res = app
        .http
        .post(app.url("/privacy/acknowledge"))
        .header("cookie", &seller.cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", seller.csrf.as_str()), ("back", "/\\evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(crate::harness::header(res.headers(), "location"), "/dashboard", "never redirected off-site");
    assert!(!page("/dashboard").await.contains("data-testid=\"policy-notice\""));
    let (_, _, p) = app.call("GET", "/api/v1/policy", None, Some(&seller)).await;
    assert_eq!((p["acknowledged"].as_bool(), p["version"].as_str()), (Some(true), Some(current.as_str())));
    assert!(page("/privacy").await.contains(&format!("Version {current}")));
}

/// Marketing mail goes through the outbox only to those opted in, each with a signed
/// one-click unsubscribe that works without signing in and is recorded as a consent change.
async fn marketing_mail_only_with_consent_and_one_click_unsubscribe(db: Db) {
    let app = spawn(db).await;
    let keen = app.signup("keen@example.com").await;
    let _quiet = app.signup("quiet@example.com").await;
    let admin = app.signup("admin@example.com").await;
    app.app.grant_role("admin@example.com", "admin").await.unwrap();
    app.call("PUT", "/api/v1/me/consents", Some(json!({"marketing": true})), Some(&keen)).await;
    // A suspended account gets no marketing, whatever it chose.
    let barred = app.signup("barred@example.com").await;
    app.call("PUT", "/api/v1/me/consents", Some(json!({"marketing": true})), Some(&barred)).await;
    let barred_id = app.app.db.user_by_email("barred@example.com").await.unwrap().id;
    let suspend = format!("/api/v1/admin/users/{barred_id}/suspend");
    assert_eq!(app.call("POST", &suspend, Some(json!({"reason": "chargebacks"})), Some(&admin)).await.0, 200);
    let news = json!({"subject": "New themes this week", "body": "Marble and velvet are in."});
    assert_eq!(app.call("POST", "/api/v1/admin/newsletter", Some(news.clone()), Some(&keen)).await.0, 403);
    let (status, _, queued) = app.call("POST", "/api/v1/admin/newsletter", Some(news.clone()), Some(&admin)).await;
    assert_eq!((status, queued["queued"].as_i64()), (202, Some(1)));
    let mails = app.mails().await;
    let sent: Vec<&String> = mails.iter().filter(|m| m.contains("New themes this week")).collect();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("To: keen@example.com"));
    assert!(sent[0].contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{}", sent[0]);
    let link = sent[0].split("List-Unsubscribe: <").nth(1).unwrap().split('>').next().unwrap().to_owned();
    let path = link.split_once("/unsubscribe/").map(|(_, t)| format!("/unsubscribe/{t}")).unwrap();
    assert!(sent[0].contains(&link), "the link is in the text too");

    let forged = format!("{}x", &path[..path.len() - 1]);
    let res = app.http.post(app.url(&forged)).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400, "a forged link changes nothing");
    let page = app.http.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Stop news and offers?"), "opening the link alone does not unsubscribe");
    // The mail app's one-click POST: no cookie, no CSRF token, and maybe `Origin: null`.
    let res = app
        .http
        .post(app.url(&path))
        .header("origin", "null")
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (_, _, c) = app.call("GET", "/api/v1/me/consents", None, Some(&keen)).await;
    assert_eq!(c["marketing"], false);
    assert_eq!(c["history"][0]["source"], "unsubscribe");
    app.call("POST", "/api/v1/admin/newsletter", Some(news), Some(&admin)).await;
    let again = app.mails().await.iter().filter(|m| m.contains("New themes this week")).count();
    assert_eq!(again, 1, "no more marketing after unsubscribing");
}

on_both_backends!(
    consents_are_off_by_default_and_every_change_is_kept,
    a_significant_policy_change_shows_until_acknowledged,
    marketing_mail_only_with_consent_and_one_click_unsubscribe
);

//! Repository stories, each run on SQLite and on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use db::sessions::NewSession;
use db::tokens::Purpose;
use db::users::{NewUser, ProfileChange};
use db::{Db, DbError, on_both_backends};

const NOW: i64 = 1_780_000_000_000;

fn user<'a>(email: &'a str, phone: Option<&'a str>) -> NewUser<'a> {
    NewUser {
        email: Some(email),
        phone,
        phone_verified: false,
        password_hash: Some("h"),
        name: "Asha",
        company: None,
        marketing_opt_in: false,
    }
}

async fn users_story(db: Db) {
    let a = db
        .create_user(user("asha@example.com", Some("+919876543210")), NOW)
        .await
        .unwrap();
    assert_eq!(a.role, "user");
    assert!(!a.marketing_opt_in && a.email_verified_at.is_none());
    assert!(matches!(
        db.create_user(user("asha@example.com", None), NOW).await,
        Err(DbError::Conflict("email"))
    ));
    assert!(matches!(
        db.create_user(user("b@example.com", Some("+919876543210")), NOW)
            .await,
        Err(DbError::Conflict("phone"))
    ));
    assert_eq!(db.user_by_email("asha@example.com").await.unwrap().id, a.id);
    assert_eq!(db.user_by_phone("+919876543210").await.unwrap().id, a.id);
    assert!(matches!(
        db.user_by_id("nope").await,
        Err(DbError::NotFound)
    ));

    assert!(
        db.mark_email_verified(&a.id, "asha@example.com", NOW)
            .await
            .unwrap()
    );
    assert!(
        !db.mark_email_verified(&a.id, "old@example.com", NOW)
            .await
            .unwrap()
    );
    db.mark_phone_verified(&a.id, NOW).await.unwrap();
    let same = db
        .update_profile(
            &a.id,
            ProfileChange {
                name: Some("Asha M".into()),
                email: Some("asha@example.com".into()),
                company: Some(Some("Asha Jewels".into())),
                ..Default::default()
            },
            NOW + 1,
        )
        .await
        .unwrap();
    assert_eq!(
        same.email_verified_at,
        Some(NOW),
        "unchanged email keeps verification"
    );
    assert_eq!(same.company.as_deref(), Some("Asha Jewels"));
    let moved = db
        .update_profile(
            &a.id,
            ProfileChange {
                email: Some("new@example.com".into()),
                phone: Some(Some("+919876500000".into())),
                ..Default::default()
            },
            NOW + 2,
        )
        .await
        .unwrap();
    assert_eq!(moved.email.as_deref(), Some("new@example.com"));
    assert!(
        moved.email_verified_at.is_none() && moved.phone_verified_at.is_none(),
        "changed contact must be re-verified"
    );
    assert_eq!(moved.name, "Asha M");
    let cleared = db
        .update_profile(
            &a.id,
            ProfileChange {
                company: Some(None),
                ..Default::default()
            },
            NOW + 3,
        )
        .await
        .unwrap();
    assert!(cleared.company.is_none());

    db.create_user(user("c@example.com", None), NOW)
        .await
        .unwrap();
    let clash = db
        .update_profile(
            &a.id,
            ProfileChange {
                email: Some("c@example.com".into()),
                ..Default::default()
            },
            NOW,
        )
        .await;
    assert!(matches!(clash, Err(DbError::Conflict("email"))));

    db.set_role(&a.id, "admin", NOW).await.unwrap();
    assert_eq!(db.user_by_id(&a.id).await.unwrap().role, "admin");
    assert!(
        db.set_role(&a.id, "emperor", NOW).await.is_err(),
        "the schema only knows user and admin"
    );
    assert!(matches!(
        db.set_role("missing", "admin", NOW).await,
        Err(DbError::NotFound)
    ));
}

fn session<'a>(user_id: &'a str, digest: &'a str) -> NewSession<'a> {
    NewSession {
        user_id,
        token_digest: digest,
        expires_at: NOW + 1_000_000,
        browser: "Chrome",
        os: "Android",
        device_type: "mobile",
        ip_network: "203.0.113.0/24",
    }
}

async fn sessions_story(db: Db) {
    let u = db
        .create_user(user("s@example.com", None), NOW)
        .await
        .unwrap();
    let other = db
        .create_user(user("o@example.com", None), NOW)
        .await
        .unwrap();
    let s1 = db.create_session(session(&u.id, "d1"), NOW).await.unwrap();
    let s2 = db.create_session(session(&u.id, "d2"), NOW).await.unwrap();
    let s3 = db
        .create_session(session(&other.id, "d3"), NOW)
        .await
        .unwrap();
    let idle = 10_000;
    assert_eq!(
        db.live_session("d1", NOW + 1, idle)
            .await
            .unwrap()
            .unwrap()
            .id,
        s1.id
    );
    assert!(
        db.live_session("d1", NOW + idle, idle)
            .await
            .unwrap()
            .is_none(),
        "idle expiry"
    );
    assert!(
        db.live_session("d1", NOW + 2_000_000, i64::MAX / 4)
            .await
            .unwrap()
            .is_none(),
        "absolute expiry"
    );
    db.touch_session(&s1.id, NOW + 70_000).await.unwrap();
    assert!(
        db.live_session("d1", NOW + 75_000, idle)
            .await
            .unwrap()
            .is_some(),
        "activity extends the idle window"
    );
    assert!(
        !db.delete_session(&u.id, &s3.id).await.unwrap(),
        "cannot end another user's session"
    );
    assert_eq!(db.sessions_of(&u.id).await.unwrap().len(), 2);
    assert_eq!(
        db.delete_sessions_except(&u.id, Some(&s1.id))
            .await
            .unwrap(),
        1
    );
    assert!(
        db.live_session("d2", NOW + 1, idle)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.delete_session(&u.id, &s1.id).await.unwrap());
    let _ = s2;
    assert_eq!(
        db.purge_expired_sessions(NOW + 2_000_000, idle)
            .await
            .unwrap(),
        1
    );
}

async fn tokens_story(db: Db) {
    let u = db
        .create_user(user("t@example.com", None), NOW)
        .await
        .unwrap();
    db.issue_token(
        &u.id,
        Purpose::VerifyEmail,
        "t@example.com",
        "old",
        NOW,
        1000,
    )
    .await
    .unwrap();
    db.issue_token(
        &u.id,
        Purpose::VerifyEmail,
        "t@example.com",
        "new",
        NOW,
        1000,
    )
    .await
    .unwrap();
    assert!(
        db.redeem_token(Purpose::VerifyEmail, "old", NOW)
            .await
            .unwrap()
            .is_none(),
        "re-issuing revokes"
    );
    assert!(
        db.redeem_token(Purpose::ResetPassword, "new", NOW)
            .await
            .unwrap()
            .is_none(),
        "purpose must match"
    );
    let r = db
        .redeem_token(Purpose::VerifyEmail, "new", NOW + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.user_id.as_str(), r.email.as_str()),
        (u.id.as_str(), "t@example.com")
    );
    assert!(
        db.redeem_token(Purpose::VerifyEmail, "new", NOW + 1)
            .await
            .unwrap()
            .is_none(),
        "single use"
    );
    db.issue_token(
        &u.id,
        Purpose::ResetPassword,
        "t@example.com",
        "r",
        NOW,
        1000,
    )
    .await
    .unwrap();
    assert!(
        db.redeem_token(Purpose::ResetPassword, "r", NOW + 1000)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert_eq!(db.purge_expired_tokens(NOW + 1000).await.unwrap(), 1);
}

async fn otp_story(db: Db) {
    db.store_otp("+919876543210", "mac1", NOW, 300_000)
        .await
        .unwrap();
    for n in 1..=5 {
        let o = db
            .attempt_otp("+919876543210", NOW + 1, 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((o.attempts, o.code_mac.as_str()), (n, "mac1"));
    }
    assert!(
        db.attempt_otp("+919876543210", NOW + 1, 5)
            .await
            .unwrap()
            .is_none(),
        "locked after 5 attempts"
    );
    db.store_otp("+919876543210", "mac2", NOW + 10, 300_000)
        .await
        .unwrap();
    assert_eq!(
        db.attempt_otp("+919876543210", NOW + 11, 5)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        1,
        "a new code resets attempts"
    );
    assert!(
        db.attempt_otp("+919876543210", NOW + 10 + 300_000, 5)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    db.delete_otp("+919876543210").await.unwrap();
    assert!(
        db.attempt_otp("+919876543210", NOW + 12, 5)
            .await
            .unwrap()
            .is_none()
    );
}

async fn rate_and_audit_story(db: Db) {
    assert_eq!(db.hits("ip:1", 0).await.unwrap(), 0);
    for n in 1..=3 {
        assert_eq!(db.hit("ip:1", 0).await.unwrap(), n);
    }
    assert_eq!(
        db.hit("ip:1", 60_000).await.unwrap(),
        1,
        "new window starts over"
    );
    assert_eq!(db.hit("ip:2", 0).await.unwrap(), 1, "buckets are separate");
    assert_eq!(db.purge_rate_counters(60_000).await.unwrap(), 2);

    let u = db
        .create_user(user("a@example.com", None), NOW)
        .await
        .unwrap();
    db.audit(Some(&u.id), "self", "login", "", "203.0.113.0/24", NOW)
        .await
        .unwrap();
    db.audit(Some(&u.id), "admin:x", "role_granted", "admin", "", NOW + 1)
        .await
        .unwrap();
    db.audit(None, "system", "other", "", "", NOW)
        .await
        .unwrap();
    let log = db.audit_of(&u.id, 10).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["role_granted", "login"]
    );
}

async fn api_keys_story(db: Db) {
    let u = db
        .create_user(user("k@example.com", None), NOW)
        .await
        .unwrap();
    let v = db
        .create_user(user("v@example.com", None), NOW)
        .await
        .unwrap();
    let k = db
        .create_api_key(&u.id, "shop sync", "sp_abc", "kd", NOW)
        .await
        .unwrap();
    assert_eq!(
        db.api_key_by_digest("kd").await.unwrap().unwrap().user_id,
        u.id
    );
    db.touch_api_key(&k.id, NOW + 100_000).await.unwrap();
    assert_eq!(
        db.api_keys_of(&u.id).await.unwrap()[0].last_used_at,
        Some(NOW + 100_000)
    );
    assert!(
        !db.delete_api_key(&v.id, &k.id).await.unwrap(),
        "not theirs"
    );
    assert!(db.delete_api_key(&u.id, &k.id).await.unwrap());
    assert!(db.api_key_by_digest("kd").await.unwrap().is_none());
}

on_both_backends!(
    users_story,
    sessions_story,
    tokens_story,
    otp_story,
    rate_and_audit_story,
    api_keys_story
);

#[test]
fn migration_folders_are_in_step() {
    let (sqlite, postgres) = db::migration_versions();
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "every migration needs a twin with the same version and name"
    );
}

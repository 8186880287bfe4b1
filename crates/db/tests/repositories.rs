//! Repository stories, each run on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use db::api_keys::NewApiKey;
use db::sessions::NewSession;
use db::tokens::{NewToken, Purpose};
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
    let a = db.create_user(user("asha@example.com", Some("+919876543210")), NOW).await.unwrap();
    assert_eq!(a.role, "user");
    assert!(!a.marketing_opt_in && a.email_verified_at.is_none());
    // An unverified address may be claimed by several accounts; a number only by one.
    let rival = db.create_user(user("asha@example.com", None), NOW + 1).await.unwrap();
    assert!(matches!(
        db.create_user(user("b@example.com", Some("+919876543210")), NOW).await,
        Err(DbError::Conflict("phone"))
    ));
    let claims: Vec<String> = db.users_by_email("asha@example.com").await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(claims, [rival.id.clone(), a.id.clone()], "newest claim first");
    assert!(matches!(db.user_by_verified_phone("+919876543210").await, Err(DbError::NotFound)), "not proven yet");
    assert!(matches!(db.user_by_id("nope").await, Err(DbError::NotFound)));

    // Proving the inbox takes the address from every other claim, in one transaction.
    let claimed = db.claim_email(&a.id, "asha@example.com", NOW + 2).await.unwrap();
    assert_eq!((claimed.changed, claimed.dropped.as_slice()), (false, std::slice::from_ref(&rival.id)));
    assert!(db.user_by_id(&rival.id).await.unwrap().email.is_none());
    assert_eq!(db.users_by_email("asha@example.com").await.unwrap().len(), 1);
    assert_eq!(db.audit_of(&rival.id, 5).await.unwrap()[0].action, "email_claim_dropped");
    assert!(
        matches!(db.claim_email(&rival.id, "asha@example.com", NOW + 3).await, Err(DbError::Conflict("email"))),
        "a verified address is nobody else's"
    );
    let moved = db.claim_email(&a.id, "new@example.com", NOW + 4).await.unwrap();
    assert_eq!((moved.changed, moved.previous.as_deref()), (true, Some("asha@example.com")));

    // A proven number: a new account takes it from an unverified claim.
    let b = db.create_user(user("b@example.com", Some("+919876500001")), NOW).await.unwrap();
    let proven = NewUser { phone: Some("+919876500001"), phone_verified: true, email: None, ..user("x", None) };
    let c = db.create_user(proven, NOW + 5).await.unwrap();
    assert!(db.user_by_id(&b.id).await.unwrap().phone.is_none());
    assert_eq!(db.user_by_verified_phone("+919876500001").await.unwrap().id, c.id);
    assert!(matches!(db.claim_phone(&a.id, "+919876500001", NOW).await, Err(DbError::Conflict("phone"))));
    let mine = db.claim_phone(&a.id, "+919876543210", NOW + 6).await.unwrap();
    assert!(!mine.changed, "confirming one's own number changes nothing");
    db.remove_phone(&a.id, NOW + 7).await.unwrap();
    assert!(db.user_by_id(&a.id).await.unwrap().phone.is_none());

    let same = db
        .update_profile(
            &a.id,
            ProfileChange {
                name: Some("Asha M".into()),
                company: Some(Some("Asha Jewels".into())),
                ..Default::default()
            },
            NOW + 8,
        )
        .await
        .unwrap();
    assert_eq!(same.email_verified_at, Some(NOW + 4), "plain fields leave verification alone");
    assert_eq!((same.name.as_str(), same.company.as_deref()), ("Asha M", Some("Asha Jewels")));
    let cleared =
        db.update_profile(&a.id, ProfileChange { company: Some(None), ..Default::default() }, NOW + 9).await.unwrap();
    assert!(cleared.company.is_none());

    db.set_role(&a.id, "admin", NOW).await.unwrap();
    assert_eq!(db.user_by_id(&a.id).await.unwrap().role, "admin");
    assert!(db.set_role(&a.id, "emperor", NOW).await.is_err(), "the schema knows its roles");
    assert!(matches!(db.set_role("missing", "admin", NOW).await, Err(DbError::NotFound)));
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
    let u = db.create_user(user("s@example.com", None), NOW).await.unwrap();
    let other = db.create_user(user("o@example.com", None), NOW).await.unwrap();
    let s1 = db.create_session(session(&u.id, "d1"), NOW).await.unwrap();
    let s2 = db.create_session(session(&u.id, "d2"), NOW).await.unwrap();
    let s3 = db.create_session(session(&other.id, "d3"), NOW).await.unwrap();
    let idle = 10_000;
    assert_eq!(db.live_session("d1", NOW + 1, idle).await.unwrap().unwrap().id, s1.id);
    assert!(db.live_session("d1", NOW + idle, idle).await.unwrap().is_none(), "idle expiry");
    assert!(db.live_session("d1", NOW + 2_000_000, i64::MAX / 4).await.unwrap().is_none(), "absolute expiry");
    db.touch_session(&s1.id, NOW + 70_000).await.unwrap();
    assert!(db.live_session("d1", NOW + 75_000, idle).await.unwrap().is_some(), "activity extends the idle window");
    assert!(!db.delete_session(&u.id, &s3.id).await.unwrap(), "cannot end another user's session");
    assert_eq!(db.sessions_of(&u.id).await.unwrap().len(), 2);
    assert_eq!(db.delete_sessions_except(&u.id, Some(&s1.id)).await.unwrap(), 1);
    assert!(db.live_session("d2", NOW + 1, idle).await.unwrap().is_none());
    assert!(db.delete_session(&u.id, &s1.id).await.unwrap());
    let _ = s2;
    assert_eq!(db.purge_expired_sessions(NOW + 2_000_000, idle).await.unwrap(), 1);
}

async fn tokens_story(db: Db) {
    let u = db.create_user(user("t@example.com", None), NOW).await.unwrap();
    let token =
        |purpose, digest, session_id| NewToken { user_id: &u.id, purpose, email: "t@example.com", digest, session_id };
    db.issue_token(&token(Purpose::VerifyEmail, "old", None), NOW, 1000).await.unwrap();
    db.issue_token(&token(Purpose::VerifyEmail, "new", Some("s1")), NOW, 1000).await.unwrap();
    assert!(db.redeem_token(Purpose::VerifyEmail, "old", NOW).await.unwrap().is_none(), "re-issuing revokes");
    assert!(db.redeem_token(Purpose::ResetPassword, "new", NOW).await.unwrap().is_none(), "purpose must match");
    let r = db.redeem_token(Purpose::VerifyEmail, "new", NOW + 1).await.unwrap().unwrap();
    assert_eq!(
        (r.user_id.as_str(), r.email.as_str(), r.session_id.as_deref()),
        (u.id.as_str(), "t@example.com", Some("s1"))
    );
    assert!(db.redeem_token(Purpose::VerifyEmail, "new", NOW + 1).await.unwrap().is_none(), "single use");
    db.issue_token(&token(Purpose::ResetPassword, "r", None), NOW, 1000).await.unwrap();
    assert!(db.redeem_token(Purpose::ResetPassword, "r", NOW + 1000).await.unwrap().is_none(), "expired");
    assert_eq!(db.purge_expired_tokens(NOW + 1000).await.unwrap(), 1);
}

async fn otp_story(db: Db) {
    db.store_otp("+919876543210", "mac1", NOW, 300_000).await.unwrap();
    for n in 1..=5 {
        let o = db.attempt_otp("+919876543210", NOW + 1, 5).await.unwrap().unwrap();
        assert_eq!((o.attempts, o.code_mac.as_str()), (n, "mac1"));
    }
    assert!(db.attempt_otp("+919876543210", NOW + 1, 5).await.unwrap().is_none(), "locked after 5 attempts");
    db.store_otp("+919876543210", "mac2", NOW + 10, 300_000).await.unwrap();
    assert_eq!(
        db.attempt_otp("+919876543210", NOW + 11, 5).await.unwrap().unwrap().attempts,
        1,
        "a new code resets attempts"
    );
    assert!(db.attempt_otp("+919876543210", NOW + 10 + 300_000, 5).await.unwrap().is_none(), "expired");
    db.delete_otp("+919876543210").await.unwrap();
    assert!(db.attempt_otp("+919876543210", NOW + 12, 5).await.unwrap().is_none());
}

async fn rate_and_audit_story(db: Db) {
    for n in 1..=3 {
        assert_eq!(db.hit("ip:1", 0).await.unwrap(), n);
    }
    db.unhit("ip:1", 0).await.unwrap();
    assert_eq!(db.hit("ip:1", 0).await.unwrap(), 3, "a released hit is given back");
    assert_eq!(db.hit("ip:1", 60_000).await.unwrap(), 1, "new window starts over");
    assert_eq!(db.hit("ip:2", 0).await.unwrap(), 1, "buckets are separate");
    assert_eq!(db.cool_down("otp:1", 59_999, 61_999).await.unwrap(), None, "a pause starts");
    assert_eq!(db.cool_down("otp:1", 60_000, 62_000).await.unwrap(), Some(61_999), "across a minute's edge");
    assert_eq!(db.cool_down("otp:1", 61_999, 63_999).await.unwrap(), None, "and ends when it says");
    assert_eq!(db.purge_rate_counters(60_000).await.unwrap(), 2);
    assert_eq!(db.purge_rate_counters(64_000).await.unwrap(), 2, "ended pauses go too");

    let u = db.create_user(user("a@example.com", None), NOW).await.unwrap();
    db.audit(Some(&u.id), "self", "login", "", "203.0.113.0/24", NOW).await.unwrap();
    db.audit(Some(&u.id), "admin:x", "role_granted", "admin", "", NOW + 1).await.unwrap();
    db.audit(None, "system", "other", "", "", NOW).await.unwrap();
    let log = db.audit_of(&u.id, 10).await.unwrap();
    assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["role_granted", "login"]);
}

async fn api_keys_story(db: Db) {
    let u = db.create_user(user("k@example.com", None), NOW).await.unwrap();
    let v = db.create_user(user("v@example.com", None), NOW).await.unwrap();
    let key = |digest, expires_at| NewApiKey {
        user_id: &u.id,
        name: "shop sync",
        prefix: "sp_abc",
        digest,
        scopes: "images:read",
        expires_at,
        per_minute: 60,
        images_per_day: 500,
    };
    let k = db.create_api_key(&key("kd", None), NOW).await.unwrap();
    assert_eq!(db.api_key_by_digest("kd", NOW).await.unwrap().unwrap().user_id, u.id);
    db.touch_api_key(&k.id, "203.0.113.0/24", NOW + 100_000).await.unwrap();
    let listed = &db.api_keys_of(&u.id).await.unwrap()[0];
    assert_eq!(
        (listed.last_used_at, listed.last_used_network.as_deref(), listed.scopes.as_str()),
        (Some(NOW + 100_000), Some("203.0.113.0/24"), "images:read")
    );
    assert!(!db.delete_api_key(&v.id, &k.id).await.unwrap(), "not theirs");
    assert!(db.delete_api_key(&u.id, &k.id).await.unwrap());
    assert!(db.api_key_by_digest("kd", NOW).await.unwrap().is_none());
    db.create_api_key(&key("short", Some(NOW + 10)), NOW).await.unwrap();
    assert!(db.api_key_by_digest("short", NOW + 10).await.unwrap().is_none(), "a key stops at its end");
    db.create_api_key(&key("other", None), NOW).await.unwrap();
    assert_eq!(db.delete_api_keys_of(&u.id).await.unwrap(), 2);
}

on_both_backends!(users_story, sessions_story, tokens_story, otp_story, rate_and_audit_story, api_keys_story);

#[test]
fn migration_folders_are_in_step() {
    let (sqlite, postgres) = db::migration_versions();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "every migration needs a twin with the same version and name");
}

/// Policy: card data never touches our servers. No table has a column that could hold it.
#[test]
fn no_card_data_in_the_schema() {
    let forbidden = ["card", "cvv", "cvc", "pan_", "expiry", "exp_month", "exp_year", "account_number", "ifsc", "vpa"];
    for backend in ["sqlite", "postgres"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
        let mut files = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap().to_lowercase();
            files += 1;
            for word in forbidden {
                assert!(!sql.contains(word), "{backend} migration mentions {word:?}");
            }
        }
        assert!(files >= 7);
    }
}

mod ledger {
    use db::Db;
    use db::ledger::{Balance, Kind, Movement, Outcome};
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    const NOW: i64 = super::NOW;

    fn mv<'a>(user_id: &'a str, kind: Kind, amount: i64, reference: &'a str) -> Movement<'a> {
        Movement { user_id, kind, amount, reason: "test", reference, actor: "system" }
    }

    async fn user(db: &Db, email: &str) -> String {
        db.create_user(super::user(email, None), NOW).await.unwrap().id
    }

    pub async fn rules(db: Db) {
        let u = user(&db, "ledger@example.com").await;
        assert_eq!(db.balance(&u).await.unwrap(), Balance { balance: 0, held: 0 });
        assert_eq!(
            db.apply(mv(&u, Kind::Hold, 1, "c1"), NOW).await.unwrap().0,
            Outcome::Insufficient,
            "cannot hold what is not there"
        );
        assert_eq!(
            db.apply(mv(&u, Kind::Grant, 20, "welcome"), NOW).await.unwrap().0,
            Outcome::Applied(Balance { balance: 20, held: 0 })
        );
        assert_eq!(
            db.apply(mv(&u, Kind::Grant, 20, "welcome"), NOW).await.unwrap().0,
            Outcome::Duplicate,
            "same event twice grants once"
        );
        assert_eq!(
            db.apply(mv(&u, Kind::Hold, 8, "c1"), NOW).await.unwrap().0,
            Outcome::Applied(Balance { balance: 12, held: 8 })
        );
        assert_eq!(
            db.apply(mv(&u, Kind::Charge, 5, "c1/o1"), NOW).await.unwrap().0,
            Outcome::Applied(Balance { balance: 12, held: 3 })
        );
        assert_eq!(
            db.apply(mv(&u, Kind::Charge, 5, "c1/o1"), NOW).await.unwrap().0,
            Outcome::Duplicate,
            "never charged twice"
        );
        assert_eq!(
            db.apply(mv(&u, Kind::Charge, 4, "c1/o2"), NOW).await.unwrap().0,
            Outcome::Insufficient,
            "cannot charge more than held"
        );
        assert_eq!(
            db.apply(mv(&u, Kind::Release, 3, "c1"), NOW).await.unwrap().0,
            Outcome::Applied(Balance { balance: 15, held: 0 })
        );
        let (outcome, shortfall) = db.apply(mv(&u, Kind::Refund, 40, "pay_1"), NOW).await.unwrap();
        assert_eq!(
            (outcome, shortfall),
            (Outcome::Applied(Balance { balance: 0, held: 0 }), 25),
            "refund stops at zero, shortfall kept"
        );
        let (outcome, _) = db.apply(mv(&u, Kind::Adjustment, -5, "adj1"), NOW).await.unwrap();
        assert_eq!(outcome, Outcome::Applied(Balance { balance: 0, held: 0 }));
        assert!(db.apply(mv(&u, Kind::Grant, -5, "neg"), NOW).await.is_err(), "negative grants are refused");
        let entries = db.ledger(&u, None, 100).await.unwrap();
        assert_eq!(entries.len(), 6);
        assert!(entries.iter().any(|e| e.kind == "refund" && e.amount == -15 && e.reason.contains("shortfall 25")));
        assert_eq!(
            db.ledger_totals(&u).await.unwrap(),
            db.balance(&u).await.unwrap(),
            "the ledger explains the balance"
        );
    }

    /// Many concurrent holds against one balance: never more held than granted.
    pub async fn concurrent_holds(db: Db) {
        let u = user(&db, "race@example.com").await;
        db.apply(mv(&u, Kind::Grant, 50, "g"), NOW).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..24 {
            let (db, u) = (db.clone(), u.clone());
            tasks.push(tokio::spawn(async move {
                let reference = format!("job{}", i % 12); // every job twice
                db.apply(mv(&u, Kind::Hold, 8, &reference), NOW).await.unwrap().0
            }));
        }
        let mut applied = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Outcome::Applied(_)) {
                applied += 1;
            }
        }
        assert_eq!(applied, 6, "50 tokens cover six holds of 8, each job at most once");
        assert_eq!(db.balance(&u).await.unwrap(), Balance { balance: 2, held: 48 });
        assert_eq!(db.ledger_totals(&u).await.unwrap(), Balance { balance: 2, held: 48 });
    }

    #[derive(Debug, Clone)]
    enum Op {
        Grant(i64),
        Hold(i64),
        Charge(u8, i64),
        Release(u8, i64),
        Refund(i64),
        Replay,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1..50i64).prop_map(Op::Grant),
            (1..40i64).prop_map(Op::Hold),
            (0..4u8, 1..20i64).prop_map(|(j, a)| Op::Charge(j, a)),
            (0..4u8, 1..20i64).prop_map(|(j, a)| Op::Release(j, a)),
            (1..60i64).prop_map(Op::Refund),
            Just(Op::Replay),
        ]
    }

    /// Random sequences, replays included: balances never go negative and always equal
    /// what the ledger entries add up to.
    pub async fn invariants(db: Db) {
        let mut runner =
            proptest::test_runner::TestRunner::new(ProptestConfig { cases: 24, ..ProptestConfig::default() });
        let strategy = proptest::collection::vec(op(), 1..25);
        for case in 0..24 {
            let ops = strategy.new_tree(&mut runner).unwrap().current();
            let u = user(&db, &format!("prop{case}@example.com")).await;
            let mut last_reference = String::from("none");
            for (i, op) in ops.iter().enumerate() {
                let (kind, amount, reference) = match op {
                    Op::Grant(a) => (Kind::Grant, *a, format!("{u}/g{i}")),
                    Op::Hold(a) => (Kind::Hold, *a, format!("{u}/h{i}")),
                    Op::Charge(j, a) => (Kind::Charge, *a, format!("{u}/c{j}/{i}")),
                    Op::Release(j, a) => (Kind::Release, *a, format!("{u}/r{j}/{i}")),
                    Op::Refund(a) => (Kind::Refund, *a, format!("{u}/f{i}")),
                    Op::Replay => {
                        let before = db.balance(&u).await.unwrap();
                        let kind = if last_reference.contains("/g") { Kind::Grant } else { Kind::Hold };
                        let outcome = db.apply(mv(&u, kind, 1, &last_reference), NOW).await.unwrap().0;
                        if last_reference != "none" && matches!(outcome, Outcome::Duplicate) {
                            assert_eq!(db.balance(&u).await.unwrap(), before, "a replay changes nothing");
                        }
                        continue;
                    }
                };
                let outcome = db.apply(mv(&u, kind, amount, &reference), NOW).await.unwrap().0;
                if matches!(outcome, Outcome::Applied(_)) {
                    last_reference = reference;
                }
                let b = db.balance(&u).await.unwrap();
                assert!(b.balance >= 0 && b.held >= 0, "{ops:?} → {b:?}");
            }
            assert_eq!(db.ledger_totals(&u).await.unwrap(), db.balance(&u).await.unwrap(), "{ops:?}");
        }
    }
}

use ledger::{concurrent_holds, invariants, rules as ledger_rules};
on_both_backends!(ledger_rules, concurrent_holds, invariants);

mod queue {
    use db::Db;
    use db::queue::NewJob;

    const NOW: i64 = super::NOW;

    fn job<'a>(key: Option<&'a str>) -> NewJob<'a> {
        NewJob { kind: "render", payload: r#"{"creation":"c1"}"#, max_attempts: 2, idempotency_key: key, user_id: None }
    }

    pub async fn lease_heartbeat_retry_dead(db: Db) {
        let a = db.enqueue(job(Some("c1")), NOW).await.unwrap();
        let again = db.enqueue(job(Some("c1")), NOW + 5).await.unwrap();
        assert_eq!(a.id, again.id, "idempotency key yields the first job");
        assert!(db.claim("w1", NOW - 1, 1000).await.unwrap().is_none(), "not due yet");
        let claimed = db.claim("w1", NOW, 1000).await.unwrap().unwrap();
        assert_eq!((claimed.id.as_str(), claimed.attempts, claimed.state.as_str()), (a.id.as_str(), 1, "running"));
        assert!(db.claim("w2", NOW + 10, 1000).await.unwrap().is_none(), "leased jobs are not handed out twice");
        assert_eq!(db.heartbeat(&a.id, "w1", NOW + 500, 1000).await.unwrap(), Some(false));
        assert!(db.claim("w2", NOW + 1200, 1000).await.unwrap().is_none(), "the heartbeat extended the lease");
        // w1 dies: after the lease runs out, w2 takes over.
        let retaken = db.claim("w2", NOW + 1600, 1000).await.unwrap().unwrap();
        assert_eq!((retaken.attempts, retaken.lease_owner.as_deref()), (2, Some("w2")));
        assert_eq!(db.heartbeat(&a.id, "w1", NOW + 1601, 1000).await.unwrap(), None, "w1 learns it lost the job");
        assert!(!db.finish_job(&a.id, "w1", "succeeded", NOW + 1602).await.unwrap(), "only the holder may finish");
        let state = db.fail_job(&a.id, "w2", "decoder exploded", false, None, NOW + 1700).await.unwrap();
        assert_eq!(state.as_deref(), Some("dead"), "attempts used up");
        let dead = db.job(&a.id).await.unwrap().unwrap();
        assert_eq!(dead.last_error.as_deref(), Some("decoder exploded"));
    }

    pub async fn backoff_cancel_and_reaper(db: Db) {
        let a = db.enqueue(job(None), NOW).await.unwrap();
        db.claim("w1", NOW, 1000).await.unwrap().unwrap();
        assert_eq!(
            db.fail_job(&a.id, "w1", "timeout", false, None, NOW + 10).await.unwrap().as_deref(),
            Some("queued")
        );
        assert!(db.claim("w1", NOW + 1000, 1000).await.unwrap().is_none(), "backing off");
        let second = db.claim("w1", NOW + 10 + 2000, 1000).await.unwrap().unwrap();
        assert_eq!(second.attempts, 2);
        // The worker vanishes on its last attempt: the reaper records why.
        let reaped = db.reap_jobs(NOW + 10 + 2000 + 1001).await.unwrap();
        assert_eq!(reaped.len(), 1);
        assert_eq!(reaped[0].last_error.as_deref(), Some("timeout"));

        let b = db
            .enqueue(
                NewJob { kind: "render", payload: "{}", max_attempts: 3, idempotency_key: None, user_id: None },
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(db.cancel_job(&b.id, NOW).await.unwrap().as_deref(), Some("canceled"));
        assert!(db.claim("w1", NOW + 100_000, 1000).await.unwrap().is_none(), "canceled jobs never run");
        let c = db
            .enqueue(
                NewJob { kind: "render", payload: "{}", max_attempts: 3, idempotency_key: None, user_id: None },
                NOW,
            )
            .await
            .unwrap();
        db.claim("w1", NOW + 100_000, 1000).await.unwrap().unwrap();
        assert_eq!(db.cancel_job(&c.id, NOW + 100_001).await.unwrap().as_deref(), Some("running"));
        assert_eq!(
            db.heartbeat(&c.id, "w1", NOW + 100_002, 1000).await.unwrap(),
            Some(true),
            "the worker is told to stop"
        );
        assert!(db.finish_job(&c.id, "w1", "canceled", NOW + 100_003).await.unwrap());
    }

    /// What monitoring sees: due jobs waiting (not those backing off), running ones, and
    /// since when the oldest has waited.
    pub async fn queue_depth(db: Db) {
        assert!(db.queue_depth(NOW).await.unwrap().is_empty());
        let mail = || NewJob { kind: "mail", payload: "{}", max_attempts: 3, idempotency_key: None, user_id: None };
        let backing_off = db.enqueue(mail(), NOW - 5).await.unwrap();
        db.claim("w1", NOW - 5, 1000).await.unwrap().unwrap();
        db.fail_job(&backing_off.id, "w1", "smtp down", false, None, NOW).await.unwrap();
        db.enqueue(job(None), NOW).await.unwrap();
        db.enqueue(job(None), NOW + 10).await.unwrap();
        assert_eq!(db.claim("w2", NOW, 1000).await.unwrap().unwrap().kind, "render");
        db.enqueue(mail(), NOW + 20).await.unwrap();
        let depth = db.queue_depth(NOW + 30).await.unwrap();
        let rows: Vec<(&str, i64, i64, Option<i64>)> =
            depth.iter().map(|d| (d.kind.as_str(), d.waiting, d.running, d.oldest_due)).collect();
        assert_eq!(rows, [("mail", 1, 0, Some(NOW + 20)), ("render", 1, 1, Some(NOW + 10))]);
    }

    /// Workers racing for jobs: each job is claimed exactly once.
    pub async fn concurrent_claims(db: Db) {
        for i in 0..20 {
            db.enqueue(
                NewJob {
                    kind: "render",
                    payload: "{}",
                    max_attempts: 1,
                    idempotency_key: Some(&format!("k{i}")),
                    user_id: None,
                },
                NOW,
            )
            .await
            .unwrap();
        }
        let mut tasks = Vec::new();
        for w in 0..4 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(j) = db.claim(&format!("w{w}"), NOW, 60_000).await.unwrap() {
                    mine.push(j.id);
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!((all.len(), unique.len()), (20, 20));
    }
}

use queue::{backoff_cancel_and_reaper, concurrent_claims, lease_heartbeat_retry_dead, queue_depth};
on_both_backends!(lease_heartbeat_retry_dead, backoff_cancel_and_reaper, concurrent_claims, queue_depth);

mod creations {
    use db::Db;
    use db::creations::{Output, Recorded, new_creation};
    use db::ledger::{Balance, Kind, Movement, Outcome};
    use db::uploads::Upload;

    const NOW: i64 = super::NOW;

    async fn seller_with_photo(db: &Db, tokens: i64) -> (String, String) {
        let user = db.create_user(super::user("maker@example.com", None), NOW).await.unwrap().id;
        let grant =
            Movement { user_id: &user, kind: Kind::Grant, amount: tokens, reason: "t", reference: "w", actor: "t" };
        db.apply(grant, NOW).await.unwrap();
        let upload = Upload {
            id: db::new_id(),
            user_id: user.clone(),
            filename: "ring.jpg".into(),
            format: "jpeg".into(),
            width: 10,
            height: 10,
            bytes: 10,
            original_key: "o".into(),
            thumb_key: "t".into(),
            created_at: NOW,
        };
        db.create_upload(&upload).await.unwrap();
        (user, upload.id)
    }

    fn output(user: &str, creation: &str, ordinal: i64) -> Output {
        Output {
            id: db::new_id(),
            creation_id: creation.into(),
            user_id: user.into(),
            ordinal,
            label: "etsy".into(),
            format: "jpeg".into(),
            width: 1,
            height: 1,
            bytes: 1,
            blob_key: format!("k{ordinal}"),
            ..Output::default()
        }
    }

    pub async fn batch_is_all_or_nothing(db: Db) {
        let (user, photo) = seller_with_photo(&db, 5).await;
        let batch = [
            new_creation(&user, &photo, "local", "[]".into(), 3),
            new_creation(&user, &photo, "local", "[]".into(), 3),
        ];
        assert_eq!(db.create_creations(&batch, NOW).await.unwrap(), Outcome::Insufficient);
        assert!(db.creations_of(&user, None, 10).await.unwrap().is_empty(), "no creation of the batch stays");
        assert_eq!(db.balance(&user).await.unwrap(), Balance { balance: 5, held: 0 });
        assert!(db.claim("w", NOW, 1000).await.unwrap().is_none(), "and no job");
        assert!(matches!(db.create_creations(&batch[..1], NOW).await.unwrap(), Outcome::Applied(_)));
        assert!(db.claim("w", NOW, 1000).await.unwrap().is_some());
    }

    pub async fn cancel_refuses_late_outputs(db: Db) {
        let (user, photo) = seller_with_photo(&db, 5).await;
        let c = new_creation(&user, &photo, "local", "[]".into(), 3);
        db.create_creations(std::slice::from_ref(&c), NOW).await.unwrap();
        assert!(db.add_output(&output(&user, &c.id, 0), 0, NOW).await.is_err(), "a paid creation gives nothing away");
        assert_eq!(db.add_output(&output(&user, &c.id, 0), 1, NOW).await.unwrap(), Recorded::Stored);
        assert_eq!(db.add_output(&output(&user, &c.id, 0), 1, NOW).await.unwrap(), Recorded::Duplicate);
        db.cancel_creation(&user, &c.id, NOW).await.unwrap();
        assert_eq!(db.balance(&user).await.unwrap(), Balance { balance: 4, held: 0 }, "one charged, two back");
        assert_eq!(db.add_output(&output(&user, &c.id, 1), 1, NOW).await.unwrap(), Recorded::Ended);
        assert_eq!(db.balance(&user).await.unwrap(), Balance { balance: 4, held: 0 }, "late output not charged");
        assert!(db.cancel_creation(&user, &c.id, NOW).await.is_err(), "already ended");
        assert!(matches!(db.cancel_creation("someone-else", &c.id, NOW).await, Err(db::DbError::NotFound)));
        let job = db.claim("w", NOW, 1000).await.unwrap();
        assert!(job.is_none(), "the queued job was canceled with it");
    }
}

use creations::{batch_is_all_or_nothing, cancel_refuses_late_outputs};
on_both_backends!(batch_is_all_or_nothing, cancel_refuses_late_outputs);

//! The binary as an operator uses it: configuration errors, first start, migrations,
//! admin grants, and `serve` on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_soraipixel");

fn soraipixel(dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir).env_remove("SORAIPIXEL_CONFIG").env("SORAIPIXEL__LOG__FORMAT", "pretty");
    c
}

#[test]
fn bad_configuration_fails_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[server]\nlisten = \"everywhere\"\n").unwrap();
    let out = soraipixel(dir.path()).args(["--config", "bad.toml", "migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.listen"), "{}", String::from_utf8_lossy(&out.stderr));

    let out =
        soraipixel(dir.path()).env("SORAIPIXEL__SESSION__IDLE_TIMEOUT_HOURS", "soon").arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("session.idle_timeout_hours"));
    assert!(!dir.path().join("data").exists(), "nothing is created when configuration is invalid");
}

#[test]
fn first_start_creates_data_and_a_private_key_once() {
    let dir = tempfile::tempdir().unwrap();
    assert!(soraipixel(dir.path()).arg("migrate").status().unwrap().success());
    let key = dir.path().join("data/master.key");
    let first = std::fs::read_to_string(&key).unwrap();
    assert_eq!(first.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(dir.path().join("data/soraipixel.db").exists());
    assert!(soraipixel(dir.path()).arg("migrate").status().unwrap().success());
    assert_eq!(std::fs::read_to_string(&key).unwrap(), first, "the key is never overwritten");
}

#[tokio::test]
async fn admin_grant_changes_the_role() {
    let dir = tempfile::tempdir().unwrap();
    assert!(soraipixel(dir.path()).arg("migrate").status().unwrap().success());
    let url = format!("sqlite://{}", dir.path().join("data/soraipixel.db").display());
    let db = db::Db::connect(&url, 1).await.unwrap();
    let new = db::users::NewUser {
        email: Some("owner@example.com"),
        phone: None,
        phone_verified: false,
        password_hash: None,
        name: "Owner",
        company: None,
        marketing_opt_in: false,
    };
    let user = db.create_user(new, 1).await.unwrap();
    let out = soraipixel(dir.path()).args(["admin", "grant", "owner@example.com", "admin"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(db.user_by_id(&user.id).await.unwrap().role, "admin");
    let out = soraipixel(dir.path())
        .args(["admin", "tokens", "owner@example.com", "-5", "--reason", "goodwill"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("shortfall 5"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = soraipixel(dir.path())
        .args(["admin", "tokens", "owner@example.com", "30", "--reason", "goodwill"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(db.balance(&user.id).await.unwrap().balance, 30);
    assert_eq!(db.ledger(&user.id, None, 10).await.unwrap()[0].actor, "admin:cli");
    let out = soraipixel(dir.path()).args(["admin", "grant", "owner@example.com", "emperor"]).output().unwrap();
    assert!(!out.status.success());
    let out = soraipixel(dir.path()).args(["admin", "grant", "nobody@example.com", "admin"]).output().unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn serve_runs_on_postgres() {
    let Some(pg) = db::testing::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = soraipixel(dir.path())
        .arg("serve")
        .env("SORAIPIXEL__DATABASE__URL", pg.url())
        .env("SORAIPIXEL__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = serde_json::Value::Null;
    for _ in 0..100 {
        if let Ok(res) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await {
            ready = res.json().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ready["database"], "postgres", "{ready}");
    pg.close().await;
}

/// Payments: a local `serve` without keys runs the FAKE Razorpay (dev mode); a deployment
/// that looks public (here: behind a proxy) never does, so nobody gets tokens for a
/// simulated payment there.
#[tokio::test]
async fn the_fake_razorpay_never_runs_on_a_public_deployment() {
    for (behind_proxy, expected) in [("false", 201), ("true", 503)] {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = soraipixel(dir.path())
            .arg("serve")
            .env("SORAIPIXEL__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("SORAIPIXEL__SERVER__BEHIND_PROXY", behind_proxy)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let signup = http
            .post(format!("{base}/api/v1/auth/signup"))
            .header("sec-fetch-site", "same-origin")
            .header("x-forwarded-for", "203.0.113.9")
            .json(&serde_json::json!({"email": "a@example.com", "password": "kundan necklace sparkle", "name": "A"}))
            .send()
            .await
            .unwrap();
        let cookie = signup.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let csrf = signup.json::<serde_json::Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
        let order = http
            .post(format!("{base}/api/v1/billing/orders"))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .json(&serde_json::json!({"plan_id": "starter"}))
            .send()
            .await
            .unwrap();
        let status = order.status().as_u16();
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(status, expected, "behind_proxy={behind_proxy}");
    }
}

//! Built-in TLS: a self-signed certificate made with openssl, served by rustls, with HSTS.

use std::process::Command;

#[tokio::test]
async fn serves_https_with_hsts_when_configured() {
    let t = db::testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed to make a test certificate");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let app = crate::harness::spawn_with(t.db.clone(), |s| {
        s.tls.cert = Some(cert.clone());
        s.tls.key = Some(key.clone());
    })
    .await;
    let https = app.base.replace("http://", "https://");
    let client = reqwest::Client::builder().tls_danger_accept_invalid_certs(true).build().unwrap();
    let res = client.get(format!("{https}/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
    assert!(
        app.http.get(format!("{}/healthz", app.base)).send().await.is_err(),
        "plain HTTP is not served on the TLS port"
    );
}

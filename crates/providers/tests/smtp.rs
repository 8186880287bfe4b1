//! The SMTP transport against a real SMTP server process (Python's aiosmtpd, installed from
//! PyPI into the target folder when missing): a marketing message carries the one-click
//! unsubscribe headers, a transactional one does not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use providers::mail::{Email, Mailer, SmtpConfig};

/// A `PYTHONPATH` where `aiosmtpd` imports, installing it there if needed.
fn aiosmtpd_path() -> String {
    let dir = format!("{}/pydeps", env!("CARGO_TARGET_TMPDIR"));
    let imports = |path: &str| {
        Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .env("PYTHONPATH", path)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !imports(&dir) {
        let installed = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                &dir,
                "aiosmtpd==1.4.6",
            ])
            .status()
            .expect("python3 and pip are needed for the SMTP test");
        assert!(installed.success() && imports(&dir), "could not install aiosmtpd from PyPI");
    }
    dir
}

#[tokio::test]
async fn delivers_through_a_real_smtp_server_with_unsubscribe_headers() {
    let pythonpath = aiosmtpd_path();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new("python3")
        .args(["-u", "-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Debugging"])
        .env("PYTHONPATH", &pythonpath)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let config = SmtpConfig { host: "127.0.0.1", port, username: None, password: None, security: "none" };
    let mailer = Mailer::smtp("SoraiPixel <no-reply@soraipixel.com>", config).unwrap();
    mailer
        .send(Email {
            to: "asha@example.com".into(),
            subject: "New themes this week".into(),
            text: "Hello!\n".into(),
            unsubscribe: Some("https://app.example.com/unsubscribe/u1.abc".into()),
        })
        .await
        .unwrap();
    mailer
        .send(Email {
            to: "asha@example.com".into(),
            subject: "Your receipt".into(),
            text: "Thanks\n".into(),
            unsubscribe: None,
        })
        .await
        .unwrap();

    let stdout = server.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(seen.contains("Your receipt") && seen.matches("END MESSAGE").count() >= 2) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            Err(_) => panic!("the SMTP server did not print both messages:\n{seen}"),
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let (marketing, receipt) = seen.split_once("Subject: Your receipt").unwrap();
    assert!(marketing.contains("Subject: New themes this week"), "{seen}");
    assert!(marketing.contains("List-Unsubscribe: <https://app.example.com/unsubscribe/u1.abc>"), "{seen}");
    assert!(marketing.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{seen}");
    assert!(!receipt.contains("List-Unsubscribe"), "transactional mail has no unsubscribe header");
}

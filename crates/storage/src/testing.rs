//! A real S3 server for tests: `s3s-fs` (crates.io, verifies SigV4), started on a free
//! loopback port over a fresh folder, with the bucket `photos`. When the binary is missing,
//! `scripts/install-deps.sh s3` builds it once (`cargo install`); where that cannot work the
//! tests print "skipped: no S3 server", unless `SORAIPIXEL_REQUIRE_S3=1` (set by CI) makes it
//! a failure.

#![allow(clippy::expect_used, clippy::panic, reason = "test support fails loudly by design")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::S3Bucket;

pub const BUCKET: &str = "photos";
pub const ACCESS_KEY: &str = "SORAITESTKEY";
pub const SECRET_KEY: &str = "sorai-test-secret";

/// The `s3s-fs` binary: `SORAIPIXEL_S3S_FS`, else on `PATH`, else in cargo's bin folder.
fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SORAIPIXEL_S3S_FS") {
        return Some(PathBuf::from(path));
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin"));
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain(cargo_bin)
        .map(|dir| dir.join("s3s-fs"))
        .find(|p| p.is_file())
}

/// Finds the binary, installing it once per test process when missing.
fn binary() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            find().or_else(|| {
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-deps.sh");
                eprintln!("s3s-fs missing: {} s3 (about two minutes, once)", script.display());
                let installed = Command::new("bash").arg(script).arg("s3").status().is_ok_and(|s| s.success());
                if installed { find() } else { None }
            })
        })
        .clone()
}

pub struct S3Server {
    binary: PathBuf,
    root: tempfile::TempDir,
    port: u16,
    endpoint: String,
    child: Option<Child>,
}

impl S3Server {
    /// A running server with an empty bucket, or `None` (after saying so) where none can run.
    pub fn start() -> Option<Self> {
        let Some(binary) = binary() else {
            if std::env::var("SORAIPIXEL_REQUIRE_S3").is_ok_and(|v| v == "1") {
                panic!("an S3 server is required but s3s-fs could not be found or installed");
            }
            eprintln!("skipped: no S3 server (scripts/install-deps.sh s3 installs s3s-fs)");
            return None;
        };
        let root = tempfile::tempdir().expect("temp dir");
        // s3s-fs keeps each bucket as a folder under its root.
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket folder");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("port").port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut server = Self { binary, root, port, endpoint, child: None };
        server.resume();
        Some(server)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Where the server keeps objects: `<root>/photos/<path>`, as stored (sealed).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// How to reach the bucket, with `secret` as the secret key (the right one is `SECRET_KEY`).
    pub fn bucket<'a>(&'a self, secret: &'a str) -> S3Bucket<'a> {
        S3Bucket {
            name: BUCKET,
            region: "us-east-1",
            endpoint: Some(&self.endpoint),
            access_key_id: ACCESS_KEY,
            secret_access_key: secret,
            allow_http: true,
        }
    }

    /// Stops the server (an outage); `resume` starts it again on the same port and data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn resume(&mut self) {
        if self.child.is_some() {
            return;
        }
        let child = Command::new(&self.binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "s3s-fs did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

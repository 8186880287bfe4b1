//! The product as a fleet, on real parts, under load and faults (docs/operations.md):
//! the machine's PostgreSQL (a fresh database), a real S3 server (`s3s-fs`, SigV4-checked),
//! two `serve` processes without workers behind HAProxy, and three `worker` processes.
//! Sellers sign up through the proxy, each uploads a photo, asks for a 3-image pack and
//! polls its creation, balance and studio page as the pages do.
//!
//! With `--faults`, while they work: one worker is SIGKILLed (its supervisor starts it again
//! after 5 s), one `serve` is SIGTERMed (it drains, then starts again, as in a rolling
//! deploy), PostgreSQL is restarted, and the S3 server is down for 20 s.
//!
//! Then the orphan sweep runs and the invariants are checked: every creation ended
//! (succeeded, or failed with its tokens returned), every ledger adds up with nothing held,
//! no blob is missing or orphaned, no 5xx but 503 with `Retry-After` reached a seller, and
//! every process answers again. Exits 1 when any fails.
//!
//! With `--restore-drill`, a backup is taken during the load (`pg_dump`, then the bucket
//! copied to a second S3 server); at the end it is restored into a fresh database and
//! `soraipixel admin verify-blobs` must open every image of every user from it.
//!
//! `scripts/fleet.sh [--users 200] [--faults] [--restore-drill] [--throughput] [--photo-mp 12]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a measuring tool fails loudly")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storage::testing::{BUCKET, S3Server, SECRET_KEY};

const PACK: [&str; 3] = ["amazon", "etsy", "instagram_square"];
/// Sellers start spread over this window when faults are injected, so that every fault
/// lands on work in flight, however few sellers there are.
const FAULT_WINDOW: Duration = Duration::from_secs(80);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs an outside program to completion; a failure stops the run with what it said.
fn run(what: &str, command: &mut Command) -> std::process::Output {
    let out =
        command.output().unwrap_or_else(|e| panic!("cannot run {what} ({e}); scripts/fleet.sh installs what it needs"));
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    out
}

fn psql(url: &str, sql: &str) -> String {
    let out = run("psql", Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Every blob path the rows name (what the sweep and `verify-blobs` hold the bucket to).
const NAMED_BLOBS: &str = "SELECT original_key FROM uploads UNION ALL SELECT thumb_key FROM uploads \
     UNION ALL SELECT blob_key FROM outputs UNION ALL SELECT blob_key FROM exports WHERE blob_key IS NOT NULL";

/// A fresh database on the machine's PostgreSQL, dropped at the end.
struct Database {
    admin: String,
    name: String,
}

impl Database {
    fn create(purpose: &str) -> Self {
        let admin = std::env::var("SORAIPIXEL_TEST_POSTGRES").unwrap_or_else(|_| db::testing::DEFAULT_POSTGRES.into());
        let name = format!("fleet_{purpose}_{}", std::process::id());
        psql(&admin, &format!("DROP DATABASE IF EXISTS {name}"));
        psql(&admin, &format!("CREATE DATABASE {name}"));
        Self { admin, name }
    }

    fn url(&self) -> String {
        let (base, _) = self.admin.rsplit_once('/').unwrap();
        format!("{base}/{}", self.name)
    }

    fn query(&self, sql: &str) -> String {
        psql(&self.url(), sql)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([&self.admin, "-qc", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .output();
    }
}

/// A backup taken while sellers work: the database first, then the bucket. Blobs are
/// written before the rows that name them, so every row in the dump finds its blob in the
/// later copy of the bucket.
struct Backup {
    dump: PathBuf,
    bucket: S3Server,
    objects: usize,
    took: Duration,
}

async fn back_up(db: &Database, s3: &S3Server, dir: &Path) -> Backup {
    let started = Instant::now();
    let dump = dir.join("fleet.dump");
    run("pg_dump", Command::new("pg_dump").args(["--format=custom", "--file"]).arg(&dump).arg(db.url()));
    let bucket = S3Server::start().unwrap();
    let from = storage::Blobs::s3(&s3.bucket(SECRET_KEY)).unwrap();
    let objects = from.copy_objects(&storage::Blobs::s3(&bucket.bucket(SECRET_KEY)).unwrap(), "users").await.unwrap();
    Backup { dump, bucket, objects, took: started.elapsed() }
}

/// Restores `backup` into a fresh database and runs `admin verify-blobs` against it and the
/// backed-up bucket with the fleet's master key: its verdict line, and whether it passed.
fn restore(fleet: &Fleet, backup: &Backup) -> (String, bool) {
    let restored = Database::create("restored");
    run(
        "pg_restore",
        Command::new("pg_restore").args(["--no-owner", "--dbname"]).arg(restored.url()).arg(&backup.dump),
    );
    // Not `run`: a failed verification is a verdict, reported with the rest.
    let verify = fleet
        .command(&["admin", "verify-blobs"])
        .env("SORAIPIXEL__DATABASE__URL", restored.url())
        .env("SORAIPIXEL__STORAGE__S3__ENDPOINT", backup.bucket.endpoint())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", fleet.bin.display()));
    let said = String::from_utf8_lossy(&verify.stdout).trim().replace('\n', "; ");
    // Every blob the restored rows name was opened: not merely "no failures" of nothing.
    let named: usize = restored.query(&format!("SELECT COUNT(*) FROM ({NAMED_BLOBS}) AS named")).parse().unwrap_or(0);
    let all_opened = named > 0 && said.contains(&format!(" {named} blobs open, 0 missing, 0 do not open"));
    (said, verify.status.success() && all_opened)
}

/// What every `soraipixel` process of the fleet shares.
struct Fleet {
    bin: PathBuf,
    dir: tempfile::TempDir,
    database: String,
    s3_endpoint: String,
}

/// A `serve` or `worker` process; `peak_mb` keeps the highest VmHWM of every run of it.
struct Proc {
    role: &'static str,
    port: u16,
    child: Option<Child>,
    peak_mb: f64,
}

impl Fleet {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env_remove("SORAIPIXEL_CONFIG")
            .env("SORAIPIXEL__DATA_DIR", self.dir.path())
            .env("SORAIPIXEL__DATABASE__URL", &self.database)
            .env("SORAIPIXEL__STORAGE__S3__BUCKET", BUCKET)
            .env("SORAIPIXEL__STORAGE__S3__REGION", "us-east-1")
            .env("SORAIPIXEL__STORAGE__S3__ENDPOINT", &self.s3_endpoint)
            .env("SORAIPIXEL__STORAGE__S3__ACCESS_KEY_ID", storage::testing::ACCESS_KEY)
            .env("SORAIPIXEL__STORAGE__S3__SECRET_ACCESS_KEY", storage::testing::SECRET_KEY)
            .env("SORAIPIXEL__STORAGE__S3__ALLOW_HTTP", "true")
            .env("SORAIPIXEL__WORKERS__IN_SERVE", "false")
            .env("SORAIPIXEL__WORKERS__CONCURRENCY", "1")
            .env("SORAIPIXEL__WORKERS__LEASE_SECS", "10")
            .env("SORAIPIXEL__TOKENS__WELCOME_GRANT", "100")
            // Every request reaches `serve` from the proxy on loopback: one network.
            .env("SORAIPIXEL__SECURITY__SIGNUPS_PER_IP_HOUR", "100000")
            .env("SORAIPIXEL__SERVER__MAX_CONNECTIONS_PER_NETWORK", "100000")
            .env("SORAIPIXEL__LOG__FILTER", "warn");
        c
    }

    fn spawn(&self, p: &mut Proc) {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{}-{}.log", p.role, p.port)))
            .expect("a log file in the fleet's folder");
        let child = self
            .command(&[p.role])
            .env("SORAIPIXEL__SERVER__LISTEN", format!("127.0.0.1:{}", p.port))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}); set SORAIPIXEL_BIN", self.bin.display()));
        p.child = Some(child);
    }

    fn start(&self, role: &'static str) -> Proc {
        let mut p = Proc { role, port: free_port(), child: None, peak_mb: 0.0 };
        self.spawn(&mut p);
        p
    }
}

impl Proc {
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Records the process's peak resident memory so far (VmHWM), in MB.
    fn sample(&mut self) {
        let Some(pid) = self.pid() else { return };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        self.peak_mb = self.peak_mb.max(kb / 1024.0);
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().unwrap().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    }

    /// Waits for the process to exit by itself; how long it took.
    fn wait_exit(&mut self) -> Duration {
        let started = Instant::now();
        self.sample();
        self.child.take().unwrap().wait().unwrap();
        started.elapsed()
    }

    fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().unwrap().is_none())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// HAProxy in front of the `serve` processes: round robin, a server that stops answering
/// `/healthz` leaves the rotation, and a refused connection is retried on the other.
fn haproxy(dir: &Path, port: u16, servers: &[&Proc]) -> Child {
    let backends: String =
        servers.iter().enumerate().map(|(i, s)| format!("  server s{i} 127.0.0.1:{} check\n", s.port)).collect();
    let config = format!(
        "global\n  maxconn 4096\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 600s\n  timeout server 600s\n  \
         retries 3\n  option redispatch\n  option http-server-close\n\
         frontend web\n  bind 127.0.0.1:{port}\n  default_backend serve\n\
         backend serve\n  balance roundrobin\n  option httpchk GET /healthz\n  \
         default-server inter 500ms fall 2 rise 2\n{backends}"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let bin = if Path::new("/usr/sbin/haproxy").exists() { "/usr/sbin/haproxy" } else { "haproxy" };
    Command::new(bin)
        .arg("-db")
        .arg("-f")
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start HAProxy ({e}); scripts/install-deps.sh proxy installs it"))
}

/// What sellers saw, over every request.
#[derive(Default)]
struct Seen {
    requests: usize,
    retried_503: usize,
    /// Answers a seller should never get: a 5xx other than 503 with `Retry-After`, or a
    /// dropped connection.
    bad: Vec<String>,
    latency_ms: Vec<(&'static str, f64)>,
}

#[derive(Clone)]
struct Client {
    base: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Seen>>,
    cookie: String,
    csrf: String,
}

impl Client {
    /// Sends `make()` until it is answered with anything but 503, waiting as `Retry-After`
    /// says; every answer is judged on the way.
    async fn send(&self, kind: &'static str, make: impl Fn() -> reqwest::RequestBuilder) -> reqwest::Response {
        for _ in 0..120 {
            let started = Instant::now();
            let mut request = make().header("sec-fetch-site", "same-origin");
            if !self.cookie.is_empty() {
                request = request.header("cookie", &self.cookie).header("x-csrf-token", &self.csrf);
            }
            let result = request.send().await;
            // Judged under the lock, waited for outside it.
            let wait = {
                let mut seen = self.seen.lock().unwrap();
                seen.requests += 1;
                match result {
                    Ok(res) if res.status() == StatusCode::SERVICE_UNAVAILABLE => {
                        let wait = res.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                        if wait.is_none() {
                            seen.bad.push(format!("{kind}: 503 without Retry-After"));
                        }
                        seen.retried_503 += 1;
                        wait.unwrap_or(1).min(5)
                    }
                    Ok(res) if res.status().is_server_error() => {
                        seen.bad.push(format!("{kind}: {}", res.status()));
                        1
                    }
                    Ok(res) => {
                        seen.latency_ms.push((kind, started.elapsed().as_secs_f64() * 1000.0));
                        return res;
                    }
                    Err(e) => {
                        seen.bad.push(format!("{kind}: {e}"));
                        1
                    }
                }
            };
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
        panic!("{kind}: no answer after 120 tries");
    }

    async fn json(&self, kind: &'static str, make: impl Fn() -> reqwest::RequestBuilder) -> Value {
        let res = self.send(kind, make).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{kind}: {status} {body}");
        body
    }

    async fn signup(base: &str, email: &str, seen: Arc<Mutex<Seen>>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(300)).build().unwrap();
        let mut me = Self { base: base.into(), http, seen, cookie: String::new(), csrf: String::new() };
        let body = json!({"email": email, "password": "kundan necklace sparkle", "name": "Asha"});
        let res = me.send("signup", || me.http.post(format!("{base}/api/v1/auth/signup")).json(&body)).await;
        assert_eq!(res.status(), 201, "signup");
        me.cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        me.csrf = res.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().into();
        me
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    async fn upload(&self, photo: &[u8]) -> String {
        let form = || {
            let part = reqwest::multipart::Part::bytes(photo.to_vec()).file_name("ring.jpg").mime_str("image/jpeg");
            reqwest::multipart::Form::new().part("file", part.unwrap())
        };
        let body = self.json("upload", || self.req(Method::POST, "/api/v1/uploads").multipart(form())).await;
        body["id"].as_str().unwrap().to_owned()
    }

    async fn create(&self, upload: &str) -> String {
        let request = json!({"upload_id": upload, "presets": PACK});
        let body = self.json("create", || self.req(Method::POST, "/api/v1/creations").json(&request)).await;
        body["id"].as_str().unwrap().to_owned()
    }

    /// Polls as the studio page does until the creation ends; its final status. A creation
    /// still unfinished after 15 minutes fails the run rather than hanging it.
    async fn follow(&self, creation: &str) -> String {
        let path = format!("/api/v1/creations/{creation}");
        for _ in 0..900 {
            let c = self.json("poll", || self.req(Method::GET, &path)).await;
            self.json("balance", || self.req(Method::GET, "/api/v1/tokens")).await;
            let page = self.send("page", || self.req(Method::GET, "/studio")).await;
            assert!(page.status().is_success(), "studio page: {}", page.status());
            page.bytes().await.unwrap();
            match c["status"].as_str().unwrap() {
                "queued" | "running" => tokio::time::sleep(Duration::from_secs(1)).await,
                done => return done.to_owned(),
            }
        }
        "still unfinished after 15 minutes".to_owned()
    }
}

fn photo(megapixels: u32) -> Vec<u8> {
    let width = ((f64::from(megapixels) * 1e6 * 4.0 / 3.0).sqrt() as u32) & !1;
    let height = width * 3 / 4;
    synth::generate(&synth::SceneSpec { jpeg_quality: 90, ..synth::SceneSpec::gold_ring(width, height, 3) }).jpeg
}

/// Images per minute through the queue with `workers` workers: one seller queues
/// 4 creations of 3 images.
async fn throughput(fleet: &Fleet, base: &str, workers: usize, photo: &[u8]) -> f64 {
    let procs: Vec<Proc> = (0..workers).map(|_| fleet.start("worker")).collect();
    let seller = Client::signup(base, &format!("throughput{workers}@example.com"), Arc::default()).await;
    let upload = seller.upload(photo).await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(seller.create(&upload).await);
    }
    for id in &ids {
        seller.follow(id).await;
    }
    drop(procs);
    12.0 / started.elapsed().as_secs_f64() * 60.0
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

/// Every blob path the rows name, and every object the S3 server holds under `users/`.
fn blobs(db: &Database, s3_root: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let named: BTreeSet<String> = db.query(NAMED_BLOBS).lines().map(str::to_owned).collect();
    let bucket = s3_root.join(BUCKET);
    let mut stored = BTreeSet::new();
    let mut folders = vec![bucket.join("users")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                stored.insert(path.strip_prefix(&bucket).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    (named, stored)
}

/// The invariants after the run; each failure as a sentence.
fn check(db: &Database, s3_root: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    let mut expect_none = |what: &str, sql: &str| {
        let rows = db.query(sql);
        if !rows.is_empty() {
            failures.push(format!("{what}: {}", rows.lines().take(5).collect::<Vec<_>>().join("; ")));
        }
    };
    expect_none("creations not ended", "SELECT id, status FROM creations WHERE status NOT IN ('succeeded', 'failed')");
    // Balance and held, replayed from the ledger, against the account; nothing held at rest.
    expect_none(
        "ledgers that do not add up",
        "SELECT a.user_id, a.balance, a.held, COALESCE(SUM(CASE e.kind WHEN 'hold' THEN -e.amount WHEN 'charge' THEN 0 ELSE e.amount END), 0), \
                COALESCE(SUM(CASE e.kind WHEN 'hold' THEN e.amount WHEN 'charge' THEN -e.amount WHEN 'release' THEN -e.amount ELSE 0 END), 0) \
         FROM token_accounts a LEFT JOIN ledger_entries e ON e.user_id = a.user_id GROUP BY a.user_id, a.balance, a.held \
         HAVING a.held <> 0 OR a.balance <> COALESCE(SUM(CASE e.kind WHEN 'hold' THEN -e.amount WHEN 'charge' THEN 0 ELSE e.amount END), 0) \
             OR COALESCE(SUM(CASE e.kind WHEN 'hold' THEN e.amount WHEN 'charge' THEN -e.amount WHEN 'release' THEN -e.amount ELSE 0 END), 0) <> 0",
    );
    // Each creation: held once, charged once per output, the rest returned.
    expect_none(
        "creations charged wrongly",
        "SELECT c.id, c.status, c.tokens_held, c.tokens_charged, \
                (SELECT COUNT(*) FROM outputs o WHERE o.creation_id = c.id), \
                (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE kind = 'charge' AND reference LIKE 'creation:' || c.id || ':output:%'), \
                (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE kind = 'release' AND reference LIKE 'creation:' || c.id || '%') \
         FROM creations c WHERE \
           (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE kind = 'hold' AND reference = 'creation:' || c.id) <> c.tokens_held \
        OR (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE kind = 'charge' AND reference LIKE 'creation:' || c.id || ':output:%') <> c.tokens_charged \
        OR (SELECT COUNT(*) FROM ledger_entries WHERE kind = 'charge' AND reference LIKE 'creation:' || c.id || ':output:%') \
           <> (SELECT COUNT(*) FROM outputs o WHERE o.creation_id = c.id) \
        OR (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE kind = 'release' AND reference LIKE 'creation:' || c.id || '%') \
           <> c.tokens_held - c.tokens_charged \
        OR (c.status = 'succeeded' AND (SELECT COUNT(*) FROM outputs o WHERE o.creation_id = c.id) <> 3)",
    );
    let (named, stored) = blobs(db, s3_root);
    let missing: Vec<_> = named.difference(&stored).take(5).collect();
    let orphaned: Vec<_> = stored.difference(&named).take(5).collect();
    if !missing.is_empty() {
        failures.push(format!("blobs missing: {missing:?}"));
    }
    if !orphaned.is_empty() {
        failures.push(format!("blobs orphaned after the sweep: {orphaned:?}"));
    }
    failures
}

/// An upload sent by hand straight to a `serve` on `port`: the head and half the body,
/// then (after `halfway` is told) the rest once `go` says so. Returns the status line.
async fn upload_in_two_halves(
    port: u16,
    seller: &Client,
    photo: &[u8],
    halfway: tokio::sync::oneshot::Sender<()>,
    go: tokio::sync::oneshot::Receiver<()>,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let boundary = "fleet-drain-witness";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ring.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}\r\nX-CSRF-Token: {}\r\n\
         Sec-Fetch-Site: same-origin\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        seller.cookie,
        seller.csrf,
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    // Written is not yet accepted: give the server time to take the connection off its
    // backlog and start reading (one in the backlog at SIGTERM is refused, not drained).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = halfway.send(());
    let _ = go.await;
    let mut reply = Vec::new();
    if stream.write_all(rest).await.is_ok() {
        let _ = stream.read_to_end(&mut reply).await;
    }
    String::from_utf8_lossy(&reply).lines().next().unwrap_or("no answer").to_owned()
}

/// Waits until `url` answers 200 (a process back after a fault), up to `limit`.
async fn answers(url: &str, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if reqwest::get(url).await.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: fleet [--users N] [--faults] [--restore-drill] [--throughput] [--photo-mp N]";
    let (flags, numbers) = (["--faults", "--restore-drill", "--throughput"], ["--users", "--photo-mp"]);
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        let number = numbers.contains(&a.as_str());
        if !(flags.contains(&a.as_str()) || number)
            || number && rest.next().and_then(|n| n.parse::<u32>().ok()).is_none_or(|n| n == 0)
        {
            eprintln!("{usage}\n(not understood: {a}; numbers must be whole and above 0)");
            std::process::exit(2);
        }
    }
    let flag = |name: &str| args.iter().any(|a| a == name);
    let arg = |name: &str, default: u32| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(default)
    };
    let (users, faults, megapixels) = (arg("--users", 200) as usize, flag("--faults"), arg("--photo-mp", 12));
    let drill = flag("--restore-drill");
    // Beside this example's folder (target/<profile>/examples) unless SORAIPIXEL_BIN says.
    let bin = std::env::var("SORAIPIXEL_BIN").map(PathBuf::from).unwrap_or_else(|_| {
        let exe = std::env::current_exe().expect("this program's own path");
        exe.ancestors().nth(2).expect("target/<profile>/examples").join("soraipixel")
    });
    let run_started = Instant::now();

    let database = Database::create("run");
    let mut s3 = S3Server::start().expect("s3s-fs (scripts/install-deps.sh s3)");
    let fleet = Fleet {
        bin,
        dir: tempfile::tempdir().unwrap(),
        database: database.url(),
        s3_endpoint: s3.endpoint().to_owned(),
    };
    // Migrations and the master key first, so that no two processes race to make them.
    run("soraipixel migrate", &mut fleet.command(&["migrate"]));
    let mut serves = [fleet.start("serve"), fleet.start("serve")];
    let proxy_port = free_port();
    let mut proxy = haproxy(fleet.dir.path(), proxy_port, &[&serves[0], &serves[1]]);
    let base = format!("http://127.0.0.1:{proxy_port}");
    assert!(answers(&format!("{base}/readyz"), Duration::from_secs(30)).await, "the fleet did not become ready");
    let photo = photo(megapixels);
    println!(
        "fleet: PostgreSQL, s3s-fs, HAProxy, 2 serve, 3 worker; {users} sellers, {:.1} MB {megapixels} MP photos{}",
        photo.len() as f64 / 1_048_576.0,
        if faults { ", with faults" } else { "" }
    );

    if flag("--throughput") {
        let mut rates = Vec::new();
        for workers in 1..=3 {
            rates.push(throughput(&fleet, &base, workers, &photo).await);
        }
        println!(
            "throughput (4 creations × 3 images): 1 worker {:.1} img/min, 2 workers {:.1} (×{:.2}), 3 workers {:.1} (×{:.2})",
            rates[0],
            rates[1],
            rates[1] / rates[0],
            rates[2],
            rates[2] / rates[0]
        );
    }

    let mut workers = [fleet.start("worker"), fleet.start("worker"), fleet.start("worker")];
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let accepted = Arc::new(AtomicUsize::new(0));
    let load_started = Instant::now();
    let spacing = if faults { FAULT_WINDOW / u32::try_from(users.max(1)).unwrap() } else { Duration::ZERO };
    let sellers: Vec<_> = (0..users)
        .map(|i| {
            let (base, seen, accepted, photo) = (base.clone(), seen.clone(), accepted.clone(), photo.clone());
            tokio::spawn(async move {
                tokio::time::sleep(spacing * u32::try_from(i).unwrap()).await;
                let seller = Client::signup(&base, &format!("fleet{i}@example.com"), seen).await;
                let upload = seller.upload(&photo).await;
                let creation = seller.create(&upload).await;
                accepted.fetch_add(1, Ordering::Relaxed);
                seller.follow(&creation).await
            })
        })
        .collect();

    let mut notes = Vec::new();
    let mut failures = Vec::new();
    if faults {
        let after =
            |secs| tokio::time::sleep_until(tokio::time::Instant::from_std(load_started + Duration::from_secs(secs)));
        after(10).await;
        workers[0].sample();
        workers[0].signal("-KILL");
        workers[0].child.take().unwrap().wait().unwrap();
        notes.push(format!("{:>4.0} s  worker SIGKILLed", load_started.elapsed().as_secs_f64()));
        tokio::time::sleep(Duration::from_secs(5)).await;
        fleet.spawn(&mut workers[0]);
        notes.push(format!("{:>4.0} s  worker started again by its supervisor", load_started.elapsed().as_secs_f64()));

        after(20).await;
        // A witness upload straight to this serve, half its body sent when the signal comes:
        // draining means it still gets its answer.
        let direct = format!("http://127.0.0.1:{}", serves[0].port);
        let witness = Client::signup(&direct, "drain@example.com", Arc::default()).await;
        let (halfway, go) = (tokio::sync::oneshot::channel(), tokio::sync::oneshot::channel());
        let (port, witness_photo) = (serves[0].port, photo.clone());
        let upload =
            tokio::spawn(async move { upload_in_two_halves(port, &witness, &witness_photo, halfway.0, go.1).await });
        halfway.1.await.unwrap();
        serves[0].signal("-TERM");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = go.0.send(());
        let answer = upload.await.unwrap();
        let drained = serves[0].wait_exit();
        if !answer.contains(" 201 ") {
            failures.push(format!("an upload in flight when its serve was stopped got {answer:?}"));
        }
        notes.push(format!(
            "{:>4.0} s  serve SIGTERMed with an upload half sent: the upload got \"{answer}\" and the serve exited {:.1} s after",
            load_started.elapsed().as_secs_f64(),
            drained.as_secs_f64()
        ));
        fleet.spawn(&mut serves[0]);
        let back = answers(&format!("http://127.0.0.1:{}/healthz", serves[0].port), Duration::from_secs(30)).await;
        notes.push(format!("{:>4.0} s  serve started again (answers: {back})", load_started.elapsed().as_secs_f64()));

        after(35).await;
        let cluster = std::fs::read_dir("/etc/postgresql")
            .ok()
            .and_then(|mut d| d.find_map(Result::ok))
            .expect("a PostgreSQL cluster under /etc/postgresql (Debian's layout) to restart")
            .file_name();
        let cluster = cluster.to_string_lossy();
        run(
            "pg_ctlcluster restart",
            Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", &cluster, "main", "restart"]),
        );
        notes.push(format!("{:>4.0} s  PostgreSQL {cluster} restarted", load_started.elapsed().as_secs_f64()));

        after(50).await;
        s3.stop();
        notes.push(format!("{:>4.0} s  S3 server stopped", load_started.elapsed().as_secs_f64()));
        tokio::time::sleep(Duration::from_secs(20)).await;
        s3.resume();
        notes.push(format!("{:>4.0} s  S3 server started again", load_started.elapsed().as_secs_f64()));
    }
    let backup = if drill {
        tokio::time::sleep_until(tokio::time::Instant::from_std(
            load_started + Duration::from_secs(if faults { 72 } else { 10 }),
        ))
        .await;
        let at = load_started.elapsed().as_secs_f64();
        let backup = back_up(&database, &s3, fleet.dir.path()).await;
        notes.push(format!(
            "{at:>4.0} s  backup: pg_dump, then {} objects copied to another bucket, in {:.1} s",
            backup.objects,
            backup.took.as_secs_f64()
        ));
        Some(backup)
    } else {
        None
    };

    let mut statuses = Vec::new();
    for seller in sellers {
        while !seller.is_finished() {
            for p in serves.iter_mut().chain(workers.iter_mut()) {
                p.sample();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        statuses.push(seller.await.unwrap());
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    for p in serves.iter_mut().chain(workers.iter_mut()) {
        p.sample();
        if !p.alive() {
            failures.push(format!("a {} process is not running at the end", p.role));
        }
    }
    for s in &serves {
        if !answers(&format!("http://127.0.0.1:{}/readyz", s.port), Duration::from_secs(30)).await {
            failures.push(format!("serve on {} is not ready after the faults", s.port));
        }
    }

    let sweep = run("soraipixel admin sweep", &mut fleet.command(&["admin", "sweep", "--grace-secs", "0"]));
    failures.extend(check(&database, s3.root()));
    let covered = database.query(
        "SELECT (SELECT COUNT(*) FROM token_accounts) || ' ledgers, ' || (SELECT COUNT(*) FROM ledger_entries) || ' entries, ' \
         || (SELECT COUNT(*) FROM creations) || ' creations'",
    );
    let (named, _) = blobs(&database, s3.root());
    let restored = backup.as_ref().map(|b| restore(&fleet, b));
    if let Some((said, false)) = &restored {
        failures.push(format!("the restored backup does not open: {said}"));
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    failures.extend(seen.bad.iter().take(10).map(|b| format!("a seller got {b}")));

    let succeeded = statuses.iter().filter(|s| *s == "succeeded").count();
    // One creation per seller (a retried POST must not make a second one), and faults may
    // cost a creation now and then, not the run.
    let stored: usize = database
        .query("SELECT COUNT(*) FROM creations c JOIN users u ON u.id = c.user_id WHERE u.email LIKE 'fleet%'")
        .parse()
        .unwrap();
    if stored != users || accepted.load(Ordering::Relaxed) != users {
        failures
            .push(format!("{users} sellers, {} creations accepted, {stored} stored", accepted.load(Ordering::Relaxed)));
    }
    if succeeded * 10 < users * 9 {
        failures.push(format!("only {succeeded} of {users} creations succeeded"));
    }
    let images: usize = database
        .query("SELECT COUNT(*) FROM outputs o JOIN users u ON u.id = o.user_id WHERE u.email LIKE 'fleet%'")
        .parse()
        .unwrap();
    println!(
        "load: {users} sellers, {} creations accepted, {succeeded} succeeded, {} failed and refunded; {images} images in {load_secs:.0} s ({:.0} img/min)",
        accepted.load(Ordering::Relaxed),
        statuses.len() - succeeded,
        images as f64 / load_secs * 60.0
    );
    for note in &notes {
        println!("  {note}");
    }
    println!(
        "  checked {covered}, {} blobs; the sweep said: {}",
        named.len(),
        String::from_utf8_lossy(&sweep.stdout).trim()
    );
    if let Some((said, _)) = &restored {
        println!("  restore drill: the backup restored into a fresh database and bucket; verify-blobs: {said}");
    }
    println!("  requests {}, answered 503 with Retry-After and retried {}", seen.requests, seen.retried_503);
    for kind in ["signup", "upload", "create", "poll", "balance", "page"] {
        let v: Vec<f64> = seen.latency_ms.iter().filter(|(k, _)| *k == kind).map(|(_, ms)| *ms).collect();
        let n = v.len();
        println!(
            "  {kind:<8} n={n:<6} p50 {:>8.1} ms  p99 {:>8.1} ms",
            percentile(v.clone(), 0.5),
            percentile(v, 0.99)
        );
    }
    let peak =
        |role: &str, procs: &[Proc]| procs.iter().filter(|p| p.role == role).map(|p| p.peak_mb).fold(0.0, f64::max);
    println!(
        "  peak RSS: serve {:.0} MB, worker {:.0} MB (1 image in flight each)",
        peak("serve", &serves),
        peak("worker", &workers)
    );
    let _ = proxy.kill();
    let _ = proxy.wait();
    drop((serves, workers, s3, database, backup));
    println!("fleet run took {:.0} s", run_started.elapsed().as_secs_f64());
    if failures.is_empty() {
        println!("every invariant holds");
    } else {
        for f in &failures {
            println!("FAILED: {f}");
        }
        println!("process logs kept in {}", fleet.dir.keep().display());
        std::process::exit(1);
    }
}

//! Spawns the app against a test database, an outbox folder and a fake MSG91.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use db::Db;
use settings::Settings;

pub struct TestApp {
    pub base: String,
    pub data_dir: PathBuf,
    pub outbox: PathBuf,
    pub sms: Arc<Mutex<Vec<(String, String)>>>,
    pub http: reqwest::Client,
    /// The same use cases the server runs, for what no endpoint exposes (the sweeper).
    pub app: app::App,
    /// The FAKE Razorpay this app takes payments through; its webhooks are delivered by
    /// the tests themselves (to replay, reorder and race them).
    pub razorpay: fakes::razorpay::FakeRazorpay,
    /// The FAKE Gemini/OpenAI/fal server the cloud engine calls (scriptable).
    pub ai: fakes::ai::FakeAi,
    /// The FAKE Shopify every store lives on (`shopify.base_url`).
    pub shopify: fakes::shopify::FakeShopify,
    _dir: tempfile::TempDir,
}

/// A signed-in browser: its session cookie and CSRF token.
#[derive(Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

pub async fn spawn(db: Db) -> TestApp {
    spawn_with(db, |_| {}).await
}

pub async fn spawn_with(db: Db, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    start(db, tweak, true, None).await
}

/// A server whose cloud engine is not configured.
pub async fn spawn_without_cloud(db: Db) -> TestApp {
    start(db, |_| {}, false, None).await
}

/// A server keeping its blobs in `blobs` (an S3 bucket, another server's folder) instead
/// of its data folder.
pub async fn spawn_on(db: Db, blobs: storage::Blobs, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    start(db, tweak, true, Some(blobs)).await
}

async fn start(db: Db, tweak: impl FnOnce(&mut Settings), cloud: bool, blobs: Option<storage::Blobs>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let sms: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let msg91 = fake_msg91(sms.clone()).await;
    let mut settings = Settings { data_dir: dir.path().to_path_buf(), ..Settings::default() };
    settings.server.listen = "127.0.0.1:0".parse().unwrap();
    settings.security.otp_resend_seconds = 2;
    let shopify = fakes::shopify::FakeShopify::start().await.unwrap();
    settings.shopify.base_url = shopify.store_url_template();
    tweak(&mut settings);
    let outbox = settings.outbox_dir();
    let keys = app::keys::Keys::load(&settings).unwrap();
    let mailer = providers::mail::Mailer::outbox(&settings.mail.from, outbox.clone()).unwrap();
    let sender =
        providers::sms::SmsSender::Msg91(providers::sms::Msg91::new(&msg91, "test-key", "otp-template").unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let settings = Arc::new(settings);
    let blobs = blobs.unwrap_or_else(|| storage::Blobs::local(&settings.blobs_dir()).unwrap());
    let razorpay = fakes::razorpay::FakeRazorpay::start().await.unwrap();
    // With `billing.razorpay` set by a test, the app runs as in production (real Checkout
    // page) against the fake's address and keys.
    let gateway = if settings.billing.razorpay.is_some() {
        let client =
            providers::razorpay::Razorpay::new(&razorpay.base_url, razorpay.key_id(), razorpay.key_secret()).unwrap();
        app::billing::Gateway::live(client, razorpay.webhook_secret())
    } else {
        app::billing::Gateway::fake(
            &razorpay.base_url,
            razorpay.key_id(),
            razorpay.key_secret(),
            razorpay.webhook_secret(),
        )
        .unwrap()
    };
    let mut application =
        app::App::new(db.clone(), mailer, sender, settings.clone(), keys, blobs).with_gateway(gateway);
    let ai = fakes::ai::FakeAi::start().await.unwrap();
    if cloud {
        application =
            application.with_cloud(app::cloud::Engine::fake(&ai.base_url, ai.api_key(), &settings.cloud).unwrap());
    }
    if let Some(path) = &settings.billing.geoip_database {
        application = application.with_geoip(app::billing::Geoip::open(path).unwrap());
    }
    let worker = jobs::Runner::new(db.clone(), app::job_handlers(&application), 2)
        .with_timing(Duration::from_secs(5), Duration::from_millis(50));
    tokio::spawn(worker.run());
    tokio::spawn(web::serve(web::AppState::new(application.clone()), Some(tx)));
    let addr: SocketAddr = rx.await.unwrap();
    // Set public_url after binding would be circular; links use the default origin, and
    // tests only read the token out of them.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp {
        base: format!("http://{addr}"),
        data_dir: dir.path().to_path_buf(),
        outbox,
        sms,
        http,
        app: application,
        razorpay,
        ai,
        shopify,
        _dir: dir,
    }
}

/// A fake MSG91 Flow API: records (mobile, otp) for the right key.
async fn fake_msg91(seen: Arc<Mutex<Vec<(String, String)>>>) -> String {
    let app = axum::Router::new().route(
        "/api/v5/flow",
        post(move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
            let seen = seen.clone();
            async move {
                if headers.get("authkey").and_then(|v| v.to_str().ok()) != Some("test-key") {
                    return (
                        axum::http::StatusCode::UNAUTHORIZED,
                        Json(serde_json::json!({"type": "error", "message": "Authentication failure"})),
                    );
                }
                let r = &body["recipients"][0];
                seen.lock().unwrap().push((
                    r["mobiles"].as_str().unwrap_or_default().to_owned(),
                    r["otp"].as_str().unwrap_or_default().to_owned(),
                ));
                (axum::http::StatusCode::OK, Json(serde_json::json!({"type": "success", "message": "ok"})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A JSON request as our own page would send it.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        who: Option<&Browser>,
    ) -> (u16, HeaderMap, Value) {
        let mut req =
            self.http.request(method.parse().unwrap(), self.url(path)).header("sec-fetch-site", "same-origin");
        if let Some(b) = who {
            req = req.header("cookie", &b.cookie).header("x-csrf-token", &b.csrf);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A page as a browser in India would fetch it.
    pub async fn page(&self, path: &str, who: Option<&Browser>) -> (u16, String) {
        let mut req = self.http.get(self.url(path)).header("accept-language", "en-IN");
        if let Some(b) = who {
            req = req.header("cookie", &b.cookie);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// A page's form posted with the session's CSRF token: (status, Location, body).
    pub async fn form(&self, path: &str, who: &Browser, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut all = vec![("csrf_token", who.csrf.as_str())];
        all.extend_from_slice(fields);
        let res = self
            .http
            .post(self.url(path))
            .header("cookie", &who.cookie)
            .header("sec-fetch-site", "same-origin")
            .header("accept-language", "en-IN")
            .form(&all)
            .send()
            .await
            .unwrap();
        let location = header(res.headers(), "location").to_owned();
        (res.status().as_u16(), location, res.text().await.unwrap())
    }

    pub async fn signup(&self, email: &str) -> Browser {
        let (status, headers, body) = self
            .call(
                "POST",
                "/api/v1/auth/signup",
                Some(serde_json::json!({"email": email, "password": "kundan necklace sparkle", "name": "Asha Mehta"})),
                None,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        browser(&headers, &body)
    }

    pub async fn login(&self, email: &str, password: &str) -> (u16, Option<Browser>, Value) {
        let (status, headers, body) = self
            .call("POST", "/api/v1/auth/login", Some(serde_json::json!({"email": email, "password": password})), None)
            .await;
        let b = (status == 200).then(|| browser(&headers, &body));
        (status, b, body)
    }

    /// Every email delivered (to the dev outbox folder) so far, oldest first, once the
    /// queued ones have gone out.
    pub async fn mails(&self) -> Vec<String> {
        for _ in 0..200 {
            if self.app.db.outbox_len().await.unwrap() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let Ok(dir) = std::fs::read_dir(&self.outbox) else {
            return vec![];
        };
        let mut files: Vec<_> = dir.map(|e| e.unwrap().path()).collect();
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    /// The token from the newest mailed link to `path` addressed to `to`.
    pub async fn mailed_token(&self, to: &str, path: &str) -> Option<String> {
        self.mails().await.iter().rev().filter(|m| m.contains(&format!("To: {to}"))).find_map(|m| link_token(m, path))
    }
}

/// The token of the first link to `path` in a mail.
pub fn link_token(mail: &str, path: &str) -> Option<String> {
    let start = mail.find(&format!("{path}?token="))? + path.len() + 7;
    Some(mail[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
}

pub fn browser(headers: &HeaderMap, body: &Value) -> Browser {
    let set_cookie = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("__Host-sp_session="))
        .expect("session cookie");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Browser { cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(HeaderValue::to_str).and_then(Result::ok).unwrap_or_default()
}

//! A seller driving a running `soraipixel serve` over HTTP, as the pages do: the session
//! cookie, the CSRF token and a same-origin fetch. Shared by the scale-out test and the
//! load tool (`examples/load.rs`).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

pub struct Seller {
    pub base: String,
    pub http: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Seller {
    /// Waits for the server to be ready, then signs a new seller up.
    pub async fn signup(base: &str, email: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(600)).build().unwrap();
        for _ in 0..300 {
            if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let res = http
            .post(format!("{base}/api/v1/auth/signup"))
            .header("sec-fetch-site", "same-origin")
            .json(&json!({"email": email, "password": "kundan necklace sparkle", "name": "Asha"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        Self { base: base.into(), http, cookie, csrf: body["csrf_token"].as_str().unwrap().into() }
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header("sec-fetch-site", "same-origin")
    }

    pub async fn json(&self, req: reqwest::RequestBuilder) -> Value {
        req.send().await.unwrap().json().await.unwrap()
    }

    pub async fn upload(&self, photo: Vec<u8>) -> String {
        let part = reqwest::multipart::Part::bytes(photo).file_name("ring.jpg").mime_str("image/jpeg").unwrap();
        let form = reqwest::multipart::Form::new().part("file", part);
        let body = self.json(self.req(Method::POST, "/api/v1/uploads").multipart(form)).await;
        body["id"].as_str().unwrap_or_else(|| panic!("upload refused: {body}")).to_owned()
    }

    pub async fn create(&self, upload: &str, presets: &[&str]) -> String {
        let request = json!({"upload_id": upload, "presets": presets});
        let body = self.json(self.req(Method::POST, "/api/v1/creations").json(&request)).await;
        body["id"].as_str().unwrap_or_else(|| panic!("creation refused: {body}")).to_owned()
    }
}

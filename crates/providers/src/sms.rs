//! SMS delivery of one-time codes: MSG91's Flow API in production, the log in dev mode.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS provider unreachable: {0}")]
    Transport(String),
    #[error("SMS provider refused the message: {0}")]
    Rejected(String),
}

/// Sends one-time codes to phones.
#[derive(Clone)]
pub enum SmsSender {
    /// Dev mode: the code is written to the log. Never configure this in production.
    DevLog,
    Msg91(Msg91),
}

impl SmsSender {
    /// `phone` is E.164 (`+91…`).
    pub async fn send_code(&self, phone: &str, code: &str) -> Result<(), SmsError> {
        match self {
            SmsSender::DevLog => {
                tracing::warn!(target: "dev_sms", phone, code, "DEV MODE SMS (not sent): your SoraiPixel code");
                Ok(())
            }
            SmsSender::Msg91(client) => client.send_code(phone, code).await,
        }
    }

    pub fn is_dev(&self) -> bool {
        matches!(self, SmsSender::DevLog)
    }
}

/// A client of MSG91's Flow API (`POST /api/v5/flow` with an `authkey` header). The code is
/// generated and checked by us; MSG91 only delivers it through a DLT-registered template
/// whose `##otp##` variable it fills.
#[derive(Clone)]
pub struct Msg91 {
    http: reqwest::Client,
    base_url: String,
    auth_key: String,
    template_id: String,
}

#[derive(Deserialize)]
struct Msg91Reply {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

impl Msg91 {
    pub fn new(base_url: &str, auth_key: &str, template_id: &str) -> Result<Self, SmsError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SmsError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth_key: auth_key.to_owned(),
            template_id: template_id.to_owned(),
        })
    }

    /// Not retried: a repeated send could deliver two codes, and the user can ask again.
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), SmsError> {
        let body = serde_json::json!({
            "template_id": self.template_id,
            "short_url": "0",
            "recipients": [{ "mobiles": phone.trim_start_matches('+'), "otp": code }],
        });
        let request = self
            .http
            .post(format!("{}/api/v5/flow", self.base_url))
            .header("authkey", &self.auth_key)
            .header("accept", "application/json")
            .json(&body);
        let response =
            crate::send("msg91", request).await.map_err(|e| SmsError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let reply: Msg91Reply = response
            .json()
            .await
            .map_err(|e| SmsError::Transport(format!("HTTP {status}: unreadable reply: {}", e.without_url())))?;
        if status.is_success() && reply.kind == "success" {
            Ok(())
        } else {
            Err(SmsError::Rejected(format!("HTTP {status}: {}", reply.message)))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Json;
    use axum::http::HeaderMap;
    use axum::routing::post;

    use super::*;

    type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

    /// A fake MSG91 that accepts one auth key and records what it was sent.
    async fn fake_msg91(seen: Seen) -> String {
        let app = axum::Router::new().route(
            "/api/v5/flow",
            post(move |headers: HeaderMap, Json(body): Json<serde_json::Value>| {
                let seen = seen.clone();
                async move {
                    let key = headers.get("authkey").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    let ok = key == "good-key";
                    seen.lock().unwrap().push((key, body));
                    let reply = if ok {
                        serde_json::json!({"type": "success", "message": "3763646c3058313530393032"})
                    } else {
                        serde_json::json!({"type": "error", "message": "Authentication failure"})
                    };
                    (if ok { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNAUTHORIZED }, Json(reply))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn msg91_flow_request_and_errors() {
        let seen: Seen = Arc::default();
        let url = fake_msg91(seen.clone()).await;
        let good = SmsSender::Msg91(Msg91::new(&url, "good-key", "tmpl-1").unwrap());
        good.send_code("+919876543210", "042137").await.unwrap();
        let (key, body) = seen.lock().unwrap()[0].clone();
        assert_eq!(key, "good-key");
        assert_eq!(body["template_id"], "tmpl-1");
        assert_eq!(body["recipients"][0]["mobiles"], "919876543210");
        assert_eq!(body["recipients"][0]["otp"], "042137");

        let bad = SmsSender::Msg91(Msg91::new(&url, "wrong", "tmpl-1").unwrap());
        let err = bad.send_code("+919876543210", "1").await.unwrap_err();
        assert!(matches!(err, SmsError::Rejected(ref m) if m.contains("Authentication failure")), "{err}");

        let down = SmsSender::Msg91(Msg91::new("http://127.0.0.1:9", "k", "t").unwrap());
        assert!(matches!(down.send_code("+919876543210", "1").await, Err(SmsError::Transport(_))));
    }
}

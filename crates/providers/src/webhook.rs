//! Sends one webhook delivery to an address a seller chose, so it guards against being
//! pointed inward: the host is resolved at send time and every address it resolves to must
//! be public (with `allow_private`, a development setup, this machine and its network too,
//! never link-local metadata addresses); the connection goes to exactly
//! the addresses checked (no second lookup to rebind); redirects are not followed; connect
//! and total time are bounded; only the first bytes of the answer are read.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use domain::webhook::allowed;

/// How much of a receiver's answer is kept for the delivery log.
pub const EXCERPT_BYTES: usize = 1024;

#[derive(Debug, Clone)]
pub struct Sender {
    pub allow_private: bool,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

/// One attempt's headers and body (Standard Webhooks).
pub struct Message<'a> {
    pub url: &'a str,
    pub id: &'a str,
    pub timestamp: i64,
    pub signature: &'a str,
    pub body: &'a [u8],
}

/// What the receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub latency_ms: i64,
    /// The first `EXCERPT_BYTES` of the body, as text.
    pub excerpt: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The address is not allowed (private, loopback, metadata): nothing was sent.
    #[error("{0}")]
    Refused(String),
    /// No answer: DNS, connection, TLS or time-out.
    #[error("{0}")]
    Failed(String),
}

impl Sender {
    pub async fn send(&self, m: &Message<'_>) -> Result<Answer, SendError> {
        let url = reqwest::Url::parse(m.url).map_err(|_| SendError::Refused("not a valid address".into()))?;
        let port = url.port_or_known_default().ok_or_else(|| SendError::Refused("no port".into()))?;
        let (domain, addrs) = match url.host() {
            Some(url::Host::Ipv4(ip)) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
            Some(url::Host::Ipv6(ip)) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
            Some(url::Host::Domain(d)) => {
                let found = tokio::time::timeout(self.connect_timeout, tokio::net::lookup_host((d, port)))
                    .await
                    .map_err(|_| SendError::Failed(format!("looking up {d} timed out")))?
                    .map_err(|_| SendError::Failed(format!("{d} could not be found")))?;
                (Some(d.to_owned()), found.collect::<Vec<_>>())
            }
            None => return Err(SendError::Refused("no host".into())),
        };
        if addrs.is_empty() {
            return Err(SendError::Failed("the host has no address".into()));
        }
        // Every address, not just one: a name that also resolves inward is refused.
        if addrs.iter().any(|a| !allowed(a.ip(), self.allow_private)) {
            return Err(SendError::Refused("the address is inside a private network".into()));
        }
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent("SoraiPixel-Webhooks/1");
        if let Some(d) = &domain {
            client = client.resolve_to_addrs(d, &addrs);
        }
        let client = client.build().map_err(|e| SendError::Failed(e.to_string()))?;
        let started = Instant::now();
        let request = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", m.id)
            .header("webhook-timestamp", m.timestamp.to_string())
            .header("webhook-signature", m.signature)
            .body(m.body.to_vec());
        let mut response = crate::send("webhook", request).await.map_err(|e| SendError::Failed(describe(&e)))?;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        // A slow or endless body must not hold the worker: stop at the cap or the deadline.
        while kept.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - kept.len())]),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Answer { status, latency_ms, excerpt: String::from_utf8_lossy(&kept).into_owned() })
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}

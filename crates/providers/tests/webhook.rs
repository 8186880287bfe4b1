//! The webhook sender pointed inward: a name that resolves to loopback is refused at send
//! time (whatever it looked like when registered), and a redirect is never followed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use providers::webhook::{Message, SendError, Sender};

/// A loopback server answering every request with `status` (and `location`); counts calls.
async fn server(status: u16, location: Option<String>) -> (u16, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let (counted, location) = (counted.clone(), location.clone());
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut r = axum::http::Response::builder().status(status);
            if let Some(l) = location {
                r = r.header("location", l);
            }
            r.body(axum::body::Body::from("x".repeat(5000))).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, calls)
}

fn sender(allow_private: bool) -> Sender {
    Sender { allow_private, connect_timeout: Duration::from_secs(2), timeout: Duration::from_secs(5) }
}

fn message(url: &str) -> Message<'_> {
    Message { url, id: "msg_1", timestamp: 1, signature: "v1,x", body: b"{}" }
}

#[tokio::test]
async fn names_and_addresses_that_lead_inward_are_refused_at_send_time() {
    let (port, calls) = server(204, None).await;
    for url in [
        format!("http://localhost:{port}/hooks"),
        format!("http://127.0.0.1:{port}/hooks"),
        format!("http://[::ffff:127.0.0.1]:{port}/hooks"),
        "http://10.0.0.1/hooks".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let refused = sender(false).send(&message(&url)).await;
        assert!(matches!(refused, Err(SendError::Refused(_))), "{url}: {refused:?}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing reached the loopback server");
    // A development setup reaches the receiver on this machine, never the metadata service.
    let metadata = sender(true).send(&message("http://169.254.169.254/latest/meta-data/")).await;
    assert!(matches!(metadata, Err(SendError::Refused(_))), "{metadata:?}");
    let answer = sender(true).send(&message(&format!("http://localhost:{port}/hooks"))).await.unwrap();
    assert_eq!((answer.status, calls.load(Ordering::SeqCst)), (204, 1));
}

#[tokio::test]
async fn redirects_are_not_followed_and_answers_are_capped() {
    let (inner, inner_calls) = server(204, None).await;
    let (outer, _) = server(302, Some(format!("http://127.0.0.1:{inner}/admin"))).await;
    let answer = sender(true).send(&message(&format!("http://127.0.0.1:{outer}/hooks"))).await.unwrap();
    assert_eq!(answer.status, 302, "the redirect is the answer");
    assert_eq!(inner_calls.load(Ordering::SeqCst), 0, "its target never called");
    assert_eq!(answer.excerpt.len(), providers::webhook::EXCERPT_BYTES);
}

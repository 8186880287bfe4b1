//! The request deadline counts from the last byte of the request body, not the first: a
//! photo on a slow mobile link may take minutes to arrive and still gets the whole
//! `request_timeout_secs` once it has, while a body that stalls for that long is cut off.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::time::Instant;

use crate::error::ApiError;

/// When the body last moved, in milliseconds after `start`.
struct Progress {
    start: Instant,
    last_ms: AtomicU64,
}

impl Progress {
    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }
}

pub async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let progress = Arc::new(Progress { start: Instant::now(), last_ms: AtomicU64::new(0) });
    let tracked = progress.clone();
    let req = req.map(|inner| Body::new(Tracked { inner, progress: tracked }));
    let work = next.run(req);
    tokio::pin!(work);
    loop {
        let last = progress.last();
        tokio::select! {
            response = &mut work => return response,
            () = tokio::time::sleep_until(last + limit) => {
                if progress.last() == last {
                    return ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        "This took too long. Please try again.",
                    )
                    .into_response();
                }
            }
        }
    }
}

/// A request body that records each chunk's arrival.
struct Tracked {
    inner: Body,
    progress: Arc<Progress>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            self.progress.touch();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

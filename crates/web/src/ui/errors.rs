//! Error pages for people: a browser that opens a page and meets an error (an unknown
//! address, a deleted creation, a dead share link, a refused form) gets a page in words with
//! the site around it, never a JSON body or an empty one. API clients get what they asked
//! for.

use app::sessions::Principal;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{Layout, MessagePage, render};
use crate::AppState;

/// The largest error body read for its message (errors are small JSON documents).
const MAX_ERROR_BODY: usize = 16 * 1024;

pub async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let navigates = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let path = req.uri().path();
    let machine = ["/api/", "/webhooks/", "/healthz", "/readyz", "/metrics"];
    if !navigates || machine.iter().any(|m| path.starts_with(m)) {
        return next.run(req).await;
    }
    let principal = req.extensions().get::<Principal>().cloned();
    let res = next.run(req).await;
    let status = res.status();
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_html {
        return res;
    }
    let kept: Vec<_> = [header::RETRY_AFTER, header::ALLOW]
        .into_iter()
        .filter_map(|name| res.headers().get(&name).cloned().map(|v| (name, v)))
        .collect();
    let said = match to_bytes(res.into_body(), MAX_ERROR_BODY).await {
        Ok(body) => serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned)),
        Err(_) => None,
    };
    let (heading, fallback) = words(status);
    // A refused form's reason is for the seller ("Choose at least one photo."); the rest
    // are said in our own words.
    let specific = matches!(status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY);
    let body = said.filter(|_| specific).map(|m| app::capitalise(&m)).unwrap_or_else(|| fallback.to_owned());
    let (link, link_text) = match &principal {
        Some(_) => ("/studio", "Back to the studio"),
        None => ("/", "Go to the home page"),
    };
    let page = MessagePage {
        layout: Layout::new(&state, principal.as_ref(), heading),
        heading: heading.to_owned(),
        body,
        link: link.into(),
        link_text: link_text.into(),
    };
    let mut out = render(page, None);
    *out.status_mut() = status;
    for (name, value) in kept {
        out.headers_mut().insert(name, value);
    }
    out
}

/// A heading and a plain explanation for each kind of failure.
fn words(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND | StatusCode::GONE => (
            "This page is not here",
            "It may have been deleted, or the link is not quite right. If someone shared it with you, ask them for a new link.",
        ),
        StatusCode::UNAUTHORIZED => ("Please sign in", "Sign in to open this page."),
        StatusCode::FORBIDDEN => (
            "This page is not yours to open",
            "It belongs to another account, or the form was open too long. Go back, reload the page and try again.",
        ),
        StatusCode::TOO_MANY_REQUESTS => ("Please wait a moment", "There were too many tries in a short time."),
        StatusCode::REQUEST_TIMEOUT => (
            "That took too long",
            "The connection stalled before everything arrived. Nothing was lost; please try again.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("That file is too large", "Please choose a smaller photo."),
        s if s.is_server_error() => (
            "Something went wrong on our side",
            "Nothing you did caused this, and nothing was lost. Please try again in a minute.",
        ),
        _ => ("We could not do that", "Please go back and try again."),
    }
}

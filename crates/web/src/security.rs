//! Browser protections: security headers on every response, and CSRF checks on every
//! state-changing request that a browser could send with our cookie.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::sessions::Principal;

use crate::AppState;
use crate::error::ApiError;

pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    // A page may widen these for itself (Razorpay Checkout's page does); the rest get ours.
    let default = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        if !h.contains_key(k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    };
    default(h, "content-security-policy", CSP);
    default(h, "permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()");
    default(h, "cross-origin-opener-policy", "same-origin");
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    if state.tls() {
        set(h, "strict-transport-security", "max-age=63072000; includeSubDomains");
    }
    if !h.contains_key(CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    response
}

/// Unsafe methods from a browser must come from our own pages: `Sec-Fetch-Site` (or, for
/// older browsers, `Origin`) must say same-origin. Requests authenticated by the session
/// cookie must also carry the session's CSRF token in a header or form field. API-key
/// requests carry no ambient credentials and are exempt from the token.
pub async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, Response> {
    // One-click unsubscribe (RFC 8058) comes from mail providers' servers: the signed link
    // is its only credential and it changes nothing else.
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || req.uri().path().starts_with("/unsubscribe/")
    {
        return Ok(next.run(req).await);
    }
    let refuse = |msg: &str| ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", msg).into_response();
    let headers = req.headers();
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = site {
        if !matches!(site, "same-origin" | "none") {
            return Err(refuse("Cross-site request refused."));
        }
    } else if let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin_host != host {
            return Err(refuse("Cross-origin request refused."));
        }
    }
    let Some(session) = req.extensions().get::<Principal>().and_then(|p| p.session.clone()) else {
        return Ok(next.run(req).await);
    };
    if let Some(token) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        if state.app.csrf_valid(&session, token) {
            return Ok(next.run(req).await);
        }
        return Err(refuse("The form has expired. Reload the page and try again."));
    }
    // Plain HTML multipart forms (photo uploads) cannot set headers: they carry the token
    // in the action URL's query string (never logged: traces record the path only).
    let in_query = req
        .uri()
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned()));
    if let Some(token) = in_query {
        if state.app.csrf_valid(&session, &token) {
            return Ok(next.run(req).await);
        }
        return Err(refuse("The form has expired. Reload the page and try again."));
    }
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refuse("Missing CSRF token."));
    }
    // Read the form to find the token, then hand the same bytes on to the handler.
    let (parts, body) = req.into_parts();
    let limit = state.app.settings.server.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.")
            .into_response()
    })?;
    let token = form_urlencoded::parse(&bytes).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned());
    match token {
        Some(t) if state.app.csrf_valid(&session, &t) => {
            Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await)
        }
        _ => Err(refuse("The form has expired. Reload the page and try again.")),
    }
}

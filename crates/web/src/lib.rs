//! The HTTP face of SoraiPixel: the JSON API under `/api/v1`, server-rendered pages, and
//! the middleware that guards both (sessions, CSRF, security headers, limits, metrics).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

mod api;
mod assets;
mod auth;
mod connections;
mod cookies;
mod deadline;
mod error;
mod extract;
mod key_access;
mod multipart;
mod observe;
mod security;
mod serve;
mod ui;

pub use serve::{serve, serve_metrics, stop_requested};

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub app: app::App,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl AppState {
    pub fn new(app: app::App) -> Self {
        Self { app, metrics: observe::metrics_handle() }
    }

    fn tls(&self) -> bool {
        self.app.settings.tls_enabled()
    }
}

/// The whole site. Layers run outside-in: request id → trace → error pages for what the
/// next two answer → panic guard → deadline (from the body's last byte) → body limit →
/// security headers → metrics → remove.bg's error shape (its route only) → principal →
/// error pages for browsers (with the seller's own header) → CSRF → route.
pub fn router(state: AppState) -> Router {
    let settings = state.app.settings.clone();
    Router::new()
        .merge(api::routes(settings.uploads.max_bytes))
        .merge(ui::routes(settings.uploads.max_bytes))
        .merge(assets::routes())
        .merge(observe::routes())
        .layer(middleware::from_fn_with_state(state.clone(), security::csrf))
        .layer(middleware::from_fn_with_state(state.clone(), ui::errors::error_pages))
        .layer(middleware::from_fn_with_state(state.clone(), auth::resolve_principal))
        .layer(middleware::from_fn(api::remove_bg_errors))
        .layer(middleware::from_fn(observe::record_metrics))
        .layer(middleware::from_fn_with_state(state.clone(), security::headers))
        .layer(DefaultBodyLimit::max(settings.server.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            Duration::from_secs(settings.server.request_timeout_secs),
            deadline::deadline,
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        // A panic or a request cut off by its deadline never reaches the inner layer.
        .layer(middleware::from_fn_with_state(state.clone(), ui::errors::error_pages))
        .layer(observe::trace_layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// For tests and `serve`: the socket address type the router expects in `ConnectInfo`.
pub type Peer = SocketAddr;

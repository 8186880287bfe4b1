//! Health, readiness, Prometheus metrics and request tracing. Traces carry the request id
//! and the path without its query string, so tokens in links never reach the logs.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tower_http::LatencyUnit;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};

use crate::AppState;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database and blob storage both answer.
async fn readyz(State(state): State<AppState>) -> Response {
    let (db, blobs) = tokio::join!(state.app.db.ping(), state.app.blobs.ping());
    let database = if db.is_ok() { state.app.db.backend_name() } else { "unreachable" };
    let storage = if blobs.is_ok() { "ok" } else { "unreachable" };
    let body = |status| Json(json!({"status": status, "database": database, "storage": storage}));
    match (db, blobs) {
        (Ok(()), Ok(())) => body("ready").into_response(),
        (db, blobs) => {
            tracing::warn!(database = ?db.err(), storage = ?blobs.err(), "readiness check failed");
            let retry = [(axum::http::header::RETRY_AFTER, crate::error::OUTAGE_RETRY_SECS.to_string())];
            (StatusCode::SERVICE_UNAVAILABLE, retry, body("unavailable")).into_response()
        }
    }
}

/// On the public listener `/metrics` answers loopback clients only, and nobody behind a
/// reverse proxy (where every request arrives from loopback); a separate internal listener
/// (`server.metrics_listen`) serves it to anyone who can reach that address.
async fn metrics(State(state): State<AppState>, req: Request) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if state.app.settings.server.behind_proxy || peer.is_none_or(|ip| !ip.is_loopback()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    render_metrics(&state).await
}

/// This process's figures, with the job queue's depth read from the database (the whole
/// fleet's queue, the same from every process: aggregate it with max, not sum).
pub async fn render_metrics(state: &AppState) -> Response {
    record_queue(&state.app).await;
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// `soraipixel_jobs{kind, state="waiting"|"running"}` and
/// `soraipixel_job_oldest_wait_seconds{kind}`; a kind whose jobs are all done reads 0.
async fn record_queue(app: &app::App) {
    static KINDS: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let now = app::now_ms();
    let depth = match app.db.queue_depth(now).await {
        Ok(depth) => depth,
        Err(e) => return tracing::warn!(error = %e, "queue depth unavailable for metrics"),
    };
    let mut kinds = KINDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    kinds.extend(depth.iter().map(|d| d.kind.clone()));
    for kind in kinds.iter() {
        let d = depth.iter().find(|d| &d.kind == kind);
        let (waiting, running) = d.map_or((0, 0), |d| (d.waiting, d.running));
        let oldest = d.and_then(|d| d.oldest_due).map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
        metrics::gauge!("soraipixel_jobs", "kind" => kind.clone(), "state" => "waiting").set(waiting as f64);
        metrics::gauge!("soraipixel_jobs", "kind" => kind.clone(), "state" => "running").set(running as f64);
        metrics::gauge!("soraipixel_job_oldest_wait_seconds", "kind" => kind.clone()).set(oldest);
    }
}

/// One recorder per process (the metrics facade is global).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

pub async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

type SpanFn = fn(&Request) -> tracing::Span;

pub fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, SpanFn, DefaultOnRequest, DefaultOnResponse>
{
    TraceLayer::new_for_http()
        .make_span_with(request_span as SpanFn)
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Millis))
}

fn request_span(req: &Request) -> tracing::Span {
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
}

//! Listening: plain HTTP, or HTTPS through rustls when `tls.cert` and `tls.key` are set,
//! behind the connection guards; an optional internal listener for `/metrics`; graceful
//! shutdown on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::routing::get;
use axum_server::Handle;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};

use crate::connections::Guard;
use crate::{AppState, observe, router};

/// Serves until a shutdown signal; `ready` receives the bound address (port 0 allowed).
pub async fn serve(state: AppState, ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>) -> anyhow::Result<()> {
    let settings = state.app.settings.clone();
    let handle: Handle<SocketAddr> = Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));

    if let Some(addr) = settings.server.metrics_listen {
        serve_metrics(state.clone(), addr).await?;
    }

    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listen = settings.server.listen;
    let watcher = {
        let handle = handle.clone();
        let tls = settings.tls_enabled();
        async move {
            if let Some(addr) = handle.listening().await {
                tracing::info!(%addr, tls, "SoraiPixel is listening; open {}://{addr}/", if tls { "https" } else { "http" });
                if let Some(tx) = ready {
                    let _ = tx.send(addr);
                }
            }
        }
    };
    tokio::spawn(watcher);
    // Before HTTP: connections per network capped (not behind a proxy, the only client
    // there), idle ones closed; headers must arrive within `header_timeout_secs`.
    let server = &settings.server;
    let cap = (!server.behind_proxy).then_some(server.max_connections_per_network);
    let guard = Guard::new(cap, Duration::from_secs(server.idle_timeout_secs));
    let header_timeout = Duration::from_secs(server.header_timeout_secs);
    match (&settings.tls.cert, &settings.tls.key) {
        (Some(cert), Some(key)) => {
            let config = RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| format!("cannot load TLS certificate {} or key {}", cert.display(), key.display()))?;
            let mut s = axum_server::bind(listen).acceptor(RustlsAcceptor::new(config).acceptor(guard));
            s.http_builder().http1().header_read_timeout(header_timeout);
            s.handle(handle).serve(app).await
        }
        _ => {
            let mut s = axum_server::bind(listen).acceptor(guard);
            s.http_builder().http1().header_read_timeout(header_timeout);
            s.handle(handle).serve(app).await
        }
    }
    .with_context(|| format!("cannot serve on {listen} (server.listen)"))
}

/// `/metrics` for anyone who can reach `addr` (an internal address, `server.metrics_listen`),
/// served in the background; `worker` processes use it too.
pub async fn serve_metrics(state: AppState, addr: SocketAddr) -> anyhow::Result<()> {
    let internal =
        axum::Router::new()
            .route(
                "/metrics",
                get(|axum::extract::State(s): axum::extract::State<AppState>| async move {
                    observe::render_metrics(&s).await
                }),
            )
            .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (server.metrics_listen)"))?;
    tracing::info!(%addr, "metrics listening");
    tokio::spawn(async move { axum::serve(listener, internal).await });
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what an init system or orchestrator sends to stop us).
pub async fn stop_requested() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

async fn shutdown_on_signal(handle: Handle<SocketAddr>) {
    stop_requested().await;
    tracing::info!("shutting down: finishing requests in flight");
    handle.graceful_shutdown(Some(Duration::from_secs(20)));
}

//! Static files (CSS, vendored htmx, images) embedded in the binary, linked with a content
//! fingerprint and cached for a year.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

#[derive(rust_embed::RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/static"]
struct Static;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/static/{*path}", get(serve_static)).route("/favicon.ico", get(favicon))
}

async fn serve_static(Path(path): Path<String>) -> Response {
    match Static::get(&path) {
        Some(file) => {
            let mime = mime_guess::from_path(&path).first_or_octet_stream();
            let mut response = file.data.into_response();
            let h = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            response
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn favicon() -> Response {
    serve_static(Path("logo.svg".into())).await
}

/// The URL of an embedded file with a content fingerprint, so a changed file is fetched
/// anew despite the year-long cache.
pub fn url(path: &str) -> String {
    let hash = Static::get(path).map(|f| f.metadata.sha256_hash()).unwrap_or_default();
    let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("/static/{path}?v={short}")
}

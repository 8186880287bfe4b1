//! Resolves who is calling, once per request: an `Authorization: Bearer` API key, or else
//! the session cookie. The principal is left in the request extensions for extractors.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::cookies;
use crate::error::ApiError;

pub async fn resolve_principal(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let principal = match bearer {
        Some(key) => Some(state.app.api_key_principal(key.trim()).await?.ok_or_else(|| {
            ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid_api_key", "The API key is not valid.")
        })?),
        None => match cookies::session_token(req.headers(), &state.app.settings) {
            Some(token) => state.app.session_principal(&token).await?,
            None => None,
        },
    };
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    Ok(next.run(req).await)
}

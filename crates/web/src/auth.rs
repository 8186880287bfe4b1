//! Resolves who is calling, once per request: an API key (`Authorization: Bearer` or
//! `X-Api-Key`), or else the session cookie. A key is held to its scopes and to the routes
//! `key_access` opens to keys. The principal is left in the request extensions.

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::cookies;
use crate::error::ApiError;
use crate::key_access::{Access, access};

pub async fn resolve_principal(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let headers = req.headers();
    let key = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(|k| k.trim().to_owned());
    let principal = match key {
        Some(key) => {
            let route = req.extensions().get::<MatchedPath>().map_or("", MatchedPath::as_str);
            match access(req.method(), route) {
                Access::Public => None,
                Access::PersonOnly => {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "api_key_not_allowed",
                        "API keys cannot do this. Sign in to SoraiPixel to manage your account.",
                    ));
                }
                Access::Needs(scope) => {
                    let (parts, body) = req.into_parts();
                    let client = crate::extract::client_of(&parts, &state);
                    req = Request::from_parts(parts, body);
                    let p = state.app.api_key_principal(&key, &client).await?.ok_or_else(|| {
                        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "The API key is not valid.")
                    })?;
                    if !p.scopes.as_ref().is_some_and(|s| s.allows(scope)) {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            "insufficient_scope",
                            format!("This API key needs the {} scope for this.", scope.as_str()),
                        ));
                    }
                    Some(p)
                }
            }
        }
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

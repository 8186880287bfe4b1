//! Resolves who is calling, once per request: an API key (`Authorization: Bearer` or
//! `X-Api-Key`), or else the session cookie. A key is held to its scopes, to the routes
//! `key_access` opens to keys and to its requests a minute (told in `RateLimit-*`
//! headers); each request it makes is counted in its usage. The principal is left in the
//! request extensions.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::sessions::RateWindow;

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
    let mut window = None;
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
                    if !p.key.as_ref().is_some_and(|k| k.scopes.allows(scope)) {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            "insufficient_scope",
                            format!("This API key needs the {} scope for this.", scope.as_str()),
                        ));
                    }
                    match state.app.admit_key_call(&p).await? {
                        Ok(w) => window = Some(w),
                        Err(w) => {
                            let mut refused = ApiError::new(
                                StatusCode::TOO_MANY_REQUESTS,
                                "rate_limited",
                                format!("This API key may make {} requests a minute.", w.limit),
                            );
                            refused.retry_after = Some(w.reset_secs);
                            return Ok(with_rate_headers(refused.into_response(), w));
                        }
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
    let response = next.run(req).await;
    Ok(match window {
        Some(w) => with_rate_headers(response, w),
        None => response,
    })
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds) for the minute.
fn with_rate_headers(mut response: Response, w: RateWindow) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", w.limit.to_string()),
        ("ratelimit-remaining", w.remaining.to_string()),
        ("ratelimit-reset", w.reset_secs.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}

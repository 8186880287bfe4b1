//! Request extractors: the client's address and browser, JSON bodies with our error shape,
//! and the signed-in principal.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use app::Client;
use app::sessions::Principal;

use crate::AppState;
use crate::error::ApiError;

/// The client as seen by the use cases. Behind a trusted proxy, the last `X-Forwarded-For`
/// hop (the one the proxy added) is the client.
pub struct ClientInfo(pub Client);

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(client_of(parts, state)))
    }
}

pub fn client_of(parts: &Parts, state: &AppState) -> Client {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let forwarded = state
        .app
        .settings
        .server
        .behind_proxy
        .then(|| parts.headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok());
    let ip = forwarded.or(peer).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let user_agent = parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(400)
        .collect();
    Client { ip, user_agent }
}

/// JSON body whose rejections use our error shape and stable codes.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A creation or batch request: the JSON body with the `Idempotency-Key` header, when
/// sent, so a retried request returns what the first one made.
pub struct CreationJson(pub app::creations::CreationRequest);

impl<S: Send + Sync> FromRequest<S> for CreationJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let key = req.headers().get("idempotency-key").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let ApiJson(body) = ApiJson::<app::creations::CreationRequest>::from_request(req, state).await?;
        Ok(Self(app::creations::CreationRequest { idempotency_key: key, ..body }))
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send JSON with Content-Type: application/json.",
        ),
        JsonRejection::JsonDataError(e) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", e.body_text())
        }
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", "The request body is not valid JSON.")
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.")
        }
        other => ApiError::new(other.status(), "invalid_body", other.body_text()),
    }
}

/// A signed-in user (cookie session or API key); 401 otherwise.
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Auth)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Sign in to continue."))
    }
}

/// The principal if there is one, for pages that look different when signed in.
pub struct MaybeAuth(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Principal>().cloned()))
    }
}

/// The visitor's currency as the server decides it (see `App::currency`), and the cookie to
/// set when the decision is new.
pub fn currency_of(
    headers: &axum::http::HeaderMap,
    client: &Client,
    state: &AppState,
) -> (domain::billing::Currency, Option<String>) {
    with_visitor(headers, client, state, |v| state.app.currency(v))
}

/// What the server knows of a visitor for pricing: our cookie, their address, and the CDN's
/// country header (only when configured and behind the proxy that sets it).
pub fn with_visitor<T>(
    headers: &axum::http::HeaderMap,
    client: &Client,
    state: &AppState,
    f: impl FnOnce(&app::billing::Visitor<'_>) -> T,
) -> T {
    let settings = &state.app.settings;
    let cookie = crate::cookies::currency(headers, settings);
    let country = settings
        .billing
        .country_header
        .as_deref()
        .filter(|_| settings.server.behind_proxy)
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok());
    f(&app::billing::Visitor { cookie: cookie.as_deref(), country, ip: client.ip })
}

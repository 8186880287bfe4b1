//! Errors as HTTP: `{"error": {"code", "message", "field"?}}` with a fitting status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use app::AppError;

/// A database restart or a blob-store blip lasts seconds; clients come back after this.
pub(crate) const OUTAGE_RETRY_SECS: u64 = 5;

/// An error a handler returns; converts from use-case errors.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = match &e {
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Taken(_) => StatusCode::CONFLICT,
            AppError::InvalidCredentials | AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Suspended => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::InvalidToken | AppError::InvalidCode => StatusCode::BAD_REQUEST,
            AppError::RateLimited { .. } | AppError::DailyLimit { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::AlreadyDone { .. } => StatusCode::CONFLICT,
            AppError::InsufficientTokens { .. } => StatusCode::PAYMENT_REQUIRED,
            AppError::Busy | AppError::AlreadyEnded => StatusCode::CONFLICT,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Image { code: "unsupported_format", .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Image { code: "image_too_large" | "too_many_pixels", .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Image { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Delivery | AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Outage(detail) => {
                tracing::warn!(error = %detail, "storage unreachable");
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::PaymentRejected { .. } => StatusCode::BAD_REQUEST,
            AppError::Upstream(detail) => {
                tracing::warn!(error = %detail, "payment provider failed");
                StatusCode::BAD_GATEWAY
            }
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &e {
            AppError::Taken("email") => "An account with this email already exists. Sign in instead.".to_owned(),
            AppError::Taken("phone") => "This phone number belongs to another account.".to_owned(),
            AppError::Internal(_) => "Something went wrong on our side. Please try again.".to_owned(),
            AppError::Upstream(_) => "The payment service did not answer. Please try again in a moment.".to_owned(),
            AppError::Suspended => {
                "This account is suspended. If you think this is a mistake, write to us from the contact page."
                    .to_owned()
            }
            other => other.to_string(),
        };
        let field = match &e {
            AppError::Invalid(i) => Some(i.field),
            AppError::Taken(f) => Some(*f),
            _ => None,
        };
        let retry_after = match e {
            AppError::RateLimited { retry_after_secs }
            | AppError::AlreadyDone { retry_after_secs }
            | AppError::DailyLimit { retry_after_secs, .. } => Some(retry_after_secs),
            AppError::Outage(_) => Some(OUTAGE_RETRY_SECS),
            _ => None,
        };
        Self { status, code: e.code(), message, field, retry_after }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if let Some(field) = self.field {
            body["error"]["field"] = json!(field);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side. Please try again.")
        .into_response()
}

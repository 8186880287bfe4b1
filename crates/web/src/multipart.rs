//! Multipart forms read one field at a time, each against its own limit: a text field may
//! hold a few KB, a file the upload limit. A file waits for an intake permit before any of
//! it is read, and is refused with 413 the moment it passes its limit, so no request can
//! make the server hold more than one upload's bytes per permit.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use tokio::sync::OwnedSemaphorePermit;

use app::AppError;

use crate::AppState;
use crate::error::ApiError;

/// The most a text field may hold.
pub const TEXT_LIMIT: usize = 8 * 1024;

/// One field of a form.
pub enum Part {
    Text { name: String, value: String },
    File(File),
}

/// A file field, read whole under an intake permit, which it holds until it is dropped: keep
/// it while working on the bytes.
pub struct File {
    /// The form field it came in.
    pub field: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

/// Reads `form` field by field. `files` names the fields that carry files.
pub struct Form<'a> {
    inner: Multipart,
    state: &'a AppState,
    files: &'static [&'static str],
}

impl<'a> Form<'a> {
    pub fn new(inner: Multipart, state: &'a AppState, files: &'static [&'static str]) -> Self {
        Self { inner, state, files }
    }

    /// The next field, or `None` at the end of the form.
    pub async fn next(&mut self) -> Result<Option<Part>, ApiError> {
        let file_limit = self.state.app.settings.uploads.max_bytes;
        let Some(mut field) = self.inner.next_field().await.map_err(|e| refused(&e, file_limit))? else {
            return Ok(None);
        };
        let name = field.name().unwrap_or_default().to_owned();
        if self.files.contains(&name.as_str()) {
            let file_name = field.file_name().unwrap_or("photo").to_owned();
            let permit = self.state.app.upload_slot().await?;
            let bytes = read(&mut field, file_limit, file_limit).await?;
            return Ok(Some(Part::File(File { field: name, file_name, bytes, _permit: permit })));
        }
        let bytes = read(&mut field, TEXT_LIMIT as u64, file_limit).await?;
        let value = String::from_utf8(bytes).map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", format!("The field {name} is not text."))
        })?;
        Ok(Some(Part::Text { name, value: value.trim().to_owned() }))
    }
}

async fn read(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: u64,
    file_limit: u64,
) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| refused(&e, file_limit))? {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(if limit == file_limit {
                AppError::TooLarge { limit_mb: file_limit / (1024 * 1024) }.into()
            } else {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "field_too_large", "A form field is too long.")
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn refused(e: &MultipartError, file_limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge { limit_mb: file_limit / (1024 * 1024) }.into()
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", e.body_text())
    }
}

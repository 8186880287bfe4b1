//! Uploading photos: size and content checked before decoding, decoded off the async
//! threads, a thumbnail made, both sealed with the owner's data key, and only then the row
//! that points at them written — so no row ever points at a blob that isn't there.

use db::uploads::Upload;
use imaging::{Format, ImagingError, Limits};
use storage::DataKey;

use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

const THUMB_SIDE: u32 = 480;

impl App {
    /// The user's data key, created on first use. Two racing first uses agree on one key.
    pub(crate) async fn data_key(&self, user_id: &str) -> Result<DataKey> {
        let wrapped = match self.db.wrapped_key(user_id).await? {
            Some(w) => w,
            None => self.db.store_wrapped_key(user_id, &self.wrapper.wrap(&DataKey::generate()), now_ms()).await?,
        };
        self.wrapper.unwrap_key(&wrapped).map_err(|e| AppError::Internal(format!("data key of {user_id}: {e}")))
    }

    /// A data key sealed for storage beside what it protects (previews keep their own).
    pub(crate) fn wrap_key(&self, key: &DataKey) -> Vec<u8> {
        self.wrapper.wrap(key)
    }

    pub(crate) fn unwrap_key(&self, wrapped: &[u8]) -> Result<DataKey> {
        self.wrapper.unwrap_key(wrapped).map_err(|e| AppError::Internal(format!("data key: {e}")))
    }

    pub fn upload_limits(&self) -> Limits {
        Limits { max_bytes: self.settings.uploads.max_bytes, max_pixels: self.settings.uploads.max_pixels }
    }

    pub async fn upload(&self, p: &Principal, filename: &str, bytes: Vec<u8>, client: &Client) -> Result<Upload> {
        let limits = self.upload_limits();
        if bytes.len() as u64 > limits.max_bytes {
            return Err(AppError::TooLarge { limit_mb: limits.max_bytes / (1024 * 1024) });
        }
        self.limit(&format!("upload:{}", p.user.id), 600, crate::limits::HOUR).await?;
        // Decoding is CPU work with its own limits (header checked before pixels).
        let (format, width, height, thumb, bytes) = self
            .on_cpu(move || {
                // Only the thumbnail needs pixels; the engine decodes the photo in full later.
                let (decoded, width, height) = imaging::decode_reduced(&bytes, &limits, THUMB_SIDE)?;
                let thumb = imaging::thumbnail(&decoded, THUMB_SIDE, Format::Jpeg)?;
                Ok::<_, ImagingError>((decoded.format, width, height, thumb, bytes))
            })
            .await?
            .map_err(image_error)?;
        let key = self.data_key(&p.user.id).await?;
        let id = db::new_id();
        let base = format!("users/{}/uploads/{id}", p.user.id);
        let upload = Upload {
            id,
            user_id: p.user.id.clone(),
            filename: clean_filename(filename),
            format: format.name().to_owned(),
            width: i64::from(width),
            height: i64::from(height),
            bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            original_key: format!("{base}/original"),
            thumb_key: format!("{base}/thumb.jpg"),
            created_at: now_ms(),
        };
        let stored = async {
            self.blobs.put(&key, &upload.original_key, &bytes).await?;
            self.blobs.put(&key, &upload.thumb_key, &thumb).await
        }
        .await;
        if let Err(e) = stored {
            self.remove_blobs(&[&upload.original_key, &upload.thumb_key]).await;
            return Err(e.into());
        }
        if let Err(e) = self.db.create_upload(&upload).await {
            self.remove_blobs(&[&upload.original_key, &upload.thumb_key]).await;
            return Err(e.into());
        }
        self.db.audit(Some(&p.user.id), "self", "uploaded", &upload.id, &client.network(), now_ms()).await?;
        let detail = format!("{} photo, {}×{}", upload.format, upload.width, upload.height);
        self.record_activity(&p.user.id, crate::activity::Activity::Uploaded, &detail, Some(client)).await;
        Ok(upload)
    }

    pub async fn uploads(&self, p: &Principal, before: Option<i64>, limit: i64) -> Result<Vec<Upload>> {
        Ok(self.db.uploads_of(&p.user.id, before, limit.clamp(1, 100)).await?)
    }

    pub async fn upload_of(&self, p: &Principal, id: &str) -> Result<Upload> {
        Ok(self.db.upload_of(&p.user.id, id).await?)
    }

    /// The photo as uploaded, or its thumbnail; only ever the owner's.
    pub async fn upload_bytes(&self, p: &Principal, id: &str, thumbnail: bool) -> Result<(Upload, Vec<u8>)> {
        let upload = self.db.upload_of(&p.user.id, id).await?;
        let key = self.data_key(&p.user.id).await?;
        let path = if thumbnail { &upload.thumb_key } else { &upload.original_key };
        let bytes = self.blobs.get(&key, path).await?;
        Ok((upload, bytes))
    }

    /// Deletes the row first (nothing points at the blobs any more), then the blobs.
    pub async fn delete_upload(&self, p: &Principal, id: &str, client: &Client) -> Result<()> {
        let upload = self.db.delete_upload(&p.user.id, id).await?;
        self.remove_blobs(&[&upload.original_key, &upload.thumb_key]).await;
        self.db.audit(Some(&p.user.id), "self", "upload_deleted", id, &client.network(), now_ms()).await?;
        Ok(())
    }

    /// A stored image re-encoded as `format`, at most `size` pixels on its longest side.
    pub(crate) async fn converted(&self, bytes: Vec<u8>, size: u32, format: Format, quality: u8) -> Result<Vec<u8>> {
        let limits = self.upload_limits();
        self.on_cpu(move || imaging::decode(&bytes, &limits).and_then(|d| imaging::convert(&d, size, format, quality)))
            .await?
            .map_err(image_error)
    }

    pub(crate) async fn remove_blobs(&self, paths: &[&str]) {
        for path in paths {
            if let Err(e) = self.blobs.delete(path).await {
                tracing::warn!(path, error = %e, "could not delete a blob; it is now an orphan");
            }
        }
    }
}

/// The media type of a stored format name (as in `Upload::format`).
pub fn mime_of(format: &str) -> &'static str {
    format.parse::<Format>().map(Format::mime).unwrap_or("application/octet-stream")
}

pub(crate) fn image_error(e: ImagingError) -> AppError {
    AppError::Image { code: e.code(), message: e.to_string() }
}

/// A display name only: path parts and control characters removed, length bounded.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if cleaned.trim().is_empty() { "photo".into() } else { cleaned }
}

#[cfg(test)]
mod tests {
    #[test]
    fn filenames_are_display_only() {
        assert_eq!(super::clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(super::clean_filename("C:\\Users\\me\\ring.HEIC"), "ring.HEIC");
        assert_eq!(super::clean_filename("\u{0}"), "photo");
    }
}

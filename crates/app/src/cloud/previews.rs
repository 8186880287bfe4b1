//! Free watermarked previews for visitors who are not signed in: one per device per UTC
//! day (the device is a server-issued trial token), a few per network. The photo is sealed
//! under the preview's own data key and deleted when the job ends; the model's clean image
//! lives only in the worker's memory — what is stored and sent is a small copy with the
//! watermark across it.

use std::sync::Arc;

use db::cloud::{PREVIEW_JOB, Preview};
use db::queue::Job;
use imaging::Format;
use jobs::{Handler, HandlerFuture, JobContext, JobError};
use storage::DataKey;

use super::render::{Reference, Skipped, Who};
use super::{Shot, Task, Tier};
use crate::limits::DAY;
use crate::{App, AppError, Client, Result, now_ms};

/// Long side of the watermarked preview.
const PREVIEW_SIDE: u32 = 768;
const WATERMARK: &str = "SoraiPixel preview";

impl App {
    /// A trial token for this device: a random id with the server's MAC. Issued a few
    /// times a day per network.
    pub async fn trial_token(&self, client: &Client) -> Result<String> {
        let day = now_ms() / DAY;
        self.limit(&format!("trial-token:{}:{day}", client.network()), 20, DAY).await?;
        let id = domain::secrets::new_token();
        Ok(format!("{id}.{}", self.mac(&["trial", &id])))
    }

    /// The device a trial token names, if the token is ours.
    fn device(&self, token: &str) -> Result<String> {
        let (id, mac) = token.split_once('.').ok_or(AppError::InvalidToken)?;
        if !self.mac_matches(&["trial", id], mac, usize::MAX) {
            return Err(AppError::InvalidToken);
        }
        Ok(domain::secrets::token_digest(id))
    }

    /// Accepts a visitor's photo for a watermarked preview of a theme.
    pub async fn create_preview(
        &self,
        token: &str,
        theme: &str,
        jewellery: &str,
        photo: Vec<u8>,
        client: &Client,
    ) -> Result<Preview> {
        if self.cloud.is_none() {
            return Err(domain::Invalid::new("engine_unavailable", "engine", "Previews are not available here.").into());
        }
        let device = self.device(token)?;
        let lib = prompts::library().map_err(|e| AppError::Internal(e.to_string()))?;
        let bad = |field: &'static str| {
            AppError::from(domain::Invalid::new("invalid_option", field, "Choose from the list."))
        };
        lib.theme(theme).map_err(|_| bad("theme"))?;
        lib.jewellery(jewellery).map_err(|_| bad("jewellery"))?;
        let limits = self.upload_limits();
        if photo.len() as u64 > limits.max_bytes {
            return Err(AppError::TooLarge { limit_mb: limits.max_bytes / (1024 * 1024) });
        }
        let day = now_ms() / DAY;
        let c = &self.settings.cloud;
        self.limit(&format!("preview-network:{}:{day}", client.network()), c.previews_per_network, DAY).await?;
        // The device's own allowance is "already used today", not a rate limit.
        let device_limit = self.limit(&format!("preview-device:{device}:{day}"), c.previews_per_device, DAY).await;
        device_limit.map_err(|e| match e {
            AppError::RateLimited { retry_after_secs } => AppError::AlreadyDone { retry_after_secs },
            other => other,
        })?;
        // Checked by content before it is stored: a real image within the limits.
        let checked = photo.clone();
        self.on_cpu(move || imaging::decode(&checked, &limits).map(|_| ()))
            .await?
            .map_err(|e| AppError::Image { code: e.code(), message: e.to_string() })?;
        let key = DataKey::generate();
        let id = db::new_id();
        let photo_key = format!("previews/{id}/photo");
        self.blobs.put(&key, &photo_key, &photo).await?;
        let now = now_ms();
        let preview = Preview {
            id: id.clone(),
            device,
            network: client.network(),
            theme: theme.to_owned(),
            jewellery: jewellery.to_owned(),
            status: "queued".into(),
            wrapped_key: hex::encode(self.wrap_key(&key)),
            photo_key: Some(photo_key),
            image_key: None,
            fidelity: None,
            error: None,
            created_at: now,
            expires_at: now + DAY,
        };
        if let Err(e) = self.db.create_preview(&preview).await {
            self.remove_blobs(&[&format!("previews/{id}/photo")]).await;
            return Err(e.into());
        }
        Ok(self.db.preview(&id).await?)
    }

    /// A visitor's preview: only the device that asked for it sees it.
    pub async fn preview(&self, token: &str, id: &str) -> Result<Preview> {
        let device = self.device(token)?;
        let p = self.db.preview(id).await?;
        if !domain::secrets::equal(&p.device, &device) {
            return Err(AppError::NotFound);
        }
        Ok(p)
    }

    /// The watermarked preview image (JPEG).
    pub async fn preview_image(&self, token: &str, id: &str) -> Result<Vec<u8>> {
        let p = self.preview(token, id).await?;
        let image_key = p.image_key.as_deref().ok_or(AppError::Busy)?;
        let key = self.preview_key(&p)?;
        Ok(self.blobs.get(&key, image_key).await?)
    }

    fn preview_key(&self, p: &Preview) -> Result<DataKey> {
        let wrapped = hex::decode(&p.wrapped_key).map_err(|e| AppError::Internal(e.to_string()))?;
        self.unwrap_key(&wrapped)
    }

    async fn make_preview(&self, id: &str) -> std::result::Result<(), JobError> {
        let retry = |what: &str, e: &dyn std::fmt::Display| JobError::Retry(format!("{what}: {e}"));
        let p = match self.db.preview(id).await {
            Ok(p) => p,
            Err(db::DbError::NotFound) => return Ok(()),
            Err(e) => return Err(retry("loading preview", &e)),
        };
        let (Some(photo_key), Some(engine)) = (p.photo_key.clone(), self.cloud.clone()) else { return Ok(()) };
        let key = self.preview_key(&p).map_err(|e| retry("preview key", &e))?;
        let photo = self.blobs.get(&key, &photo_key).await.map_err(|e| retry("reading photo", &e))?;
        let limits = self.upload_limits();
        let outcome = match self
            .on_cpu(move || Reference::prepare(&photo, &limits))
            .await
            .map_err(|e| retry("engine", &e))?
        {
            Err(e) => Err(e.to_string()),
            Ok(reference) => {
                let reference = Arc::new(reference);
                let shot = Shot {
                    task: Task::Scene { theme: p.theme.clone(), shot: "hero".into() },
                    tier: Tier::Standard,
                    jewellery: p.jewellery.clone(),
                    hybrid: false,
                    brand_strip: false,
                    instructions: None,
                    aspect_ratio: Some("1:1".into()),
                };
                let images = vec![providers::ai::Image { mime: "image/jpeg".into(), bytes: reference.jpeg.clone() }];
                let who = Who { user: None, creation: None };
                match self.make_shot(&engine, who, &shot, Some(&reference), images, None).await? {
                    Ok(finished) => {
                        let score = finished.check.score;
                        let clean = finished.bytes;
                        let marked = self
                            .on_cpu(move || watermarked(&clean))
                            .await
                            .map_err(|e| retry("engine", &e))?
                            .map_err(|e| retry("watermark", &e))?;
                        let image_key = format!("previews/{}/image.jpg", p.id);
                        self.blobs.put(&key, &image_key, &marked).await.map_err(|e| retry("storing preview", &e))?;
                        Ok((image_key, score))
                    }
                    Err(Skipped::Rejected { .. }) => Err("The preview did not keep your design closely enough.".into()),
                    Err(Skipped::Declined) => Err("The image service declined this photo.".into()),
                }
            }
        };
        // The photo goes first: its key stays on the row until it is gone, so a failed
        // removal is tried again (by this job, or by the sweeper).
        self.blobs.delete(&photo_key).await.map_err(|e| retry("removing the photo", &e))?;
        let finished = match &outcome {
            Ok((image_key, score)) => self.db.finish_preview(id, Some(image_key), score.map(f64::from), None).await,
            Err(why) => self.db.finish_preview(id, None, None, Some(why)).await,
        };
        finished.map_err(|e| retry("finishing preview", &e))?;
        Ok(())
    }

    /// Removes previews past their day with their objects, and any object under
    /// `previews/` an hour old whose preview no longer exists.
    pub async fn sweep_previews(&self) -> Result<usize> {
        let expired = self.db.expired_previews(now_ms()).await?;
        for p in &expired {
            let keys: Vec<&str> = [p.photo_key.as_deref(), p.image_key.as_deref()].into_iter().flatten().collect();
            self.remove_blobs(&keys).await;
            self.db.delete_preview(&p.id).await?;
        }
        let listed =
            self.blobs.list("previews").await.map_err(|e| AppError::Internal(format!("listing blobs: {e}")))?;
        let cutoff = now_ms() - crate::orphans::GRACE_MS;
        let mut orphans = Vec::new();
        for blob in listed.into_iter().filter(|b| b.modified_ms < cutoff) {
            let Some(id) = blob.path.split('/').nth(1) else { continue };
            if matches!(self.db.preview(id).await, Err(db::DbError::NotFound)) {
                orphans.push(blob.path);
            }
        }
        let paths: Vec<&str> = orphans.iter().map(String::as_str).collect();
        self.remove_blobs(&paths).await;
        Ok(expired.len() + orphans.len())
    }
}

/// A small copy with the watermark across it; the clean bytes go no further.
fn watermarked(clean: &[u8]) -> std::result::Result<Vec<u8>, imaging::ImagingError> {
    let decoded = imaging::decode(clean, &imaging::Limits::default())?;
    let (w, h) = imaging::resize::fit_within(decoded.width, decoded.height, PREVIEW_SIDE);
    let mut small = imaging::resize::resize_rgb(&decoded.rgb, w, h, fast_image_resize::FilterType::Lanczos3, None)?;
    imaging::brand::tile_watermark(&mut small, WATERMARK)?;
    imaging::encode_rgb(&small, Format::Jpeg, 85)
}

/// The queue handler that makes previews.
pub struct MakePreviews(pub App);

impl Handler for MakePreviews {
    fn kind(&self) -> &'static str {
        PREVIEW_JOB
    }

    fn run(&self, job: Job, _ctx: JobContext) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move { app.make_preview(&job.payload).await })
    }

    fn dead(&self, job: Job) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            let why = "We could not make this preview. Please try again later.";
            if let Some(key) = app.db.preview(&job.payload).await.ok().and_then(|p| p.photo_key) {
                app.blobs.delete(&key).await.map_err(|e| JobError::Retry(e.to_string()))?;
            }
            app.db.finish_preview(&job.payload, None, None, Some(why)).await.map_err(|e| JobError::Retry(e.to_string()))
        })
    }
}

//! Fixing a cutout by hand: the seller paints keep/remove strokes over the photo, sees the
//! corrected cutout at once (a free preview at screen size), and saves it: the creation's
//! images are made again with the strokes, free, since the photo was paid for once.

use imaging::matte::hints::{self, Stroke};
use serde::Deserialize;

use crate::creations::Planned;
use crate::sessions::Principal;
use crate::{App, AppError, Client, Result};

/// Previews a person may ask for in an hour (each is a cutout at screen size).
const PREVIEWS_PER_HOUR: u32 = 600;
/// Corrections a person may save in an hour (each makes a creation's images again).
const CORRECTIONS_PER_HOUR: u32 = 30;
/// Longest side of a preview, in pixels.
const PREVIEW_SIDES: std::ops::RangeInclusive<u32> = 128..=1600;

/// `POST /api/v1/creations/{id}/corrections/preview` and `/creations/{id}/corrections`:
/// strokes in the photo's own pixels.
#[derive(Debug, Clone, Deserialize)]
pub struct Correction {
    pub strokes: Vec<Stroke>,
    /// Longest side of the preview (default 1024).
    #[serde(default)]
    pub size: Option<u32>,
    /// The client's `Idempotency-Key`: saving the same strokes twice makes one correction.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

impl App {
    /// The cutout under one of the user's finished studio creations with `strokes` applied,
    /// as an RGBA PNG at most `size` pixels on its longest side: free, since the photo was
    /// paid for; never refused for its background, since a person is fixing it.
    pub async fn matte_preview(&self, p: &Principal, creation_id: &str, c: Correction) -> Result<Vec<u8>> {
        self.limit(&format!("matte-preview:{}", p.user.id), PREVIEWS_PER_HOUR, crate::limits::HOUR).await?;
        let upload = self.fixable_upload(p, creation_id).await?;
        let (w, h) = dimensions(&upload)?;
        hints::validate(&c.strokes, w, h).map_err(crate::uploads::image_error)?;
        let (_, bytes) = self.upload_bytes(p, &upload.id, false).await?;
        let side = c.size.unwrap_or(1024).clamp(*PREVIEW_SIDES.start(), *PREVIEW_SIDES.end());
        let limits = self.upload_limits();
        self.on_cpu(move || {
            let long = u64::from(w.max(h));
            let pixels = u64::from(w) * u64::from(h) * u64::from(side).pow(2) / long.pow(2).max(1);
            let d = imaging::decode(&bytes, &limits)?.within_pixels(pixels.max(1))?;
            let params = imaging::MatteParams { refuse_unsuitable: false, ..Default::default() };
            let mut m = imaging::cutout(&d, &params)?;
            hints::apply(&d.rgb, &mut m, &hints::scale(&c.strokes, (w, h), (d.width, d.height)))?;
            m.to_png()
        })
        .await?
        .map_err(crate::uploads::image_error)
    }

    /// The photo under a creation the brush may fix.
    async fn fixable_upload(&self, p: &Principal, creation_id: &str) -> Result<db::uploads::Upload> {
        let source = self.db.creation_of(&p.user.id, creation_id).await?;
        // Images staff refunded were not paid for: no free remaking of them either.
        let refunded = self.db.creation_refunded(&source.id).await?;
        match source.upload_id.as_deref() {
            Some(upload) if can_fix(&source) && !refunded => Ok(self.db.upload_of(&p.user.id, upload).await?),
            _ => Err(domain::Invalid::new(
                "not_correctable",
                "creation",
                "Only finished studio images whose photo you still have can be fixed by hand.",
            )
            .into()),
        }
    }

    /// Makes a finished studio creation's images again with the seller's strokes, at no
    /// cost: a new creation beside the first, which stays as it was.
    pub async fn correct_creation(
        &self,
        p: &Principal,
        id: &str,
        c: Correction,
        client: &Client,
    ) -> Result<db::creations::Creation> {
        self.limit(&format!("corrections:{}", p.user.id), CORRECTIONS_PER_HOUR, crate::limits::HOUR).await?;
        let upload = self.fixable_upload(p, id).await?;
        let source = self.db.creation_of(&p.user.id, id).await?;
        let (w, h) = dimensions(&upload)?;
        if c.strokes.is_empty() {
            return Err(domain::Invalid::new("invalid_hints", "strokes", "Paint at least one stroke.").into());
        }
        hints::validate(&c.strokes, w, h).map_err(crate::uploads::image_error)?;
        let mut planned: Vec<Planned> =
            serde_json::from_str(&source.recipes).map_err(|e| AppError::Internal(format!("stored recipes: {e}")))?;
        for item in &mut planned {
            item.price = Some(0);
        }
        let strokes = serde_json::to_string(&c.strokes).map_err(|e| AppError::Internal(e.to_string()))?;
        let scope = format!("correction|{id}|{}", domain::secrets::token_digest(&strokes));
        let ids = crate::creations::creation_ids(&p.user.id, &scope, c.idempotency_key.as_deref(), 1)?;
        let accepting =
            crate::creations::Accepting { engine: "local", planned: &planned, batch_id: None, hints: Some(&strokes) };
        let mut made = self.accept(p, &[Some(upload.id)], &ids, &accepting, client).await?;
        made.pop().ok_or_else(|| AppError::Internal("no correction accepted".into()))
    }
}

/// Whether the brush can fix a creation: a finished studio one whose photo is still there.
pub fn can_fix(c: &db::creations::Creation) -> bool {
    c.engine == "local" && c.status == "succeeded" && c.upload_id.is_some()
}

fn dimensions(upload: &db::uploads::Upload) -> Result<(u32, u32)> {
    let side = |v: i64| u32::try_from(v).map_err(|_| AppError::Internal("stored photo size".into()));
    Ok((side(upload.width)?, side(upload.height)?))
}

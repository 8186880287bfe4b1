//! Creations with the local engine: what a user asks for becomes one recipe per output,
//! quoted, held, queued; the render job makes each output, seals it, and charges for it
//! as it is recorded; whatever was not charged is released when the creation ends.

use std::sync::Arc;

use serde::Deserialize;

use db::creations::{Creation, JOB_KIND, Output, Recorded, new_creation};
use db::ledger::Outcome;
use db::queue::Job;
use imaging::matte::hints::{self, Stroke};
use imaging::{Format, Preset, Recipe};
use jobs::{Handler, HandlerFuture, JobContext, JobError};

use crate::archive::{Chunks, Entry};
use crate::cloud::{CloudOptions, Operation, Shot, Task};
use crate::sessions::Principal;
use crate::webhooks::{Callback, CallbackOf};
use crate::{App, AppError, Client, Result, now_ms};

pub fn view(c: Creation, outputs: Vec<Output>) -> serde_json::Value {
    let outputs: Vec<serde_json::Value> = outputs
        .into_iter()
        .map(|o| {
            let parsed =
                |j: &Option<String>| j.as_deref().and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
            serde_json::json!({
                "id": o.id, "label": o.label, "format": o.format, "width": o.width, "height": o.height,
                "bytes": o.bytes, "url": format!("/api/v1/outputs/{}", o.id), "compliance": parsed(&o.compliance),
                "provider": o.provider, "model": o.model, "prompt_version": o.prompt_version, "tier": o.tier,
                "tokens_charged": o.charged, "fidelity": parsed(&o.fidelity), "confidence": o.confidence,
            })
        })
        .collect();
    let detection = c.detection.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok());
    let mut v = serde_json::json!(c);
    v["outputs"] = serde_json::json!(outputs);
    v["detection"] = serde_json::json!(detection);
    v
}

/// An output's label in a seller's words: the shot, pose or metal's name from the prompt
/// library, or the marketplace ("recolour-yellow_gold" → "Recolour: Yellow gold").
pub fn title_of(label: &str) -> String {
    let named = prompts::library().ok().and_then(|lib| {
        if let Ok(shot) = lib.shot(label) {
            return Some(shot.name.clone());
        }
        if let Some(pose) = label.strip_prefix("pose-") {
            return lib.pose(pose).ok().map(|p| format!("Pose: {}", p.name));
        }
        let metal = label.strip_prefix("recolour-")?;
        let name = lib.metals.iter().find(|m| m.id == metal).map_or_else(|| format!("#{metal}"), |m| m.name.clone());
        Some(format!("Recolour: {name}"))
    });
    named.unwrap_or_else(|| match label {
        "try-on" => "Try-on".into(),
        "hd" => "HD upscale".into(),
        other => crate::capitalise(&other.replace('_', " ")),
    })
}

/// At most this many outputs in one creation.
pub const MAX_OUTPUTS: usize = 12;

/// "Before" views a person may ask for in an hour (each decodes their photo).
const BEFORES_PER_HOUR: u32 = 600;

/// Photos larger than this are scaled down before the cutout: preset outputs are at most
/// 2048 px on their longest side, and 16 MP leaves room for close-ups while bounding a
/// job's memory (docs/benchmarks.md).
pub(crate) const WORKING_PIXELS: u64 = 16_000_000;
/// At most this many photos in one batch.
pub const MAX_BATCH: usize = 50;
/// The failure code of a creation whose photo was deleted before it ran.
pub(crate) const PHOTO_DELETED: &str = "photo_deleted";

/// `POST /api/v1/quotes`, `/creations` and `/batches`: the photo (or photos, for a batch)
/// and what to make from each.
#[derive(Debug, Clone, Deserialize)]
pub struct CreationRequest {
    #[serde(default)]
    pub upload_id: Option<String>,
    #[serde(default)]
    pub upload_ids: Vec<String>,
    #[serde(flatten)]
    pub options: Options,
    /// Where to POST the creation's (or the batch's) end, signed like a webhook: a one-off
    /// alternative to registering an endpoint.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// The client's `Idempotency-Key` (or the studio form's): the same key from the same
    /// user names the same creations, so a retried request returns them instead of
    /// holding tokens twice.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
    /// A finished creation of the same photo fixed by hand: its strokes shape the new
    /// cutout too (the studio's "Make again" after a fix).
    #[serde(skip)]
    pub fixes_from: Option<String>,
}

/// What to make from each photo: the engine, and either one recipe or the same settings
/// for several marketplace presets (local), or a generative operation (cloud).
#[derive(Debug, Clone, Deserialize)]
pub struct Options {
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub presets: Vec<Preset>,
    #[serde(flatten)]
    pub recipe: Recipe,
    #[serde(flatten)]
    pub cloud: CloudOptions,
}

/// The studio form's choices as a person sent them.
#[derive(Debug, Default)]
pub struct FormChoices {
    pub presets: Vec<String>,
    pub background: String,
    pub shadow: String,
    pub aspect_ratio: String,
    pub recolour: String,
    pub reflection: bool,
}

impl CreationRequest {
    /// The distinct photos asked for, in order; at least one, at most `MAX_BATCH`.
    fn uploads(&self) -> Result<Vec<String>> {
        let mut ids: Vec<String> = Vec::new();
        for id in self.upload_id.iter().chain(&self.upload_ids) {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        let invalid = |msg: String| AppError::from(domain::Invalid::new("invalid_uploads", "upload_ids", msg));
        match ids.len() {
            0 => Err(invalid("Choose at least one photo.".into())),
            n if n > MAX_BATCH => Err(invalid(format!("At most {MAX_BATCH} photos in one batch."))),
            _ => Ok(ids),
        }
    }
}

impl Options {
    /// From the studio form: preset names, a background (`white`, `#hex`, `#a-#b`, `marble`…),
    /// a shadow (`none`, `contact`, `drop`), an aspect ratio (`4:5`…), a metal to recolour to,
    /// and whether to add a reflection. Empty fields keep the preset's defaults.
    pub fn from_form(form: &FormChoices) -> Result<Self> {
        fn choice<T: std::str::FromStr>(value: &str, field: &'static str, what: &str) -> Result<Option<T>> {
            if value.trim().is_empty() {
                return Ok(None);
            }
            value.parse().map(Some).map_err(|_| {
                domain::Invalid::new("invalid_option", field, format!("Choose {what} from the list.")).into()
            })
        }
        let presets = form
            .presets
            .iter()
            .map(|p| choice::<Preset>(p, "presets", "marketplaces"))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        if presets.is_empty() {
            return Err(domain::Invalid::new("invalid_option", "presets", "Choose at least one marketplace.").into());
        }
        let recipe = Recipe {
            background: choice(&form.background, "background", "a background")?,
            shadow: choice(&form.shadow, "shadow", "a shadow")?,
            aspect_ratio: choice(&form.aspect_ratio, "aspect_ratio", "a shape")?,
            recolour: choice(&form.recolour, "recolour", "a metal")?,
            reflection: form.reflection.then(imaging::Reflection::default),
            ..Recipe::default()
        };
        Ok(Self { engine: Some("local".into()), presets, recipe, cloud: CloudOptions::default() })
    }
}

/// One output to make: its label (the preset's name, "custom", or the shot) and either a
/// local recipe or a cloud shot, with the tokens held for it.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct Planned {
    pub label: String,
    #[serde(default)]
    pub recipe: Recipe,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Shot>,
    /// Tokens held for this output (older creations: an equal share of the hold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
}

/// What `accept` records for each photo: the engine, the outputs, the batch and, for a
/// correction, the seller's strokes (JSON).
pub(crate) struct Accepting<'a> {
    pub engine: &'a str,
    pub planned: &'a [Planned],
    pub batch_id: Option<&'a str>,
    pub hints: Option<&'a str>,
}

fn local_plan(req: &Options, unit: i64) -> Result<Vec<Planned>> {
    let planned = |label, recipe| Planned { label, recipe, cloud: None, price: Some(unit) };
    let planned: Vec<Planned> = if req.presets.is_empty() {
        let label = req.recipe.preset.map(preset_name).unwrap_or_else(|| "custom".into());
        vec![planned(label, req.recipe.clone())]
    } else {
        req.presets
            .iter()
            .map(|p| planned(preset_name(*p), Recipe { preset: Some(*p), ..req.recipe.clone() }))
            .collect()
    };
    if planned.len() > MAX_OUTPUTS {
        return Err(domain::Invalid::new(
            "too_many_outputs",
            "presets",
            format!("At most {MAX_OUTPUTS} images per creation."),
        )
        .into());
    }
    for p in &planned {
        p.recipe.validate().map_err(|e| AppError::Image { code: e.code(), message: e.to_string() })?;
    }
    Ok(planned)
}

/// What a request asks for, as a digest: its kind, photos and outputs. Part of the ids
/// derived from an idempotency key, so the same key on a different request is a new one.
fn request_scope(kind: &str, uploads: &[String], planned: &[Planned], callback: Option<&str>) -> Result<String> {
    // A try-on's person photo is stored anew on every submit: the same request repeated
    // names another upload, and must still be the same request.
    let mut planned = planned.to_vec();
    for s in planned.iter_mut().filter_map(|p| p.cloud.as_mut()) {
        if let Task::TryOn { person_upload } = &mut s.task {
            person_upload.clear();
        }
    }
    let mut request = format!(
        "{}|{}",
        uploads.join(","),
        serde_json::to_string(&planned).map_err(|e| AppError::Internal(e.to_string()))?
    );
    // Another callback (or one added on a retry) is another request, as another option is.
    if let Some(url) = callback {
        request.push_str(&format!("|callback={url}"));
    }
    Ok(format!("{kind}|{}", domain::secrets::token_digest(&request)))
}

/// `n` ids for new records: fresh ones, or, with an idempotency key, ones derived from the
/// user, the request and the key, so a retried request names the same creations.
pub(crate) fn creation_ids(user: &str, scope: &str, key: Option<&str>, n: usize) -> Result<Vec<String>> {
    let Some(key) = key else { return Ok((0..n).map(|_| db::new_id()).collect()) };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(domain::Invalid::new(
            "invalid_idempotency_key",
            "idempotency_key",
            "An idempotency key is 1 to 255 visible ASCII characters.",
        )
        .into());
    }
    Ok((0..n)
        .map(|i| {
            let h = domain::secrets::token_digest(&format!("{scope}|{user}|{key}|{i}"));
            format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
        })
        .collect())
}

fn entries(names: Vec<String>, outputs: &[Output]) -> Vec<Entry> {
    crate::archive::entries(names, outputs.iter().map(|o| o.blob_key.clone()))
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn preset_name(p: Preset) -> String {
    serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| "preset".into())
}

fn cost(planned: &[Planned]) -> i64 {
    planned.iter().map(|p| p.price.unwrap_or(0)).fold(0i64, i64::saturating_add)
}

impl App {
    /// The outputs a request makes from each photo (`upload`, when there is one), each priced.
    pub(crate) async fn plan(&self, p: &Principal, options: &Options, upload: Option<&str>) -> Result<Vec<Planned>> {
        match self.engine_of(options)? {
            "local" => local_plan(options, self.settings.tokens.local_output_cost),
            _ => self.plan_cloud(p, &options.cloud, upload, options.recipe.aspect_ratio).await,
        }
    }

    fn engine_of<'a>(&self, options: &'a Options) -> Result<&'a str> {
        match options.engine.as_deref().unwrap_or("local") {
            e @ ("local" | "cloud") => Ok(e),
            _ => Err(domain::Invalid::new("invalid_engine", "engine", "Engine must be local or cloud.").into()),
        }
    }

    /// The photos a request names; a regenerate or upscale may name none and start from
    /// its source output's photo (or, for an upscale, from the output alone).
    pub(crate) async fn request_uploads(&self, p: &Principal, req: &CreationRequest) -> Result<Vec<Option<String>>> {
        let from_output = req.options.cloud.output_id.is_some()
            && matches!(req.options.cloud.operation, Operation::Regenerate | Operation::Upscale)
            && self.engine_of(&req.options)? == "cloud";
        if from_output && req.upload_id.is_none() && req.upload_ids.is_empty() {
            let upload = self.source_upload(p, &req.options.cloud).await?;
            if upload.is_none() && req.options.cloud.operation == Operation::Regenerate {
                return Err(domain::Invalid::new(
                    "invalid_uploads",
                    "output_id",
                    "The photo of that image was deleted.",
                )
                .into());
            }
            return Ok(vec![upload]);
        }
        Ok(req.uploads()?.into_iter().map(Some).collect())
    }

    /// What a request would cost, without holding anything.
    pub async fn quote(&self, p: &Principal, req: &CreationRequest) -> Result<i64> {
        let uploads = self.request_uploads(p, req).await?;
        for id in uploads.iter().flatten() {
            self.db.upload_of(&p.user.id, id).await?;
        }
        let first = uploads.first().cloned().flatten();
        let per_photo = cost(&self.plan(p, &req.options, first.as_deref()).await?);
        Ok(per_photo.saturating_mul(i64::try_from(uploads.len()).unwrap_or(i64::MAX)))
    }

    /// Accepts a creation from one photo: its quote is held and its job queued at once.
    /// Returns it with its one-off callback, when the request named one.
    pub async fn create_creation(
        &self,
        p: &Principal,
        req: CreationRequest,
        client: &Client,
    ) -> Result<(Creation, Option<Callback>)> {
        let uploads = self.request_uploads(p, &req).await?;
        if uploads.len() != 1 {
            return Err(
                domain::Invalid::new("invalid_uploads", "upload_id", "One photo per creation; use a batch.").into()
            );
        }
        let planned = self.plan(p, &req.options, uploads[0].as_deref()).await?;
        let names: Vec<String> = uploads.iter().map(|u| u.clone().unwrap_or_default()).collect();
        let scope = request_scope("creation", &names, &planned, req.callback_url.as_deref())?;
        let ids = creation_ids(&p.user.id, &scope, req.idempotency_key.as_deref(), 1)?;
        let engine = self.engine_of(&req.options)?;
        let hints = match (&req.fixes_from, engine) {
            (Some(from), "local") => self.fixes_of(p, from, uploads[0].as_deref()).await?,
            _ => None,
        };
        let what = Accepting { engine, planned: &planned, batch_id: None, hints: hints.as_deref() };
        let (mut made, callback) = self
            .accept_with_callback(p, &uploads, &ids, &what, client, req.callback_url.as_deref().zip(ids.first()))
            .await?;
        Ok((made.pop().ok_or_else(|| AppError::Internal("no creation accepted".into()))?, callback))
    }

    /// `accept`, with the one-off callback (its URL, and the creation or batch it is for)
    /// registered first, so no end can pass it by, and forgotten if nothing was accepted.
    async fn accept_with_callback(
        &self,
        p: &Principal,
        uploads: &[Option<String>],
        ids: &[String],
        what: &Accepting<'_>,
        client: &Client,
        callback: Option<(&str, &String)>,
    ) -> Result<(Vec<Creation>, Option<Callback>)> {
        let Some((url, subject)) = callback else {
            return Ok((self.accept(p, uploads, ids, what, client).await?, None));
        };
        let of = if what.batch_id.is_some() { CallbackOf::Batch } else { CallbackOf::Creation };
        let (callback, made_now) = self.callback_for(&p.user.id, url, subject, of).await?;
        match self.accept(p, uploads, ids, what, client).await {
            Ok(made) => Ok((made, Some(callback))),
            Err(e) => {
                if made_now && let Err(gone) = self.db.delete_webhook_callback(&p.user.id, subject).await {
                    tracing::warn!(subject, error = %gone, "forgetting an unused callback failed");
                }
                Err(e)
            }
        }
    }

    /// The strokes of the user's creation `from`, when it was made from `upload` (none
    /// when it is gone, another photo's, or was never fixed by hand).
    pub async fn fixes_of(&self, p: &Principal, from: &str, upload: Option<&str>) -> Result<Option<String>> {
        let source = match self.db.creation_of(&p.user.id, from).await {
            Ok(c) => c,
            Err(db::DbError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(source.hints.filter(|_| source.upload_id.is_some() && source.upload_id.as_deref() == upload))
    }

    /// Accepts a batch: one creation per photo with the same options, all held and queued
    /// together or none at all. Returns the batch id and its creations.
    pub async fn create_batch(
        &self,
        p: &Principal,
        req: CreationRequest,
        client: &Client,
    ) -> Result<(String, Vec<Creation>, Option<Callback>)> {
        let uploads = req.uploads()?;
        let engine = self.engine_of(&req.options)?;
        let per_photo = matches!(
            req.options.cloud.operation,
            Operation::Scene | Operation::Pack | Operation::Recolour | Operation::Model
        );
        if engine == "cloud" && !per_photo {
            return Err(domain::Invalid::new(
                "invalid_operation",
                "operation",
                "This operation takes one image; it cannot be batched.",
            )
            .into());
        }
        let planned = self.plan(p, &req.options, None).await?;
        let (scope, key) =
            (request_scope("batch", &uploads, &planned, req.callback_url.as_deref())?, req.idempotency_key.as_deref());
        let ids = creation_ids(&p.user.id, &scope, key, uploads.len())?;
        let batch_id = creation_ids(&p.user.id, &format!("{scope}|id"), key, 1)?.pop().unwrap_or_else(db::new_id);
        let uploads: Vec<Option<String>> = uploads.into_iter().map(Some).collect();
        let what = Accepting { engine, planned: &planned, batch_id: Some(&batch_id), hints: None };
        let (made, callback) = self
            .accept_with_callback(p, &uploads, &ids, &what, client, req.callback_url.as_deref().zip(Some(&batch_id)))
            .await?;
        Ok((batch_id, made, callback))
    }

    pub(crate) async fn accept(
        &self,
        p: &Principal,
        uploads: &[Option<String>],
        ids: &[String],
        what: &Accepting<'_>,
        client: &Client,
    ) -> Result<Vec<Creation>> {
        for id in uploads.iter().flatten() {
            self.db.upload_of(&p.user.id, id).await?;
        }
        let (planned, cost) = (what.planned, cost(what.planned));
        let images = i64::try_from(planned.len().saturating_mul(uploads.len())).unwrap_or(i64::MAX);
        self.reserve_daily_images(p, images).await?;
        let recipes = serde_json::to_string(planned).map_err(|e| AppError::Internal(e.to_string()))?;
        let creations: Vec<Creation> = uploads
            .iter()
            .zip(ids)
            .map(|(upload, id)| Creation {
                id: id.clone(),
                batch_id: what.batch_id.map(str::to_owned),
                upload_id: upload.clone(),
                hints: what.hints.map(str::to_owned),
                api_key_id: p.key.as_ref().map(|k| k.id.clone()),
                ..new_creation(&p.user.id, "", what.engine, recipes.clone(), cost)
            })
            .collect();
        match self.db.create_creations(&creations, now_ms()).await? {
            Outcome::Applied(balance) => {
                let spent = cost.saturating_mul(i64::try_from(creations.len()).unwrap_or(i64::MAX));
                let reference = creations.first().map_or_else(String::new, |c| format!("creation:{}", c.id));
                self.after_spend(&p.user.id, balance.balance, spent, &reference).await;
                for c in &creations {
                    let network = client.network();
                    self.db.audit(Some(&p.user.id), "self", "creation_requested", &c.id, &network, now_ms()).await?;
                }
                let detail = format!("{} photo(s), {} image(s) each", creations.len(), planned.len());
                self.record_activity(&p.user.id, crate::activity::Activity::Created, &detail, Some(client)).await;
            }
            // The same idempotency key again: these creations exist; answer with them.
            Outcome::Duplicate => self.release_daily_images(p, images).await,
            Outcome::Insufficient => {
                self.release_daily_images(p, images).await;
                let balance = self.db.balance(&p.user.id).await?.balance;
                let needed = cost.saturating_mul(i64::try_from(creations.len()).unwrap_or(i64::MAX));
                return Err(AppError::InsufficientTokens { needed, balance });
            }
        }
        let mut accepted = Vec::with_capacity(creations.len());
        for c in &creations {
            accepted.push(self.db.creation_of(&p.user.id, &c.id).await?);
        }
        Ok(accepted)
    }

    pub async fn creations(&self, p: &Principal, before: Option<i64>, limit: i64) -> Result<Vec<Creation>> {
        Ok(self.db.creations_of(&p.user.id, before, limit.clamp(1, 100)).await?)
    }

    pub async fn creation_with_outputs(&self, p: &Principal, id: &str) -> Result<(Creation, Vec<Output>)> {
        let c = self.db.creation_of(&p.user.id, id).await?;
        let outputs = self.db.outputs_of(&c.id).await?;
        Ok((c, outputs))
    }

    /// The creations of one of the user's batches, each with its outputs.
    pub async fn batch(&self, p: &Principal, batch_id: &str) -> Result<Vec<(Creation, Vec<Output>)>> {
        let mut all = Vec::new();
        for c in self.db.batch_of(&p.user.id, batch_id).await? {
            let outputs = self.db.outputs_of(&c.id).await?;
            all.push((c, outputs));
        }
        Ok(all)
    }

    pub async fn output_bytes(&self, p: &Principal, id: &str) -> Result<(Output, Vec<u8>)> {
        let output = self.db.output_of(&p.user.id, id).await?;
        let key = self.data_key(&p.user.id).await?;
        let bytes = self.blobs.get(&key, &output.blob_key).await?;
        Ok((output, bytes))
    }

    /// An output in another format and/or at most `size` pixels on its longest side; the
    /// stored image as it is when neither is asked for.
    pub async fn output_as(
        &self,
        p: &Principal,
        id: &str,
        format: Option<Format>,
        size: Option<u32>,
    ) -> Result<(Output, Format, Vec<u8>)> {
        let (output, bytes) = self.output_bytes(p, id).await?;
        let stored: Format = output.format.parse().map_err(|_| AppError::Internal("stored format".into()))?;
        let want = format.unwrap_or(stored);
        if want == stored && size.is_none() {
            return Ok((output, stored, bytes));
        }
        if want == Format::Heic {
            return Err(domain::Invalid::new("invalid_format", "format", "Choose jpeg, png or webp.").into());
        }
        let converted = self.converted(bytes, size.unwrap_or(u32::MAX).max(16), want, 90).await?;
        Ok((output, want, converted))
    }

    /// AI images that could not be made, asked for again with the same choices: a new
    /// creation, held and charged like the first (which charged nothing for them).
    pub async fn try_again(&self, p: &Principal, id: &str, key: Option<&str>, client: &Client) -> Result<Creation> {
        let source = self.db.creation_of(&p.user.id, id).await?;
        if source.status != "failed" || source.engine != "cloud" {
            let why = "Only AI images that could not be made can be tried again.";
            return Err(domain::Invalid::new("not_retryable", "creation", why).into());
        }
        let planned: Vec<Planned> =
            serde_json::from_str(&source.recipes).map_err(|e| AppError::Internal(format!("stored recipes: {e}")))?;
        let ids = creation_ids(&p.user.id, &format!("again|{id}"), key, 1)?;
        let what = Accepting { engine: "cloud", planned: &planned, batch_id: None, hints: None };
        let mut made = self.accept(p, std::slice::from_ref(&source.upload_id), &ids, &what, client).await?;
        made.pop().ok_or_else(|| AppError::Internal("nothing accepted".into()))
    }

    /// The photo under one of the user's local-engine images, framed exactly as the image
    /// (pixel for pixel), as a JPEG at most `size` pixels on its longest side.
    pub async fn output_before(&self, p: &Principal, id: &str, size: u32) -> Result<Vec<u8>> {
        // Each one decodes the photo: bounded per person like the brush's previews.
        self.limit(&format!("before:{}", p.user.id), BEFORES_PER_HOUR, crate::limits::HOUR).await?;
        let output = self.db.output_of(&p.user.id, id).await?;
        let creation = self.db.creation_of(&p.user.id, &output.creation_id).await?;
        // Generated scenes have no placement, and a deleted photo has nothing to show.
        let (Some(placement), Some(upload)) = (output.placement.as_deref(), creation.upload_id.as_deref()) else {
            return Err(db::DbError::NotFound.into());
        };
        let placement: imaging::frame::Placement =
            serde_json::from_str(placement).map_err(|e| AppError::Internal(format!("placement of {id}: {e}")))?;
        let (_, bytes) = self.upload_bytes(p, upload, false).await?;
        let limits = self.upload_limits();
        let size = size.clamp(64, 2000);
        self.on_cpu(move || {
            // Twice the view's pixels is detail enough for any zoom the image itself allows;
            // a JPEG is decoded straight at a scale that still has them (3× the view's side).
            let (photo, _, _) = imaging::decode_reduced(&bytes, &limits, 3 * size)?;
            let photo = photo.within_pixels(4 * u64::from(size).pow(2))?;
            let before = imaging::frame::before(&photo.rgb, &placement, size);
            imaging::encode_rgb(&before, Format::Jpeg, 85)
        })
        .await?
        .map_err(crate::uploads::image_error)
    }

    /// A ZIP of one creation's images.
    pub async fn creation_zip(&self, p: &Principal, id: &str, client: &Client) -> Result<(String, Chunks)> {
        let (c, outputs) = self.creation_with_outputs(p, id).await?;
        let detail = format!("{} images (ZIP)", outputs.len());
        self.record_activity(&p.user.id, crate::activity::Activity::Downloaded, &detail, Some(client)).await;
        let names = outputs.iter().map(|o| o.file_name()).collect::<Vec<_>>();
        let chunks = self.zip(&p.user.id, entries(names, &outputs)).await?;
        Ok((format!("soraipixel-{}.zip", short(&c.id)), chunks))
    }

    /// A ZIP of a whole batch: one folder per photo, named after it.
    pub async fn batch_zip(&self, p: &Principal, batch_id: &str, client: &Client) -> Result<(String, Chunks)> {
        let mut names = Vec::new();
        let mut outputs = Vec::new();
        for (i, (c, made)) in self.batch(p, batch_id).await?.into_iter().enumerate() {
            let folder = match &c.upload_id {
                Some(u) => match self.db.upload_of(&p.user.id, u).await {
                    Ok(u) => u.filename.rsplit_once('.').map_or(u.filename.clone(), |(stem, _)| stem.to_owned()),
                    Err(_) => format!("photo-{}", i + 1),
                },
                None => format!("photo-{}", i + 1),
            };
            names.extend(made.iter().map(|o| format!("{folder}/{}", o.file_name())));
            outputs.extend(made);
        }
        let detail = format!("{} images of a batch (ZIP)", outputs.len());
        self.record_activity(&p.user.id, crate::activity::Activity::Downloaded, &detail, Some(client)).await;
        let chunks = self.zip(&p.user.id, entries(names, &outputs)).await?;
        Ok((format!("soraipixel-batch-{}.zip", short(batch_id)), chunks))
    }

    /// Stops a queued or running creation: images already made stay (and stay charged),
    /// the rest of the hold comes back at once.
    pub async fn cancel_creation(&self, p: &Principal, id: &str, client: &Client) -> Result<Creation> {
        self.db.cancel_creation(&p.user.id, id, now_ms()).await.map_err(|e| match e {
            db::DbError::Invalid(_) => AppError::AlreadyEnded,
            other => other.into(),
        })?;
        self.db.audit(Some(&p.user.id), "self", "creation_canceled", id, &client.network(), now_ms()).await?;
        let c = self.db.creation_of(&p.user.id, id).await?;
        self.forget_people(&c).await;
        // Its job may never run again to say so: the batch may have ended with it.
        if let Err(e) = self.announce_creation(id).await {
            tracing::warn!(creation = %id, error = %e, "announcing a canceled creation failed");
        }
        Ok(c)
    }

    /// Deletes a finished creation with its stored outputs.
    pub async fn delete_creation(&self, p: &Principal, id: &str, client: &Client) -> Result<()> {
        let keys = self.db.delete_creation(&p.user.id, id).await.map_err(|e| match e {
            db::DbError::Invalid(_) => AppError::Busy,
            other => other.into(),
        })?;
        let paths: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.remove_blobs(&paths).await;
        self.db.audit(Some(&p.user.id), "self", "creation_deleted", id, &client.network(), now_ms()).await?;
        Ok(())
    }

    /// Deletes every creation of a finished batch with its stored outputs; a batch still
    /// being made is `Busy` and nothing of it is deleted. A creation already gone (a second
    /// tap on the button) counts as deleted, so the batch never stops halfway.
    pub async fn delete_batch(&self, p: &Principal, batch_id: &str, client: &Client) -> Result<usize> {
        let creations = self.db.batch_of(&p.user.id, batch_id).await?;
        if creations.iter().any(|c| matches!(c.status.as_str(), "queued" | "running")) {
            return Err(AppError::Busy);
        }
        for c in &creations {
            match self.delete_creation(p, &c.id, client).await {
                Ok(()) | Err(AppError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(creations.len())
    }

    /// Makes every output not made yet (a retried job resumes where it stopped).
    async fn render_creation(&self, creation_id: &str, ctx: &JobContext) -> std::result::Result<(), JobError> {
        let retry = |what: &str, e: &dyn std::fmt::Display| JobError::Retry(format!("{what}: {e}"));
        let c = self.db.creation(creation_id).await.map_err(|e| retry("loading creation", &e))?;
        if !matches!(c.status.as_str(), "queued" | "running") {
            return Ok(());
        }
        let owner = self.db.user_by_id(&c.user_id).await.map_err(|e| retry("loading its owner", &e))?;
        if owner.suspended_at.is_some() {
            let why = "This account is suspended, so these images were not made. The tokens were returned.";
            return self.fail_creation(&c.id, "account_suspended", why).await;
        }
        let planned: Vec<Planned> =
            serde_json::from_str(&c.recipes).map_err(|e| JobError::Permanent(format!("bad recipes: {e}")))?;
        if c.engine == "cloud" {
            return self.render_cloud(&c, planned, ctx).await;
        }
        let Some(upload_id) = c.upload_id.clone() else {
            return self
                .fail_creation(&c.id, PHOTO_DELETED, "The photo was deleted before the images were made.")
                .await;
        };
        let upload = match self.db.upload_of(&c.user_id, &upload_id).await {
            Ok(u) => u,
            Err(db::DbError::NotFound) => {
                return self
                    .fail_creation(&c.id, PHOTO_DELETED, "The photo was deleted before the images were made.")
                    .await;
            }
            Err(e) => return Err(retry("loading upload", &e)),
        };
        self.db.set_creation_progress(&c.id, "running", 5, now_ms()).await.map_err(|e| retry("progress", &e))?;
        let key = self.data_key(&c.user_id).await.map_err(|e| retry("data key", &e))?;
        let photo = self.blobs.get(&key, &upload.original_key).await.map_err(|e| retry("reading photo", &e))?;
        let limits = self.upload_limits();
        // A correction's strokes, in the photo's own pixels.
        let strokes: Vec<Stroke> = match &c.hints {
            Some(h) => serde_json::from_str(h).map_err(|e| JobError::Permanent(format!("bad hints: {e}")))?,
            None => Vec::new(),
        };
        let photo_size = (u32::try_from(upload.width).unwrap_or(1), u32::try_from(upload.height).unwrap_or(1));
        // Engine steps share the process's CPU permits with request work, which bounds the
        // memory of everything heavy running at once to one task per core.
        let matte = match self
            .on_cpu(move || {
                let decoded = imaging::decode(&photo, &limits)?.within_pixels(WORKING_PIXELS)?;
                // A photo fixed by hand is not refused for its background.
                let params = imaging::MatteParams { refuse_unsuitable: strokes.is_empty(), ..Default::default() };
                let mut m = imaging::cutout(&decoded, &params)?;
                hints::apply(
                    &decoded.rgb,
                    &mut m,
                    &hints::scale(&strokes, photo_size, (decoded.width, decoded.height)),
                )?;
                Ok::<_, imaging::ImagingError>(m)
            })
            .await
            .map_err(|e| retry("engine task", &e))?
        {
            Ok(m) => Arc::new(m),
            Err(e) => return self.fail_creation(&c.id, e.code(), &e.to_string()).await,
        };
        let done: Vec<i64> =
            self.db.outputs_of(&c.id).await.map_err(|e| retry("outputs", &e))?.iter().map(|o| o.ordinal).collect();
        let total = planned.len().max(1) as i64;
        // The price held when the creation was accepted, whatever this worker's settings say.
        let held_share = c.tokens_held / total;
        for (i, item) in planned.into_iter().enumerate() {
            let ordinal = i64::try_from(i).unwrap_or(i64::MAX);
            if done.contains(&ordinal) {
                continue;
            }
            if ctx.should_stop() {
                return Err(JobError::Retry("stopped".into()));
            }
            let unit_price = item.price.unwrap_or(held_share);
            let (m, recipe) = (matte.clone(), item.recipe.clone());
            let rendered = match self
                .on_cpu(move || imaging::render_matte(&m, &recipe, &mut |_, _| {}))
                .await
                .map_err(|e| retry("engine task", &e))?
            {
                Ok(r) => r,
                Err(e) => return self.fail_creation(&c.id, e.code(), &format!("{}: {e}", title_of(&item.label))).await,
            };
            // A path of its own per attempt: a worker that lost its lease can never touch
            // the image another worker recorded for the same slot.
            let id = db::new_id();
            let blob_key = format!("users/{}/creations/{}/{id}.{}", c.user_id, c.id, rendered.format.extension());
            self.blobs.put(&key, &blob_key, &rendered.bytes).await.map_err(|e| retry("storing output", &e))?;
            let output = Output {
                id,
                creation_id: c.id.clone(),
                user_id: c.user_id.clone(),
                ordinal,
                label: item.label,
                format: rendered.format.name().to_owned(),
                width: i64::from(rendered.width),
                height: i64::from(rendered.height),
                bytes: i64::try_from(rendered.bytes.len()).unwrap_or(i64::MAX),
                blob_key,
                compliance: rendered.compliance.as_ref().and_then(|r| serde_json::to_string(r).ok()),
                charged: Some(unit_price),
                confidence: Some(f64::from(rendered.confidence)),
                placement: serde_json::to_string(&rendered.placement).ok(),
                ..Output::default()
            };
            let recorded =
                self.db.add_output(&output, unit_price, now_ms()).await.map_err(|e| retry("recording output", &e))?;
            match recorded {
                Recorded::Stored => {}
                // Another attempt recorded this slot first: this copy belongs to no one.
                Recorded::Duplicate => self.remove_blobs(&[&output.blob_key]).await,
                // Canceled (or finished by another worker) meanwhile: nothing more to make.
                Recorded::Ended => {
                    self.remove_blobs(&[&output.blob_key]).await;
                    return Ok(());
                }
            }
            let progress = 10 + 90 * (ordinal + 1) / total;
            self.db
                .set_creation_progress(&c.id, "running", progress.min(99), now_ms())
                .await
                .map_err(|e| retry("progress", &e))?;
        }
        self.db.finish_creation(&c.id, "succeeded", None, now_ms()).await.map_err(|e| retry("finishing", &e))?;
        Ok(())
    }

    /// The engine refused the photo: the creation fails (with a stable `code` and words for
    /// the seller), its hold is released, the job ends.
    pub(crate) async fn fail_creation(&self, id: &str, code: &str, why: &str) -> std::result::Result<(), JobError> {
        let failure = db::creations::Failure { code, message: why };
        self.db
            .finish_creation(id, "failed", Some(failure), now_ms())
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        if let Ok(c) = self.db.creation(id).await {
            self.forget_people(&c).await;
        }
        Ok(())
    }
}

/// The queue handler that renders creations.
pub struct RenderCreations(pub App);

impl Handler for RenderCreations {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }

    fn run(&self, job: Job, ctx: JobContext) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            app.render_creation(&job.payload, &ctx).await?;
            // After the creation ended, before the job does: a worker lost in between leaves
            // the job to run again, and announcing twice sends nothing twice.
            app.announce_creation(&job.payload).await.map_err(|e| JobError::Retry(format!("announcing: {e}")))
        })
    }

    /// Out of attempts: the creation fails and its unused tokens come back.
    fn dead(&self, job: Job) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            let why = job.last_error.unwrap_or_else(|| "the worker stopped".into());
            tracing::warn!(creation = %job.payload, error = %why, "creation failed: out of attempts");
            app.fail_creation(
                &job.payload,
                "out_of_attempts",
                "We could not finish these images. Unused tokens were returned.",
            )
            .await?;
            app.announce_creation(&job.payload).await.map_err(|e| JobError::Retry(format!("announcing: {e}")))
        })
    }
}

//! Creations with the local engine: what a user asks for becomes one recipe per output,
//! quoted, held, queued; the render job makes each output, seals it, and charges for it
//! as it is recorded; whatever was not charged is released when the creation ends.

use std::sync::Arc;

use serde::Deserialize;

use db::creations::{Creation, JOB_KIND, Output, new_creation};
use db::ledger::Outcome;
use db::queue::Job;
use imaging::{Preset, Recipe};
use jobs::{Handler, HandlerFuture, JobContext, JobError};

use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

/// At most this many outputs in one creation.
pub const MAX_OUTPUTS: usize = 12;

/// `POST /api/v1/quotes` and `/creations`: an upload, the engine, and either one recipe or
/// the same settings for several marketplace presets.
#[derive(Debug, Deserialize)]
pub struct CreationRequest {
    pub upload_id: String,
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub presets: Vec<Preset>,
    #[serde(flatten)]
    pub recipe: Recipe,
}

impl CreationRequest {
    /// From the studio form: preset names, a background (`white`, `#hex`, `#a-#b`, `marble`…)
    /// and a shadow (`none`, `contact`, `drop`).
    pub fn from_form(upload_id: &str, presets: &[String], background: &str, shadow: &str) -> Result<Self> {
        let invalid = |field, msg: &str| AppError::from(domain::Invalid::new("invalid_option", field, msg));
        let presets = presets
            .iter()
            .map(|p| serde_json::from_value::<Preset>(serde_json::Value::String(p.clone())))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| invalid("presets", "Choose marketplaces from the list."))?;
        if presets.is_empty() {
            return Err(invalid("presets", "Choose at least one marketplace."));
        }
        let background = if background.trim().is_empty() {
            None
        } else {
            Some(background.parse().map_err(|_| invalid("background", "Choose a background from the list."))?)
        };
        let shadow = if shadow.trim().is_empty() {
            None
        } else {
            Some(shadow.parse().map_err(|_| invalid("shadow", "Choose a shadow from the list."))?)
        };
        Ok(Self {
            upload_id: upload_id.to_owned(),
            engine: Some("local".into()),
            presets,
            recipe: Recipe { background, shadow, ..Recipe::default() },
        })
    }
}

/// One output to make: its label (the preset's name, or "custom") and its recipe.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct Planned {
    pub label: String,
    pub recipe: Recipe,
}

fn plan(req: &CreationRequest) -> Result<Vec<Planned>> {
    match req.engine.as_deref().unwrap_or("local") {
        "local" => {}
        "cloud" => {
            return Err(
                domain::Invalid::new("engine_unavailable", "engine", "The cloud engine is not available yet.").into()
            );
        }
        _ => return Err(domain::Invalid::new("invalid_engine", "engine", "Engine must be local or cloud.").into()),
    }
    let planned: Vec<Planned> = if req.presets.is_empty() {
        let label = req.recipe.preset.map(preset_name).unwrap_or_else(|| "custom".into());
        vec![Planned { label, recipe: req.recipe.clone() }]
    } else {
        req.presets
            .iter()
            .map(|p| Planned { label: preset_name(*p), recipe: Recipe { preset: Some(*p), ..req.recipe.clone() } })
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

fn preset_name(p: Preset) -> String {
    serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| "preset".into())
}

impl App {
    /// What a request would cost, without holding anything.
    pub async fn quote(&self, p: &Principal, req: &CreationRequest) -> Result<i64> {
        self.db.upload_of(&p.user.id, &req.upload_id).await?;
        Ok(self.cost(plan(req)?.len()))
    }

    fn cost(&self, outputs: usize) -> i64 {
        i64::try_from(outputs).unwrap_or(i64::MAX).saturating_mul(self.settings.tokens.local_output_cost)
    }

    /// Accepts a creation: the quote is held and the render job queued in one transaction.
    pub async fn create_creation(&self, p: &Principal, req: CreationRequest, client: &Client) -> Result<Creation> {
        self.db.upload_of(&p.user.id, &req.upload_id).await?;
        let planned = plan(&req)?;
        let cost = self.cost(planned.len());
        let recipes = serde_json::to_string(&planned).map_err(|e| AppError::Internal(e.to_string()))?;
        let creation = new_creation(&p.user.id, &req.upload_id, "local", recipes, cost);
        match self.db.create_creation(&creation, now_ms()).await? {
            Outcome::Applied(_) => {}
            _ => {
                let balance = self.db.balance(&p.user.id).await?.balance;
                return Err(AppError::InsufficientTokens { needed: cost, balance });
            }
        }
        self.db
            .audit(Some(&p.user.id), "self", "creation_requested", &creation.id, &client.network(), now_ms())
            .await?;
        Ok(self.db.creation_of(&p.user.id, &creation.id).await?)
    }

    pub async fn creations(&self, p: &Principal, before: Option<i64>, limit: i64) -> Result<Vec<Creation>> {
        Ok(self.db.creations_of(&p.user.id, before, limit.clamp(1, 100)).await?)
    }

    pub async fn creation_with_outputs(&self, p: &Principal, id: &str) -> Result<(Creation, Vec<Output>)> {
        let c = self.db.creation_of(&p.user.id, id).await?;
        let outputs = self.db.outputs_of(&c.id).await?;
        Ok((c, outputs))
    }

    pub async fn output_bytes(&self, p: &Principal, id: &str) -> Result<(Output, Vec<u8>)> {
        let output = self.db.output_of(&p.user.id, id).await?;
        let key = self.data_key(&p.user.id).await?;
        let bytes = self
            .blobs
            .get(&key, &output.blob_key)
            .await
            .map_err(|e| AppError::Internal(format!("reading output {id}: {e}")))?;
        Ok((output, bytes))
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

    /// Makes every output not made yet (a retried job resumes where it stopped).
    async fn render_creation(&self, creation_id: &str, ctx: &JobContext) -> std::result::Result<(), JobError> {
        let retry = |what: &str, e: &dyn std::fmt::Display| JobError::Retry(format!("{what}: {e}"));
        let c = self.db.creation(creation_id).await.map_err(|e| retry("loading creation", &e))?;
        if !matches!(c.status.as_str(), "queued" | "running") {
            return Ok(());
        }
        let planned: Vec<Planned> =
            serde_json::from_str(&c.recipes).map_err(|e| JobError::Permanent(format!("bad recipes: {e}")))?;
        let Some(upload_id) = c.upload_id.clone() else {
            return self.fail_creation(&c.id, "The photo was deleted before the images were made.").await;
        };
        let upload = match self.db.upload_of(&c.user_id, &upload_id).await {
            Ok(u) => u,
            Err(db::DbError::NotFound) => {
                return self.fail_creation(&c.id, "The photo was deleted before the images were made.").await;
            }
            Err(e) => return Err(retry("loading upload", &e)),
        };
        self.db.set_creation_progress(&c.id, "running", 5, now_ms()).await.map_err(|e| retry("progress", &e))?;
        let key = self.data_key(&c.user_id).await.map_err(|e| retry("data key", &e))?;
        let photo = self.blobs.get(&key, &upload.original_key).await.map_err(|e| retry("reading photo", &e))?;
        let limits = self.upload_limits();
        let matte = match tokio::task::spawn_blocking(move || {
            let decoded = imaging::decode(&photo, &limits)?;
            imaging::cutout(&decoded, &imaging::MatteParams::default())
        })
        .await
        .map_err(|e| retry("engine task", &e))?
        {
            Ok(m) => Arc::new(m),
            Err(e) => return self.fail_creation(&c.id, &e.to_string()).await,
        };
        let done: Vec<i64> =
            self.db.outputs_of(&c.id).await.map_err(|e| retry("outputs", &e))?.iter().map(|o| o.ordinal).collect();
        let total = planned.len().max(1) as i64;
        for (i, item) in planned.into_iter().enumerate() {
            let ordinal = i64::try_from(i).unwrap_or(i64::MAX);
            if done.contains(&ordinal) {
                continue;
            }
            if ctx.should_stop() {
                return Err(JobError::Retry("stopped".into()));
            }
            let (m, recipe) = (matte.clone(), item.recipe.clone());
            let rendered = match tokio::task::spawn_blocking(move || imaging::render_matte(&m, &recipe, &mut |_, _| {}))
                .await
                .map_err(|e| retry("engine task", &e))?
            {
                Ok(r) => r,
                Err(e) => return self.fail_creation(&c.id, &format!("{}: {e}", item.label)).await,
            };
            let blob_key = format!("users/{}/creations/{}/{ordinal}.{}", c.user_id, c.id, rendered.format.extension());
            self.blobs.put(&key, &blob_key, &rendered.bytes).await.map_err(|e| retry("storing output", &e))?;
            let output = Output {
                id: db::new_id(),
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
                created_at: 0,
            };
            self.db
                .add_output(&output, self.settings.tokens.local_output_cost, now_ms())
                .await
                .map_err(|e| retry("recording output", &e))?;
            let progress = 10 + 90 * (ordinal + 1) / total;
            self.db
                .set_creation_progress(&c.id, "running", progress.min(99), now_ms())
                .await
                .map_err(|e| retry("progress", &e))?;
        }
        self.db.finish_creation(&c.id, "succeeded", None, now_ms()).await.map_err(|e| retry("finishing", &e))?;
        Ok(())
    }

    /// The engine refused the photo: the creation fails, its hold is released, the job ends.
    async fn fail_creation(&self, id: &str, why: &str) -> std::result::Result<(), JobError> {
        self.db.finish_creation(id, "failed", Some(why), now_ms()).await.map_err(|e| JobError::Retry(e.to_string()))?;
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
        Box::pin(async move { app.render_creation(&job.payload, &ctx).await })
    }

    /// Out of attempts: the creation fails and its unused tokens come back.
    fn dead(&self, job: Job) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            let why = job.last_error.unwrap_or_else(|| "the worker stopped".into());
            app.fail_creation(&job.payload, &format!("Could not finish: {why}")).await
        })
    }
}

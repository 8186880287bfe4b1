//! The cloud engine: generative scenes, recolours, model and try-on shots, and HD upscales,
//! made by image models (Gemini, OpenAI, fal.ai) and guarded by a fidelity check against
//! the upload. `request` turns what a seller asks for into priced shots, `render` makes
//! them in the queue, `previews` serves visitors a watermarked sample.

pub mod gallery;
pub mod previews;
pub mod render;
pub mod request;

use std::sync::Arc;

use providers::ai::{Fal, Gemini, GeminiAuth, Guard, GuardSettings, ImageModel, OpenAi, Pricing, VisionModel};
use serde::{Deserialize, Serialize};

pub use request::{CloudOptions, Operation, Shot, Task};

/// Quality tiers, from cheapest. A request names one; a fallback may use a cheaper one,
/// and the output is charged at the tier that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    #[default]
    Standard,
    Pro,
    Ultra,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Standard, Tier::Pro, Tier::Ultra];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Pro => "pro",
            Tier::Ultra => "ultra",
        }
    }
}

/// The configured models. `standard` is required for the engine to exist; the others are
/// optional and fall back down the tiers.
#[derive(Clone)]
pub struct Engine {
    models: [Option<Arc<dyn ImageModel>>; 3],
    upscaler: Option<Arc<dyn ImageModel>>,
    /// The text/vision model: judges outputs (when `cloud.judge`) and writes listings.
    vision: Arc<dyn VisionModel>,
    judge: bool,
    /// True when the models are the in-process FAKES (dev mode): pages say so.
    pub fake: bool,
}

fn guard(name: &str, g: settings::Guard) -> Arc<Guard> {
    let s = GuardSettings {
        concurrency: g.concurrency,
        timeout_secs: g.timeout_secs,
        failures_to_open: g.failures_to_open,
        open_secs: g.open_secs,
    };
    Arc::new(Guard::new(name, s))
}

fn pricing(p: settings::Pricing) -> Pricing {
    Pricing {
        per_image_micros: p.per_image_micros,
        per_million_input_micros: p.per_million_input_micros,
        per_million_output_micros: p.per_million_output_micros,
    }
}

impl Engine {
    /// The engine the configuration describes; `None` when no Gemini is configured.
    pub fn from_settings(c: &settings::Cloud) -> Result<Option<Self>, String> {
        let Some(g) = &c.gemini else { return Ok(None) };
        let auth = match (&g.api_key, &g.vertex) {
            (Some(key), _) => GeminiAuth::ApiKey(key.expose().to_owned()),
            (None, Some(v)) => GeminiAuth::Vertex {
                project: v.project.clone(),
                location: v.location.clone(),
                token_file: v.token_file.clone(),
            },
            (None, None) => return Err("cloud.gemini needs api_key or vertex".into()),
        };
        let gemini_guard = guard("gemini", g.guard);
        let gemini = |model: &str, price| {
            Gemini::new(&g.base_url, auth.clone(), model, pricing(price), gemini_guard.clone())
                .map_err(|e| e.to_string())
        };
        let standard: Arc<dyn ImageModel> = Arc::new(gemini(&g.standard_model, g.standard_pricing)?);
        let pro: Arc<dyn ImageModel> = Arc::new(gemini(&g.pro_model, g.pro_pricing)?);
        let vision: Arc<dyn VisionModel> = Arc::new(gemini(&g.judge_model, g.judge_pricing)?);
        let ultra = match &c.openai {
            Some(o) => {
                let client = OpenAi::new(
                    &o.base_url,
                    o.api_key.expose(),
                    &o.model,
                    pricing(o.pricing),
                    guard("openai", o.guard),
                );
                Some(Arc::new(client.map_err(|e| e.to_string())?) as Arc<dyn ImageModel>)
            }
            None => None,
        };
        let upscaler = match &c.fal {
            Some(f) => {
                let client = Fal::new(
                    &f.base_url,
                    f.api_key.expose(),
                    &f.upscale_model,
                    f.scale,
                    pricing(f.pricing),
                    guard("fal", f.guard),
                );
                Some(Arc::new(client.map_err(|e| e.to_string())?) as Arc<dyn ImageModel>)
            }
            None => None,
        };
        Ok(Some(Self { models: [Some(standard), Some(pro), ultra], upscaler, vision, judge: c.judge, fake: false }))
    }

    /// DEV MODE and tests: every provider pointed at the FAKE servers (`fakes::ai`), through
    /// the same clients as production.
    pub fn fake(base_url: &str, api_key: &str, cloud: &settings::Cloud) -> Result<Self, String> {
        let key = settings::Secret::from(api_key);
        let c = settings::Cloud {
            gemini: Some(settings::Gemini {
                api_key: Some(key.clone()),
                base_url: base_url.into(),
                ..serde_json::from_value(serde_json::json!({})).map_err(|e| e.to_string())?
            }),
            openai: Some(settings::OpenAi {
                api_key: key.clone(),
                base_url: base_url.into(),
                ..serde_json::from_value(serde_json::json!({ "api_key": "" })).map_err(|e| e.to_string())?
            }),
            fal: Some(settings::Fal {
                api_key: key,
                base_url: base_url.into(),
                ..serde_json::from_value(serde_json::json!({ "api_key": "" })).map_err(|e| e.to_string())?
            }),
            ..cloud.clone()
        };
        let mut engine = Self::from_settings(&c)?.ok_or("no fake engine")?;
        engine.fake = true;
        Ok(engine)
    }

    /// Models to try for a tier, best first: the tier's own, then each cheaper one.
    pub fn chain(&self, tier: Tier) -> Vec<(Tier, Arc<dyn ImageModel>)> {
        Tier::ALL[..=tier.index()]
            .iter()
            .rev()
            .filter_map(|t| self.models[t.index()].clone().map(|m| (*t, m)))
            .collect()
    }

    /// The best tier on offer (ultra needs OpenAI).
    pub fn best_tier(&self) -> Tier {
        Tier::ALL.into_iter().rev().find(|t| self.models[t.index()].is_some()).unwrap_or(Tier::Standard)
    }

    pub fn upscaler(&self) -> Option<Arc<dyn ImageModel>> {
        self.upscaler.clone()
    }

    pub fn judge(&self) -> Option<Arc<dyn VisionModel>> {
        self.judge.then(|| self.vision.clone())
    }

    /// The model that writes listing copy.
    pub fn writer(&self) -> Arc<dyn VisionModel> {
        self.vision.clone()
    }
}

impl crate::App {
    /// Model calls and what they cost us over the last `days`, by provider, model and
    /// outcome (admins only).
    pub async fn ai_usage(
        &self,
        p: &crate::sessions::Principal,
        days: i64,
    ) -> crate::Result<Vec<db::cloud::CallSummary>> {
        p.require_staff()?;
        let since = crate::now_ms() - days.clamp(1, 366) * crate::limits::DAY;
        Ok(self.db.provider_call_summary(since).await?)
    }
}

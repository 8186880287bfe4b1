//! What a seller asks the cloud engine for, checked against the prompt library and turned
//! into priced shots: one [`Shot`] per output, each held at its tier's price.

use prompts::{Library, Look};
use serde::{Deserialize, Serialize};

use super::Tier;
use crate::creations::Planned;
use crate::sessions::Principal;
use crate::{App, AppError, Result};

/// The cloud operations a creation can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// A theme × chosen shots.
    #[default]
    Scene,
    /// A theme × the pack's shots (hero, alternate angle, close-up).
    Pack,
    /// The photo with its metal changed; stones keep their colour.
    Recolour,
    /// The piece worn by a model, up to four poses, same model and outfit throughout.
    Model,
    /// The piece on a person from a photo the user uploads (with consent; deleted after).
    TryOn,
    /// One output made again with the same settings.
    Regenerate,
    /// One output enlarged in HD.
    Upscale,
}

/// The cloud part of a creation request (`engine: "cloud"`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CloudOptions {
    #[serde(default)]
    pub operation: Operation,
    #[serde(default)]
    pub tier: Tier,
    #[serde(default)]
    pub jewellery: Option<String>,
    #[serde(default)]
    pub theme: Option<String>,
    #[serde(default)]
    pub shots: Vec<String>,
    #[serde(default)]
    pub metal: Option<String>,
    #[serde(default)]
    pub poses: Vec<String>,
    #[serde(default)]
    pub look: Option<Look>,
    #[serde(default)]
    pub person_upload_id: Option<String>,
    #[serde(default)]
    pub person_consent: bool,
    /// Regenerate / upscale: the output to start from.
    #[serde(default)]
    pub output_id: Option<String>,
    /// Place the upload's own jewellery pixels into the generated scene.
    #[serde(default)]
    pub hybrid: bool,
    /// A branding strip (business name, phone, website from the profile) along the bottom.
    #[serde(default)]
    pub brand_strip: bool,
    #[serde(default)]
    pub instructions: Option<String>,
}

/// What one output is made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    Scene { theme: String, shot: String },
    Recolour { metal: String },
    Model { pose: String, look: Look },
    TryOn { person_upload: String },
    Upscale { source_output: String },
}

/// One generative output, as stored with its creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    pub task: Task,
    pub tier: Tier,
    pub jewellery: String,
    #[serde(default)]
    pub hybrid: bool,
    #[serde(default)]
    pub brand_strip: bool,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub aspect_ratio: Option<String>,
}

impl Shot {
    /// Tokens for this shot made at `tier`.
    pub fn price(&self, tokens: &settings::Tokens, tier: Tier) -> i64 {
        let i = tier.index();
        match self.task {
            Task::Scene { .. } => tokens.generated_image[i],
            Task::Recolour { .. } => tokens.recolour[i],
            Task::Model { .. } | Task::TryOn { .. } => tokens.model_pose[i],
            Task::Upscale { .. } => tokens.upscale,
        }
    }

    /// File-name-friendly label: `hero`, `pose-seated`, `recolour-rose_gold`, `try-on`, `hd`.
    pub fn label(&self) -> String {
        match &self.task {
            Task::Scene { shot, .. } => shot.clone(),
            Task::Recolour { metal } => format!("recolour-{}", metal.trim_start_matches('#')),
            Task::Model { pose, .. } => format!("pose-{pose}"),
            Task::TryOn { .. } => "try-on".into(),
            Task::Upscale { .. } => "hd".into(),
        }
    }

    /// The person photo a try-on uses (deleted when the creation ends).
    pub fn person_upload(&self) -> Option<&str> {
        match &self.task {
            Task::TryOn { person_upload } => Some(person_upload),
            _ => None,
        }
    }
}

fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> AppError {
    domain::Invalid::new(code, field, message.into()).into()
}

fn library() -> Result<&'static Library> {
    prompts::library().map_err(|e| AppError::Internal(e.to_string()))
}

fn checked(e: prompts::PromptError) -> AppError {
    match e {
        prompts::PromptError::Unknown(field, value) => {
            invalid("invalid_option", field, format!("{value:?} is not one of the choices for {field}."))
        }
        prompts::PromptError::TooLong(n) => {
            invalid("instructions_too_long", "instructions", format!("Instructions are limited to {n} characters."))
        }
        other => AppError::Internal(other.to_string()),
    }
}

/// Gemini's aspect ratios nearest to ours (1.91:1 links become 16:9).
fn model_ratio(a: imaging::AspectRatio) -> String {
    match a.label() {
        "1.91:1" => "16:9".into(),
        other => other.into(),
    }
}

impl App {
    /// The shots a cloud request makes, priced at the requested tier. The source output
    /// (regenerate, upscale) and the person photo (try-on) must be the user's own.
    pub(crate) async fn plan_cloud(
        &self,
        p: &Principal,
        o: &CloudOptions,
        upload: Option<&str>,
        aspect: Option<imaging::AspectRatio>,
    ) -> Result<Vec<Planned>> {
        let engine = self.cloud.as_ref().ok_or_else(|| {
            invalid("engine_unavailable", "engine", "The cloud engine is not configured on this server.")
        })?;
        let lib = library()?;
        let best = match o.operation {
            Operation::Upscale => Tier::Standard,
            _ => engine.best_tier(),
        };
        if o.tier > best {
            return Err(invalid(
                "tier_unavailable",
                "tier",
                format!("The {} tier is not available here.", o.tier.name()),
            ));
        }
        let instructions = lib.instructions(o.instructions.as_deref().unwrap_or_default()).map_err(checked)?;
        let jewellery = || -> Result<String> {
            let id = o
                .jewellery
                .as_deref()
                .ok_or_else(|| invalid("invalid_option", "jewellery", "Choose the jewellery type."))?;
            Ok(lib.jewellery(id).map_err(checked)?.id.clone())
        };
        let shot = |task: Task, jewellery: &str| Shot {
            task,
            tier: o.tier,
            jewellery: jewellery.to_owned(),
            hybrid: false,
            brand_strip: o.brand_strip,
            instructions: instructions.clone(),
            aspect_ratio: aspect.map(model_ratio),
        };
        let shots: Vec<Shot> = match o.operation {
            Operation::Scene | Operation::Pack => {
                let theme = o.theme.as_deref().ok_or_else(|| invalid("invalid_option", "theme", "Choose a theme."))?;
                lib.theme(theme).map_err(checked)?;
                let names: Vec<String> =
                    if o.operation == Operation::Pack { lib.pack().to_vec() } else { o.shots.clone() };
                if names.is_empty() {
                    return Err(invalid("invalid_option", "shots", "Choose at least one shot."));
                }
                if names.len() > lib.limits.max_shots {
                    let most = lib.limits.max_shots;
                    return Err(invalid("too_many_outputs", "shots", format!("At most {most} shots per request.")));
                }
                let j = jewellery()?;
                let mut out = Vec::new();
                for name in names {
                    lib.shot(&name).map_err(checked)?;
                    let task = Task::Scene { theme: theme.to_owned(), shot: name };
                    out.push(Shot { hybrid: o.hybrid, ..shot(task, &j) });
                }
                out
            }
            Operation::Recolour => {
                let metal = o.metal.as_deref().ok_or_else(|| invalid("invalid_option", "metal", "Choose a metal."))?;
                lib.metal(metal).map_err(checked)?;
                vec![shot(Task::Recolour { metal: metal.to_owned() }, &jewellery()?)]
            }
            Operation::Model => {
                let look =
                    o.look.clone().ok_or_else(|| invalid("invalid_option", "look", "Choose the model's look."))?;
                lib.check_look(&look).map_err(checked)?;
                if o.poses.is_empty() || o.poses.len() > lib.limits.max_poses {
                    let most = lib.limits.max_poses;
                    return Err(invalid("invalid_option", "poses", format!("Choose 1 to {most} poses.")));
                }
                let j = jewellery()?;
                let mut out = Vec::new();
                for pose in &o.poses {
                    lib.pose(pose).map_err(checked)?;
                    out.push(shot(Task::Model { pose: pose.clone(), look: look.clone() }, &j));
                }
                out
            }
            Operation::TryOn => {
                if !o.person_consent {
                    return Err(invalid(
                        "consent_required",
                        "person_consent",
                        "Confirm that you have the person's consent to use their photo.",
                    ));
                }
                let person = o
                    .person_upload_id
                    .as_deref()
                    .ok_or_else(|| invalid("invalid_option", "person_upload_id", "Add the person's photo."))?;
                // The person's photo is deleted afterwards: it must not be the jewellery's.
                if upload == Some(person) {
                    return Err(invalid(
                        "invalid_option",
                        "person_upload_id",
                        "The person's photo must be a separate photo.",
                    ));
                }
                self.db.upload_of(&p.user.id, person).await?;
                vec![shot(Task::TryOn { person_upload: person.to_owned() }, &jewellery()?)]
            }
            Operation::Regenerate | Operation::Upscale => {
                let id = o
                    .output_id
                    .as_deref()
                    .ok_or_else(|| invalid("invalid_option", "output_id", "Choose the image to start from."))?;
                let source = self.db.output_of(&p.user.id, id).await?;
                if o.operation == Operation::Upscale {
                    let unavailable =
                        || invalid("engine_unavailable", "operation", "HD upscale is not available here.");
                    engine.upscaler().ok_or_else(unavailable)?;
                    let scale = self.settings.cloud.fal.as_ref().map_or(2, |f| i64::from(f.scale));
                    let limit = i64::try_from(imaging::Limits::default().max_pixels).unwrap_or(i64::MAX);
                    if source.width * source.height * scale * scale > limit {
                        return Err(invalid("too_large", "output_id", "This image is already too large to upscale."));
                    }
                    vec![Shot {
                        hybrid: false,
                        brand_strip: false,
                        aspect_ratio: None,
                        instructions: None,
                        ..shot(Task::Upscale { source_output: source.id.clone() }, "ring")
                    }]
                } else {
                    let from = self.db.creation_of(&p.user.id, &source.creation_id).await?;
                    let planned: Vec<Planned> = serde_json::from_str(&from.recipes).unwrap_or_default();
                    let usize_ordinal = usize::try_from(source.ordinal).unwrap_or(usize::MAX);
                    let again = planned
                        .into_iter()
                        .nth(usize_ordinal)
                        .and_then(|p| p.cloud)
                        .filter(|s| !matches!(s.task, Task::TryOn { .. } | Task::Upscale { .. }))
                        .ok_or_else(|| {
                            invalid(
                                "not_regenerable",
                                "output_id",
                                "Only generated scenes, recolours and model shots can be made again.",
                            )
                        })?;
                    vec![Shot {
                        tier: o.tier,
                        instructions: instructions.clone().or(again.instructions.clone()),
                        ..again
                    }]
                }
            }
        };
        Ok(shots
            .into_iter()
            .map(|s| Planned {
                label: s.label(),
                recipe: imaging::Recipe::default(),
                price: Some(s.price(&self.settings.tokens, s.tier)),
                cloud: Some(s),
            })
            .collect())
    }

    /// The upload a regenerate or upscale starts from: the source creation's photo.
    pub(crate) async fn source_upload(&self, p: &Principal, o: &CloudOptions) -> Result<Option<String>> {
        let Some(id) = o.output_id.as_deref() else { return Ok(None) };
        let source = self.db.output_of(&p.user.id, id).await?;
        Ok(self.db.creation_of(&p.user.id, &source.creation_id).await?.upload_id)
    }
}

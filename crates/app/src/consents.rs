//! Consents (marketing email; use of images for model training — both off unless switched
//! on) and the privacy policy's versions. Every change is kept with its time, source and the
//! policy version it was made under; a significant new policy version shows a notice until
//! the user acknowledges it.

use serde::{Deserialize, Serialize};

use db::consents::{ConsentChange, Purpose};
use db::users::User;

use crate::sessions::Principal;
use crate::{App, Client, Result, now_ms};

/// One published version of the privacy policy (the text is `privacy.html`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PolicyVersion {
    pub version: &'static str,
    pub effective: &'static str,
    /// Significant changes are announced in the app until acknowledged.
    pub significant: bool,
    pub changes: &'static str,
}

/// Oldest first; the last is in force.
pub const POLICY_VERSIONS: &[PolicyVersion] = &[
    PolicyVersion { version: "2026-03", effective: "1 March 2026", significant: true, changes: "First version." },
    PolicyVersion {
        version: "2026-11",
        effective: "27 November 2026",
        significant: true,
        changes: "Payments through Razorpay with numbered invoices; a second essential cookie that keeps the \
                  currency of your prices; export and deletion of your account from the settings page; a separate, \
                  off-by-default choice about using your images to improve our models.",
    },
    PolicyVersion {
        version: "2026-11.2",
        effective: "27 November 2026",
        significant: true,
        changes: "AI-made images: which provider receives your photo for each choice (Google's Gemini for scenes, \
                  model shots and try-on; OpenAI only when you pick the Ultra tier; fal.ai only for an HD upscale); \
                  a try-on photo of a person is deleted as soon as the image is made; visitors' free previews keep a \
                  random device id in the browser's own storage, and their photo only until the preview is made; listing copy is \
                  written by Gemini from your photo; a connected Shopify store's token is kept encrypted with your key.",
    },
];

pub fn current_policy() -> PolicyVersion {
    POLICY_VERSIONS.last().copied().unwrap_or(PolicyVersion {
        version: "",
        effective: "",
        significant: false,
        changes: "",
    })
}

/// The notice to show `user`, if the policy in force changed significantly since they last
/// acknowledged it.
pub fn policy_notice(user: &User) -> Option<PolicyVersion> {
    let current = current_policy();
    (current.significant && user.policy_acknowledged.as_deref() != Some(current.version)).then_some(current)
}

#[derive(Debug, Serialize)]
pub struct Consents {
    pub marketing: bool,
    pub model_training: bool,
    pub policy_version: &'static str,
    pub history: Vec<ConsentChange>,
}

/// Fields left out stay as they are.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentUpdate {
    #[serde(default)]
    pub marketing: Option<bool>,
    #[serde(default)]
    pub model_training: Option<bool>,
}

impl App {
    pub async fn consents(&self, p: &Principal) -> Result<Consents> {
        let user = self.db.user_by_id(&p.user.id).await?;
        Ok(Consents {
            marketing: user.marketing_opt_in,
            model_training: user.model_training_opt_in,
            policy_version: current_policy().version,
            history: self.db.consent_history(&user.id).await?,
        })
    }

    /// Records each choice that changed, from `source` (`settings`, `api`).
    pub async fn update_consents(
        &self,
        p: &Principal,
        u: &ConsentUpdate,
        source: &str,
        client: &Client,
    ) -> Result<Consents> {
        let user = self.db.user_by_id(&p.user.id).await?;
        let now = now_ms();
        let wanted = [
            (Purpose::Marketing, u.marketing, user.marketing_opt_in),
            (Purpose::ModelTraining, u.model_training, user.model_training_opt_in),
        ];
        for (purpose, wanted, current) in wanted {
            if let Some(granted) = wanted.filter(|w| *w != current) {
                self.db.set_consent(&user.id, purpose, granted, source, current_policy().version, now).await?;
                let action = if granted { "consent_given" } else { "consent_withdrawn" };
                self.db.audit(Some(&user.id), "self", action, purpose.as_str(), &client.network(), now).await?;
            }
        }
        self.consents(p).await
    }

    /// At sign-up: the marketing choice made on the form, and the policy in force accepted.
    pub(crate) async fn record_signup_consents(&self, user: &User) -> Result<()> {
        let now = now_ms();
        let policy = current_policy().version;
        self.db.set_consent(&user.id, Purpose::Marketing, user.marketing_opt_in, "signup", policy, now).await?;
        self.db.acknowledge_policy(&user.id, policy, now).await?;
        Ok(())
    }

    pub async fn acknowledge_policy(&self, p: &Principal) -> Result<()> {
        Ok(self.db.acknowledge_policy(&p.user.id, current_policy().version, now_ms()).await?)
    }
}

//! Signing in and out: session tokens, API keys, the device list.

use db::api_keys::{ApiKey, NewApiKey};
use db::audit::AuditEntry;
use db::ledger::Balance;
use db::sessions::{NewSession, Session};
use db::users::User;
use domain::device::Device;
use domain::{Role, Scopes, secrets};

use crate::{App, AppError, Client, Result, now_ms};

/// A session just created: the token goes into the cookie and is never stored.
pub struct Started {
    pub user: User,
    pub session: Session,
    pub token: String,
    pub tokens: Balance,
}

/// Who a request acts for, and through what.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// Present for cookie sessions; `None` for API keys.
    pub session: Option<Session>,
    /// The API key the request came with; `None` for cookie sessions (a person, who may do
    /// anything).
    pub key: Option<KeyUse>,
    /// Token balance when the request started, for display.
    pub tokens: Balance,
}

/// An API key in use: what it may reach and how much.
#[derive(Debug, Clone)]
pub struct KeyUse {
    pub id: String,
    pub name: String,
    pub scopes: Scopes,
    pub per_minute: i64,
    pub images_per_day: i64,
}

impl KeyUse {
    pub fn usage_ref(&self) -> db::usage::KeyRef<'_> {
        db::usage::KeyRef { id: &self.id, name: &self.name }
    }
}

/// A key's request budget for the current minute, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy)]
pub struct RateWindow {
    pub limit: i64,
    pub remaining: i64,
    pub reset_secs: u64,
}

impl Principal {
    /// The account's role; an unknown stored value is treated as a plain seller.
    pub fn role(&self) -> Role {
        Role::parse(&self.user.role).unwrap_or(Role::User)
    }

    /// Only for admins, who act: everyone else is refused.
    pub fn require_admin(&self) -> crate::Result<()> {
        if self.role() == Role::Admin { Ok(()) } else { Err(crate::AppError::Forbidden) }
    }

    /// For staff, who read the admin console (admins and read-only support).
    pub fn require_staff(&self) -> crate::Result<()> {
        if self.role().is_staff() { Ok(()) } else { Err(crate::AppError::Forbidden) }
    }
}

/// A new API key as its owner asked for it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    pub name: String,
    /// `None`: every scope a key can have.
    pub scopes: Option<Vec<String>>,
    /// Milliseconds since the epoch after which the key stops working.
    pub expires_at: Option<i64>,
    /// Requests a minute (default and most: `api.*`).
    pub per_minute: Option<u32>,
    /// Images a UTC day (default and most: `api.*`).
    pub images_per_day: Option<u32>,
}

pub const API_KEY_PREFIX: &str = "sp_live_";

impl App {
    pub(crate) async fn start_session(&self, user: User, client: &Client, action: &str) -> Result<Started> {
        // Asked only once the password or code was right: a stranger learns nothing.
        if user.suspended_at.is_some() {
            return Err(AppError::Suspended);
        }
        let now = now_ms();
        let token = secrets::new_token();
        let device = Device::from_user_agent(&client.user_agent);
        let network = client.network();
        let absolute = i64::try_from(self.settings.session.absolute_timeout_days).unwrap_or(30) * 86_400_000;
        let session = self
            .db
            .create_session(
                NewSession {
                    user_id: &user.id,
                    token_digest: &secrets::token_digest(&token),
                    expires_at: now + absolute,
                    browser: &device.browser,
                    os: &device.os,
                    device_type: &device.device_type,
                    ip_network: &network,
                },
                now,
            )
            .await?;
        let detail = format!("{} on {} ({})", device.browser, device.os, device.device_type);
        self.db.audit(Some(&user.id), "self", action, &detail, &network, now).await?;
        self.record_activity(&user.id, crate::activity::Activity::SignedIn, action, Some(client)).await;
        let tokens = self.db.balance(&user.id).await?;
        Ok(Started { user, session, token, tokens })
    }

    fn idle_ms(&self) -> i64 {
        i64::try_from(self.settings.session.idle_timeout_hours).unwrap_or(72) * 3_600_000
    }

    /// The principal behind a session cookie token, if the session is live.
    pub async fn session_principal(&self, token: &str) -> Result<Option<Principal>> {
        let now = now_ms();
        let Some(session) = self.db.live_session(&secrets::token_digest(token), now, self.idle_ms()).await? else {
            return Ok(None);
        };
        let user = self.db.user_by_id(&session.user_id).await?;
        // A sign-in that passed its password check while staff suspended the account: the
        // session ends here, and the next sign-in is refused in words.
        if user.suspended_at.is_some() {
            self.db.delete_session(&user.id, &session.id).await?;
            return Ok(None);
        }
        // At most once a minute, checked here so most reads never take SQLite's write lock.
        if session.last_seen_at < now - 60_000 {
            self.db.touch_session(&session.id, now).await?;
        }
        let tokens = self.db.balance(&user.id).await?;
        Ok(Some(Principal { user, session: Some(session), key: None, tokens }))
    }

    /// The principal behind an API key (`Authorization: Bearer` or `X-Api-Key`), unless
    /// the key is unknown, revoked or past its end.
    pub async fn api_key_principal(&self, key: &str, client: &Client) -> Result<Option<Principal>> {
        if !key.starts_with(API_KEY_PREFIX) {
            return Ok(None);
        }
        let now = now_ms();
        let Some(found) = self.db.api_key_by_digest(&secrets::token_digest(key), now).await? else {
            return Ok(None);
        };
        let user = self.db.user_by_id(&found.user_id).await?;
        if user.suspended_at.is_some() {
            return Err(AppError::Suspended);
        }
        self.db.touch_api_key(&found.id, &client.network(), now).await?;
        let tokens = self.db.balance(&user.id).await?;
        let key = KeyUse {
            scopes: Scopes::from_stored(&found.scopes),
            id: found.id,
            name: found.name,
            per_minute: found.per_minute,
            images_per_day: found.images_per_day,
        };
        Ok(Some(Principal { user, session: None, key: Some(key), tokens }))
    }

    /// Counts a key's request against its minute and in its usage; `Err` with the window
    /// when the minute's budget is spent (the request is then not served, nor counted).
    pub async fn admit_key_call(&self, p: &Principal) -> Result<std::result::Result<RateWindow, RateWindow>> {
        let Some(key) = &p.key else { return Err(AppError::Forbidden) };
        let now = now_ms();
        let start = now - now.rem_euclid(crate::limits::MINUTE);
        let hits = self.db.hit(&format!("api-key:{}", key.id), start).await?;
        let reset_secs = u64::try_from((start + crate::limits::MINUTE - now + 999) / 1000).unwrap_or(60);
        let window = RateWindow { limit: key.per_minute, remaining: (key.per_minute - hits).max(0), reset_secs };
        if hits > key.per_minute {
            return Ok(Err(window));
        }
        self.db.count_api_call(&key.usage_ref(), &p.user.id, now).await?;
        Ok(Ok(window))
    }

    /// Reserves `images` of the request key's day, or refuses them when that would pass its
    /// daily limit (a person's request, without a key, is not limited here).
    pub(crate) async fn reserve_daily_images(&self, p: &Principal, images: i64) -> Result<()> {
        let Some(key) = &p.key else { return Ok(()) };
        let now = now_ms();
        if !self.db.reserve_api_images(&key.usage_ref(), &p.user.id, images, key.images_per_day, now).await? {
            let left = crate::limits::DAY - now.rem_euclid(crate::limits::DAY);
            return Err(AppError::DailyLimit {
                limit: key.images_per_day,
                retry_after_secs: u64::try_from((left + 999) / 1000).unwrap_or(86_400),
            });
        }
        Ok(())
    }

    /// Gives back images reserved for a request that will not make them.
    pub(crate) async fn release_daily_images(&self, p: &Principal, images: i64) {
        let Some(key) = &p.key else { return };
        if let Err(e) = self.db.release_api_images(&key.id, images, now_ms()).await {
            tracing::warn!(key = %key.id, error = %e, "giving back reserved images failed");
        }
    }

    /// The CSRF token bound to a session: forms and scripts must echo it back.
    pub fn csrf_token(&self, session: &Session) -> String {
        self.mac(&["csrf", &session.id])
    }

    pub fn csrf_valid(&self, session: &Session, presented: &str) -> bool {
        self.mac_matches(&["csrf", &session.id], presented, usize::MAX)
    }

    pub async fn logout(&self, p: &Principal) -> Result<()> {
        if let Some(s) = &p.session {
            self.db.delete_session(&p.user.id, &s.id).await?;
        }
        Ok(())
    }

    /// Ends every other session of the user ("sign out other devices").
    pub async fn logout_others(&self, p: &Principal, client: &Client) -> Result<u64> {
        let keep = p.session.as_ref().map(|s| s.id.as_str());
        let ended = self.db.delete_sessions_except(&p.user.id, keep).await?;
        self.db
            .audit(
                Some(&p.user.id),
                "self",
                "signed_out_other_devices",
                &format!("{ended} sessions"),
                &client.network(),
                now_ms(),
            )
            .await?;
        Ok(ended)
    }

    pub async fn sessions(&self, p: &Principal) -> Result<Vec<Session>> {
        Ok(self.db.sessions_of(&p.user.id).await?)
    }

    pub async fn end_session(&self, p: &Principal, id: &str) -> Result<()> {
        if self.db.delete_session(&p.user.id, id).await? { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// Creates an API key and returns it with the only copy of its secret.
    pub async fn create_api_key(&self, p: &Principal, req: &KeyRequest, client: &Client) -> Result<(ApiKey, String)> {
        let name = domain::profile::name(&req.name)?;
        let scopes = Scopes::parse(req.scopes.as_deref())?;
        if req.expires_at.is_some_and(|t| t <= now_ms()) {
            return Err(domain::Invalid::new("invalid_expiry", "expires_at", "Choose a time in the future.").into());
        }
        if self.db.api_keys_of(&p.user.id).await?.len() >= 20 {
            return Err(
                domain::Invalid::new("too_many_api_keys", "name", "Delete an unused key first (at most 20).").into()
            );
        }
        let api = &self.settings.api;
        let bounded = |asked: Option<u32>, default: u32, max: u32, field: &'static str| match asked {
            None => Ok(i64::from(default)),
            Some(n) if (1..=max).contains(&n) => Ok(i64::from(n)),
            Some(_) => Err(domain::Invalid::new("invalid_limit", field, format!("Choose from 1 to {max}."))),
        };
        let per_minute = bounded(req.per_minute, api.default_per_minute, api.max_per_minute, "per_minute")?;
        let images_per_day =
            bounded(req.images_per_day, api.default_images_per_day, api.max_images_per_day, "images_per_day")?;
        let secret = format!("{API_KEY_PREFIX}{}", secrets::new_token());
        let prefix: String = secret.chars().take(API_KEY_PREFIX.len() + 4).collect();
        let digest = secrets::token_digest(&secret);
        let new = NewApiKey {
            user_id: &p.user.id,
            name: &name,
            prefix: &prefix,
            digest: &digest,
            scopes: &scopes.to_stored(),
            expires_at: req.expires_at,
            per_minute,
            images_per_day,
        };
        let key = self.db.create_api_key(&new, now_ms()).await?;
        self.db.audit(Some(&p.user.id), "self", "api_key_created", &prefix, &client.network(), now_ms()).await?;
        Ok((key, secret))
    }

    pub async fn api_keys(&self, p: &Principal) -> Result<Vec<ApiKey>> {
        Ok(self.db.api_keys_of(&p.user.id).await?)
    }

    pub async fn delete_api_key(&self, p: &Principal, id: &str, client: &Client) -> Result<()> {
        if !self.db.delete_api_key(&p.user.id, id).await? {
            return Err(AppError::NotFound);
        }
        self.db.audit(Some(&p.user.id), "self", "api_key_deleted", id, &client.network(), now_ms()).await?;
        Ok(())
    }

    /// The security-relevant actions on the user's account, newest first.
    pub async fn security_log(&self, p: &Principal) -> Result<Vec<AuditEntry>> {
        Ok(self.db.audit_of(&p.user.id, 200).await?)
    }

    /// Removes expired sessions, tokens, codes and old rate counters.
    pub async fn purge_expired(&self) -> Result<u64> {
        let now = now_ms();
        let a = self.db.purge_expired_sessions(now, self.idle_ms()).await?;
        let b = self.db.purge_expired_tokens(now).await?;
        let c = self.db.purge_rate_counters(now - 2 * 86_400_000).await?;
        let retention = i64::from(self.settings.privacy.activity_retention_days) * 86_400_000;
        let d = self.db.purge_activity(now - retention).await?;
        Ok(a + b + c + d)
    }
}

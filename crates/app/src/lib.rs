//! Use cases. Each public method is one thing a person can do; it applies the domain's
//! rules, talks to the database and outside services, and returns an `AppError` with a
//! stable code when it refuses.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub mod accounts;
pub mod activity;
pub mod analytics;
pub mod archive;
pub mod billing;
pub mod cloud;
pub mod consents;
pub mod contact;
pub mod corrections;
pub mod creations;
pub mod erasure;
mod error;
pub mod exports;
pub mod feedback;
pub mod keys;
pub mod limits;
pub mod listings;
pub mod orphans;
pub mod otp;
pub mod outbox;
pub mod people;
pub mod referrals;
pub mod removebg;
pub mod restore;
pub mod review;
pub mod sessions;
pub mod sharing;
pub mod shopify;
pub mod tokens;
pub mod uploads;
pub mod usage;
pub mod webhooks;

pub use error::AppError;

use db::Db;
use providers::mail::Mailer;
use providers::sms::SmsSender;
use settings::Settings;
use storage::{Blobs, KeyRing, KeyWrapper, LocalKeyWrapper};

pub type Result<T> = std::result::Result<T, AppError>;

/// Who is asking: the client's address and browser, for limits and the device list.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: IpAddr,
    pub user_agent: String,
}

impl Client {
    pub fn network(&self) -> String {
        domain::device::truncate_ip(self.ip)
    }
}

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub mailer: Mailer,
    pub sms: SmsSender,
    pub settings: Arc<Settings>,
    pub blobs: Blobs,
    /// Razorpay (or, in dev mode, the FAKE Razorpay); `None` where billing is not served.
    pub gateway: Option<Arc<billing::Gateway>>,
    /// The cloud engine's models (or, in dev mode, the FAKE ones); `None` when not configured.
    pub cloud: Option<Arc<cloud::Engine>>,
    /// The visitor-country database (`billing.geoip_database`), when configured.
    geoip: Option<Arc<billing::Geoip>>,
    keys: Arc<keys::Keys>,
    wrapper: Arc<dyn KeyWrapper>,
    /// CPU- and memory-heavy work in requests (password hashing, image decoding) runs at
    /// most one per core, so a burst of requests queues instead of exhausting memory.
    cpu: Arc<Semaphore>,
    /// Uploads being received at once; the rest wait before their bytes are read.
    intake: Arc<Semaphore>,
    /// ZIP downloads being written at once (each holds a blocking thread).
    zips: Arc<Semaphore>,
}

impl App {
    pub fn new(
        db: Db,
        mailer: Mailer,
        sms: SmsSender,
        settings: Arc<Settings>,
        keys: keys::Keys,
        blobs: Blobs,
    ) -> Self {
        let previous =
            keys.previous.iter().map(|p| Box::new(LocalKeyWrapper::new(p.key_encryption_key)) as Box<dyn KeyWrapper>);
        let wrapper =
            Arc::new(KeyRing::new(Box::new(LocalKeyWrapper::new(keys.key_encryption_key)), previous.collect()));
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let (cpu, intake) = (Arc::new(Semaphore::new(cores)), Arc::new(Semaphore::new((cores * 4).max(8))));
        let zips = Arc::new(Semaphore::new(cores * 2));
        Self {
            db,
            mailer,
            sms,
            settings,
            blobs,
            gateway: None,
            cloud: None,
            geoip: None,
            keys: Arc::new(keys),
            wrapper,
            cpu,
            intake,
            zips,
        }
    }

    /// Looks visitors' countries up in `geoip` to choose their currency.
    pub fn with_geoip(mut self, geoip: billing::Geoip) -> Self {
        self.geoip = Some(Arc::new(geoip));
        self
    }

    /// Makes generative images with `engine`.
    pub fn with_cloud(mut self, engine: cloud::Engine) -> Self {
        self.cloud = Some(Arc::new(engine));
        self
    }

    /// Takes payments through `gateway`.
    pub fn with_gateway(mut self, gateway: billing::Gateway) -> Self {
        self.gateway = Some(Arc::new(gateway));
        self
    }

    /// Runs blocking CPU work once a core is free.
    /// The permit travels with the work, so a caller that goes away (a closed connection)
    /// does not free the core while the work still runs.
    pub(crate) async fn on_cpu<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let core = self.cpu.clone().acquire_owned().await.map_err(|e| AppError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(core);
            result
        })
        .await
        .map_err(|e| AppError::Internal(format!("worker thread: {e}")))
    }

    /// A place among the uploads being received; hold it while reading and storing one.
    pub async fn upload_slot(&self) -> Result<OwnedSemaphorePermit> {
        self.intake.clone().acquire_owned().await.map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Keyed MAC with the server key (derived from the master key), for OTPs and CSRF tokens.
    pub fn mac(&self, parts: &[&str]) -> String {
        domain::secrets::mac(&self.keys.server_mac_key, parts)
    }

    /// Whether `presented` is the MAC of `parts` (its first `len` characters, when shorter)
    /// under the server key or, during a master-key rotation, under the previous one: links
    /// and codes made before the rotation keep working until it ends.
    pub fn mac_matches(&self, parts: &[&str], presented: &str, len: usize) -> bool {
        let previous = self.keys.previous.as_ref().map(|p| &p.server_mac_key);
        std::iter::once(&self.keys.server_mac_key).chain(previous).any(|key| {
            let mac = domain::secrets::mac(key, parts);
            domain::secrets::equal(&mac[..len.min(mac.len())], presented)
        })
    }

    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.settings.server.public_url.trim_end_matches('/'))
    }
}

/// Every background job handler, for whichever process runs workers.
pub fn job_handlers(app: &App) -> Vec<Arc<dyn jobs::Handler>> {
    vec![
        Arc::new(creations::RenderCreations(app.clone())),
        Arc::new(exports::BuildExports(app.clone())),
        Arc::new(outbox::DeliverMail(app.clone())),
        Arc::new(cloud::previews::MakePreviews(app.clone())),
        Arc::new(listings::WriteListings(app.clone())),
        Arc::new(shopify::PushListings(app.clone())),
        Arc::new(webhooks::DeliverWebhooks(app.clone())),
    ]
}

/// Milliseconds since the Unix epoch (one clock for use cases and the worker).
pub use jobs::now_ms;

/// "Words" with a capital first letter (a message shown on its own).
pub fn capitalise(words: &str) -> String {
    let mut c = words.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

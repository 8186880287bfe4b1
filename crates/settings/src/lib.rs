//! Configuration: built-in defaults → optional TOML file → `SORAIPIXEL__SECTION__KEY`
//! environment variables. Unknown keys are rejected so a typo fails at start, named.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A credential from configuration: usable through `expose`, never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Folder for the SQLite database, master key, outbox and blobs in the embedded setup.
    pub data_dir: PathBuf,
    pub server: Server,
    pub database: Database,
    pub tls: Tls,
    pub session: Session,
    pub mail: Mail,
    pub sms: Sms,
    pub security: Security,
    pub contact: Contact,
    pub tokens: Tokens,
    pub referrals: Referrals,
    pub uploads: Uploads,
    pub workers: Workers,
    pub storage: Storage,
    pub billing: Billing,
    pub privacy: Privacy,
    pub cloud: Cloud,
    pub shopify: ShopifySettings,
    pub webhooks: Webhooks,
    pub api: Api,
    pub log: Log,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Privacy {
    /// Usage and device events are deleted after this many days.
    pub activity_retention_days: u32,
    /// Admin analytics hide any figure that covers fewer people than this.
    pub analytics_min_group: u32,
}

impl Default for Privacy {
    fn default() -> Self {
        Self { activity_retention_days: 180, analytics_min_group: 5 }
    }
}

/// Payments and invoices. Invoices name the seller from `contact` (company, address, email).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Billing {
    /// Razorpay keys. Without them `serve` runs a FAKE Razorpay in-process (dev mode: no
    /// money moves, Checkout is simulated and says so).
    pub razorpay: Option<Razorpay>,
    /// A header a trusted CDN sets to the visitor's country (`CF-IPCountry`,
    /// `CloudFront-Viewer-Country`); read only when `server.behind_proxy` is on.
    pub country_header: Option<String>,
    /// A MaxMind-format country database (GeoLite2/GeoIP2 Country `.mmdb`), consulted when
    /// no CDN header says where the visitor is.
    pub geoip_database: Option<PathBuf>,
    /// The price list for visitors whose country neither the CDN nor the GeoIP database
    /// knows (`USD`, `INR` or `EUR`). The browser's language never decides a price.
    pub default_currency: String,
    /// GST included in INR prices, in percent (18 for online services in India).
    pub gst_percent: i64,
    /// Our GSTIN, printed on INR invoices; its first two digits are our state.
    pub seller_gstin: Option<String>,
}

impl Default for Billing {
    fn default() -> Self {
        Self {
            razorpay: None,
            country_header: None,
            geoip_database: None,
            default_currency: "USD".into(),
            gst_percent: 18,
            seller_gstin: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Razorpay {
    pub key_id: String,
    pub key_secret: Secret,
    /// The secret entered with the webhook (URL `<public_url>/webhooks/razorpay`) in the
    /// Razorpay Dashboard.
    pub webhook_secret: Secret,
    #[serde(default = "default_razorpay_url")]
    pub base_url: String,
}

fn default_razorpay_url() -> String {
    "https://api.razorpay.com".into()
}

/// Where sealed blobs live: `<data_dir>/blobs` unless an S3-compatible bucket is configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    pub s3: Option<S3>,
}

/// An S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, Backblaze B2…).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3 {
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// For services other than AWS: their endpoint URL; requests then use path-style URLs.
    #[serde(default)]
    pub endpoint: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Plain HTTP to the endpoint (a bucket on the same private network only).
    #[serde(default)]
    pub allow_http: bool,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// Background workers: in `serve` by default; `soraipixel worker` runs them alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workers {
    /// Whether `serve` runs workers in its own process (turn off when `worker` processes
    /// run elsewhere).
    pub in_serve: bool,
    /// Jobs run at once per process; 0 means one per CPU core.
    pub concurrency: usize,
    /// How long a claimed job stays leased without a heartbeat before another worker may
    /// take it over (a crashed worker's jobs resume after this).
    pub lease_secs: u64,
}

impl Default for Workers {
    fn default() -> Self {
        Self { in_serve: true, concurrency: 0, lease_secs: 30 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Uploads {
    /// Largest photo accepted, in bytes.
    pub max_bytes: u64,
    /// Largest photo accepted, in pixels (width × height), checked before decoding.
    pub max_pixels: u64,
}

impl Default for Uploads {
    fn default() -> Self {
        Self { max_bytes: 40 * 1024 * 1024, max_pixels: 50_000_000 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tokens {
    /// Granted once to every new account.
    pub welcome_grant: i64,
    /// Claimable once per UTC day.
    pub daily_reward: i64,
    /// Price of one catalogue image from the local engine.
    pub local_output_cost: i64,
    /// Cloud prices per output as [standard, pro, ultra].
    pub generated_image: [i64; 3],
    pub recolour: [i64; 3],
    pub model_pose: [i64; 3],
    /// One HD upscale.
    pub upscale: i64,
    /// One listing (title, description, meta, alt text, attributes).
    pub listing: i64,
}

impl Default for Tokens {
    fn default() -> Self {
        Self {
            welcome_grant: 20,
            daily_reward: 2,
            local_output_cost: 1,
            generated_image: [8, 20, 60],
            recolour: [7, 18, 55],
            model_pose: [8, 20, 60],
            upscale: 4,
            listing: 5,
        }
    }
}

/// Rewards for inviting people. The inviter's rewards are held `hold_days` before they are
/// given (a refund of the payment in that time cancels one, later it is taken back).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Referrals {
    /// For the inviter, when the newcomer proves their email.
    pub on_verified: i64,
    /// For the inviter, when the newcomer first pays.
    pub on_first_payment: i64,
    /// Extra for the newcomer, when they prove their email.
    pub newcomer: i64,
    /// Rewards one inviter can earn in 30 days.
    pub max_rewards_per_month: u32,
    pub hold_days: u32,
}

impl Default for Referrals {
    fn default() -> Self {
        Self { on_verified: 5, on_first_payment: 10, newcomer: 3, max_rewards_per_month: 20, hold_days: 7 }
    }
}

/// The cloud engine's providers. With none configured, `serve` uses the FAKE providers in
/// dev mode (never on a deployment that looks public) and the cloud engine is otherwise off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cloud {
    pub gemini: Option<Gemini>,
    pub openai: Option<OpenAi>,
    pub fal: Option<Fal>,
    /// Outputs scoring under this (0..100) are rejected, retried and never charged.
    pub fidelity_threshold: f32,
    /// Extra attempts per output after a rejected one, at our cost.
    pub retry_budget: u32,
    /// Ask the vision model to judge each output too (the lower score counts).
    pub judge: bool,
    /// Free watermarked previews for visitors: per device and per network, per UTC day.
    pub previews_per_device: u32,
    pub previews_per_network: u32,
}

impl Default for Cloud {
    fn default() -> Self {
        Self {
            gemini: None,
            openai: None,
            fal: None,
            fidelity_threshold: 70.0,
            retry_budget: 2,
            judge: true,
            previews_per_device: 1,
            previews_per_network: 5,
        }
    }
}

/// Where stores' Admin APIs are: `{shop}` is the store's `name.myshopify.com`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopifySettings {
    pub base_url: String,
    /// DEV MODE only, set by `serve`: the FAKE Shopify's token, shown on the connect page.
    #[serde(skip)]
    pub dev_token: Option<String>,
}

impl Default for ShopifySettings {
    fn default() -> Self {
        Self { base_url: "https://{shop}".into(), dev_token: None }
    }
}

/// API keys' limits: what a new key gets, and the most an owner may set.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    pub default_per_minute: u32,
    pub max_per_minute: u32,
    pub default_images_per_day: u32,
    pub max_images_per_day: u32,
}

impl Default for Api {
    fn default() -> Self {
        Self { default_per_minute: 60, max_per_minute: 600, default_images_per_day: 500, max_images_per_day: 10_000 }
    }
}

/// Sellers' webhook deliveries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Webhooks {
    /// Waits between attempts; after the last one fails the endpoint is disabled and its
    /// owner told. The default tries for about a day.
    pub retry_schedule_secs: Vec<u64>,
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    /// DEV MODE, opt-in: plain http and addresses inside private networks (a receiver on
    /// this machine), never link-local ones. Ignored on a setup that looks public.
    pub allow_private_networks: bool,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            retry_schedule_secs: vec![10, 60, 300, 1_800, 7_200, 18_000, 28_800, 28_800],
            connect_timeout_secs: 5,
            timeout_secs: 15,
            allow_private_networks: false,
        }
    }
}

/// Limits and circuit breaker for one provider.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Guard {
    pub concurrency: usize,
    pub timeout_secs: u64,
    pub failures_to_open: u32,
    pub open_secs: u64,
}

impl Default for Guard {
    fn default() -> Self {
        Self { concurrency: 4, timeout_secs: 120, failures_to_open: 5, open_secs: 60 }
    }
}

/// What a model costs us, in US dollars × 1 000 000 (for the usage records).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pricing {
    pub per_image_micros: i64,
    pub per_million_input_micros: i64,
    pub per_million_output_micros: i64,
}

/// Google Gemini: an API key, or Vertex AI (project, location, and a file holding a
/// service account's OAuth access token, refreshed by the platform).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gemini {
    #[serde(default)]
    pub api_key: Option<Secret>,
    #[serde(default)]
    pub vertex: Option<Vertex>,
    #[serde(default = "default_gemini_url")]
    pub base_url: String,
    #[serde(default = "default_standard_model")]
    pub standard_model: String,
    #[serde(default = "default_pro_model")]
    pub pro_model: String,
    /// The vision model that judges outputs.
    #[serde(default = "default_judge_model")]
    pub judge_model: String,
    #[serde(default)]
    pub guard: Guard,
    #[serde(default = "default_standard_price")]
    pub standard_pricing: Pricing,
    #[serde(default = "default_pro_price")]
    pub pro_pricing: Pricing,
    #[serde(default = "default_judge_price")]
    pub judge_pricing: Pricing,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vertex {
    pub project: String,
    pub location: String,
    pub token_file: PathBuf,
}

fn default_gemini_url() -> String {
    "https://generativelanguage.googleapis.com".into()
}
fn default_standard_model() -> String {
    "gemini-2.5-flash-image".into()
}
fn default_pro_model() -> String {
    "gemini-3-pro-image-preview".into()
}
fn default_judge_model() -> String {
    "gemini-2.5-flash".into()
}
fn default_standard_price() -> Pricing {
    Pricing { per_image_micros: 39_000, per_million_input_micros: 300_000, per_million_output_micros: 0 }
}
fn default_judge_price() -> Pricing {
    Pricing { per_image_micros: 0, per_million_input_micros: 300_000, per_million_output_micros: 2_500_000 }
}
fn default_pro_price() -> Pricing {
    Pricing { per_image_micros: 134_000, per_million_input_micros: 2_000_000, per_million_output_micros: 0 }
}

/// OpenAI image edits (the ultra tier).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAi {
    pub api_key: Secret,
    #[serde(default = "default_openai_url")]
    pub base_url: String,
    #[serde(default = "default_openai_model")]
    pub model: String,
    #[serde(default)]
    pub guard: Guard,
    #[serde(default = "default_openai_price")]
    pub pricing: Pricing,
}

fn default_openai_url() -> String {
    "https://api.openai.com".into()
}
fn default_openai_model() -> String {
    "gpt-image-1".into()
}
fn default_openai_price() -> Pricing {
    Pricing { per_image_micros: 0, per_million_input_micros: 10_000_000, per_million_output_micros: 40_000_000 }
}

/// fal.ai queue (HD upscaling).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fal {
    pub api_key: Secret,
    #[serde(default = "default_fal_url")]
    pub base_url: String,
    #[serde(default = "default_fal_model")]
    pub upscale_model: String,
    #[serde(default = "default_fal_scale")]
    pub scale: u32,
    #[serde(default)]
    pub guard: Guard,
    #[serde(default)]
    pub pricing: Pricing,
}

fn default_fal_url() -> String {
    "https://queue.fal.run".into()
}
fn default_fal_model() -> String {
    "fal-ai/esrgan".into()
}
fn default_fal_scale() -> u32 {
    2
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub listen: SocketAddr,
    /// Public origin used in emailed links, e.g. `https://app.soraipixel.com`.
    pub public_url: String,
    /// Optional separate address for `/metrics`; when unset, `/metrics` answers loopback clients only.
    pub metrics_listen: Option<SocketAddr>,
    /// Largest JSON or form body accepted outside uploads.
    pub max_body_bytes: usize,
    /// How long a request may take after the last byte of its body arrived (an upload on a
    /// slow link may take longer to arrive, as long as it keeps arriving).
    pub request_timeout_secs: u64,
    /// Trust `X-Forwarded-For` from a reverse proxy for the client address.
    pub behind_proxy: bool,
    /// A client must send a request's headers within this many seconds.
    pub header_timeout_secs: u64,
    /// A connection that moves no byte either way for this long is closed (keep-alive
    /// connections nobody uses, stalled clients).
    pub idle_timeout_secs: u64,
    /// Open connections one client network may hold (not applied behind a proxy, where the
    /// proxy is the only client).
    pub max_connections_per_network: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// `sqlite://…` or `postgres://…`; empty means `<data_dir>/soraipixel.db`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Session {
    pub idle_timeout_hours: u64,
    pub absolute_timeout_days: u64,
    /// Send cookies without `Secure` (and without the `__Host-` prefix). Only for plain-HTTP
    /// development on a non-loopback address; browsers treat localhost as secure anyway.
    pub insecure_cookies: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mail {
    pub from: String,
    /// `None` writes .eml files to `<data_dir>/outbox` (dev mode).
    pub smtp: Option<Smtp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// `starttls` (default), `tls` (implicit) or `none` (local relays and tests only).
    #[serde(default = "default_smtp_security")]
    pub security: String,
}

fn default_smtp_security() -> String {
    "starttls".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sms {
    /// `None` prints codes to the log (dev mode).
    pub msg91: Option<Msg91>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Msg91 {
    pub auth_key: Secret,
    pub template_id: String,
    #[serde(default = "default_msg91_url")]
    pub base_url: String,
}

fn default_msg91_url() -> String {
    "https://control.msg91.com".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Security {
    /// Master key file (32 random bytes, hex); empty means `<data_dir>/master.key`.
    pub master_key_file: PathBuf,
    /// During a master-key rotation only: the key being replaced, still accepted for reading
    /// (docs/operations.md).
    pub previous_master_key_file: Option<PathBuf>,
    pub login_attempts_per_ip_15min: u32,
    /// Password guesses one network may make at one account in 15 minutes (counted before
    /// the password is checked; a right one gives its place back).
    pub login_failures_per_account_15min: u32,
    /// Guesses at one account from every network in an hour; past it only networks the
    /// owner signed in from before get in (after a short delay), others wait.
    pub login_attempts_per_account_hour: u32,
    pub signups_per_ip_hour: u32,
    pub otp_sends_per_phone_hour: u32,
    pub otp_sends_per_ip_hour: u32,
    pub otp_resend_seconds: u64,
    pub password_min_length: usize,
    /// Throwaway-mail domains refused at sign-up and on an email change (fraud and abuse).
    pub disposable_email_domains: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Contact {
    pub email: String,
    pub company: String,
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// `json` (default) or `pretty`.
    pub format: String,
    pub filter: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            server: Server::default(),
            database: Database::default(),
            tls: Tls::default(),
            session: Session::default(),
            mail: Mail::default(),
            sms: Sms::default(),
            security: Security::default(),
            contact: Contact::default(),
            tokens: Tokens::default(),
            referrals: Referrals::default(),
            uploads: Uploads::default(),
            workers: Workers::default(),
            storage: Storage::default(),
            billing: Billing::default(),
            privacy: Privacy::default(),
            cloud: Cloud::default(),
            shopify: ShopifySettings::default(),
            webhooks: Webhooks::default(),
            api: Api::default(),
            log: Log::default(),
        }
    }
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            metrics_listen: None,
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 30,
            behind_proxy: false,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections_per_network: 256,
        }
    }
}

impl Default for Database {
    fn default() -> Self {
        Self { url: String::new(), max_connections: 8 }
    }
}

impl Default for Session {
    fn default() -> Self {
        Self { idle_timeout_hours: 72, absolute_timeout_days: 30, insecure_cookies: false }
    }
}

impl Default for Mail {
    fn default() -> Self {
        Self { from: "SoraiPixel <no-reply@soraipixel.com>".into(), smtp: None }
    }
}

impl Default for Security {
    fn default() -> Self {
        Self {
            master_key_file: PathBuf::new(),
            previous_master_key_file: None,
            login_attempts_per_ip_15min: 30,
            login_failures_per_account_15min: 10,
            login_attempts_per_account_hour: 100,
            signups_per_ip_hour: 10,
            otp_sends_per_phone_hour: 5,
            otp_sends_per_ip_hour: 20,
            otp_resend_seconds: 60,
            password_min_length: 10,
            disposable_email_domains: [
                "mailinator.com",
                "guerrillamail.com",
                "sharklasers.com",
                "10minutemail.com",
                "temp-mail.org",
                "tempmail.com",
                "yopmail.com",
                "trashmail.com",
                "getnada.com",
                "dispostable.com",
                "maildrop.cc",
                "throwawaymail.com",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl Default for Contact {
    fn default() -> Self {
        Self { email: "contact@soraipixel.com".into(), company: "SoraiPixel".into(), address: String::new() }
    }
}

impl Default for Log {
    fn default() -> Self {
        Self { format: "json".into(), filter: "info".into() }
    }
}

impl Settings {
    /// Loads defaults, then `file` if given, then `SORAIPIXEL__…` variables from `env`.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(SettingsError::Invalid(format!("config file {} does not exist", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("SORAIPIXEL__").split("__"));
        let settings: Settings = figment.extract().map_err(|e| SettingsError::Invalid(describe(&e)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let bad = |key: &str, why: &str| Err(SettingsError::Invalid(format!("{key}: {why}")));
        let url = &self.database.url;
        if !(url.is_empty() || url.starts_with("sqlite:") || url.starts_with("postgres")) {
            return bad("database.url", "must start with sqlite: or postgres://");
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad("tls", "tls.cert and tls.key must be set together");
        }
        if !(self.server.public_url.starts_with("http://") || self.server.public_url.starts_with("https://")) {
            return bad("server.public_url", "must start with http:// or https://");
        }
        if !matches!(self.log.format.as_str(), "json" | "pretty") {
            return bad("log.format", "must be json or pretty");
        }
        if self.security.password_min_length < 8 {
            return bad("security.password_min_length", "must be at least 8");
        }
        if self.tokens.local_output_cost < 1 {
            return bad("tokens.local_output_cost", "must be at least 1");
        }
        if self.server.header_timeout_secs < 1 || self.server.idle_timeout_secs <= self.server.request_timeout_secs {
            return bad(
                "server",
                "header_timeout_secs must be at least 1, idle_timeout_secs above request_timeout_secs",
            );
        }
        if self.server.max_connections_per_network < 8 {
            return bad("server.max_connections_per_network", "must be at least 8");
        }
        if self.workers.lease_secs < 2 {
            return bad("workers.lease_secs", "must be at least 2");
        }
        let cloud_prices = [self.tokens.generated_image, self.tokens.recolour, self.tokens.model_pose];
        if self.tokens.upscale < 1 || self.tokens.listing < 1 || cloud_prices.iter().flatten().any(|&p| p < 1) {
            return bad("tokens", "cloud prices must be at least 1");
        }
        if !(0.0..=100.0).contains(&self.cloud.fidelity_threshold) {
            return bad("cloud.fidelity_threshold", "must be between 0 and 100");
        }
        if self.cloud.retry_budget > 5 {
            return bad("cloud.retry_budget", "must be at most 5");
        }
        if let Some(g) = &self.cloud.gemini
            && g.api_key.is_some() == g.vertex.is_some()
        {
            return bad("cloud.gemini", "set exactly one of api_key or vertex");
        }
        if self.tokens.welcome_grant < 0 || self.tokens.daily_reward < 0 {
            return bad("tokens", "grants cannot be negative");
        }
        let r = &self.referrals;
        if r.on_verified < 0 || r.on_first_payment < 0 || r.newcomer < 0 {
            return bad("referrals", "rewards cannot be negative");
        }
        if let Some(smtp) = &self.mail.smtp
            && !matches!(smtp.security.as_str(), "starttls" | "tls" | "none")
        {
            return bad("mail.smtp.security", "must be starttls, tls or none");
        }
        if self.privacy.analytics_min_group < 2 {
            return bad("privacy.analytics_min_group", "must be at least 2");
        }
        if self.privacy.activity_retention_days < 1 {
            return bad("privacy.activity_retention_days", "must be at least 1");
        }
        if !matches!(self.billing.default_currency.as_str(), "USD" | "INR" | "EUR") {
            return bad("billing.default_currency", "must be USD, INR or EUR");
        }
        if !(0..=40).contains(&self.billing.gst_percent) {
            return bad("billing.gst_percent", "must be between 0 and 40");
        }
        if let Some(r) = &self.billing.razorpay
            && [r.key_id.as_str(), r.key_secret.expose(), r.webhook_secret.expose()].iter().any(|v| v.trim().len() < 8)
        {
            return bad("billing.razorpay", "key_id, key_secret and webhook_secret are all required");
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("soraipixel.db").display())
        } else {
            self.database.url.clone()
        }
    }

    pub fn master_key_path(&self) -> PathBuf {
        if self.security.master_key_file.as_os_str().is_empty() {
            self.data_dir.join("master.key")
        } else {
            self.security.master_key_file.clone()
        }
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    pub fn tls_enabled(&self) -> bool {
        self.tls.cert.is_some()
    }

    /// A deployment that looks public (TLS, an https origin, behind a proxy) never gets a
    /// development stand-in.
    pub fn looks_public(&self) -> bool {
        self.tls_enabled() || self.server.public_url.starts_with("https://") || self.server.behind_proxy
    }
}

/// Figment's messages already name the path of the bad key; keep them on one line.
fn describe(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.is_empty() { e.to_string() } else { format!("{key}: {}", e.kind) }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::result_large_err, reason = "figment::Jail fixes the error type")]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_serve_locally_on_sqlite() {
        let s = Settings::default();
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url(), "sqlite://data/soraipixel.db?mode=rwc");
        assert_eq!(s.master_key_path(), PathBuf::from("data/master.key"));
    }

    #[test]
    fn secrets_never_print() {
        Jail::expect_with(|jail| {
            jail.set_env("SORAIPIXEL__BILLING__RAZORPAY__KEY_ID", "rzp_test_visible");
            jail.set_env("SORAIPIXEL__BILLING__RAZORPAY__KEY_SECRET", "hunter2-key-secret");
            jail.set_env("SORAIPIXEL__BILLING__RAZORPAY__WEBHOOK_SECRET", "hunter2-webhook");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            let printed = format!("{s:?}");
            assert!(printed.contains("rzp_test_visible") && !printed.contains("hunter2"), "{printed}");
            let keys = s.billing.razorpay.as_ref().map(|r| r.key_secret.expose());
            assert_eq!(keys, Some("hunter2-key-secret"));
            Ok(())
        });
    }

    #[test]
    fn file_then_env_override_in_order() {
        Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nlisten = \"0.0.0.0:9000\"\n[database]\nmax_connections = 3\n")?;
            jail.set_env("SORAIPIXEL__DATABASE__MAX_CONNECTIONS", "5");
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.server.listen.to_string(), "0.0.0.0:9000");
            assert_eq!(s.database.max_connections, 5);
            Ok(())
        });
    }

    #[test]
    fn unknown_and_malformed_keys_are_named() {
        Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nlisten = \"nonsense\"\n")?;
            let err = Settings::load(Some(Path::new("c.toml"))).unwrap_err().to_string();
            assert!(err.contains("server.listen"), "{err}");
            jail.create_file("d.toml", "[sever]\nlisten = \"0.0.0.0:1\"\n")?;
            let err = Settings::load(Some(Path::new("d.toml"))).unwrap_err().to_string();
            assert!(err.contains("sever"), "{err}");
            jail.set_env("SORAIPIXEL__DATABASE__URL", "mysql://x");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("database.url"), "{err}");
            Ok(())
        });
    }
}

//! `soraipixel`: one binary for the web server with in-process workers (`serve`), workers
//! alone (`worker`), migrations, admin tasks, and the local studio engine on files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use settings::Settings;

/// glibc's allocator keeps freed memory in per-thread arenas; with image work spread over
/// many blocking threads that held the server's peak memory well above what it used
/// (docs/benchmarks.md). mimalloc returns it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod bench_fidelity;
mod maintenance;
mod process;
mod rendered_bench;

#[derive(Parser)]
#[command(name = "soraipixel", version, about = "SoraiPixel — studio-quality jewellery photos from phone pictures")]
struct Cli {
    /// TOML configuration file; `SORAIPIXEL__SECTION__KEY` environment variables override it.
    #[arg(long, global = true, env = "SORAIPIXEL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Web site, API and workers in one process (SQLite and ./data by default).
    Serve,
    /// Background workers only, against the same database (for scale-out).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Run the local studio engine on photos or folders (no server, no database).
    Process(process::ProcessArgs),
    /// Measure the engine on synthetic photos with exact ground truth.
    BenchEngine(bench::BenchArgs),
    /// How well the cloud engine's fidelity check tells a faithful image from a changed one
    /// (synthetic photos through the FAKE image model).
    BenchFidelity(bench_fidelity::FidelityArgs),
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        task: AdminTask,
    },
}

#[derive(Subcommand)]
enum AdminTask {
    /// Give an account a role (user, support or admin): `soraipixel admin grant EMAIL admin`.
    Grant { email: String, role: String },
    /// Correct an account's tokens (signed amount) with a reason, recorded in its ledger.
    Tokens {
        email: String,
        #[arg(allow_hyphen_values = true)]
        amount: i64,
        #[arg(long)]
        reason: String,
    },
    /// Email every user about the privacy policy version in force (after publishing one).
    AnnouncePolicy,
    /// Rotation, step 1: write a fresh master key to PATH (docs/operations.md).
    NewMasterKey { path: std::path::PathBuf },
    /// Rotation, step 3: wrap every user's data key with the current master key.
    RewrapKeys,
    /// Open every blob a user's rows name with that user's key: run it after restoring
    /// a backup (docs/operations.md). Exits 1 when one is missing or does not open.
    VerifyBlobs,
    /// Remove stored objects no row points at (workers do this hourly by themselves).
    Sweep {
        /// Leave objects younger than this alone: their row may be about to be written.
        #[arg(long, default_value_t = 3600)]
        grace_secs: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The engine commands are plain CPU work: no configuration, database or runtime.
    match cli.command {
        Command::Process(args) => {
            return process::run(args).unwrap_or_else(|e| {
                eprintln!("soraipixel process: {e:#}");
                ExitCode::FAILURE
            });
        }
        Command::BenchEngine(args) => {
            return match bench::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("soraipixel bench-engine: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("soraipixel: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("soraipixel: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "soraipixel stopped with an error");
            eprintln!("soraipixel: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = with_cloud(with_payments(open(with_dev_stand_ins(settings).await?).await?).await?).await?;
            let background = app
                .settings
                .workers
                .in_serve
                .then(|| (tokio::spawn(maintenance::run(app.clone())), tokio::spawn(worker(&app).run())));
            if background.is_none() {
                tracing::info!("workers.in_serve is off: jobs wait for a `soraipixel worker` process");
            }
            let served = web::serve(web::AppState::new(app.clone()), None).await;
            if let Some((housekeeping, workers)) = background {
                workers.abort();
                housekeeping.abort();
            }
            app.db.close().await;
            served
        }
        Command::Worker => {
            let app = with_cloud(open(with_dev_stand_ins(settings).await?).await?).await?;
            if let Some(addr) = app.settings.server.metrics_listen {
                web::serve_metrics(web::AppState::new(app.clone()), addr).await?;
            }
            tracing::info!("worker started");
            tokio::select! {
                () = maintenance::run(app.clone()) => {}
                () = worker(&app).run() => {}
                // Jobs in flight are left to their leases: another worker takes them over.
                () = web::stop_requested() => tracing::info!("worker stopping"),
            }
            app.db.close().await;
            Ok(())
        }
        Command::Migrate => {
            let app = open(settings).await?;
            tracing::info!(backend = app.db.backend_name(), "migrations applied");
            app.db.close().await;
            Ok(())
        }
        Command::Process(_) | Command::BenchEngine(_) => Ok(()),
        Command::BenchFidelity(args) => bench_fidelity::run(args).await,
        Command::Admin { task: AdminTask::Tokens { email, amount, reason } } => {
            let app = open(settings).await?;
            let (balance, shortfall) =
                app.adjust_tokens(&email, amount, &reason, "admin:cli").await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{email}: balance {} (held {}), shortfall {shortfall}", balance.balance, balance.held);
            app.db.close().await;
            Ok(())
        }
        Command::Admin { task: AdminTask::Sweep { grace_secs } } => {
            let app = open(settings).await?;
            let grace = i64::try_from(grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
            let removed = app.sweep_orphans(grace).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{removed} orphan objects removed");
            app.db.close().await;
            Ok(())
        }
        Command::Admin { task: AdminTask::NewMasterKey { path } } => {
            app::keys::Keys::create_new(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("a new master key is in {}; back it up, then follow docs/operations.md", path.display());
            Ok(())
        }
        Command::Admin { task: AdminTask::RewrapKeys } => {
            let app = open(settings).await?;
            let count = app.rewrap_keys().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            app.db.close().await;
            println!("{count} data keys wrapped with the current master key");
            Ok(())
        }
        Command::Admin { task: AdminTask::VerifyBlobs } => {
            let app = open(settings).await?;
            let check = app.verify_blobs().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            app.db.close().await;
            println!(
                "{} users, {} blobs open, {} missing, {} do not open",
                check.users,
                check.opened,
                check.missing.len(),
                check.unreadable.len()
            );
            for path in check.missing.iter().take(10) {
                println!("missing: {path}");
            }
            for path in check.unreadable.iter().take(10) {
                println!("does not open: {path}");
            }
            anyhow::ensure!(check.passed(), "the stored blobs do not match the database");
            Ok(())
        }
        Command::Admin { task: AdminTask::AnnouncePolicy } => {
            let app = open(settings).await?;
            let queued = app.announce_policy().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{queued} emails queued; workers deliver them");
            app.db.close().await;
            Ok(())
        }
        Command::Admin { task: AdminTask::Grant { email, role } } => {
            let app = open(settings).await?;
            let user = app.grant_role(&email, &role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{} is now {}", user.email.unwrap_or_default(), user.role);
            app.db.close().await;
            Ok(())
        }
    }
}

/// The job runner with every job handler, one job per core at a time unless configured.
fn worker(app: &app::App) -> jobs::Runner {
    let config = &app.settings.workers;
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
    let concurrency = if config.concurrency == 0 { cores } else { config.concurrency };
    jobs::Runner::new(app.db.clone(), app::job_handlers(app), concurrency)
        .with_timing(std::time::Duration::from_secs(config.lease_secs), std::time::Duration::from_millis(500))
}

/// Connects, migrates, loads the master key and picks the mail and SMS transports.
async fn open(settings: Settings) -> anyhow::Result<app::App> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data_dir {}", settings.data_dir.display()))?;
    let db = db::Db::connect(&settings.database_url(), settings.database.max_connections)
        .await
        .context("cannot open the database (database.url)")?;
    db.migrate().await.context("cannot apply database migrations")?;
    let keys = app::keys::Keys::load(&settings)
        .map_err(|e| anyhow::anyhow!("{e} (security.master_key_file, security.previous_master_key_file)"))?;
    let mailer = match &settings.mail.smtp {
        Some(s) => providers::mail::Mailer::smtp(
            &settings.mail.from,
            providers::mail::SmtpConfig {
                host: &s.host,
                port: s.port,
                username: s.username.as_deref(),
                password: s.password.as_ref().map(settings::Secret::expose),
                security: &s.security,
            },
        ),
        None => {
            tracing::warn!(outbox = %settings.outbox_dir().display(), "DEV MODE: emails are written to the outbox folder, not sent (configure mail.smtp)");
            providers::mail::Mailer::outbox(&settings.mail.from, settings.outbox_dir())
        }
    }
    .context("invalid mail configuration (mail.from / mail.smtp)")?;
    let sms = match &settings.sms.msg91 {
        Some(m) => providers::sms::SmsSender::Msg91(
            providers::sms::Msg91::new(&m.base_url, m.auth_key.expose(), &m.template_id)
                .context("invalid sms.msg91")?,
        ),
        None => {
            tracing::warn!("DEV MODE: SMS codes are printed to the log, not sent (configure sms.msg91)");
            providers::sms::SmsSender::DevLog
        }
    };
    let blobs = match &settings.storage.s3 {
        Some(s3) => storage::Blobs::s3(&storage::S3Bucket {
            name: &s3.bucket,
            region: &s3.region,
            endpoint: s3.endpoint.as_deref(),
            access_key_id: &s3.access_key_id,
            secret_access_key: s3.secret_access_key.expose(),
            allow_http: s3.allow_http,
        })
        .context("invalid storage.s3")?,
        None => storage::Blobs::local(&settings.blobs_dir()).context("cannot open blob storage (data_dir)")?,
    };
    Ok(app::App::new(db, mailer, sms, Arc::new(settings), keys, blobs))
}

/// Razorpay when keys are configured; otherwise, on a local (non-public) setup, a FAKE
/// Razorpay in this process (dev mode) delivering its webhooks to this server, so the whole
/// purchase flow works offline.
async fn with_payments(mut app: app::App) -> anyhow::Result<app::App> {
    use app::billing::Gateway;
    if let Some(path) = &app.settings.billing.geoip_database {
        let geoip = app::billing::Geoip::open(path).map_err(|e| anyhow::anyhow!("{e} (billing.geoip_database)"))?;
        app = app.with_geoip(geoip);
    }
    if let Some(r) = &app.settings.billing.razorpay {
        let client = providers::razorpay::Razorpay::new(&r.base_url, &r.key_id, r.key_secret.expose())
            .context("invalid billing.razorpay")?;
        let gateway = Gateway::live(client, r.webhook_secret.expose());
        return Ok(app.with_gateway(gateway));
    }
    // A public deployment must never hand out tokens for simulated payments: there, no keys
    // means no checkout.
    if app.settings.looks_public() {
        tracing::error!("billing.razorpay is not configured: checkout is unavailable on this public deployment");
        return Ok(app);
    }
    let fake = fakes::razorpay::FakeRazorpay::start().await.context("cannot start the FAKE Razorpay")?;
    let listen = app.settings.server.listen;
    let host = if listen.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { listen.ip() };
    fake.deliver_to(&format!("http://{}/webhooks/razorpay", std::net::SocketAddr::new(host, listen.port())));
    tracing::warn!(fake = %fake.base_url, "DEV MODE: payments go to a FAKE Razorpay; no money moves (configure billing.razorpay)");
    let gateway = Gateway::fake(&fake.base_url, fake.key_id(), fake.key_secret(), fake.webhook_secret())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(app.with_gateway(gateway))
}

/// DEV MODE, on a setup that does not look public: stores are reached at a FAKE Shopify
/// unless `shopify.base_url` says otherwise (the connect page shows the fake's token), and
/// webhooks reach this machine only when `webhooks.allow_private_networks` asks for it
/// (never on a deployment that looks public).
async fn with_dev_stand_ins(mut settings: Settings) -> anyhow::Result<Settings> {
    if settings.looks_public() {
        if settings.webhooks.allow_private_networks {
            tracing::error!("webhooks.allow_private_networks is ignored on a public deployment");
            settings.webhooks.allow_private_networks = false;
        }
        return Ok(settings);
    }
    if settings.webhooks.allow_private_networks {
        tracing::warn!("DEV MODE: webhooks may go to plain http and this machine's network (not link-local addresses)");
    }
    if settings.shopify.base_url != settings::ShopifySettings::default().base_url {
        return Ok(settings);
    }
    let fake = fakes::shopify::FakeShopify::start().await.context("cannot start the FAKE Shopify")?;
    tracing::warn!(fake = %fake.base_url, "DEV MODE: Shopify stores are a FAKE Shopify; nothing is published (set shopify.base_url)");
    settings.shopify.base_url = fake.store_url_template();
    settings.shopify.dev_token = Some(fake.token().to_owned());
    Ok(settings)
}

/// The cloud engine from `cloud.*`; in dev mode without keys, the FAKE image models (never
/// on a deployment that looks public, where no keys means no cloud engine).
async fn with_cloud(app: app::App) -> anyhow::Result<app::App> {
    let settings = app.settings.clone();
    if let Some(engine) =
        app::cloud::Engine::from_settings(&settings.cloud).map_err(|e| anyhow::anyhow!("cloud: {e}"))?
    {
        return Ok(app.with_cloud(engine));
    }
    if settings.looks_public() {
        tracing::warn!("cloud.gemini is not configured: the cloud engine is off");
        return Ok(app);
    }
    let fake = fakes::ai::FakeAi::start().await.context("cannot start the FAKE image models")?;
    tracing::warn!(fake = %fake.base_url, "DEV MODE: cloud images come from FAKE Gemini/OpenAI/fal servers rendering with the local engine (configure cloud.gemini)");
    // What the FAKE models do on their next calls (`distort,distort,fail:503`): for trying
    // and testing the failure pages in a browser.
    if let Ok(script) = std::env::var("SORAIPIXEL_DEV_FAKE_AI_SCRIPT") {
        let acts = script
            .split(',')
            .filter(|a| !a.trim().is_empty())
            .map(|a| fakes::ai::Act::parse(a).ok_or(a))
            .collect::<Result<Vec<_>, _>>();
        let acts = acts.map_err(|a| anyhow::anyhow!("SORAIPIXEL_DEV_FAKE_AI_SCRIPT: unknown act {a:?}"))?;
        tracing::warn!(?acts, "DEV MODE: the FAKE image models follow a script");
        fake.script(acts);
    }
    let engine = app::cloud::Engine::fake(&fake.base_url, fake.api_key(), &settings.cloud)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(app.with_cloud(engine))
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SORAIPIXEL_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.log.filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if settings.log.format == "pretty" {
        builder.init();
    } else {
        builder.json().flatten_event(true).with_current_span(true).init();
    }
}

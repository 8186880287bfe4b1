//! Repositories over SQLite (the embedded default) and PostgreSQL (scale-out). Both run
//! the same SQL where the dialects agree (`$1` placeholders, `ON CONFLICT`, `RETURNING`);
//! each backend has its own migration folder, kept in step by a test.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub mod activity;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod cloud;
pub mod consents;
pub mod creations;
pub mod erasure;
pub mod exports;
pub mod feedback;
pub mod ledger;
pub mod listings;
pub mod otp;
pub mod outbox;
pub mod queue;
pub mod rate;
pub mod referrals;
pub mod review;
pub mod sessions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
pub mod uploads;
pub mod usage;
pub mod users;
pub mod webhooks;

/// Runs `$body` with `$pool` bound to whichever pool backs `$db`; the body is compiled once
/// per backend, so the same query text serves both.
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the field names which one.
    #[error("{0} already in use")]
    Conflict(&'static str),
    /// A caller asked for something the data model forbids.
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T> = std::result::Result<T, DbError>;

impl DbError {
    /// The database could not be reached, or is shutting down or starting up: the same call
    /// is worth trying again shortly (the pool reconnects by itself).
    pub fn is_outage(&self) -> bool {
        let DbError::Sqlx(e) = self else { return false };
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                true
            }
            // SQLSTATE 08xxx: connection exceptions; 57P01–57P03: shutdown, crash, starting up.
            sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
}

/// Maps unique violations to `Conflict(field)` by the column named in the message.
pub(crate) fn conflict(fields: &'static [&'static str]) -> impl Fn(sqlx::Error) -> DbError {
    move |e| match e.as_database_error() {
        Some(d) if d.is_unique_violation() => {
            let text = format!("{} {}", d.message(), d.constraint().unwrap_or_default());
            DbError::Conflict(fields.iter().find(|f| text.contains(*f)).copied().unwrap_or("value"))
        }
        _ => DbError::Sqlx(e),
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects to `sqlite://…` or `postgres://…`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        if url.starts_with("postgres") {
            let options = PgConnectOptions::from_str(url)?;
            Self::connect_postgres(options, max_connections).await
        } else {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new().max_connections(max_connections.max(1)).connect_with(options).await?;
            Ok(Self { backend: Backend::Sqlite(pool) })
        }
    }

    pub(crate) async fn connect_postgres(options: PgConnectOptions, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { backend: Backend::Postgres(pool) })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Backend::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// For `/readyz`: one round trip.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, |p| sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, |p| p.close().await)
    }
}

/// A new sortable identifier (UUIDv7: time-ordered, so indexes stay compact).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Version and description of each migration.
pub type Migrations = Vec<(i64, String)>;

/// The migrations of each backend (SQLite, PostgreSQL), for the test that keeps them in step.
pub fn migration_versions() -> (Migrations, Migrations) {
    let list = |m: &sqlx::migrate::Migrator| m.iter().map(|x| (x.version, x.description.to_string())).collect();
    (list(&SQLITE_MIGRATIONS), list(&POSTGRES_MIGRATIONS))
}

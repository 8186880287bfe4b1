//! Test databases: a fresh SQLite file, or a fresh schema in the local PostgreSQL, per test.
//! Postgres tests print "skipped: no Postgres" when none answers, unless
//! `SORAIPIXEL_REQUIRE_POSTGRES=1` (set by CI) makes that a failure.

#![allow(clippy::expect_used, clippy::panic, reason = "test support fails loudly by design")]

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
// Schema names are generated here (t_ + hex), never taken from input.
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::Db;

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct TestDb {
    pub db: Db,
    schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// The URL a second process (e.g. a spawned `soraipixel`) can use to reach this database.
    pub fn url(&self) -> String {
        match (&self.schema, &self._dir) {
            (Some((url, schema)), _) => format!("{url}?options=-csearch_path%3D{schema}"),
            (None, Some(dir)) => format!("sqlite://{}", dir.path().join("test.db").display()),
            _ => String::new(),
        }
    }

    pub async fn close(self) {
        self.db.close().await;
        if let Some((url, schema)) = &self.schema
            && let Ok(mut conn) = PgConnection::connect(url).await
        {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
                .execute(&mut conn)
                .await;
        }
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Db::connect(&url, 4).await.expect("sqlite");
    db.migrate().await.expect("migrate sqlite");
    TestDb { db, schema: None, _dir: Some(dir) }
}

pub async fn postgres() -> Option<TestDb> {
    let url = std::env::var("SORAIPIXEL_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
    let mut admin = match PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("SORAIPIXEL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("Postgres required but unreachable at {url}: {e}");
            }
            eprintln!("skipped: no Postgres ({e})");
            return None;
        }
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut admin).await.expect("create schema");
    let options = PgConnectOptions::from_str(&url).expect("url").options([("search_path", schema.as_str())]);
    let db = Db::connect_postgres(options, 4).await.expect("postgres");
    db.migrate().await.expect("migrate postgres");
    Some(TestDb { db, schema: Some((url, schema)), _dir: None })
}

/// Declares, for each `async fn name(db: Db)`, a module `name` with a `sqlite` and a
/// `postgres` test running it.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::testing::sqlite().await;
                super::$name(t.db.clone()).await;
                t.close().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = $crate::testing::postgres().await else { return };
                super::$name(t.db.clone()).await;
                t.close().await;
            }
        }
    )*};
}

impl Db {
    /// Every `(table, column, rows)` whose text contains `needle`, across the whole schema
    /// (migration bookkeeping aside): how tests show that nothing of a person remains.
    pub async fn text_mentions(&self, needle: &str) -> Vec<(String, String, i64)> {
        use crate::Backend;
        let columns: Vec<(String, String)> = match &self.backend {
            Backend::Postgres(p) => sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND data_type = 'text' AND table_name NOT LIKE '\\_sqlx%'",
            )
            .fetch_all(p)
            .await
            .expect("columns"),
            Backend::Sqlite(p) => sqlx::query_as(
                "SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                 AND m.name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND upper(c.type) = 'TEXT'",
            )
            .fetch_all(p)
            .await
            .expect("columns"),
        };
        let mut found = vec![];
        for (table, column) in columns {
            // Names come from the schema itself, never from input.
            let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE strpos({column}, $1) > 0"));
            let sql_lite = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE instr({column}, $1) > 0"));
            let n: i64 = match &self.backend {
                Backend::Postgres(p) => sqlx::query_scalar(sql).bind(needle).fetch_one(p).await.expect("count"),
                Backend::Sqlite(p) => sqlx::query_scalar(sql_lite).bind(needle).fetch_one(p).await.expect("count"),
            };
            if n > 0 {
                found.push((table, column, n));
            }
        }
        found
    }
}

impl Db {
    /// The calls made for one creation, oldest first: (purpose, outcome, fidelity).
    pub async fn calls_for_creation(&self, creation_id: &str) -> crate::Result<Vec<(String, String, Option<f64>)>> {
        Ok(crate::with_pool!(self, |p| sqlx::query_as::<_, (String, String, Option<f64>)>(
            "SELECT purpose, outcome, fidelity FROM provider_calls WHERE creation_id = $1 ORDER BY created_at, id"
        )
        .bind(creation_id)
        .fetch_all(p)
        .await)?)
    }
}

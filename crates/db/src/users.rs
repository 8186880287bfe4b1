//! User accounts: identity, verification state, profile and role.

use serde::Serialize;

use crate::{Db, DbError, Result, conflict, new_id, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: Option<String>,
    pub email_verified_at: Option<i64>,
    pub phone: Option<String>,
    pub phone_verified_at: Option<i64>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub name: String,
    pub company: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
    pub category: Option<String>,
    /// The buyer's GST number, printed on their invoices.
    pub gstin: Option<String>,
    pub role: String,
    pub marketing_opt_in: bool,
    /// Off unless the user switched it on (consent history in `consents`).
    pub model_training_opt_in: bool,
    /// The newest privacy policy version the user has acknowledged.
    pub policy_acknowledged: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Suspended by staff since then: no sign-in, no API key, no work started.
    pub suspended_at: Option<i64>,
}

pub struct NewUser<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub phone_verified: bool,
    pub password_hash: Option<&'a str>,
    pub name: &'a str,
    pub company: Option<&'a str>,
    pub marketing_opt_in: bool,
}

/// The fields a user may correct directly; `None` leaves a field unchanged. Email and
/// phone change only once proven (`claim_email`, `claim_phone`).
#[derive(Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub company: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub category: Option<Option<String>>,
}

macro_rules! columns {
    () => {
        "id, email, email_verified_at, phone, phone_verified_at, password_hash, name, company, \
    address, website, category, gstin, role, marketing_opt_in, model_training_opt_in, policy_acknowledged, created_at, updated_at, \
    suspended_at"
    };
}
const UNIQUE: &[&str] = &["email", "phone"];

/// How many unverified accounts may claim one address at a time (each is a password to
/// check at sign-in).
pub const MAX_EMAIL_CLAIMS: i64 = 3;

/// An address or number just proven: whether it is new to the account, what the account
/// had before, and the other accounts whose unverified claim was dropped.
#[derive(Debug, Default)]
pub struct Claimed {
    pub changed: bool,
    pub previous: Option<String>,
    pub dropped: Vec<String>,
}

/// Drops every unverified claim on `phone` by an account other than `$id`; yields their ids.
macro_rules! drop_phone_claims {
    ($executor:expr, $phone:expr, $id:expr, $now:expr) => {
        sqlx::query_scalar::<_, String>(
            "UPDATE users SET phone = NULL, phone_verified_at = NULL, updated_at = $3 \
             WHERE phone = $1 AND id <> $2 AND phone_verified_at IS NULL RETURNING id",
        )
        .bind($phone)
        .bind($id)
        .bind($now)
        .fetch_all($executor)
    };
}

/// Commits on success; on failure rolls back at once (a dropped transaction is rolled back
/// only later, and meanwhile SQLite's write lock would refuse every other writer).
macro_rules! finish {
    ($tx:expr, $done:expr) => {
        match $done {
            Ok(v) => {
                $tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                $tx.rollback().await?;
                Err(e)
            }
        }
    };
}

/// The owners of dropped claims see it in their security log.
macro_rules! note_dropped_claims {
    ($tx:expr, $dropped:expr, $action:expr, $now:expr) => {
        async {
            for user in $dropped {
                sqlx::query(
                    "INSERT INTO audit_log (id, user_id, actor, action, detail, ip_network, created_at) \
                     VALUES ($1, $2, 'system', $3, 'proven by someone else', '', $4)",
                )
                .bind(new_id())
                .bind(user)
                .bind($action)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}

impl Db {
    pub async fn create_user(&self, new: NewUser<'_>, now: i64) -> Result<User> {
        let sql = concat!(
            "INSERT INTO users (id, email, phone, phone_verified_at, password_hash, name, company, marketing_opt_in, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING ",
            columns!()
        );
        let phone_verified = new.phone_verified.then_some(now);
        let id = new_id();
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let done = async {
                // A number proven by a code is this person's: an unverified claim on it goes.
                let dropped = match new.phone.filter(|_| new.phone_verified) {
                    Some(phone) => drop_phone_claims!(&mut *tx, phone, &id, now).await?,
                    None => vec![],
                };
                let user = sqlx::query_as::<_, User>(sql)
                    .bind(&id)
                    .bind(new.email)
                    .bind(new.phone)
                    .bind(phone_verified)
                    .bind(new.password_hash)
                    .bind(new.name)
                    .bind(new.company)
                    .bind(new.marketing_opt_in)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(conflict(UNIQUE))?;
                note_dropped_claims!(tx, &dropped, "phone_claim_dropped", now).await?;
                Ok::<_, DbError>(user)
            }
            .await;
            finish!(tx, done)
        })
    }

    pub async fn user_by_id(&self, id: &str) -> Result<User> {
        self.one_user(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"), id).await
    }

    /// The account an email address names: its verified holder, else the newest account
    /// that claims it unverified.
    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        self.users_by_email(email).await?.into_iter().next().ok_or(DbError::NotFound)
    }

    /// The accounts that may sign in with this address: its verified holder alone, or else
    /// every unverified claim, newest first (at most `MAX_EMAIL_CLAIMS`).
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE email = $1 ORDER BY (email_verified_at IS NULL), created_at DESC LIMIT $2"
        );
        let found = with_pool!(self, |p| sqlx::query_as::<_, User>(sql)
            .bind(email)
            .bind(MAX_EMAIL_CLAIMS + 1)
            .fetch_all(p)
            .await)?;
        Ok(match found.first() {
            Some(holder) if holder.email_verified_at.is_some() => found.into_iter().take(1).collect(),
            _ => found,
        })
    }

    /// The account whose phone number was proven by a code; an unverified claim never
    /// signs anyone in.
    pub async fn user_by_verified_phone(&self, phone: &str) -> Result<User> {
        self.one_user(
            concat!("SELECT ", columns!(), " FROM users WHERE phone = $1 AND phone_verified_at IS NOT NULL"),
            phone,
        )
        .await
    }

    async fn one_user(&self, sql: &'static str, value: &str) -> Result<User> {
        with_pool!(self, |p| sqlx::query_as::<_, User>(sql).bind(value).fetch_optional(p).await)?
            .ok_or(DbError::NotFound)
    }

    /// Applies a correction of the plain profile fields.
    pub async fn update_profile(&self, id: &str, c: ProfileChange, now: i64) -> Result<User> {
        let current = self.user_by_id(id).await?;
        let sql = concat!(
            "UPDATE users SET name = $2, company = $3, address = $4, website = $5, category = $6, updated_at = $7 \
             WHERE id = $1 RETURNING ",
            columns!()
        );
        let q = |s: &str| s.to_owned();
        let name = c.name.unwrap_or(current.name);
        let company = c.company.unwrap_or(current.company.as_deref().map(q));
        let address = c.address.unwrap_or(current.address.as_deref().map(q));
        let website = c.website.unwrap_or(current.website.as_deref().map(q));
        let category = c.category.unwrap_or(current.category.as_deref().map(q));
        with_pool!(self, |p| sqlx::query_as::<_, User>(sql)
            .bind(id)
            .bind(&name)
            .bind(&company)
            .bind(&address)
            .bind(&website)
            .bind(&category)
            .bind(now)
            .fetch_optional(p)
            .await)?
        .ok_or(DbError::NotFound)
    }

    /// `email`, proven by a link sent to it, becomes the account's verified address, and
    /// every unverified claim on it by another account is dropped (noted in their security
    /// log), in one transaction. Another account's verified address is a `Conflict`.
    pub async fn claim_email(&self, id: &str, email: &str, now: i64) -> Result<Claimed> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let done = async {
                // Written first, read back: SQLite takes the write lock now, waiting its turn,
                // instead of failing to upgrade a read lock another writer got ahead of.
                let previous: Option<Option<String>> =
                    sqlx::query_scalar("UPDATE users SET updated_at = $2 WHERE id = $1 RETURNING email")
                        .bind(id)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                let previous = previous.ok_or(DbError::NotFound)?;
                let dropped: Vec<String> = sqlx::query_scalar(
                    "UPDATE users SET email = NULL, updated_at = $3 \
                 WHERE email = $1 AND id <> $2 AND email_verified_at IS NULL RETURNING id",
                )
                .bind(email)
                .bind(id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query("UPDATE users SET email = $2, email_verified_at = $3, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(email)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict(UNIQUE))?;
                note_dropped_claims!(tx, &dropped, "email_claim_dropped", now).await?;
                Ok::<_, DbError>(Claimed { changed: previous.as_deref() != Some(email), previous, dropped })
            }
            .await;
            finish!(tx, done)
        })
    }

    /// `phone`, proven by a code sent to it, becomes the account's verified number; an
    /// unverified claim on it by another account is dropped, in one transaction.
    pub async fn claim_phone(&self, id: &str, phone: &str, now: i64) -> Result<Claimed> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let done = async {
                // Written first, read back: SQLite takes the write lock now, waiting its turn,
                // instead of failing to upgrade a read lock another writer got ahead of.
                let previous: Option<Option<String>> =
                    sqlx::query_scalar("UPDATE users SET updated_at = $2 WHERE id = $1 RETURNING phone")
                        .bind(id)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                let previous = previous.ok_or(DbError::NotFound)?;
                let dropped = drop_phone_claims!(&mut *tx, phone, id, now).await?;
                sqlx::query("UPDATE users SET phone = $2, phone_verified_at = $3, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(phone)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict(UNIQUE))?;
                note_dropped_claims!(tx, &dropped, "phone_claim_dropped", now).await?;
                Ok::<_, DbError>(Claimed { changed: previous.as_deref() != Some(phone), previous, dropped })
            }
            .await;
            finish!(tx, done)
        })
    }

    /// Removes the account's phone number (the person keeps another way to sign in).
    pub async fn remove_phone(&self, id: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            sqlx::query("UPDATE users SET phone = NULL, phone_verified_at = NULL, updated_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn set_password_hash(&self, id: &str, hash: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn set_gstin(&self, id: &str, gstin: Option<&str>, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query("UPDATE users SET gstin = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(gstin)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Staff's search: an exact id, or a piece of an email, phone, name or company (any case),
    /// newest accounts first.
    pub async fn search_users(&self, q: &str, limit: i64) -> Result<Vec<User>> {
        let escaped: String = q
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE id = $1 OR lower(coalesce(email, '')) LIKE $2 ESCAPE '\\' \
             OR coalesce(phone, '') LIKE $2 ESCAPE '\\' OR lower(name) LIKE $2 ESCAPE '\\' \
             OR lower(coalesce(company, '')) LIKE $2 ESCAPE '\\' ORDER BY created_at DESC LIMIT $3"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, User>(sql)
            .bind(q)
            .bind(format!("%{escaped}%"))
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// Suspends a live account and ends its sessions, in one transaction; `false` when it
    /// was suspended already.
    pub async fn suspend_user(&self, id: &str, now: i64) -> Result<bool> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let done = sqlx::query(
                "UPDATE users SET suspended_at = $2, updated_at = $2 WHERE id = $1 AND suspended_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done == 1)
        })
    }

    /// Lifts a suspension; `false` when the account was not suspended.
    pub async fn reactivate_user(&self, id: &str, now: i64) -> Result<bool> {
        let done = with_pool!(self, |p| sqlx::query(
            "UPDATE users SET suspended_at = NULL, updated_at = $2 WHERE id = $1 AND suspended_at IS NOT NULL"
        )
        .bind(id)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    pub async fn set_role(&self, id: &str, role: &str, now: i64) -> Result<()> {
        let done = with_pool!(self, |p| sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(role)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }
}

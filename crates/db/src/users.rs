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

/// The fields a user may correct; `None` leaves a field unchanged.
#[derive(Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub category: Option<Option<String>>,
}

macro_rules! columns {
    () => {
        "id, email, email_verified_at, phone, phone_verified_at, password_hash, name, company, \
    address, website, category, gstin, role, marketing_opt_in, model_training_opt_in, policy_acknowledged, created_at, updated_at"
    };
}
const UNIQUE: &[&str] = &["email", "phone"];

impl Db {
    pub async fn create_user(&self, new: NewUser<'_>, now: i64) -> Result<User> {
        let sql = concat!(
            "INSERT INTO users (id, email, phone, phone_verified_at, password_hash, name, company, marketing_opt_in, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING ",
            columns!()
        );
        let phone_verified = new.phone_verified.then_some(now);
        with_pool!(self, |p| sqlx::query_as::<_, User>(sql)
            .bind(new_id())
            .bind(new.email)
            .bind(new.phone)
            .bind(phone_verified)
            .bind(new.password_hash)
            .bind(new.name)
            .bind(new.company)
            .bind(new.marketing_opt_in)
            .bind(now)
            .fetch_one(p)
            .await)
        .map_err(conflict(UNIQUE))
    }

    pub async fn user_by_id(&self, id: &str) -> Result<User> {
        self.one_user(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"), id).await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        self.one_user(concat!("SELECT ", columns!(), " FROM users WHERE email = $1"), email).await
    }

    pub async fn user_by_phone(&self, phone: &str) -> Result<User> {
        self.one_user(concat!("SELECT ", columns!(), " FROM users WHERE phone = $1"), phone).await
    }

    async fn one_user(&self, sql: &'static str, value: &str) -> Result<User> {
        with_pool!(self, |p| sqlx::query_as::<_, User>(sql).bind(value).fetch_optional(p).await)?
            .ok_or(DbError::NotFound)
    }

    /// Applies a correction. A changed email or phone loses its verification.
    pub async fn update_profile(&self, id: &str, c: ProfileChange, now: i64) -> Result<User> {
        let current = self.user_by_id(id).await?;
        let email_changed = c.email.as_ref().is_some_and(|e| current.email.as_deref() != Some(e));
        let phone_changed = c.phone.as_ref().is_some_and(|p| current.phone != *p);
        let sql = concat!(
            "UPDATE users SET name = $2, email = $3, email_verified_at = $4, phone = $5, phone_verified_at = $6, \
             company = $7, address = $8, website = $9, category = $10, updated_at = $11 WHERE id = $1 RETURNING ",
            columns!()
        );
        let q = |s: &str| s.to_owned();
        let name = c.name.unwrap_or(current.name);
        let email = if email_changed { c.email } else { current.email };
        let email_verified = if email_changed { None } else { current.email_verified_at };
        let phone = if phone_changed { c.phone.flatten() } else { current.phone };
        let phone_verified = if phone_changed { None } else { current.phone_verified_at };
        let company = c.company.unwrap_or(current.company.as_deref().map(q));
        let address = c.address.unwrap_or(current.address.as_deref().map(q));
        let website = c.website.unwrap_or(current.website.as_deref().map(q));
        let category = c.category.unwrap_or(current.category.as_deref().map(q));
        with_pool!(self, |p| sqlx::query_as::<_, User>(sql)
            .bind(id)
            .bind(&name)
            .bind(&email)
            .bind(email_verified)
            .bind(&phone)
            .bind(phone_verified)
            .bind(&company)
            .bind(&address)
            .bind(&website)
            .bind(&category)
            .bind(now)
            .fetch_optional(p)
            .await)
        .map_err(conflict(UNIQUE))?
        .ok_or(DbError::NotFound)
    }

    /// Marks `email` verified only if it is still the account's address.
    pub async fn mark_email_verified(&self, id: &str, email: &str, now: i64) -> Result<bool> {
        let done = with_pool!(self, |p| {
            sqlx::query("UPDATE users SET email_verified_at = $3, updated_at = $3 WHERE id = $1 AND email = $2")
                .bind(id)
                .bind(email)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    pub async fn mark_phone_verified(&self, id: &str, now: i64) -> Result<()> {
        with_pool!(self, |p| sqlx::query("UPDATE users SET phone_verified_at = $2, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
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

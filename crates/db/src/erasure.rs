//! Erasing an account: every row about the person goes in one transaction. What the law
//! keeps for payments (amounts, dates, invoice numbers) stays, detached: `user_id` becomes
//! NULL and invoices lose the buyer's name, email and address. Deleting the user's row also
//! deletes their wrapped data key, so any copy of their stored objects is unreadable.

use crate::outbox::{NewMail, queue_mail};
use crate::{Db, Result, new_id, with_pool};

/// Who is being erased: their id, and the identifiers other tables key by.
pub struct Erasure<'a> {
    pub user_id: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

impl Db {
    /// `goodbye` is queued in the same transaction (with no user: it outlives them).
    pub async fn erase_user(&self, e: &Erasure<'_>, goodbye: Option<&NewMail<'_>>, now: i64) -> Result<()> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            for sql in [
                // Every job names the person it works for (creations, listings, exports, mail).
                "DELETE FROM jobs WHERE user_id = $1",
                "DELETE FROM ledger_entries WHERE user_id = $1",
                // Admins' actions stay on record, detached (`user_id` becomes NULL with the user).
                "DELETE FROM audit_log WHERE user_id = $1 AND actor NOT LIKE 'admin:%'",
                // A B2B invoice (the buyer's GSTIN on it) must keep the buyer's name and address
                // (GST rules); others keep nothing of the person.
                "UPDATE invoices SET buyer_email = '', \
                 buyer_name = CASE WHEN buyer_gstin IS NULL THEN '' ELSE buyer_name END, \
                 buyer_company = CASE WHEN buyer_gstin IS NULL THEN NULL ELSE buyer_company END, \
                 buyer_address = CASE WHEN buyer_gstin IS NULL THEN NULL ELSE buyer_address END \
                 WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(e.user_id).execute(&mut *tx).await?;
            }
            // Limits, pauses and codes are keyed by id, email or phone (`checkout:<id>`, `otp:resend:<phone>`…).
            // Mail still queued for them (their own rows go with the user below).
            // Staff's own log rows name the account they acted on ("<address>: <reason>").
            for named in [e.email, e.phone].into_iter().flatten() {
                sqlx::query(
                    "UPDATE audit_log SET detail = 'a deleted account' || substr(detail, length($1) + 1) \
                     WHERE actor = 'self' AND substr(detail, 1, length($1) + 1) = $1 || ':'",
                )
                .bind(named)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(email) = e.email {
                sqlx::query("DELETE FROM outbox WHERE to_address = $1").bind(email).execute(&mut *tx).await?;
            }
            for key in [Some(e.user_id), e.email, e.phone].into_iter().flatten() {
                for sql in [
                    "DELETE FROM rate_counters WHERE substr(bucket, length(bucket) - length($1)) = ':' || $1",
                    "DELETE FROM cooldowns WHERE substr(bucket, length(bucket) - length($1)) = ':' || $1",
                ] {
                    sqlx::query(sql).bind(key).execute(&mut *tx).await?;
                }
                sqlx::query("DELETE FROM otp_codes WHERE phone = $1").bind(key).execute(&mut *tx).await?;
            }
            // Cascades: sessions, API keys, one-time tokens, balance, data key, uploads,
            // creations, outputs. Payments, orders, subscriptions, invoices: detached.
            sqlx::query("DELETE FROM users WHERE id = $1").bind(e.user_id).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO audit_log (id, user_id, actor, action, detail, ip_network, created_at) \
                 VALUES ($1, NULL, 'self', 'account_deleted', '', '', $2)",
            )
            .bind(new_id())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if let Some(mail) = goodbye {
                queue_mail!(tx, mail, now).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }
}

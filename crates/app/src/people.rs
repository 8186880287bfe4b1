//! Staff looking after people: finding an account, and suspending or reactivating it with
//! a reason. Every action is in the audit log twice: on the account (its owner sees it in
//! their security log) and on the admin's own.

use serde::Serialize;

use crate::sessions::Principal;
use crate::{App, Client, Result, now_ms};

/// An account as staff's search lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub name: String,
    pub company: Option<String>,
    pub role: String,
    pub suspended_at: Option<i64>,
    pub created_at: i64,
}

impl From<db::users::User> for Person {
    fn from(u: db::users::User) -> Self {
        Self {
            email_verified: u.email_verified_at.is_some(),
            id: u.id,
            email: u.email,
            phone: u.phone,
            name: u.name,
            company: u.company,
            role: u.role,
            suspended_at: u.suspended_at,
            created_at: u.created_at,
        }
    }
}

impl App {
    /// Accounts whose id is `q`, or whose email, phone, name or company holds it.
    pub async fn find_people(&self, p: &Principal, q: &str) -> Result<Vec<Person>> {
        p.require_admin()?;
        let q = q.trim();
        if q.chars().count() < 2 {
            return Err(domain::Invalid::new("query_too_short", "q", "Type at least two letters.").into());
        }
        Ok(self.db.search_users(q, 50).await?.into_iter().map(Person::from).collect())
    }

    /// Suspends an account (`suspend`: its sessions end at once, sign-in and its API keys
    /// are refused, and its queued images are not made, their tokens coming back) or lifts
    /// the suspension.
    pub async fn set_suspended(
        &self,
        p: &Principal,
        user_id: &str,
        suspend: bool,
        reason: &str,
        client: &Client,
    ) -> Result<Person> {
        p.require_admin()?;
        if suspend && user_id == p.user.id {
            return Err(
                domain::Invalid::new("cannot_suspend_self", "id", "You cannot suspend your own account.").into()
            );
        }
        let reason = staff_reason(reason)?;
        let now = now_ms();
        let changed = if suspend {
            self.db.suspend_user(user_id, now).await?
        } else {
            self.db.reactivate_user(user_id, now).await?
        };
        if !changed {
            self.db.user_by_id(user_id).await?;
            let (code, why) = if suspend {
                ("already_suspended", "This account is suspended already.")
            } else {
                ("not_suspended", "This account is not suspended.")
            };
            return Err(domain::Invalid::new(code, "id", why).into());
        }
        let actions =
            if suspend { ("account_suspended", "suspended_user") } else { ("account_reactivated", "reactivated_user") };
        let person: Person = self.db.user_by_id(user_id).await?.into();
        self.record_staff_action(p, &person, actions, reason, client).await?;
        Ok(person)
    }

    async fn record_staff_action(
        &self,
        p: &Principal,
        person: &Person,
        (theirs, ours): (&str, &str),
        reason: &str,
        client: &Client,
    ) -> Result<()> {
        let now = now_ms();
        let actor = format!("admin:{}", p.user.id);
        // The account's owner sees their row: not the staff member's network.
        self.db.audit(Some(&person.id), &actor, theirs, reason, "", now).await?;
        // The admin's own log names the account in words, as every security log does.
        let whom = person.email.as_deref().or(person.phone.as_deref()).unwrap_or(&person.name);
        self.db.audit(Some(&p.user.id), "self", ours, &format!("{whom}: {reason}"), &client.network(), now).await?;
        Ok(())
    }
}

fn staff_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    if reason.chars().count() < 3 || reason.chars().count() > 500 {
        return Err(
            domain::Invalid::new("invalid_reason", "reason", "Say why, in a few words (at most 500 letters).").into()
        );
    }
    Ok(reason)
}

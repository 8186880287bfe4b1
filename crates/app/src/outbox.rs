//! Delivering the mail outbox: each queued message is sent by its own `mail` job (retried
//! with backoff by the runner), through SMTP or the dev-mode file sink, then forgotten.
//! Marketing goes only to people who still want it, with a signed one-click unsubscribe.

use db::consents::Purpose;
use db::outbox::{JOB_KIND, NewMail};
use db::queue::Job;
use jobs::{Handler, HandlerFuture, JobContext, JobError};
use providers::mail::Email as Mail;

use crate::consents::current_policy;
use crate::sessions::Principal;
use crate::{App, AppError, Result, now_ms};

/// A transactional message as the outbox stores it; with its user, it goes if they do.
pub(crate) fn transactional<'a>(mail: &'a Mail, user_id: Option<&'a str>) -> NewMail<'a> {
    NewMail { user_id, marketing: false, to: &mail.to, subject: &mail.subject, body: &mail.text }
}

impl App {
    /// Queues a transactional message for `user_id`; a `mail` job delivers it.
    pub(crate) async fn queue_mail(&self, mail: &Mail, user_id: &str) -> Result<()> {
        Ok(self.db.queue_mail(&transactional(mail, Some(user_id)), now_ms()).await?)
    }

    /// `/unsubscribe/<user>.<mac>`: works without signing in, for that user only.
    pub(crate) fn unsubscribe_link(&self, user_id: &str) -> String {
        let mac = self.mac(&["unsubscribe", user_id]);
        self.link(&format!("/unsubscribe/{user_id}.{}", &mac[..32]))
    }

    /// One-click unsubscribe from marketing email (the link in every such mail).
    pub async fn unsubscribe(&self, token: &str) -> Result<()> {
        let (user_id, mac) = token.split_once('.').ok_or(AppError::InvalidToken)?;
        if !self.mac_matches(&["unsubscribe", user_id], mac, 32) {
            return Err(AppError::InvalidToken);
        }
        let user = self.db.user_by_id(user_id).await.map_err(|_| AppError::InvalidToken)?;
        if user.marketing_opt_in {
            let now = now_ms();
            self.db
                .set_consent(&user.id, Purpose::Marketing, false, "unsubscribe", current_policy().version, now)
                .await?;
            self.db.audit(Some(&user.id), "self", "consent_withdrawn", "marketing (unsubscribe link)", "", now).await?;
        }
        Ok(())
    }

    /// An admin's newsletter: queued for everyone opted in to marketing. Returns how many.
    pub async fn send_newsletter(&self, p: &Principal, subject: &str, body: &str) -> Result<usize> {
        p.require_admin()?;
        if subject.trim().is_empty() || body.trim().is_empty() {
            return Err(
                domain::Invalid::new("invalid_newsletter", "subject", "Give the mail a subject and a text.").into()
            );
        }
        let n = self.db.queue_mail_to_everyone(true, subject.trim(), body.trim(), now_ms()).await?;
        self.db
            .audit(None, &format!("admin:{}", p.user.id), "newsletter_queued", &format!("{n} recipients"), "", now_ms())
            .await?;
        Ok(n)
    }

    /// `soraipixel admin announce-policy`: tells every user with an email about the policy
    /// version in force (a service message, sent whatever the marketing choice).
    pub async fn announce_policy(&self) -> Result<usize> {
        let policy = current_policy();
        let subject = format!("We updated our privacy policy ({})", policy.effective);
        let body = format!(
            "Hello,\n\nOn {} we updated how SoraiPixel handles your data:\n\n{}\n\nRead the whole policy: {}\n\nYou can \
             export or delete your data, and change your choices, from your account settings at any time.\n",
            policy.effective,
            policy.changes,
            self.link("/privacy")
        );
        Ok(self.db.queue_mail_to_everyone(false, &subject, &body, now_ms()).await?)
    }

    async fn deliver(&self, id: &str) -> std::result::Result<(), JobError> {
        let retry = |e: &dyn std::fmt::Display| JobError::Retry(e.to_string());
        let Some(queued) = self.db.queued_mail(id).await.map_err(|e| retry(&e))? else { return Ok(()) };
        let mut unsubscribe = None;
        if queued.kind == "marketing" {
            let wanted = match &queued.user_id {
                Some(u) => self.db.user_by_id(u).await.ok().filter(|u| u.marketing_opt_in && u.suspended_at.is_none()),
                None => None,
            };
            let Some(user) = wanted else {
                // The consent was withdrawn (or the account suspended or deleted) since it was queued.
                return self.db.forget_mail(id).await.map_err(|e| retry(&e));
            };
            unsubscribe = Some(self.unsubscribe_link(&user.id));
        }
        let mut text = queued.body.clone();
        if let Some(link) = &unsubscribe {
            text.push_str(&format!(
                "\n--\nYou get this because you asked for news from SoraiPixel. Unsubscribe with one click: {link}\n"
            ));
        }
        let mail = Mail { to: queued.to_address.clone(), subject: queued.subject.clone(), text, unsubscribe };
        // The server's reply can quote the address: neither the log nor the job keeps it.
        self.mailer.send(mail).await.map_err(|e| match e {
            providers::mail::MailError::Address(_) => JobError::Permanent("invalid recipient address".into()),
            _ => JobError::Retry("mail delivery failed".into()),
        })?;
        self.db.forget_mail(id).await.map_err(|e| retry(&e))
    }
}

pub struct DeliverMail(pub App);

impl Handler for DeliverMail {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }

    fn run(&self, job: Job, _ctx: JobContext) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move { app.deliver(&job.payload).await })
    }

    /// Given up after every retry: the message is dropped (and logged without its address).
    fn dead(&self, job: Job) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            tracing::error!(mail = %job.payload, error = ?job.last_error, "mail given up after retries");
            app.db.forget_mail(&job.payload).await.map_err(|e| JobError::Retry(e.to_string()))
        })
    }
}

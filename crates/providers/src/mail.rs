//! Outgoing email: SMTP in production; in dev mode each message is written as an .eml file
//! to the outbox folder and announced in the log.

use std::path::PathBuf;

use lettre::message::header::{ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("could not build message: {0}")]
    Build(String),
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// A message ready to send: plain text, links on their own lines.
#[derive(Debug, Clone, Default)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Marketing mail: the signed one-click unsubscribe URL, sent as `List-Unsubscribe`
    /// with `List-Unsubscribe-Post` (RFC 8058) so mail apps show their own button.
    pub unsubscribe: Option<String>,
}

/// `List-Unsubscribe: <url>`.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim_matches(['<', '>']).to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    /// Dev mode: .eml files in this folder.
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

pub struct SmtpConfig<'a> {
    pub host: &'a str,
    pub port: u16,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    /// `starttls`, `tls` or `none`.
    pub security: &'a str,
}

impl Mailer {
    pub fn outbox(from: &str, dir: PathBuf) -> Result<Self, MailError> {
        Ok(Self { from: parse_mailbox(from)?, transport: Transport::Outbox(dir) })
    }

    pub fn smtp(from: &str, c: SmtpConfig<'_>) -> Result<Self, MailError> {
        let builder = match c.security {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(c.host),
            "none" => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.host)),
            _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(c.host),
        }
        .map_err(|e| MailError::Build(e.to_string()))?;
        let mut builder = builder.port(c.port);
        if let (Some(u), Some(p)) = (c.username, c.password) {
            builder = builder.credentials(Credentials::new(u.to_owned(), p.to_owned()));
        }
        Ok(Self { from: parse_mailbox(from)?, transport: Transport::Smtp(builder.build()) })
    }

    pub fn is_dev(&self) -> bool {
        matches!(self.transport, Transport::Outbox(_))
    }

    pub async fn send(&self, email: Email) -> Result<(), MailError> {
        let message = self.build(&email)?;
        match &self.transport {
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| MailError::Delivery(e.to_string()))?;
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or_default();
                let path = dir.join(format!("{stamp}-{}.eml", uuid::Uuid::new_v4().simple()));
                tokio::fs::write(&path, message.formatted()).await.map_err(|e| MailError::Delivery(e.to_string()))?;
                tracing::warn!(target: "dev_mail", to = %email.to, subject = %email.subject, file = %path.display(), body = %email.text,
                    "DEV MODE EMAIL (not sent): written to the outbox");
                Ok(())
            }
            Transport::Smtp(smtp) => {
                let started = std::time::Instant::now();
                let sent = smtp.send(message).await;
                crate::record_call("smtp", if sent.is_ok() { "ok" } else { "refused" }, started);
                sent.map(|_| ()).map_err(|e| MailError::Delivery(e.to_string()))
            }
        }
    }

    fn build(&self, email: &Email) -> Result<Message, MailError> {
        // Plain ASCII within RFC 5322's 998-character line limit goes out as 7-bit, so links
        // stay intact for people (and tests) reading raw mail; anything else is encoded.
        let text = email.text.replace("\r\n", "\n").replace('\n', "\r\n");
        let body = if text.is_ascii() && text.lines().all(|l| l.len() <= 998) {
            Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::SevenBit)
        } else {
            Body::new(text)
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(parse_mailbox(&email.to)?)
            .subject(&email.subject)
            .header(ContentType::TEXT_PLAIN);
        if let Some(url) = &email.unsubscribe {
            builder = builder.header(ListUnsubscribe(url.clone())).header(ListUnsubscribePost);
        }
        builder.body(body).map_err(|e| MailError::Build(e.to_string()))
    }
}

fn parse_mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.parse().map_err(|_| MailError::Address(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_writes_readable_eml() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::outbox("SoraiPixel <no-reply@soraipixel.com>", dir.path().join("outbox")).unwrap();
        let link = format!("http://127.0.0.1:8080/verify-email?token={}", "x".repeat(43));
        mailer
            .send(Email {
                to: "asha@example.com".into(),
                subject: "Confirm".into(),
                text: format!("Hello,\n\n{link}\n"),
                unsubscribe: None,
            })
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let raw = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(raw.contains("To: asha@example.com"), "{raw}");
        assert!(raw.contains(&link), "link must survive unencoded: {raw}");
        assert!(matches!(
            mailer.send(Email { to: "not an address".into(), ..Email::default() }).await,
            Err(MailError::Address(_))
        ));
    }
}

//! Email over SMTP with `lettre` (plain SMTP, optionally authenticated, to
//! the tenant's `smtp` provider: `base_url` `smtp://host:port`, `sender` the
//! From address). SMTP takes no idempotency id: a message whose sending was
//! interrupted is not sent again (see `send`).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::sms::SmsError;

/// Where and how to send.
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub from: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// One email to send.
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Becomes the Message-ID (`<id@cms>`), which is also what is recorded.
    pub id: String,
}

impl Smtp {
    /// From `smtp://host[:port]` (port 25 by default).
    pub fn from_url(url: &str, from: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| "the smtp provider needs an smtp://host:port base_url".to_owned())?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (
                host.to_owned(),
                port.parse()
                    .map_err(|_| "the smtp port is not a number".to_owned())?,
            ),
            None => (rest.to_owned(), 25),
        };
        Ok(Smtp {
            host,
            port,
            from: from.to_owned(),
            username: None,
            password: None,
        })
    }

    pub async fn send(&self, email: &Email) -> Result<String, SmsError> {
        let permanent = |what: &str| SmsError::Permanent(what.to_owned());
        let message_id = format!("<{}@cms>", email.id);
        let message = Message::builder()
            .from(
                self.from
                    .parse()
                    .map_err(|_| permanent("the sender is not an email address"))?,
            )
            .to(email
                .to
                .parse()
                .map_err(|_| permanent("the recipient is not an email address"))?)
            .subject(email.subject.clone())
            .message_id(Some(message_id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|_| permanent("the message cannot be built"))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(Duration::from_secs(20)));
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        let response = builder.build().send(message).await.map_err(|err| {
            if err.is_permanent() {
                SmsError::Permanent(format!(
                    "SMTP refused the message: {}",
                    err.status().map(|s| s.to_string()).unwrap_or_default()
                ))
            } else {
                SmsError::Temporary("SMTP server unreachable or busy".into())
            }
        })?;
        let _ = response;
        Ok(message_id)
    }
}

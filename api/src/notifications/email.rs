//! Email over SMTP with `lettre` to the tenant's `smtp` provider (`base_url`,
//! `sender` the From address, optional credentials). The URL says how:
//! `smtps://host` (TLS from the start, port 465), `smtp://host:587?tls=required`
//! (STARTTLS, refused without it), `smtp://host?tls=opportunistic`, or plain
//! `smtp://host:port` for a local relay. Servers are verified against the
//! Mozilla roots (rustls). SMTP takes no idempotency id: a message whose
//! sending was interrupted is not sent again (see `send`).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::sms::SmsError;
use crate::outbound::Outbound;

/// Where and how to send.
pub struct Smtp {
    /// The connection URL as lettre reads it (checked by `from_url`).
    url: String,
    pub from: String,
    username: Option<String>,
    password: Option<String>,
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
    /// From `smtp://` or `smtps://` `host[:port][?tls=required|opportunistic]`.
    /// No user or password in the URL: the URL is answered and audited,
    /// credentials are sealed apart.
    pub fn from_url(url: &str, from: &str) -> Result<Self, String> {
        let url = url.trim_end_matches('/');
        if url.split_once("://").is_some_and(|(_, rest)| {
            rest.split(['/', '?'])
                .next()
                .unwrap_or_default()
                .contains('@')
        }) {
            return Err("must not hold a user or password: put them in the credentials".to_owned());
        }
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|_| {
            "the smtp provider needs a base_url like smtps://host or \
             smtp://host:587?tls=required"
                .to_owned()
        })?;
        Ok(Smtp {
            url: url.to_owned(),
            from: from.to_owned(),
            username: None,
            password: None,
        })
    }

    /// The host and port the URL names (lettre's default ports: 25 for plain
    /// SMTP, 587 for STARTTLS, 465 for smtps).
    pub fn host_and_port(&self) -> Result<(String, u16), String> {
        let url = url::Url::parse(&self.url).map_err(|_| "is not a URL".to_owned())?;
        let host = url.host_str().ok_or("names no host")?.to_owned();
        let port = url.port().unwrap_or(match (url.scheme(), self.tls_mode()) {
            ("smtps", _) => 465,
            (_, Some(_)) => 587,
            _ => 25,
        });
        Ok((host, port))
    }

    fn tls_mode(&self) -> Option<String> {
        url::Url::parse(&self.url).ok().and_then(|url| {
            url.query_pairs()
                .find(|(name, _)| name == "tls")
                .map(|(_, value)| value.into_owned())
        })
    }

    /// The transport for this URL, connecting to `address` (checked by the
    /// outbound guard) while TLS still verifies the host's own name.
    fn pinned_transport(
        &self,
        address: std::net::SocketAddr,
    ) -> Result<AsyncSmtpTransportBuilder, String> {
        let mut url = url::Url::parse(&self.url).map_err(|_| "is not a URL".to_owned())?;
        let (host, port) = self.host_and_port()?;
        url.set_ip_host(address.ip())
            .map_err(|_| "cannot pin the address".to_owned())?;
        url.set_port(Some(port))
            .map_err(|_| "cannot pin the port".to_owned())?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            .map_err(|_| "is not a valid SMTP URL".to_owned())?;
        let params = || TlsParameters::new(host.clone()).map_err(|err| err.to_string());
        Ok(match (url.scheme(), self.tls_mode().as_deref()) {
            ("smtps", _) => builder.tls(Tls::Wrapper(params()?)),
            (_, Some("required")) => builder.tls(Tls::Required(params()?)),
            (_, Some("opportunistic")) => builder.tls(Tls::Opportunistic(params()?)),
            _ => builder,
        })
    }

    /// Whether the connection is always encrypted (TLS from the start, or
    /// STARTTLS required): the only ones credentials may travel on.
    pub fn encrypted(&self) -> bool {
        self.url.starts_with("smtps://") || self.url.contains("tls=required")
    }

    /// Sets the login, refused on a connection that may be in the clear.
    pub fn login(&mut self, username: String, password: String) -> Result<(), String> {
        if !self.encrypted() {
            return Err(
                "credentials need an encrypted connection: use smtps://host \
                        or smtp://host:587?tls=required"
                    .to_owned(),
            );
        }
        self.username = Some(username);
        self.password = Some(password);
        Ok(())
    }

    /// Sends `email`. A tenant's server (`guard` given) is resolved through
    /// the outbound guard now and connected to at the checked address; the
    /// operator's relay (`CMS_SMTP_RELAY_URL`, `guard` none) as configured.
    pub async fn send(&self, email: &Email, guard: Option<&Outbound>) -> Result<String, SmsError> {
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
        let builder = match guard {
            None => AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.url)
                .map_err(|_| permanent("the smtp base_url is not valid"))?,
            Some(guard) => {
                let (host, port) = self.host_and_port().map_err(|why| permanent(&why))?;
                let addresses = guard
                    .resolve(&host, port)
                    .await
                    .map_err(|why| SmsError::Permanent(format!("refused: the SMTP host {why}")))?;
                self.pinned_transport(addresses[0])
                    .map_err(|why| permanent(&why))?
            }
        };
        let mut builder = builder.timeout(Some(Duration::from_secs(20)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_name_the_tls_mode() {
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtps://smtp.example.com",
            "smtp://smtp.example.com:587?tls=required",
            "smtp://smtp.example.com?tls=opportunistic",
        ] {
            assert!(Smtp::from_url(ok, "a@b.c").is_ok(), "{ok}");
        }
        for bad in [
            "http://smtp.example.com",
            "smtp://",
            "smtp://h?tls=sometimes",
            "smtps://user:pass@smtp.example.com",
        ] {
            assert!(Smtp::from_url(bad, "a@b.c").is_err(), "{bad}");
        }
        let login = |url: &str| {
            Smtp::from_url(url, "a@b.c")
                .and_then(|mut smtp| smtp.login("u".into(), "p".into()))
                .is_ok()
        };
        assert!(login("smtps://smtp.example.com"));
        assert!(login("smtp://smtp.example.com:587?tls=required"));
        assert!(!login("smtp://smtp.example.com?tls=opportunistic"));
        assert!(!login("smtp://127.0.0.1:25"));
    }
}

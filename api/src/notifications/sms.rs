//! SMS providers behind one trait, speaking each provider's documented HTTP
//! API: SMS.ru (`/sms/send?...&json=1`), SMSC.ru (`/sys/send.php?...&fmt=3`)
//! and SmsAero v2 (`/v2/sms/send`, basic auth). Base URLs come from the
//! tenant's provider settings, so tests point them at local fakes.
//!
//! Only SMSC takes our idempotency id (`id`): a repeated request with the
//! same id is not sent again, so a job that crashed mid-call may call it
//! again. The others may not be called twice for one message (see `send`).

use std::future::Future;
use std::pin::Pin;

use serde::Deserialize;
use serde_json::Value;

use crate::outbound::summary;

/// One SMS to send.
#[derive(Debug, Clone)]
pub struct Sms {
    /// E.164 (`+79161234567`).
    pub to: String,
    pub text: String,
    /// The approved sender name; empty for the provider's default.
    pub sender: String,
    /// Ours, unique per message: repeated requests carry the same one.
    pub idempotency_id: String,
}

/// What the provider answered for an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: String,
    pub status: String,
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsError {
    /// Worth trying again later (network, 5xx, provider overloaded, no funds).
    Temporary(String),
    /// Trying again cannot help (bad credentials, bad number, refused text).
    Permanent(String),
    /// The request may have reached the provider and nobody can tell what
    /// it did (a timeout after sending, an unreadable answer, a success
    /// without a message id). A provider that takes an idempotency id is
    /// asked again; any other is not: a person decides (`resend`).
    Unknown(String),
}

impl std::fmt::Display for SmsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmsError::Temporary(message) => write!(f, "temporary: {message}"),
            SmsError::Permanent(message) => write!(f, "permanent: {message}"),
            SmsError::Unknown(message) => write!(f, "may have been sent: {message}"),
        }
    }
}

pub type SmsFuture<'a> = Pin<Box<dyn Future<Output = Result<Accepted, SmsError>> + Send + 'a>>;

/// An SMS gateway.
pub trait SmsProvider: Send + Sync {
    /// Whether a repeated `send` with the same `idempotency_id` is safe.
    fn idempotent(&self) -> bool;
    fn send<'a>(&'a self, http: &'a reqwest::Client, sms: &'a Sms) -> SmsFuture<'a>;
    /// Where it sends: the provider's public API unless the tenant pointed
    /// it elsewhere (checked by the outbound guard on save and on send).
    fn base_url(&self) -> &str;
}

/// The public API of an SMS provider kind.
pub fn default_url(kind: &str) -> Option<&'static str> {
    match kind {
        "sms_ru" => Some(SmsRu::DEFAULT_URL),
        "smsc" => Some(Smsc::DEFAULT_URL),
        "smsaero" => Some(SmsAero::DEFAULT_URL),
        _ => None,
    }
}

/// A failed exchange: nothing was sent when no connection was made; after
/// that (a timeout, a broken or unreadable answer) the request may have
/// reached the provider.
fn transport(err: reqwest::Error) -> SmsError {
    if err.is_connect() || err.is_builder() {
        SmsError::Temporary(format!("provider unreachable: {}", without_url(&err)))
    } else {
        SmsError::Unknown(format!("no usable answer: {}", without_url(&err)))
    }
}

/// A transport error without its URL (which holds credentials in the query).
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_decode() {
        "unreadable answer"
    } else {
        "request failed"
    };
    match err.status() {
        Some(status) => format!("{kind} (HTTP {status})"),
        None => kind.to_owned(),
    }
}

async fn json_of(response: reqwest::Response) -> Result<Value, SmsError> {
    let status = response.status();
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(SmsError::Temporary(format!(
            "provider answered HTTP {status}"
        )));
    }
    let text = response.text().await.map_err(transport)?;
    serde_json::from_str(&text).map_err(|_| {
        if status.is_success() {
            SmsError::Unknown("provider answered success with something that is not JSON".into())
        } else {
            SmsError::Permanent(format!("provider answered HTTP {status}"))
        }
    })
}

/// SMS.ru: `GET {base}/sms/send?api_id=..&to=..&msg=..&json=1[&from=..]`,
/// answering `{"status":"OK","status_code":100,"sms":{"<phone>":{"status":"OK",
/// "status_code":100,"sms_id":".."}}}` or an error status with its code.
pub struct SmsRu {
    pub base_url: String,
    pub api_id: String,
}

impl SmsRu {
    pub const DEFAULT_URL: &'static str = "https://sms.ru";

    /// SMS.ru's status codes worth retrying: 220 (service unavailable),
    /// 201 (not enough funds), 230/231/232 (limits per number per minute/day).
    fn temporary(code: i64) -> bool {
        matches!(code, 201 | 220 | 230 | 231 | 232 | 233)
    }

    fn read(answer: &Value, phone: &str) -> Result<Accepted, SmsError> {
        let code = answer["status_code"].as_i64().unwrap_or_default();
        if answer["status"] != "OK" {
            let text = summary(answer["status_text"].as_str().unwrap_or("refused"));
            let message = format!("SMS.ru {code}: {text}");
            return Err(if Self::temporary(code) {
                SmsError::Temporary(message)
            } else {
                SmsError::Permanent(message)
            });
        }
        let digits = phone.trim_start_matches('+');
        let sms = answer["sms"]
            .get(digits)
            .or_else(|| answer["sms"].get(phone))
            .or_else(|| {
                answer["sms"]
                    .as_object()
                    .and_then(|all| all.values().next())
            })
            .ok_or_else(|| SmsError::Unknown("SMS.ru answered OK without the message".into()))?;
        if sms["status"] != "OK" {
            let code = sms["status_code"].as_i64().unwrap_or_default();
            let text = summary(sms["status_text"].as_str().unwrap_or("refused"));
            let message = format!("SMS.ru {code}: {text}");
            return Err(if Self::temporary(code) {
                SmsError::Temporary(message)
            } else {
                SmsError::Permanent(message)
            });
        }
        let id = sms["sms_id"]
            .as_str()
            .ok_or_else(|| SmsError::Unknown("SMS.ru answered OK without an sms_id".into()))?;
        Ok(Accepted {
            message_id: id.to_owned(),
            status: sms["status_code"].as_i64().unwrap_or(100).to_string(),
        })
    }
}

impl SmsProvider for SmsRu {
    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn idempotent(&self) -> bool {
        false
    }

    fn send<'a>(&'a self, http: &'a reqwest::Client, sms: &'a Sms) -> SmsFuture<'a> {
        Box::pin(async move {
            let to = sms.to.trim_start_matches('+');
            let mut query = vec![
                ("api_id", self.api_id.as_str()),
                ("to", to),
                ("msg", sms.text.as_str()),
                ("json", "1"),
            ];
            if !sms.sender.is_empty() {
                query.push(("from", sms.sender.as_str()));
            }
            let response = http
                .get(format!("{}/sms/send", self.base_url.trim_end_matches('/')))
                .query(&query)
                .send()
                .await
                .map_err(transport)?;
            Self::read(&json_of(response).await?, to)
        })
    }
}

/// SMSC.ru: `GET {base}/sys/send.php?login=..&psw=..&phones=..&mes=..&fmt=3
/// &charset=utf-8&id=<ours>[&sender=..]`, answering `{"id":..,"cnt":..}` or
/// `{"error":"..","error_code":N}`.
pub struct Smsc {
    pub base_url: String,
    pub login: String,
    pub password: String,
}

impl Smsc {
    pub const DEFAULT_URL: &'static str = "https://smsc.ru";

    /// SMSC error codes: 1 parameters, 2 login or password, 3 no funds,
    /// 4 IP blocked, 5 date format, 6 message refused, 7 number format,
    /// 8 cannot be delivered, 9 too many identical requests at once.
    fn read(answer: &Value) -> Result<Accepted, SmsError> {
        if let Some(code) = answer["error_code"].as_i64() {
            let message = format!(
                "SMSC {code}: {}",
                summary(answer["error"].as_str().unwrap_or("refused"))
            );
            return Err(if matches!(code, 3 | 4 | 9) {
                SmsError::Temporary(message)
            } else {
                SmsError::Permanent(message)
            });
        }
        let id = match &answer["id"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => return Err(SmsError::Unknown("SMSC answered without an id".into())),
        };
        Ok(Accepted {
            message_id: id,
            status: format!("cnt={}", answer["cnt"].as_i64().unwrap_or_default()),
        })
    }
}

impl SmsProvider for Smsc {
    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn idempotent(&self) -> bool {
        true
    }

    fn send<'a>(&'a self, http: &'a reqwest::Client, sms: &'a Sms) -> SmsFuture<'a> {
        Box::pin(async move {
            let mut query = vec![
                ("login", self.login.as_str()),
                ("psw", self.password.as_str()),
                ("phones", sms.to.as_str()),
                ("mes", sms.text.as_str()),
                ("fmt", "3"),
                ("charset", "utf-8"),
                ("id", sms.idempotency_id.as_str()),
            ];
            if !sms.sender.is_empty() {
                query.push(("sender", sms.sender.as_str()));
            }
            let response = http
                .get(format!(
                    "{}/sys/send.php",
                    self.base_url.trim_end_matches('/')
                ))
                .query(&query)
                .send()
                .await
                .map_err(transport)?;
            Self::read(&json_of(response).await?)
        })
    }
}

/// SmsAero v2: `POST {base}/v2/sms/send` with basic auth (email, API key)
/// and form fields `number`, `text`, `sign`; answering
/// `{"success":true,"data":{"id":..,"status":..}}` or
/// `{"success":false,"message":".."}` (HTTP 401 for bad credentials).
pub struct SmsAero {
    pub base_url: String,
    pub email: String,
    pub api_key: String,
}

#[derive(Deserialize)]
struct AeroAnswer {
    success: bool,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

impl SmsAero {
    pub const DEFAULT_URL: &'static str = "https://gate.smsaero.ru";
}

impl SmsProvider for SmsAero {
    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn idempotent(&self) -> bool {
        false
    }

    fn send<'a>(&'a self, http: &'a reqwest::Client, sms: &'a Sms) -> SmsFuture<'a> {
        Box::pin(async move {
            let number = sms.to.trim_start_matches('+');
            let sign = if sms.sender.is_empty() {
                "SMS Aero"
            } else {
                sms.sender.as_str()
            };
            let response = http
                .post(format!(
                    "{}/v2/sms/send",
                    self.base_url.trim_end_matches('/')
                ))
                .basic_auth(&self.email, Some(&self.api_key))
                .form(&[
                    ("number", number),
                    ("text", sms.text.as_str()),
                    ("sign", sign),
                ])
                .send()
                .await
                .map_err(transport)?;
            let status = response.status();
            let answer: AeroAnswer = serde_json::from_value(json_of(response).await?)
                .map_err(|_| SmsError::Unknown("SmsAero answered an unknown shape".into()))?;
            if !answer.success {
                let message = format!(
                    "SmsAero: {}",
                    summary(answer.message.as_deref().unwrap_or("refused"))
                );
                return Err(if status.is_success() {
                    SmsError::Permanent(message)
                } else if status == reqwest::StatusCode::UNAUTHORIZED {
                    SmsError::Permanent(format!("{message} (credentials)"))
                } else {
                    SmsError::Permanent(message)
                });
            }
            let data = answer.data.unwrap_or_default();
            let id = match &data["id"] {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => {
                    return Err(SmsError::Unknown(
                        "SmsAero answered success without an id".into(),
                    ))
                }
            };
            Ok(Accepted {
                message_id: id,
                status: data["extendStatus"]
                    .as_str()
                    .or_else(|| data["status"].as_i64().map(|_| "queued"))
                    .unwrap_or("queued")
                    .to_owned(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sms_ru_answers_are_read() {
        let ok = json!({"status":"OK","status_code":100,"sms":{"79161234567":{"status":"OK","status_code":100,"sms_id":"000000-10000000"}},"balance":4122.56});
        assert_eq!(
            SmsRu::read(&ok, "79161234567").map(|a| a.message_id),
            Ok("000000-10000000".to_owned())
        );
        let broke = json!({"status":"ERROR","status_code":201,"status_text":"Не хватает средств"});
        assert!(matches!(
            SmsRu::read(&broke, "7"),
            Err(SmsError::Temporary(_))
        ));
        // OK without the message's id: it may well have been sent.
        let no_id = json!({"status":"OK","status_code":100,"sms":{"79161234567":{"status":"OK","status_code":100}}});
        assert!(matches!(
            SmsRu::read(&no_id, "79161234567"),
            Err(SmsError::Unknown(_))
        ));
        let bad_key =
            json!({"status":"ERROR","status_code":200,"status_text":"Неправильный api_id"});
        assert!(matches!(
            SmsRu::read(&bad_key, "7"),
            Err(SmsError::Permanent(_))
        ));
    }

    #[test]
    fn smsc_answers_are_read() {
        assert_eq!(
            Smsc::read(&json!({"id": 17, "cnt": 1})).map(|a| a.message_id),
            Ok("17".to_owned())
        );
        assert!(matches!(
            Smsc::read(&json!({"error":"invalid phone","error_code":7})),
            Err(SmsError::Permanent(_))
        ));
        assert!(matches!(
            Smsc::read(&json!({"error":"no money","error_code":3})),
            Err(SmsError::Temporary(_))
        ));
        assert!(matches!(
            Smsc::read(&json!({"cnt": 1})),
            Err(SmsError::Unknown(_))
        ));
    }
}

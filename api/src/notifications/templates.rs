//! Message texts: tera templates per tenant, event, channel and locale
//! (`notification_templates`), falling back to the built-in ru and en
//! defaults below (which the demo seed also stores). Rendering never
//! autoescapes: SMS and plain-text email are not HTML.

use serde_json::Value;

use chrono::Utc;
use diesel::PgConnection;
use uuid::Uuid;

use super::{Channel, Event};
use crate::db::notifications::{self as db, Template};
use crate::error::{ApiError, FieldError};

/// The locales with built-in texts.
pub const LOCALES: [&str; 2] = ["ru", "en"];

/// Stores the built-in ru and en templates of every event and channel the
/// tenant has none for (the demo seed). Answers how many were added.
pub fn seed_defaults(conn: &mut PgConnection, tenant: Uuid) -> Result<usize, ApiError> {
    let mut added = 0;
    let now = Utc::now();
    for event in Event::ALL {
        for channel in [Channel::Sms, Channel::Email] {
            for locale in LOCALES {
                let (subject, body) = default_template(*event, channel, locale);
                added += db::insert_template_if_missing(
                    conn,
                    &Template {
                        id: Uuid::now_v7(),
                        tenant_id: tenant,
                        event: event.as_str().into(),
                        channel: channel.as_str().into(),
                        locale: locale.into(),
                        subject: subject.into(),
                        body: body.into(),
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
            }
        }
    }
    Ok(added)
}

/// The built-in (subject, body) of an event's message on a channel.
pub fn default_template(
    event: Event,
    channel: Channel,
    locale: &str,
) -> (&'static str, &'static str) {
    let ru = locale != "en";
    let (subject, body) = match (event, ru) {
        (Event::Booked, true) => ("Запись подтверждена", "{{ patient_name }}, вы записаны к врачу {{ doctor_name }} ({{ service_name }}) на {{ starts_at }}. {{ clinic_name }}"),
        (Event::Booked, false) => ("Appointment booked", "{{ patient_name }}, you are booked with {{ doctor_name }} ({{ service_name }}) on {{ starts_at }}. {{ clinic_name }}"),
        (Event::Confirmed, true) => ("Запись подтверждена клиникой", "{{ patient_name }}, клиника подтвердила ваш визит {{ starts_at }} к врачу {{ doctor_name }}. {{ clinic_name }}"),
        (Event::Confirmed, false) => ("Appointment confirmed", "{{ patient_name }}, the clinic confirmed your visit on {{ starts_at }} with {{ doctor_name }}. {{ clinic_name }}"),
        (Event::Cancelled, true) => ("Запись отменена", "{{ patient_name }}, ваша запись на {{ starts_at }} отменена. {{ clinic_name }}"),
        (Event::Cancelled, false) => ("Appointment cancelled", "{{ patient_name }}, your appointment on {{ starts_at }} is cancelled. {{ clinic_name }}"),
        (Event::Rescheduled, true) => ("Запись перенесена", "{{ patient_name }}, ваша запись перенесена на {{ starts_at }}. {{ clinic_name }}"),
        (Event::Rescheduled, false) => ("Appointment moved", "{{ patient_name }}, your appointment is moved to {{ starts_at }}. {{ clinic_name }}"),
        (Event::Reminder, true) => ("Напоминание о визите", "Напоминаем: {{ starts_at }} приём у врача {{ doctor_name }}. {{ clinic_name }}"),
        (Event::Reminder, false) => ("Visit reminder", "Reminder: {{ starts_at }} visit with {{ doctor_name }}. {{ clinic_name }}"),
        (Event::LeadReceived, true) => ("Новая заявка", "Новая заявка: {{ name }} {{ phone }} {{ message }}"),
        (Event::LeadReceived, false) => ("New lead", "New lead: {{ name }} {{ phone }} {{ message }}"),
        (Event::ReviewPending, true) => ("Отзыв ждёт модерации", "Новый отзыв ждёт модерации: {{ author }} ({{ rating }}): {{ text }}"),
        (Event::ReviewPending, false) => ("Review awaiting moderation", "A new review awaits moderation: {{ author }} ({{ rating }}): {{ text }}"),
        (Event::WebhookDisabled, true) => ("Вебхук отключён", "Вебхук отключён: {{ url }}\nОписание: {{ description }}\nПричина: {{ reason }}\nИсправьте приёмник и включите вебхук снова в настройках."),
        (Event::WebhookDisabled, false) => ("Webhook endpoint disabled", "Webhook endpoint disabled: {{ url }}\nDescription: {{ description }}\nReason: {{ reason }}\nFix the receiver, then enable the endpoint again in the webhook settings."),
    };
    if channel == Channel::Sms {
        ("", body)
    } else {
        (subject, body)
    }
}

/// Compiles a template body; the error names `field`.
pub fn check(field: &str, source: &str) -> Result<(), FieldError> {
    let mut tera = tera::Tera::default();
    tera.add_raw_template("message", source)
        .map(|_| ())
        .map_err(|err| FieldError::new(field, format!("does not compile: {}", error_chain(&err))))
}

/// Renders a template with `values` (an object).
pub fn render(source: &str, values: &Value) -> Result<String, String> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::<&'static str>::new());
    tera.add_raw_template("message", source)
        .map_err(|err| error_chain(&err))?;
    let mut context = tera::Context::new();
    if let Value::Object(map) = values {
        for (key, value) in map {
            context.insert(key.clone(), value);
        }
    }
    tera.render("message", &context)
        .map(|text| text.trim().to_owned())
        .map_err(|err| error_chain(&err))
}

/// Values a preview renders with.
pub fn sample_values() -> Value {
    serde_json::json!({
        "patient_name": "Анна Иванова",
        "doctor_name": "Dr. Petrov",
        "service_name": "Consultation",
        "clinic_name": "Alpha Clinic",
        "starts_at": "10.12.2026 15:00",
        "name": "Ivan",
        "phone": "+79161234567",
        "message": "Please call me back",
        "author": "Maria",
        "rating": 5,
        "text": "Great doctor",
        "url": "https://hooks.example.com/cms",
        "description": "CRM sync",
        "reason": "the endpoint answered 410 Gone",
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_renders_in_both_locales() {
        for event in Event::ALL {
            for channel in [Channel::Sms, Channel::Email] {
                for locale in ["ru", "en"] {
                    let (_, body) = default_template(*event, channel, locale);
                    let text = render(body, &sample_values());
                    assert!(text.is_ok(), "{event:?} {locale}: {text:?}");
                }
            }
        }
        assert!(check("body", "{{ unclosed").is_err());
        assert_eq!(
            render("Hi {{ name }} & co", &serde_json::json!({"name": "<b>"})).ok(),
            Some("Hi <b> & co".to_owned())
        );
    }
}

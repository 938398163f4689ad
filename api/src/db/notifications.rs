//! Notification settings, templates, providers and the message log.

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::cursor::PageRequest;
use super::schema::{
    notification_providers, notification_settings, notification_templates, notifications, patients,
};

/// A tenant's notification settings (defaults until it saves its own).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize, ToSchema)]
#[diesel(table_name = notification_settings)]
pub struct Settings {
    #[serde(skip)]
    pub tenant_id: Uuid,
    /// Minutes before a visit that reminders go out.
    pub reminder_offsets: Vec<i32>,
    /// Local time (clinic's zone) quiet hours begin.
    #[schema(value_type = String, example = "21:00:00")]
    pub quiet_start: NaiveTime,
    #[schema(value_type = String, example = "09:00:00")]
    pub quiet_end: NaiveTime,
    /// Channels messages go out on: `sms`, `email`.
    pub channels: Vec<String>,
    pub locale: String,
    /// Where staff messages (leads, reviews to moderate) go.
    pub staff_email: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Settings {
    pub fn defaults(tenant_id: Uuid) -> Self {
        Settings {
            tenant_id,
            reminder_offsets: vec![1440, 120],
            quiet_start: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
            quiet_end: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            channels: vec!["sms".into(), "email".into()],
            locale: "ru".into(),
            staff_email: None,
            updated_at: Utc::now(),
        }
    }
}

pub fn settings(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Settings> {
    Ok(notification_settings::table
        .find(tenant_id)
        .select(Settings::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_else(|| Settings::defaults(tenant_id)))
}

pub fn save_settings(conn: &mut PgConnection, settings: &Settings) -> QueryResult<Settings> {
    diesel::insert_into(notification_settings::table)
        .values(settings)
        .on_conflict(notification_settings::tenant_id)
        .do_update()
        .set(settings)
        .returning(Settings::as_returning())
        .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = notification_templates)]
pub struct Template {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub event: String,
    pub channel: String,
    pub locale: String,
    pub subject: String,
    pub body: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn templates(conn: &mut PgConnection) -> QueryResult<Vec<Template>> {
    notification_templates::table
        .order((
            notification_templates::event,
            notification_templates::channel,
            notification_templates::locale,
        ))
        .select(Template::as_select())
        .load(conn)
}

pub fn template(
    conn: &mut PgConnection,
    event: &str,
    channel: &str,
    locale: &str,
) -> QueryResult<Option<Template>> {
    notification_templates::table
        .filter(notification_templates::event.eq(event))
        .filter(notification_templates::channel.eq(channel))
        .filter(notification_templates::locale.eq(locale))
        .select(Template::as_select())
        .first(conn)
        .optional()
}

/// Inserts the template or replaces its subject and body (a new version).
pub fn upsert_template(conn: &mut PgConnection, template: &Template) -> QueryResult<Template> {
    diesel::insert_into(notification_templates::table)
        .values(template)
        .on_conflict((
            notification_templates::tenant_id,
            notification_templates::event,
            notification_templates::channel,
            notification_templates::locale,
        ))
        .do_update()
        .set((
            notification_templates::subject.eq(&template.subject),
            notification_templates::body.eq(&template.body),
            notification_templates::version.eq(notification_templates::version + 1),
            notification_templates::updated_at.eq(Utc::now()),
        ))
        .returning(Template::as_returning())
        .get_result(conn)
}

/// Inserts the template unless the tenant has one for its key (the seed).
pub fn insert_template_if_missing(
    conn: &mut PgConnection,
    template: &Template,
) -> QueryResult<usize> {
    diesel::insert_into(notification_templates::table)
        .values(template)
        .on_conflict_do_nothing()
        .execute(conn)
}

/// A provider's settings with its sealed credentials. Never serialised.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notification_providers)]
pub struct Provider {
    pub tenant_id: Uuid,
    pub kind: String,
    pub channel: String,
    pub base_url: Option<String>,
    pub sender: String,
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn upsert_provider(conn: &mut PgConnection, provider: &Provider) -> QueryResult<Provider> {
    use notification_providers::dsl as p;
    diesel::insert_into(p::notification_providers)
        .values(provider)
        .on_conflict((p::tenant_id, p::kind))
        .do_update()
        .set((
            p::base_url.eq(&provider.base_url),
            p::sender.eq(&provider.sender),
            p::key_id.eq(&provider.key_id),
            p::nonce.eq(&provider.nonce),
            p::ciphertext.eq(&provider.ciphertext),
            p::is_active.eq(provider.is_active),
            p::updated_at.eq(Utc::now()),
        ))
        .returning(Provider::as_returning())
        .get_result(conn)
}

pub fn providers(conn: &mut PgConnection) -> QueryResult<Vec<Provider>> {
    notification_providers::table
        .order(notification_providers::kind)
        .select(Provider::as_select())
        .load(conn)
}

/// The active provider of a channel saved last.
pub fn provider_for(conn: &mut PgConnection, channel: &str) -> QueryResult<Option<Provider>> {
    notification_providers::table
        .filter(notification_providers::channel.eq(channel))
        .filter(notification_providers::is_active.eq(true))
        .order(notification_providers::updated_at.desc())
        .select(Provider::as_select())
        .first(conn)
        .optional()
}

/// One message: what was rendered for whom, and what the provider answered.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub job_id: Uuid,
    /// `sms` or `email`.
    pub channel: String,
    pub recipient: String,
    pub event: String,
    pub appointment_id: Option<Uuid>,
    pub subject: String,
    pub body: String,
    /// `pending`, `sending`, `sent`, `failed` or `skipped`.
    pub status: String,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub provider_status: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// One message of the tenant, locked.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Notification>> {
    notifications::table
        .find(id)
        .select(Notification::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn by_job(conn: &mut PgConnection, job_id: Uuid) -> QueryResult<Option<Notification>> {
    notifications::table
        .filter(notifications::job_id.eq(job_id))
        .select(Notification::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut PgConnection, row: &Notification) -> QueryResult<Notification> {
    diesel::insert_into(notifications::table)
        .values(row)
        .returning(Notification::as_returning())
        .get_result(conn)
}

/// Marks the message as being handed to `provider` (before the call).
pub fn mark_sending(conn: &mut PgConnection, id: Uuid, provider: &str) -> QueryResult<usize> {
    diesel::update(notifications::table.find(id))
        .set((
            notifications::status.eq("sending"),
            notifications::provider.eq(provider),
        ))
        .execute(conn)
}

pub fn mark_sent(
    conn: &mut PgConnection,
    id: Uuid,
    message_id: &str,
    provider_status: &str,
) -> QueryResult<usize> {
    diesel::update(notifications::table.find(id))
        .set((
            notifications::status.eq("sent"),
            notifications::provider_message_id.eq(message_id),
            notifications::provider_status.eq(provider_status),
            notifications::error.eq(None::<String>),
            notifications::sent_at.eq(Utc::now()),
        ))
        .execute(conn)
}

/// Records a failed attempt (`status` `pending` when it will be tried
/// again, `failed` when it will not).
pub fn mark_failed(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    error: &str,
) -> QueryResult<usize> {
    diesel::update(notifications::table.find(id))
        .set((
            notifications::status.eq(status),
            notifications::error.eq(error),
        ))
        .execute(conn)
}

/// The log, newest first.
pub fn list(conn: &mut PgConnection, page: &PageRequest) -> QueryResult<Vec<Notification>> {
    let mut query = notifications::table
        .select(Notification::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(notifications::id.lt(after));
    }
    query
        .order(notifications::id.desc())
        .limit(page.fetch_limit())
        .load(conn)
}

/// A patient's name, phone and opt-out.
pub fn recipient(
    conn: &mut PgConnection,
    patient: Uuid,
) -> QueryResult<Option<(String, String, bool)>> {
    patients::table
        .find(patient)
        .select((
            patients::name,
            patients::phone,
            patients::notifications_opt_out,
        ))
        .first(conn)
        .optional()
}

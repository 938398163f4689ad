-- Notifications to patients and staff (SMS and email). Everything is
-- tenant-owned under forced RLS like the other tables. Messages are sent by
-- `notification.send` jobs; `notifications` keeps one row per job (the
-- rendered text and what the provider answered), so a job that runs again
-- after a crash never sends twice.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- Patients may opt out of non-essential messages (reminders); booking,
-- confirmation, cancellation and rescheduling messages are always sent.
ALTER TABLE patients ADD COLUMN notifications_opt_out boolean NOT NULL DEFAULT false;

CREATE TABLE notification_templates (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event text NOT NULL CHECK (event IN ('appointment.booked', 'appointment.confirmed',
        'appointment.cancelled', 'appointment.rescheduled', 'appointment.reminder',
        'lead.received', 'review.pending')),
    channel text NOT NULL CHECK (channel IN ('sms', 'email')),
    locale text NOT NULL CHECK (locale ~ '^[a-z]{2}$'),
    subject text NOT NULL DEFAULT '',
    -- A tera template.
    body text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notification_templates_unique UNIQUE (tenant_id, event, channel, locale)
);

CREATE TABLE notification_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    -- Minutes before the visit; 24 h and 2 h unless the tenant says otherwise.
    reminder_offsets integer[] NOT NULL DEFAULT '{1440,120}',
    -- Local time in the clinic's zone; a window that wraps midnight when start > end.
    quiet_start time NOT NULL DEFAULT '21:00',
    quiet_end time NOT NULL DEFAULT '09:00',
    channels text[] NOT NULL DEFAULT '{sms,email}',
    locale text NOT NULL DEFAULT 'ru' CHECK (locale ~ '^[a-z]{2}$'),
    staff_email text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notification_providers (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('sms_ru', 'smsc', 'smsaero', 'smtp')),
    channel text NOT NULL CHECK (channel IN ('sms', 'email')),
    -- Where the provider's API (or SMTP server) is; NULL for its public default.
    base_url text,
    sender text NOT NULL DEFAULT '',
    -- Credentials as JSON sealed with ChaCha20-Poly1305 under the key `key_id`
    -- (CMS_SECRETS_KEY, or CMS_SECRETS_KEY_OLD while rotating). Never answered.
    key_id text NOT NULL,
    nonce bytea NOT NULL,
    ciphertext bytea NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind)
);

CREATE TABLE notifications (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id uuid NOT NULL,
    channel text NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient text NOT NULL,
    event text NOT NULL,
    appointment_id uuid,
    subject text NOT NULL DEFAULT '',
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    provider text,
    provider_message_id text,
    provider_status text,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    CONSTRAINT notifications_job UNIQUE (tenant_id, job_id)
);
CREATE INDEX notifications_listing ON notifications (tenant_id, id);

ALTER TABLE notification_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_templates FORCE ROW LEVEL SECURITY;
CREATE POLICY notification_templates_tenant_isolation ON notification_templates
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_templates TO cms_app;

ALTER TABLE notification_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY notification_settings_tenant_isolation ON notification_settings
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_settings TO cms_app;

ALTER TABLE notification_providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_providers FORCE ROW LEVEL SECURITY;
CREATE POLICY notification_providers_tenant_isolation ON notification_providers
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_providers TO cms_app;

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY notifications_tenant_isolation ON notifications
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON notifications TO cms_app;

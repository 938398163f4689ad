-- Outgoing webhooks (Standard Webhooks): the endpoints a tenant registers,
-- the messages its events produced (each sent under one `webhook-id`, kept
-- for replays), and every delivery attempt with its answer. Tenant-owned,
-- under forced RLS like every other table. Secrets are never answered by the
-- api after creation or rotation.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- Event types it receives, or '*' for all; at least one.
    events text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text CHECK (length(disabled_reason) <= 500),
    -- `whsec_<base64>`; the previous one stays valid until it expires.
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    -- Since when every delivery failed (NULL while it answers 2xx).
    failing_since timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
);

CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_messages (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_type text NOT NULL CHECK (event_type ~ '^[a-z][a-z_]*\.[a-z_]+$'),
    -- The body sent: {"type": ..., "timestamp": ..., "data": {...}}.
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_messages_tenant ON webhook_messages (tenant_id, id);

CREATE TABLE webhook_attempts (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message_id uuid NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    attempt integer NOT NULL CHECK (attempt >= 1),
    -- NULL when no answer came (refused address, timeout, connection error).
    status_code integer,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    -- The first 2 KB of the answer.
    response text NOT NULL DEFAULT '' CHECK (length(response) <= 2048),
    error text CHECK (length(error) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, message_id, id);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id);

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_endpoints_tenant_isolation ON webhook_endpoints
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE webhook_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_messages_tenant_isolation ON webhook_messages
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_attempts_tenant_isolation ON webhook_attempts
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_messages, webhook_attempts TO cms_app;

-- Platform core: tenants, users, memberships, sites, domains, refresh tokens, audit log.
-- Tenant isolation is enforced here, by row-level security, not by the application:
-- every tenant-owned table has `tenant_id uuid not null`, a policy on
-- `app.tenant_id` (set per transaction with set_config(..., true)) and FORCE ROW LEVEL SECURITY
-- so even the owning role is bound by it. `app_current_tenant()` reads the setting
-- and yields NULL (matching no row) when it is unset or empty.

-- Fail fast instead of queueing behind live traffic when a lock is not free.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION app_current_user() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    slug text NOT NULL,
    name text NOT NULL,
    status text NOT NULL DEFAULT 'active',
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended'))
);

-- Users are global (one person may work for several tenants); what they may do
-- in a tenant comes from `memberships`, which is tenant-owned.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    password_hash text NOT NULL,
    is_platform_admin boolean NOT NULL DEFAULT false,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memberships_tenant_user_key UNIQUE (tenant_id, user_id),
    CONSTRAINT memberships_role_check
        CHECK (role IN ('owner', 'admin', 'editor', 'viewer', 'doctor', 'patient'))
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE sites (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL,
    default_locale text NOT NULL DEFAULT 'en',
    locales text [] NOT NULL DEFAULT ARRAY['en'],
    theme jsonb NOT NULL DEFAULT '{}'::jsonb,
    analytics jsonb NOT NULL DEFAULT '{}'::jsonb,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sites_tenant_idx ON sites (tenant_id, id);

-- A host names exactly one site across all tenants, so the uniqueness is global.
CREATE TABLE domains (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    host text NOT NULL,
    is_primary boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT domains_host_key UNIQUE (host)
);
CREATE INDEX domains_site_idx ON domains (site_id);
CREATE INDEX domains_tenant_idx ON domains (tenant_id);

-- Refresh tokens belong to a user session, not to a tenant (a platform admin may
-- hold one without any tenant), so their policy is on `app.user_id`.
CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    family_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_tenant_idx ON refresh_tokens (tenant_id);

-- Append-only: the app role may insert and read, never change or delete.
-- No foreign key to tenants: the record of a deleted tenant outlives it.
CREATE TABLE audit_log (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    actor_user_id uuid,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id uuid NOT NULL,
    before jsonb,
    after jsonb,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id);

ALTER TABLE sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE sites FORCE ROW LEVEL SECURITY;
CREATE POLICY sites_tenant_isolation ON sites
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE domains FORCE ROW LEVEL SECURITY;
CREATE POLICY domains_tenant_isolation ON domains
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_tenant_isolation ON audit_log
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- A user reads their own memberships in every tenant (login, /me, switch-tenant);
-- writes stay inside the current tenant.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_read ON memberships FOR SELECT
    USING (tenant_id = app_current_tenant() OR user_id = app_current_user());
CREATE POLICY memberships_insert ON memberships FOR INSERT
    WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY memberships_update ON memberships FOR UPDATE
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY memberships_delete ON memberships FOR DELETE
    USING (tenant_id = app_current_tenant());

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_owner ON refresh_tokens
    USING (user_id = app_current_user())
    WITH CHECK (user_id = app_current_user());

GRANT USAGE ON SCHEMA public TO cms_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, users, memberships, sites, domains, refresh_tokens
    TO cms_app;
GRANT SELECT, INSERT ON audit_log TO cms_app;
GRANT EXECUTE ON FUNCTION app_current_tenant(), app_current_user() TO cms_app;

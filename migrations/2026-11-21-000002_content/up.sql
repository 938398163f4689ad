-- Content: the module library, pages, blocks and published revisions.
-- Same tenancy rules as the platform core: tenant_id not null, a policy on
-- app.tenant_id, FORCE ROW LEVEL SECURITY.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- Built-in modules ship with the renderer's templates; `api setup`/`api migrate`
-- register their schemas here. They belong to no tenant: every tenant reads
-- them and the app role may not write them.
CREATE TABLE builtin_modules (
    key text PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    props_schema jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE custom_modules (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key text NOT NULL,
    name text NOT NULL,
    category text NOT NULL,
    props_schema jsonb NOT NULL,
    template text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT custom_modules_tenant_key_key UNIQUE (tenant_id, key)
);

CREATE TABLE pages (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    locale text NOT NULL,
    path text NOT NULL,
    title text NOT NULL,
    seo jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL DEFAULT 'draft',
    publish_at timestamptz,
    published_revision_id uuid,
    published_at timestamptz,
    -- Where the live revision answers: a draft may move the page elsewhere
    -- without moving what visitors see until it is published.
    published_locale text,
    published_path text,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pages_site_locale_path_key UNIQUE (site_id, locale, path),
    CONSTRAINT pages_status_check CHECK (status IN ('draft', 'published', 'scheduled', 'archived'))
);
CREATE INDEX pages_tenant_site_idx ON pages (tenant_id, site_id, id);
CREATE INDEX pages_scheduled_idx ON pages (publish_at) WHERE status = 'scheduled';
CREATE UNIQUE INDEX pages_live_path_key ON pages (site_id, published_locale, published_path)
    WHERE status = 'published';

CREATE TABLE page_blocks (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    page_id uuid NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    position integer NOT NULL,
    module_key text NOT NULL,
    props jsonb NOT NULL DEFAULT '{}'::jsonb,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Deferred so an atomic reorder may swap positions inside one transaction.
    CONSTRAINT page_blocks_page_position_key UNIQUE (page_id, position) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX page_blocks_tenant_idx ON page_blocks (tenant_id);

-- A revision is the page and its blocks frozen at publish time, stored as the
-- exact delivery JSON; delivery reads nothing else.
CREATE TABLE page_revisions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    page_id uuid NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    number integer NOT NULL,
    snapshot jsonb NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT page_revisions_page_number_key UNIQUE (page_id, number)
);
CREATE INDEX page_revisions_tenant_idx ON page_revisions (tenant_id);

ALTER TABLE pages ADD CONSTRAINT pages_published_revision_fkey
    FOREIGN KEY (published_revision_id) REFERENCES page_revisions (id) ON DELETE SET NULL;
CREATE INDEX pages_published_revision_idx ON pages (published_revision_id);

ALTER TABLE custom_modules ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_modules FORCE ROW LEVEL SECURITY;
CREATE POLICY custom_modules_tenant_isolation ON custom_modules
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE pages ENABLE ROW LEVEL SECURITY;
ALTER TABLE pages FORCE ROW LEVEL SECURITY;
CREATE POLICY pages_tenant_isolation ON pages
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE page_blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE page_blocks FORCE ROW LEVEL SECURITY;
CREATE POLICY page_blocks_tenant_isolation ON page_blocks
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE page_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE page_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY page_revisions_tenant_isolation ON page_revisions
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT ON builtin_modules TO cms_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON custom_modules, pages, page_blocks, page_revisions TO cms_app;

-- Routing lookups. Public delivery knows a host or a site id, and the
-- scheduler knows nothing, before any tenant can be set; these functions answer
-- just the tenant (and site) to scope the real work by. They run as cms_router
-- (NOLOGIN, BYPASSRLS, created by `api setup`) and can read nothing else.
CREATE FUNCTION routing_site_tenant(p_site_id uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT tenant_id FROM sites WHERE id = p_site_id $$;

CREATE FUNCTION routing_host(p_host text) RETURNS TABLE (site_id uuid, tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT site_id, tenant_id FROM domains WHERE host = p_host $$;

CREATE FUNCTION routing_due_pages(p_limit integer) RETURNS TABLE (page_id uuid, tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT id, tenant_id FROM pages
        WHERE status = 'scheduled' AND publish_at <= now()
        ORDER BY publish_at
        LIMIT p_limit
    $$;

GRANT USAGE, CREATE ON SCHEMA public TO cms_router;
GRANT SELECT ON sites, domains, pages TO cms_router;
ALTER FUNCTION routing_site_tenant(uuid) OWNER TO cms_router;
ALTER FUNCTION routing_host(text) OWNER TO cms_router;
ALTER FUNCTION routing_due_pages(integer) OWNER TO cms_router;
REVOKE EXECUTE ON FUNCTION routing_site_tenant(uuid), routing_host(text), routing_due_pages(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing_site_tenant(uuid), routing_host(text), routing_due_pages(integer) TO cms_app;

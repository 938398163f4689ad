-- Leads: what visitors send through lead forms on published landings, taken
-- by the public delivery API (through the renderer) and listed to editors.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE leads (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    -- Not a foreign key: a lead outlives the page it came from.
    page_id uuid,
    path text NOT NULL,
    variant text,
    visitor_id text,
    fields jsonb NOT NULL,
    utm jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The client's Idempotency-Key: a retried submission finds its lead.
    idempotency_key text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX leads_site_idempotency_key ON leads (site_id, idempotency_key);
CREATE INDEX leads_tenant_site_idx ON leads (tenant_id, site_id, id);

ALTER TABLE leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE leads FORCE ROW LEVEL SECURITY;
CREATE POLICY leads_tenant_isolation ON leads
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, DELETE ON leads TO cms_app;

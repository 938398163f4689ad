-- A/B experiments on pages, and the events that measure them.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE experiments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    page_id uuid NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    name text NOT NULL,
    hypothesis text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'running', 'paused', 'completed')),
    -- Percent of traffic in the experiment.
    coverage double precision NOT NULL DEFAULT 100 CHECK (coverage >= 0 AND coverage <= 100),
    goal text NOT NULL,
    -- The bucketing seed: fixed for the experiment's life, so visitors keep
    -- their variant through edits, pauses and restarts.
    seed text NOT NULL,
    -- [{key, name, weight, overrides?, hide?, insert?, blocks?}], control first.
    variants jsonb NOT NULL,
    targeting jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- Every weight change while running: [{at, by, weights}].
    weight_history jsonb NOT NULL DEFAULT '[]'::jsonb,
    winner text,
    version integer NOT NULL DEFAULT 1,
    started_at timestamptz,
    completed_at timestamptz,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX experiments_page_idx ON experiments (page_id, created_at);
CREATE INDEX experiments_running_idx ON experiments (page_id) WHERE status = 'running';

-- One row per visitor, experiment, kind and name: the primary key is the
-- deduplication, and counting rows is counting visitors.
CREATE TABLE experiment_events (
    experiment_id uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('exposure', 'conversion', 'custom')),
    -- The conversion goal or custom event name; '' for exposures.
    name text NOT NULL DEFAULT '',
    visitor text NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    variant text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, kind, name, visitor)
);

ALTER TABLE experiments ENABLE ROW LEVEL SECURITY;
ALTER TABLE experiments FORCE ROW LEVEL SECURITY;
CREATE POLICY experiments_tenant_isolation ON experiments
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE experiment_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE experiment_events FORCE ROW LEVEL SECURITY;
CREATE POLICY experiment_events_tenant_isolation ON experiment_events
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON experiments TO cms_app;
GRANT SELECT, INSERT, DELETE ON experiment_events TO cms_app;

-- Delivery of a live page with its running experiments, in one statement
-- (see routing_live_page): experiments are public once running, as the
-- variants they show are.
CREATE FUNCTION routing_live_page_experiments(p_site_id uuid, p_locale text, p_path text)
    RETURNS TABLE (revision_id uuid, snapshot text, experiments text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public
    AS $$
    BEGIN
        RETURN QUERY
        SELECT r.id, r.snapshot::text,
            COALESCE((
                SELECT jsonb_agg(jsonb_build_object(
                    'id', x.id, 'seed', x.seed, 'goal', x.goal, 'coverage', x.coverage,
                    'variants', x.variants, 'targeting', x.targeting
                ) ORDER BY x.started_at, x.id)
                FROM experiments x
                WHERE x.page_id = p.id AND x.status = 'running'
            ), '[]'::jsonb)::text
        FROM pages p
        JOIN page_revisions r ON r.id = p.published_revision_id
        WHERE p.site_id = p_site_id
          AND p.status = 'published'
          AND p.published_path = p_path
          AND p.published_locale = CASE
                WHEN p_locale = '' THEN (SELECT s.default_locale FROM sites s WHERE s.id = p_site_id)
                ELSE p_locale
              END;
    END
    $$;

-- Event ingestion knows experiment ids only: this answers whose they are and
-- what they accept, so the insert can run in that tenant's scope.
CREATE FUNCTION routing_experiments(p_ids uuid[])
    RETURNS TABLE (id uuid, tenant_id uuid, site_id uuid, status text, goal text, variant_keys text[])
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT x.id, x.tenant_id, x.site_id, x.status, x.goal,
            ARRAY(SELECT v ->> 'key' FROM jsonb_array_elements(x.variants) v)
        FROM experiments x
        WHERE x.id = ANY (p_ids)
    $$;

GRANT SELECT ON experiments TO cms_router;
ALTER FUNCTION routing_live_page_experiments(uuid, text, text) OWNER TO cms_router;
ALTER FUNCTION routing_experiments(uuid[]) OWNER TO cms_router;
REVOKE EXECUTE ON FUNCTION routing_live_page_experiments(uuid, text, text), routing_experiments(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing_live_page_experiments(uuid, text, text), routing_experiments(uuid[]) TO cms_app;

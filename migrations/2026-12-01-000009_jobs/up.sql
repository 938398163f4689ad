-- Durable background jobs in PostgreSQL. A job is tenant-owned (forced RLS
-- like every other table) or, with tenant_id NULL, a system job no tenant
-- sees (cron housekeeping). Workers know no tenant before they claim, so they
-- claim, heartbeat, finish and rescue through the narrow routing functions
-- below (SECURITY DEFINER, owned by cms_router), and run each job's own work
-- in the job's tenant scope.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    queue text NOT NULL DEFAULT 'default' CHECK (queue ~ '^[a-z][a-z0-9_]{0,39}$'),
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,79}$'),
    args jsonb NOT NULL DEFAULT '{}'::jsonb,
    state text NOT NULL DEFAULT 'available'
        CHECK (state IN ('available', 'running', 'retryable', 'completed', 'discarded', 'cancelled')),
    -- Lower runs first (0 is the most urgent).
    priority integer NOT NULL DEFAULT 2 CHECK (priority BETWEEN 0 AND 9),
    attempt integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 20 CHECK (max_attempts BETWEEN 1 AND 100),
    run_at timestamptz NOT NULL DEFAULT now(),
    -- At most one job per key and tenant, in any state: a cron slot runs once
    -- however many nodes insert it, a reminder is moved instead of doubled.
    unique_key text CHECK (length(unique_key) BETWEEN 1 AND 200),
    lease_owner uuid,
    lease_expires_at timestamptz,
    -- Every failed attempt: [{"attempt": 1, "at": "...", "error": "..."}].
    errors jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    attempted_at timestamptz,
    finished_at timestamptz,
    CHECK ((state = 'running') = (lease_owner IS NOT NULL))
);

CREATE UNIQUE INDEX jobs_unique_key ON jobs (tenant_id, unique_key) NULLS NOT DISTINCT
    WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_ready ON jobs (queue, tenant_id, priority, run_at, id)
    WHERE state IN ('available', 'retryable');
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_listing ON jobs (tenant_id, id);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY jobs_tenant_isolation ON jobs
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO cms_app;

-- Claims up to p_limit ready jobs of p_queue for worker p_worker, taking
-- turns between tenants (each tenant's most urgent job first, then each
-- one's second, ...) so one tenant's backlog never starves another's.
-- Locked rows are skipped, so workers never wait on each other.
CREATE FUNCTION routing_claim_jobs(p_queue text, p_worker uuid, p_limit integer, p_lease_seconds integer)
    RETURNS SETOF jobs
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        -- The tenants with ready jobs, one index probe each (a loose index
        -- scan): a DISTINCT would read every ready job of a long backlog.
        WITH RECURSIVE ready_tenants AS (
            (SELECT tenant_id FROM jobs
             WHERE queue = p_queue AND state IN ('available', 'retryable') AND run_at <= now()
               AND tenant_id IS NOT NULL
             ORDER BY tenant_id LIMIT 1)
            UNION ALL
            SELECT (SELECT j.tenant_id FROM jobs j
                    WHERE j.queue = p_queue AND j.state IN ('available', 'retryable') AND j.run_at <= now()
                      AND j.tenant_id > t.tenant_id
                    ORDER BY j.tenant_id LIMIT 1)
            FROM ready_tenants t
            WHERE t.tenant_id IS NOT NULL
        ), locked AS (
            SELECT j.id, j.tenant_id, j.priority, j.run_at
            FROM ready_tenants t
            CROSS JOIN LATERAL (
                SELECT id, tenant_id, priority, run_at FROM jobs
                WHERE queue = p_queue AND state IN ('available', 'retryable') AND run_at <= now()
                  AND tenant_id = t.tenant_id
                ORDER BY priority, run_at, id
                LIMIT p_limit
                FOR UPDATE SKIP LOCKED
            ) j
            WHERE t.tenant_id IS NOT NULL
            UNION ALL
            SELECT * FROM (
                SELECT id, tenant_id, priority, run_at FROM jobs
                WHERE queue = p_queue AND state IN ('available', 'retryable') AND run_at <= now()
                  AND tenant_id IS NULL
                ORDER BY priority, run_at, id
                LIMIT p_limit
                FOR UPDATE SKIP LOCKED
            ) system_jobs
        ), chosen AS (
            SELECT id FROM (
                SELECT id, priority, run_at,
                       row_number() OVER (PARTITION BY tenant_id ORDER BY priority, run_at, id) AS turn
                FROM locked
            ) ranked
            ORDER BY turn, priority, run_at, id
            LIMIT p_limit
        )
        UPDATE jobs
        SET state = 'running', attempt = attempt + 1, lease_owner = p_worker,
            lease_expires_at = now() + make_interval(secs => p_lease_seconds),
            attempted_at = now(), updated_at = now()
        FROM chosen
        WHERE jobs.id = chosen.id
        RETURNING jobs.*
    $$;

-- Extends the leases of the worker's running jobs; answers the ids it still
-- holds (a job missing from the answer was rescued or cancelled meanwhile).
CREATE FUNCTION routing_heartbeat_jobs(p_worker uuid, p_ids uuid[], p_lease_seconds integer)
    RETURNS SETOF uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        UPDATE jobs SET lease_expires_at = now() + make_interval(secs => p_lease_seconds)
        WHERE id = ANY (p_ids) AND lease_owner = p_worker AND state = 'running'
        RETURNING id
    $$;

-- Completes the worker's jobs. Fenced on the lease: a job the worker no
-- longer holds (rescued after its lease expired) is left alone. Answers the
-- ids completed.
CREATE FUNCTION routing_complete_jobs(p_worker uuid, p_ids uuid[])
    RETURNS SETOF uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        UPDATE jobs
        SET state = 'completed', lease_owner = NULL, lease_expires_at = NULL,
            finished_at = now(), updated_at = now()
        WHERE id = ANY (p_ids) AND lease_owner = p_worker AND state = 'running'
        RETURNING id
    $$;

-- Records a failed attempt of the worker's job: `retryable` at p_retry_at,
-- or `discarded` when p_retry_at is NULL or no attempt is left. Fenced on the
-- lease. Answers the new state, or NULL when the worker no longer held it.
CREATE FUNCTION routing_fail_job(p_worker uuid, p_id uuid, p_error text, p_retry_at timestamptz)
    RETURNS text
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        UPDATE jobs
        SET state = CASE WHEN p_retry_at IS NULL OR attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
            run_at = CASE WHEN p_retry_at IS NULL OR attempt >= max_attempts THEN run_at ELSE p_retry_at END,
            finished_at = CASE WHEN p_retry_at IS NULL OR attempt >= max_attempts THEN now() END,
            errors = errors || jsonb_build_array(jsonb_build_object(
                'attempt', attempt, 'at', now(), 'error', left(p_error, 2000))),
            lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE id = p_id AND lease_owner = p_worker AND state = 'running'
        RETURNING state
    $$;

-- Gives back jobs a stopping worker did not start or finish: they run again
-- at once, and the attempt does not count.
CREATE FUNCTION routing_release_jobs(p_worker uuid, p_ids uuid[])
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        WITH released AS (
            UPDATE jobs
            SET state = 'available', attempt = greatest(attempt - 1, 0), run_at = now(),
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE id = ANY (p_ids) AND lease_owner = p_worker AND state = 'running'
            RETURNING 1
        ) SELECT count(*)::integer FROM released
    $$;

-- Returns jobs whose lease expired (their worker was killed or lost the
-- database) to the queue, or discards them when no attempt is left.
CREATE FUNCTION routing_rescue_jobs()
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        WITH rescued AS (
            UPDATE jobs
            SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
                finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                run_at = now(),
                errors = errors || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'at', now(), 'error', 'the worker stopped answering (lease expired)')),
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE state = 'running' AND lease_expires_at < now()
            RETURNING 1
        ) SELECT count(*)::integer FROM rescued
    $$;

-- Inserts a system job (no tenant), unless its unique key exists: how every
-- node inserts a cron slot's job without electing a leader. Answers the id
-- of the new job, or NULL.
CREATE FUNCTION routing_enqueue_system_job(p_id uuid, p_queue text, p_kind text, p_args jsonb, p_run_at timestamptz, p_unique_key text)
    RETURNS uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        INSERT INTO jobs (id, tenant_id, queue, kind, args, run_at, unique_key)
        VALUES (p_id, NULL, p_queue, p_kind, p_args, p_run_at, p_unique_key)
        ON CONFLICT (tenant_id, unique_key) WHERE unique_key IS NOT NULL DO NOTHING
        RETURNING id
    $$;

-- Per queue: jobs ready to run, running, and the age of the oldest ready one
-- (the figures `/metrics` shows; no tenant's rows are exposed).
CREATE FUNCTION routing_job_stats()
    RETURNS TABLE (queue text, ready bigint, running bigint, scheduled bigint, oldest_ready_seconds double precision)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT queue,
               count(*) FILTER (WHERE state IN ('available', 'retryable') AND run_at <= now()),
               count(*) FILTER (WHERE state = 'running'),
               count(*) FILTER (WHERE state IN ('available', 'retryable') AND run_at > now()),
               coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state IN ('available', 'retryable') AND run_at <= now())), 0)::double precision
        FROM jobs
        WHERE state IN ('available', 'retryable', 'running')
        GROUP BY queue
    $$;

-- Deletes finished jobs past their keeping time (the prune cron).
CREATE FUNCTION routing_prune_jobs(p_completed_before timestamptz, p_failed_before timestamptz)
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        WITH pruned AS (
            DELETE FROM jobs
            WHERE (state IN ('completed', 'cancelled') AND finished_at < p_completed_before)
               OR (state = 'discarded' AND finished_at < p_failed_before)
            RETURNING 1
        ) SELECT count(*)::integer FROM pruned
    $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO cms_router;
ALTER FUNCTION routing_claim_jobs(text, uuid, integer, integer) OWNER TO cms_router;
ALTER FUNCTION routing_heartbeat_jobs(uuid, uuid[], integer) OWNER TO cms_router;
ALTER FUNCTION routing_complete_jobs(uuid, uuid[]) OWNER TO cms_router;
ALTER FUNCTION routing_fail_job(uuid, uuid, text, timestamptz) OWNER TO cms_router;
ALTER FUNCTION routing_release_jobs(uuid, uuid[]) OWNER TO cms_router;
ALTER FUNCTION routing_rescue_jobs() OWNER TO cms_router;
ALTER FUNCTION routing_enqueue_system_job(uuid, text, text, jsonb, timestamptz, text) OWNER TO cms_router;
ALTER FUNCTION routing_job_stats() OWNER TO cms_router;
ALTER FUNCTION routing_prune_jobs(timestamptz, timestamptz) OWNER TO cms_router;
REVOKE EXECUTE ON FUNCTION
    routing_claim_jobs(text, uuid, integer, integer), routing_heartbeat_jobs(uuid, uuid[], integer),
    routing_complete_jobs(uuid, uuid[]), routing_fail_job(uuid, uuid, text, timestamptz),
    routing_release_jobs(uuid, uuid[]), routing_rescue_jobs(),
    routing_enqueue_system_job(uuid, text, text, jsonb, timestamptz, text), routing_job_stats(),
    routing_prune_jobs(timestamptz, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    routing_claim_jobs(text, uuid, integer, integer), routing_heartbeat_jobs(uuid, uuid[], integer),
    routing_complete_jobs(uuid, uuid[]), routing_fail_job(uuid, uuid, text, timestamptz),
    routing_release_jobs(uuid, uuid[]), routing_rescue_jobs(),
    routing_enqueue_system_job(uuid, text, text, jsonb, timestamptz, text), routing_job_stats(),
    routing_prune_jobs(timestamptz, timestamptz)
    TO cms_app;

-- Scheduled publishing runs on the queue: pages scheduled before this
-- migration get their publish job now, so none is lost.
INSERT INTO jobs (id, tenant_id, queue, kind, args, run_at, unique_key)
SELECT gen_random_uuid(), tenant_id, 'default', 'page.publish',
       jsonb_build_object('page_id', id), publish_at,
       'page.publish:' || id || ':' || to_char(publish_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM pages
WHERE status = 'scheduled' AND publish_at IS NOT NULL;

SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION routing_heartbeat_claims(uuid[], uuid[], integer);
DROP FUNCTION routing_complete_claims(uuid[], uuid[]);
DROP FUNCTION routing_fail_claim(uuid, uuid, text, timestamptz);
DROP FUNCTION routing_interrupt_claims(uuid[], uuid[], text);
DROP FUNCTION routing_hold_claim(uuid, uuid);


CREATE FUNCTION routing_heartbeat_jobs(p_worker uuid, p_ids uuid[], p_lease_seconds integer)
    RETURNS SETOF uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE jobs SET lease_expires_at = now() + make_interval(secs => p_lease_seconds)
        WHERE id = ANY (p_ids) AND lease_owner = p_worker AND state = 'running'
        RETURNING id
    $$;

CREATE FUNCTION routing_complete_jobs(p_worker uuid, p_ids uuid[])
    RETURNS SETOF uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE jobs
        SET state = 'completed', lease_owner = NULL, lease_expires_at = NULL,
            finished_at = now(), updated_at = now()
        WHERE id = ANY (p_ids) AND lease_owner = p_worker AND state = 'running'
        RETURNING id
    $$;

CREATE FUNCTION routing_fail_job(p_worker uuid, p_id uuid, p_error text, p_retry_at timestamptz)
    RETURNS text
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

CREATE FUNCTION routing_release_jobs(p_worker uuid, p_ids uuid[])
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH released AS (
            UPDATE jobs
            SET state = 'available', attempt = greatest(attempt - 1, 0), run_at = now(),
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE id = ANY (p_ids) AND lease_owner = p_worker AND state = 'running'
            RETURNING 1
        ) SELECT count(*)::integer FROM released
    $$;

CREATE OR REPLACE FUNCTION routing_claim_jobs(p_queue text, p_worker uuid, p_limit integer, p_lease_seconds integer)
    RETURNS SETOF jobs
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

CREATE OR REPLACE FUNCTION routing_rescue_jobs()
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

ALTER FUNCTION routing_heartbeat_jobs(uuid, uuid[], integer) OWNER TO cms_router;
ALTER FUNCTION routing_complete_jobs(uuid, uuid[]) OWNER TO cms_router;
ALTER FUNCTION routing_fail_job(uuid, uuid, text, timestamptz) OWNER TO cms_router;
ALTER FUNCTION routing_release_jobs(uuid, uuid[]) OWNER TO cms_router;
REVOKE EXECUTE ON FUNCTION
    routing_heartbeat_jobs(uuid, uuid[], integer), routing_complete_jobs(uuid, uuid[]),
    routing_fail_job(uuid, uuid, text, timestamptz), routing_release_jobs(uuid, uuid[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    routing_heartbeat_jobs(uuid, uuid[], integer), routing_complete_jobs(uuid, uuid[]),
    routing_fail_job(uuid, uuid, text, timestamptz), routing_release_jobs(uuid, uuid[])
    TO cms_app;

ALTER TABLE jobs DROP CONSTRAINT jobs_running_has_claim;
ALTER TABLE jobs DROP COLUMN claim_token;

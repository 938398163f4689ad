-- Jobs run exactly once unless a process dies: every claim gets a token of
-- its own, and heartbeat, completion, failure and interruption are fenced on
-- it. Fencing on the worker id let a stale run of a job complete it when the
-- same worker had claimed the job again after a rescue.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE jobs ADD COLUMN claim_token uuid;
-- Jobs running while this migrates keep a lease, under a token no worker
-- knows: their old workers' completions are refused and the rescuer runs
-- them again once the lease runs out.
UPDATE jobs SET claim_token = gen_random_uuid() WHERE state = 'running';
-- Every row satisfies it after the update above, so NOT VALID (no scan
-- under lock) while it holds for every row written from now on.
ALTER TABLE jobs ADD CONSTRAINT jobs_running_has_claim
    CHECK ((state = 'running') = (claim_token IS NOT NULL)) NOT VALID;

DROP FUNCTION routing_heartbeat_jobs(uuid, uuid[], integer);
DROP FUNCTION routing_complete_jobs(uuid, uuid[]);
DROP FUNCTION routing_fail_job(uuid, uuid, text, timestamptz);
DROP FUNCTION routing_release_jobs(uuid, uuid[]);

-- As before (see the jobs migration), and each claimed job gets a new token.
CREATE OR REPLACE FUNCTION routing_claim_jobs(p_queue text, p_worker uuid, p_limit integer, p_lease_seconds integer)
    RETURNS SETOF jobs
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
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
            claim_token = gen_random_uuid(),
            lease_expires_at = now() + make_interval(secs => p_lease_seconds),
            attempted_at = now(), updated_at = now()
        FROM chosen
        WHERE jobs.id = chosen.id
        RETURNING jobs.*
    $$;

-- Extends the leases of the given claims (job id and token, pairwise);
-- answers the ids whose claim still holds (a missing one was rescued,
-- cancelled or finished meanwhile: its handler must stop).
CREATE FUNCTION routing_heartbeat_claims(p_ids uuid[], p_tokens uuid[], p_lease_seconds integer)
    RETURNS SETOF uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE jobs SET lease_expires_at = now() + make_interval(secs => p_lease_seconds)
        FROM unnest(p_ids, p_tokens) AS claim (id, token)
        WHERE jobs.id = claim.id AND jobs.claim_token = claim.token AND jobs.state = 'running'
        RETURNING jobs.id
    $$;

-- Completes the given claims; answers the ids completed. A claim that no
-- longer holds (the job was rescued and claimed again) is left alone.
CREATE FUNCTION routing_complete_claims(p_ids uuid[], p_tokens uuid[])
    RETURNS SETOF uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE jobs
        SET state = 'completed', lease_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
            finished_at = now(), updated_at = now()
        FROM unnest(p_ids, p_tokens) AS claim (id, token)
        WHERE jobs.id = claim.id AND jobs.claim_token = claim.token AND jobs.state = 'running'
        RETURNING jobs.id
    $$;

-- Records a failed attempt of a claim: `retryable` at p_retry_at, or
-- `discarded` when p_retry_at is NULL or no attempt is left. Answers the new
-- state, or NULL when the claim no longer held.
CREATE FUNCTION routing_fail_claim(p_id uuid, p_token uuid, p_error text, p_retry_at timestamptz)
    RETURNS text
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE jobs
        SET state = CASE WHEN p_retry_at IS NULL OR attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
            run_at = CASE WHEN p_retry_at IS NULL OR attempt >= max_attempts THEN run_at ELSE p_retry_at END,
            finished_at = CASE WHEN p_retry_at IS NULL OR attempt >= max_attempts THEN now() END,
            errors = errors || jsonb_build_array(jsonb_build_object(
                'attempt', attempt, 'at', now(), 'error', left(p_error, 2000))),
            lease_owner = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE id = p_id AND claim_token = p_token AND state = 'running'
        RETURNING state
    $$;

-- A stopping worker's claims whose handlers did not finish within the grace
-- period: the attempt counts (a job that always hangs uses its attempts up),
-- the reason is recorded, and the job runs again at once if attempts are
-- left. Answers how many.
CREATE FUNCTION routing_interrupt_claims(p_ids uuid[], p_tokens uuid[], p_reason text)
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        WITH interrupted AS (
            UPDATE jobs
            SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
                finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                run_at = now(),
                errors = errors || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'at', now(), 'error', left(p_reason, 2000))),
                lease_owner = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = now()
            FROM unnest(p_ids, p_tokens) AS claim (id, token)
            WHERE jobs.id = claim.id AND jobs.claim_token = claim.token AND jobs.state = 'running'
            RETURNING 1
        ) SELECT count(*)::integer FROM interrupted
    $$;

-- Locks the job's row for the calling transaction if the claim still holds;
-- answers whether it does. A handler writes its side effect and completes
-- its job in one transaction that starts with this: a stale run's write is
-- refused, and no rescue can take the job while the write commits.
CREATE FUNCTION routing_hold_claim(p_id uuid, p_token uuid)
    RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT count(*) = 1 FROM (
            SELECT 1 FROM jobs
            WHERE id = p_id AND claim_token = p_token AND state = 'running'
            FOR UPDATE
        ) held
    $$;

-- As before, and the rescued claim's token is dropped.
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
                lease_owner = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE state = 'running' AND lease_expires_at < now()
            RETURNING 1
        ) SELECT count(*)::integer FROM rescued
    $$;

ALTER FUNCTION routing_heartbeat_claims(uuid[], uuid[], integer) OWNER TO cms_router;
ALTER FUNCTION routing_complete_claims(uuid[], uuid[]) OWNER TO cms_router;
ALTER FUNCTION routing_fail_claim(uuid, uuid, text, timestamptz) OWNER TO cms_router;
ALTER FUNCTION routing_interrupt_claims(uuid[], uuid[], text) OWNER TO cms_router;
ALTER FUNCTION routing_hold_claim(uuid, uuid) OWNER TO cms_router;
REVOKE EXECUTE ON FUNCTION
    routing_heartbeat_claims(uuid[], uuid[], integer), routing_complete_claims(uuid[], uuid[]),
    routing_fail_claim(uuid, uuid, text, timestamptz), routing_interrupt_claims(uuid[], uuid[], text),
    routing_hold_claim(uuid, uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    routing_heartbeat_claims(uuid[], uuid[], integer), routing_complete_claims(uuid[], uuid[]),
    routing_fail_claim(uuid, uuid, text, timestamptz), routing_interrupt_claims(uuid[], uuid[], text),
    routing_hold_claim(uuid, uuid)
    TO cms_app;

SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION routing_prune_jobs(timestamptz, timestamptz);
DROP FUNCTION routing_job_stats();
DROP FUNCTION routing_enqueue_system_job(uuid, text, text, jsonb, timestamptz, text);
DROP FUNCTION routing_rescue_jobs();
DROP FUNCTION routing_release_jobs(uuid, uuid[]);
DROP FUNCTION routing_fail_job(uuid, uuid, text, timestamptz);
DROP FUNCTION routing_complete_jobs(uuid, uuid[]);
DROP FUNCTION routing_heartbeat_jobs(uuid, uuid[], integer);
DROP FUNCTION routing_claim_jobs(text, uuid, integer, integer);
DROP TABLE jobs;

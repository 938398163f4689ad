SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION IF EXISTS routing_experiments(uuid[]);
DROP FUNCTION IF EXISTS routing_live_page_experiments(uuid, text, text);
DROP TABLE IF EXISTS experiment_events;
DROP TABLE IF EXISTS experiments;

SET lock_timeout = '5s';
SET statement_timeout = '60s';
DROP FUNCTION routing_media_cleanup_tenants(timestamptz);
ALTER TABLE doctors DROP COLUMN photo_media_id;
DROP TABLE media_quotas;
DROP TABLE media;

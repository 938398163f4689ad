SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE tenants DROP COLUMN IF EXISTS allowed_origins;

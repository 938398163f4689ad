-- Browser clients: each tenant names the origins its own browser apps call the
-- management API from (CORS). The api unions them with CMS_ADMIN_ORIGINS.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE tenants ADD COLUMN allowed_origins text[] NOT NULL DEFAULT '{}';

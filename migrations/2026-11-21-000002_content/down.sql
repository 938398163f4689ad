SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION IF EXISTS routing_due_pages(integer);
DROP FUNCTION IF EXISTS routing_host(text);
DROP FUNCTION IF EXISTS routing_site_tenant(uuid);
REVOKE ALL ON sites, domains FROM cms_router;
REVOKE ALL ON SCHEMA public FROM cms_router;
ALTER TABLE pages DROP CONSTRAINT IF EXISTS pages_published_revision_fkey;
DROP TABLE IF EXISTS page_revisions;
DROP TABLE IF EXISTS page_blocks;
DROP TABLE IF EXISTS pages;
DROP TABLE IF EXISTS custom_modules;
DROP TABLE IF EXISTS builtin_modules;

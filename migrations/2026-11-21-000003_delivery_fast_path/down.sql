SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION IF EXISTS routing_live_page(uuid, text, text);
REVOKE ALL ON page_revisions FROM cms_router;

SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE page_blocks DROP COLUMN hidden;

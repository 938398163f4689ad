-- A block can be hidden: kept in the draft with its props, left out of what
-- previews and publishing show, until an editor shows it again.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- A constant default: PostgreSQL 11+ adds it without rewriting the table.
ALTER TABLE page_blocks ADD COLUMN hidden boolean NOT NULL DEFAULT false;

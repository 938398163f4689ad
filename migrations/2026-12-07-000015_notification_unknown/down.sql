SET lock_timeout = '5s';
SET statement_timeout = '60s';

UPDATE notifications SET status = 'failed' WHERE status = 'unknown';
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')) NOT VALID;

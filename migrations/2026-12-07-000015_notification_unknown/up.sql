-- A message whose provider call ended without a usable answer (a timeout
-- after sending, an unreadable answer, a success without an id) may have
-- been sent: status `unknown`, never sent again by the queue, resent only by
-- a person (the audit log links a resend to the message it repeats).
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- Only widened: every row already satisfies it, so NOT VALID (no scan
-- under lock) while it holds for every row written from now on.
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'unknown')) NOT VALID;

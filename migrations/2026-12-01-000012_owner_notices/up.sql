-- Owners are told by email when one of their webhook endpoints is disabled
-- (410 Gone, or failing for 5 days): a template event of its own, so the
-- tenant can word it per locale like the other messages.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- The new check only widens the old one, so every row already satisfies it:
-- it is added NOT VALID (no scan under lock) and still holds for every row
-- written from now on.
ALTER TABLE notification_templates DROP CONSTRAINT notification_templates_event_check;
ALTER TABLE notification_templates ADD CONSTRAINT notification_templates_event_check
    CHECK (event IN ('appointment.booked', 'appointment.confirmed',
        'appointment.cancelled', 'appointment.rescheduled', 'appointment.reminder',
        'lead.received', 'review.pending', 'webhook.disabled')) NOT VALID;
